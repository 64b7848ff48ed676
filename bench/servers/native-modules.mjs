// Which native addons (.node files) this process has really mapped: the proof that an addon loaded,
// rather than a package's silent pure-JS fallback.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

export function loadedNativeAddons() {
  const maps = readFileSync('/proc/self/maps', 'latin1');
  const found = new Set();
  for (const line of maps.split('\n')) {
    const at = line.indexOf('/');
    if (at >= 0 && line.endsWith('.node')) found.add(relative(process.cwd(), line.slice(at)));
  }
  return [...found].sort();
}

/** The one line a bench server prints when it listens; bench/run.mjs waits for it. */
export function announceReady(fields) {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, native: loadedNativeAddons(), ...fields })}\n`);
}
