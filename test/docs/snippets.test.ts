// Every JavaScript/TypeScript code block of README.md and docs/**/*.md is a complete program, and this test
// runs each one as pasted against the built package (`import ... from 'rfc6455'` resolves to dist/ through
// the package's own "exports", as it would for a user who installed it), so a snippet cannot go stale.
//
// A block runs to completion and must exit 0 (within its time limit). An HTML comment on the line just
// before the block's fence tells the harness more, in `key="value"` pairs:
//   <!-- snippet ready="text" signal="SIGINT" -->  a server that runs until stopped: once its output
//       contains `text`, the harness sends `signal` to its process group (as Ctrl-C does) and expects a
//       clean exit (0, or death by that signal).
//   <!-- snippet expect="text" -->  the output must contain `text`.
//   <!-- snippet redis="6379" -->  the harness starts a throwaway redis-server on that port first.
//   <!-- snippet skip="why" -->  not run; only for blocks that cannot run on a machine without network
//       (the reason is printed, and a test counts skips so they stay rare).
// Shell blocks (```sh) are not run here.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const RUN_DIR = join(ROOT, '.tmp', 'snippets');
const LANGS = new Set(['js', 'mjs', 'cjs', 'ts', 'mts', 'javascript', 'typescript']);
const TIME_LIMIT_MS = 30_000;

interface Snippet {
  file: string;
  line: number;
  lang: string;
  code: string;
  directives: Record<string, string>;
}

/** The markdown files whose blocks are checked: README.md and every .md under docs/. */
function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md')];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk(join(ROOT, 'docs'));
  return files;
}

/** The fenced blocks of one markdown file, with the directive comment that precedes each. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (open === null) continue;
    const fence = open[2];
    const lang = open[3].toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++]);
    if (LANGS.has(lang)) {
      const directives: Record<string, string> = {};
      const previous = lines[i - 1] ?? '';
      const comment = /^\s*<!--\s*snippet\b(.*?)-->\s*$/.exec(previous);
      if (comment !== null) {
        for (const match of comment[1].matchAll(/(\w+)="([^"]*)"/g)) directives[match[1]] = match[2];
      }
      snippets.push({ file, line: i + 1, lang, code: body.join('\n'), directives });
    }
    i = j;
  }
  return snippets;
}

/** The file extension a block runs as: CommonJS when it uses require(), TypeScript when marked so. */
function extensionOf(snippet: Snippet): string {
  if (snippet.lang === 'ts' || snippet.lang === 'mts' || snippet.lang === 'typescript') return '.mts';
  if (snippet.lang === 'cjs') return '.cjs';
  if (snippet.lang === 'mjs') return '.mjs';
  return /^\s*(import|export)\s/m.test(snippet.code) || !/\brequire\(/.test(snippet.code) ? '.mjs' : '.cjs';
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

/** Run one program in its own process group; stop it on `ready` if asked, or after the time limit. */
function run(path: string, directives: Record<string, string>): Promise<Outcome> {
  const args = path.endsWith('.mts') ? ['--import', 'tsx', path] : [path];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalled = false;
  let timedOut = false;
  const stopGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const onOutput = (chunk: Buffer): void => {
    output += chunk.toString();
    if (directives.ready !== undefined && !signalled && output.includes(directives.ready)) {
      signalled = true;
      // Give a server that printed its line a moment to reach its listeners, then stop it as Ctrl-C would.
      setTimeout(() => stopGroup((directives.signal ?? 'SIGINT') as NodeJS.Signals), 200);
    }
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup('SIGKILL');
  }, TIME_LIMIT_MS);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // A program stopped by the signal it was sent, without a handler of its own, ended as asked.
      resolve({ code, signal, output, timedOut });
    });
  });
}

/** Whether something listens on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A throwaway redis-server on `port` (no persistence), stopped by the returned function. */
async function startRedis(port: number): Promise<() => Promise<void>> {
  if (await listening(port)) throw new Error(`something already listens on 127.0.0.1:${port}; the snippet needs a fresh Redis there`);
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 25));
  return async () => {
    const exited = new Promise((r) => redis.once('exit', r));
    redis.kill('SIGTERM');
    await exited;
  };
}

const snippets = markdownFiles().flatMap((file) => extractSnippets(file, readFileSync(file, 'utf8')));

describe('documentation code blocks run as pasted', () => {
  mkdirSync(RUN_DIR, { recursive: true });
  afterAll(() => rmSync(RUN_DIR, { recursive: true, force: true }));

  test('the blocks are found, and skips stay rare', () => {
    expect(snippets.length).toBeGreaterThan(5);
    const skipped = snippets.filter((s) => s.directives.skip !== undefined);
    expect(skipped.length).toBeLessThanOrEqual(2);
  });

  for (const [index, snippet] of snippets.entries()) {
    const name = `${relative(ROOT, snippet.file)}:${snippet.line}`;
    const runner = snippet.directives.skip !== undefined ? test.skip : test;
    runner(name, { timeout: TIME_LIMIT_MS + 15_000 }, async () => {
      const path = join(RUN_DIR, `block-${index}${extensionOf(snippet)}`);
      writeFileSync(path, `${snippet.code}\n`);
      const stopRedis = snippet.directives.redis !== undefined ? await startRedis(Number(snippet.directives.redis)) : null;
      let outcome: Outcome;
      try {
        outcome = await run(path, snippet.directives);
      } finally {
        await stopRedis?.();
      }
      const context = `${name} (${path})\n${outcome.output}`;
      expect(outcome.timedOut, `${context}\ndid not finish within ${TIME_LIMIT_MS} ms`).toBe(false);
      if (snippet.directives.ready !== undefined) {
        expect(outcome.output, context).toContain(snippet.directives.ready);
        const signal = snippet.directives.signal ?? 'SIGINT';
        expect(outcome.code === 0 || outcome.signal === signal, `${context}\nexit ${outcome.code} ${outcome.signal}`).toBe(true);
      } else {
        expect(outcome.code, context).toBe(0);
      }
      if (snippet.directives.expect !== undefined) expect(outcome.output, context).toContain(snippet.directives.expect);
    });
  }
});
