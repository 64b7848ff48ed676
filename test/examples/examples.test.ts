// Every program in examples/ runs to completion: each starts its own server(s) and client(s) on
// 127.0.0.1 (port 0 unless PORT is set), prints what happens, ends with a line "<name> ok" and exits 0
// (examples/README.md states the convention). They import 'rfc6455', which resolves to the built
// package through its own "exports", so `npm run build` must have run. The demos (chat-demo.mjs,
// cluster-demo.mjs) and prometheus-metrics.mjs are servers that run until stopped and have tests of
// their own.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'examples');
const TESTED_ELSEWHERE = new Set(['chat-demo.mjs', 'cluster-demo.mjs', 'prometheus-metrics.mjs']);
const TIME_LIMIT_MS = 30_000;

const programs = readdirSync(EXAMPLES)
  .filter((name) => /\.(mjs|cjs)$/.test(name) && !TESTED_ELSEWHERE.has(name))
  .sort();

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

function run(file: string): Promise<Outcome> {
  // PORT unset: every example then listens on a free port, so they can run beside other tests.
  const env = { ...process.env };
  delete env.PORT;
  delete env.KEEP_RUNNING;
  const child = spawn(process.execPath, [join(EXAMPLES, file)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let timedOut = false;
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, TIME_LIMIT_MS);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}

describe('examples/ run to completion', () => {
  test('the examples are there, each with a header saying how to run it', () => {
    expect(existsSync(join(ROOT, 'dist', 'esm', 'main.mjs')), 'run `npm run build` first').toBe(true);
    for (const name of [
      'auth-verify-client.mjs',
      'broadcast.mjs',
      'client-proxy.mjs',
      'client-tls.mjs',
      'commonjs-echo.cjs',
      'echo-server.mjs',
      'heartbeat-shutdown.mjs',
      'reconnecting-client.mjs',
      'streams.mjs',
    ]) {
      expect(programs).toContain(name);
    }
    for (const name of programs) {
      const head = readFileSync(join(EXAMPLES, name), 'utf8').split('\n').slice(0, 12).join('\n');
      expect(head, name).toContain(`node examples/${name}`);
    }
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const name of programs) expect(readme, `examples/README.md lists ${name}`).toContain(name);
  });

  for (const name of programs) {
    test(name, { timeout: TIME_LIMIT_MS + 10_000 }, async () => {
      const outcome = await run(name);
      const context = `${name}:\n${outcome.output}`;
      expect(outcome.timedOut, `${context}\ndid not finish within ${TIME_LIMIT_MS} ms`).toBe(false);
      expect(outcome.code, context).toBe(0);
      const stem = name.replace(/\.(mjs|cjs)$/, '');
      expect(outcome.output.split('\n').some((line) => line.startsWith(`${stem} ok`)), context).toBe(true);
    });
  }
});
