// Users of `ws` in TypeScript change the import and nothing else: the programs in programs/ (typical
// ws code, written against 'ws') must type-check with ws + @types/ws and, with 'ws' replaced by
// 'rfc6455', against rfc6455's built declarations (resolved through package.json like an installed
// package). Each library is checked by one `tsc --strict` per setup, without skipLibCheck: node16
// modules (.ts files as ES modules, .cts as CommonJS, through "exports"; @types/ws gives ES modules
// its index.d.mts, without WebSocket.Server, so the programs using that are .cts) and the classic
// `module: commonjs` (node10 resolution through "types", TypeScript's default target ES5, DOM lib).
// negative.ts holds misuse both must refuse (`@ts-expect-error`: tsc reports a line that is no error).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const programs = fileURLToPath(new URL('programs', import.meta.url));
const libraries = ['ws', 'rfc6455'] as const;
type Library = (typeof libraries)[number];

const setups = {
  node16: { options: { module: 'node16', moduleResolution: 'node16' }, exclude: [] },
  // A `declare module` augmentation of @types/ws's CommonJS declarations does not reach the sockets
  // its server hands out, so heartbeat.ts has no baseline there.
  commonjs: { options: { module: 'commonjs', esModuleInterop: true }, exclude: ['heartbeat.ts'] },
} as const;
type Setup = keyof typeof setups;

interface Result {
  code: number | null;
  errors: string[];
  files: string[];
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Runs `npm run build` when dist/ is missing or older than what it is built from. */
function ensureBuilt(): void {
  const built = join(root, 'dist/cjs/main.d.cts');
  const sources = ['src', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.cjs.json', 'package.json'];
  const newest = Math.max(...sources.map((source) => newestMtime(join(root, source))));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
}

/** A project in `dir` holding the programs, with `library` (and @types/node) in its node_modules. */
function createProject(dir: string, library: Library): void {
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
  if (library === 'ws') {
    symlinkSync(join(root, 'node_modules/ws'), join(dir, 'node_modules/ws'), 'dir');
    symlinkSync(join(root, 'node_modules/@types/ws'), join(dir, 'node_modules/@types/ws'), 'dir');
  } else {
    symlinkSync(root, join(dir, 'node_modules/rfc6455'), 'dir');
  }
  for (const name of readdirSync(programs)) {
    const text = readFileSync(join(programs, name), 'utf8');
    // The one change a user makes: the module name (imports, require, `declare module`).
    writeFileSync(join(dir, name), library === 'ws' ? text : text.replace(/(['"])ws\1/g, '$1rfc6455$1'));
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const [setup, { options, exclude }] of Object.entries(setups)) {
    // skipDefaultLibCheck skips TypeScript's own lib.*.d.ts only: every package's declarations are checked.
    const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, types: ['node'], ...options };
    writeFileSync(join(dir, `tsconfig.${setup}.json`), JSON.stringify({ compilerOptions, include: ['*.ts', '*.cts'], exclude }));
  }
}

/** `tsc -p tsconfig.<setup>.json --listFiles` in `dir`: its diagnostics and the files it read. */
function typeCheck(dir: string, setup: Setup): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', join(dir, `tsconfig.${setup}.json`), '--listFiles'], { cwd: dir });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = output.split('\n').filter((line) => line !== '');
      const isFile = (line: string): boolean => line.startsWith('/') && !line.includes(': error TS');
      resolve({ code, errors: lines.filter((line) => !isFile(line)), files: lines.filter(isFile) });
    });
  });
}

describe('ws TypeScript programs type-check against rfc6455 as against ws', () => {
  const work = mkdtempSync(join(tmpdir(), 'rfc6455-types-'));
  const results = new Map<string, Promise<Result>>();

  beforeAll(() => {
    ensureBuilt();
    for (const library of libraries) {
      const dir = join(work, library);
      createProject(dir, library);
      for (const setup of Object.keys(setups) as Setup[]) results.set(`${library} ${setup}`, typeCheck(dir, setup));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(results.values());
    rmSync(work, { recursive: true, force: true });
  });

  for (const setup of Object.keys(setups) as Setup[]) {
    for (const library of libraries) {
      it(`${setup}: every program compiles against ${library === 'ws' ? 'ws + @types/ws' : 'rfc6455'}`, async () => {
        const result = await results.get(`${library} ${setup}`)!;
        expect(result.errors).toEqual([]);
        expect(result.code).toBe(0);
        // The declarations read are the library's own: rfc6455's built ones, never @types/ws.
        const read = result.files.join('\n');
        if (library === 'ws') {
          expect(read).toContain('/@types/ws/index.d.ts');
        } else {
          expect(read).not.toContain('/@types/ws/');
          const entries = setup === 'node16' ? ['dist/esm/index.d.ts', 'dist/cjs/main.d.cts'] : ['dist/cjs/main.d.cts'];
          for (const entry of entries) expect(read).toContain(join(root, entry));
        }
      }, 120_000);
    }
  }
});
