// The C load generator (bench/gen/*.c): built here with the system's gcc into bench/.cache/ (git-ignored),
// again whenever a source file is newer than the binary. No prebuilt binaries.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Path of an up-to-date bench/.cache/wsgen, building it first if needed. */
export function ensureGenerator(benchDir) {
  const sources = readdirSync(join(benchDir, 'gen'))
    .filter((name) => name.endsWith('.c') || name.endsWith('.h'))
    .map((name) => join(benchDir, 'gen', name));
  const binary = join(benchDir, '.cache', 'wsgen');
  const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  mkdirSync(join(benchDir, '.cache'), { recursive: true });
  const args = ['-O2', '-Wall', '-Wextra', '-o', binary, ...sources.filter((file) => file.endsWith('.c')), '-lm'];
  try {
    execFileSync('gcc', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    throw new Error(`building the C load generator failed (gcc ${args.join(' ')}):\n${error.stderr ?? error.message}`);
  }
  return binary;
}
