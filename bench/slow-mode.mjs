// The 16 MiB echo's slow mode: N fresh server processes per contender, each measured once (as each round
// of `npm run bench` starts its server anew), with the server's page faults per message (perf stat) and
// its brk/mmap/munmap calls per message (strace, in a second window). A process that faults in every
// page of every message's buffer (16 MiB = 4,096 pages) runs at about two thirds of the speed of one
// that reuses its heap.
// Usage: node bench/slow-mode.mjs [--processes 10] [--servers rfc6455,ws,uws] [--size 16777216]
//        [--env rfc6455-notrim=MALLOC_TRIM_THRESHOLD_=1073741824,MALLOC_MMAP_THRESHOLD_=67108864]
// (--env adds a contender: rfc6455 run with those environment variables, to test a cause, not a fix.)
// Needs perf and strace. Prints a markdown table per contender.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureGenerator } from './lib/generator.mjs';
import { ECHO_SERVERS as SERVERS, runTool as run, straceCalls } from './lib/probes.mjs';
import { freePort, installCleanupHooks, spawnPinned, stopChild, waitForOutput } from './lib/processes.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const { values: opts } = parseArgs({
  options: {
    processes: { type: 'string', default: '10' },
    servers: { type: 'string', default: 'rfc6455,ws,uws' },
    size: { type: 'string', default: String(16 * 1024 * 1024) },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const contenders = opts.servers.split(',').map((name) => {
  if (SERVERS[name] === undefined || name === 'floor') throw new Error(`unknown echo server ${name}`);
  return { name, server: SERVERS[name], env: {} };
});
for (const spec of opts.env) {
  const [name, assignments] = spec.split('=', 1).concat(spec.slice(spec.indexOf('=') + 1));
  const env = Object.fromEntries(assignments.split(',').map((pair) => pair.split('=')));
  contenders.push({ name, server: SERVERS.rfc6455, env });
}
const processes = Number(opts.processes);
const load = ['--scenario', 'throughput', '--size', opts.size, '--conns', '1', '--inflight', '1'];
installCleanupHooks();
const generator = ensureGenerator(BENCH);
const work = mkdtempSync(join(os.tmpdir(), 'slow-mode-'));

async function measure(port, pid, warmup, duration) {
  const out = await run('taskset', ['-c', '1', generator, ...load, '--port', String(port), '--warmup', String(warmup), '--duration', String(duration), '--server-pid', String(pid)], duration + 60000);
  const result = JSON.parse(out.trim().split('\n').pop());
  if (!result.ok) throw new Error(`generator: ${result.error}`);
  return result;
}

const later = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function oneProcess(contender) {
  const port = await freePort(20000 + Math.floor(Math.random() * 5000), 30000);
  const child = spawnPinned(0, [...contender.server.args, String(port)], { cwd: ROOT, env: contender.env });
  try {
    await waitForOutput(child, contender.server.ready, 15000);
    // The measurement, with the page faults counted over its window.
    const faultsFile = join(work, 'faults.txt');
    const counting = later(600).then(() => run('perf', ['stat', '-p', String(child.pid), '-x', ',', '-o', faultsFile, '-e', 'page-faults', '--', 'sleep', '2'], 30000));
    const first = await measure(port, child.pid, 500, 2500);
    await counting;
    const faults = Number(readFileSync(faultsFile, 'utf8').split('\n').find((line) => line.includes('page-faults'))?.split(',')[0] ?? NaN);
    // A second window under strace for the memory system calls (strace slows the process: counts only).
    const straceFile = join(work, 'strace.txt');
    const tracing = later(300).then(() => run('timeout', ['-s', 'INT', '2', 'strace', '-c', '-f', '-e', 'trace=brk,mmap,munmap,madvise', '-p', String(child.pid), '-o', straceFile], 30000).catch(() => {}));
    const second = await measure(port, child.pid, 200, 2500);
    await tracing;
    const calls = straceCalls(readFileSync(straceFile, 'utf8'));
    const tracedMessages = second.msgsPerSec * 2;
    return {
      rate: first.msgsPerSec,
      faultsPerMessage: faults / (first.msgsPerSec * 2),
      brkPerMessage: (calls.brk ?? 0) / tracedMessages,
      mmapPerMessage: ((calls.mmap ?? 0) + (calls.munmap ?? 0)) / tracedMessages,
    };
  } finally {
    await stopChild(child);
  }
}

console.log(`16 MiB slow mode: ${processes} fresh server processes per contender, ${new Date().toISOString()}, Node ${process.version}; \`wsgen ${load.join(' ')}\`\n`);
const results = new Map(contenders.map((contender) => [contender.name, []]));
// Interleaved: process i of every contender, then process i + 1.
for (let i = 0; i < processes; i++) {
  for (const contender of contenders) {
    const result = await oneProcess(contender);
    results.get(contender.name).push(result);
    process.stderr.write(`${contender.name} #${i + 1}: ${result.rate.toFixed(1)} msg/s, ${result.faultsPerMessage.toFixed(0)} faults/message\n`);
  }
}
rmSync(work, { recursive: true, force: true });
console.log('| contender | msg/s of each process | slow (< 0.8× its best) | page faults per message (each) | brk per message (median) | mmap+munmap per message (median) |');
console.log('|---|---|--:|---|--:|--:|');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [name, list] of results) {
  const best = Math.max(...list.map((r) => r.rate));
  const slow = list.filter((r) => r.rate < 0.8 * best).length;
  console.log(
    `| ${name} | ${list.map((r) => r.rate.toFixed(0)).join(', ')} | ${slow} of ${list.length} | ${list.map((r) => r.faultsPerMessage.toFixed(0)).join(', ')} | ${median(list.map((r) => r.brkPerMessage)).toFixed(2)} | ${median(list.map((r) => r.mmapPerMessage)).toFixed(2)} |`,
  );
}
