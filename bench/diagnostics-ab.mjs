// A/B: what the diagnostics (counters, channel checks) cost on the hot paths. Interleaved rounds of
// the echo CLI server (`serve --echo`) of two builds, and of this build with every channel subscribed
// and stats() read each second, under the C generator: echo 16 B 100x16 and handshakes 64 concurrent.
// Server on core 0, generator on core 1. Prints medians of msgs/s (handshakes/s) and per server
// CPU-second, and each variant's spread (min-max over rounds) as the noise.
// Usage: node bench/diagnostics-ab.mjs --base DIR [--this DIR] [--rounds N] [--duration MS]
// (--this: a built copy of this checkout, default this one; a copy is safer, since a test run rebuilds
// dist/ when the sources are newer.)
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGenerator } from './lib/generator.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const base = option('--base', null);
if (base === null) throw new Error('--base DIR (a built checkout of the commit to compare with) is needed');
const self = option('--this', ROOT);
const rounds = Number(option('--rounds', 7));
const duration = Number(option('--duration', 2000));
const only = option('--scenario', null); // 'echo' or 'handshake': run that scenario alone
const generator = ensureGenerator(BENCH);

const variants = [
  { name: 'base', dir: base, preload: [] },
  { name: 'this', dir: self, preload: [] },
  { name: 'this+subscribed', dir: self, preload: ['--import', join(BENCH, 'lib/diagnostics-subscriber.mjs')] },
];
const scenarios = [
  { name: 'echo 16 B 100x16', key: 'echo', args: ['--scenario', 'throughput', '--size', '16', '--conns', '100', '--inflight', '16'], rate: 'msgsPerSec' },
  { name: 'handshakes 64 concurrent', key: 'handshake', args: ['--scenario', 'handshake', '--concurrency', '64'], rate: 'perSec' },
];

async function startServer(variant) {
  // Port 0: the system picks a free one (other benches share this machine); the CLI prints it.
  const child = spawn('taskset', ['-c', '0', process.execPath, ...variant.preload, join(variant.dir, 'bin/rfc6455.cjs'), 'serve', '--echo', '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  if (!out.includes('listening') || !(port > 0)) throw new Error(`${variant.name}: the server did not start (${out})`);
  return { child, port };
}

function wsgen(extra, port, pid) {
  const argv = ['-c', '1', generator, ...extra, '--port', String(port), '--warmup', '500', '--duration', String(duration), '--server-pid', String(pid)];
  return new Promise((resolve, reject) => {
    execFile('taskset', argv, { timeout: duration + 30_000 }, (error, stdout) => {
      if (error) reject(new Error(`wsgen: ${error.message} ${stdout}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

const results = {};
for (let round = 0; round < rounds; round++) {
  // Alternate the order each round, so that neither build always runs first.
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const { child, port } = await startServer(variant);
    for (const scenario of scenarios.filter((entry) => only === null || entry.key === only)) {
      const result = await wsgen(scenario.args, port, child.pid);
      if (!result.ok) throw new Error(`${variant.name} ${scenario.name}: ${JSON.stringify(result)}`);
      const cell = ((results[scenario.name] ??= {})[variant.name] ??= { rate: [], perCpu: [], serverCpu: [] });
      cell.rate.push(result[scenario.rate]);
      cell.perCpu.push(result.perServerCpuSec);
      cell.serverCpu.push(result.serverCpu / result.seconds);
    }
    child.kill();
    await once(child, 'exit');
  }
  process.stderr.write(`round ${round + 1}/${rounds} done\n`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x) => Math.round(x).toLocaleString('en');
console.log(`${rounds} interleaved rounds, ${duration} ms each after a 500 ms warm-up; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const [scenario, cells] of Object.entries(results)) {
  console.log(`\n${scenario}`);
  const baseCell = cells.base;
  for (const [name, cell] of Object.entries(cells)) {
    const ratio = median(cell.perCpu) / median(baseCell.perCpu);
    // The same round's figures side by side (the machine's load drifts less within a round than across).
    const paired = median(cell.perCpu.map((value, round) => value / baseCell.perCpu[round]));
    console.log(
      `  ${name.padEnd(16)} rate ${fmt(median(cell.rate))}/s (${fmt(Math.min(...cell.rate))}-${fmt(Math.max(...cell.rate))})` +
        `  per server CPU-s ${fmt(median(cell.perCpu))} (${fmt(Math.min(...cell.perCpu))}-${fmt(Math.max(...cell.perCpu))})` +
        `  server CPU ${(median(cell.serverCpu) * 100).toFixed(0)}%  vs base ${ratio.toFixed(3)}x (median of per-round ratios ${paired.toFixed(3)}x)`,
    );
  }
}
