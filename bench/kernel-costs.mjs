// Where a server's time goes per message (or per connection cycle), in the kernel and out of it, next
// to its peers. Each server runs pinned to core 0 under the C generator on core 1, three times:
//   1. with `perf record -p` (cpu-clock, 2 kHz): its CPU per message split by where the samples fall
//      (the kernel; the node binary, which is V8's builtins, GC and Node's C++; JIT-compiled JavaScript;
//      libc, mostly memmove/malloc; native addons such as uWebSockets.js or bufferutil);
//   2. with `perf stat`: page faults of the server, and over the whole machine the wake-ups of tasks and
//      the inter-processor interrupts (call_function_single) that carry a wake-up to the other core;
//   3. with `strace -c -f -p` attached before a generator run of its own (no warm-up): the system calls
//      per message (strace slows the server: counts only).
// Usage: node bench/kernel-costs.mjs --scenario 64k|1k|1k-text|16b|16m|handshake
//        [--servers rfc6455,ws,uws,floor] [--duration 3000]
// Needs perf and strace (Debian packages linux-perf and strace) and root (or perf_event_paranoid -1).
// Prints a markdown table; bench/TARGETS.md quotes its output.
import { execFileSync, spawn } from 'node:child_process';
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
    scenario: { type: 'string', default: '64k' },
    servers: { type: 'string', default: '' },
    duration: { type: 'string', default: '3000' },
  },
});

const SCENARIOS = {
  '16b': { load: ['--scenario', 'throughput', '--size', '16', '--conns', '100', '--inflight', '16'], unit: 'message' },
  '1k': { load: ['--scenario', 'throughput', '--size', '1024', '--conns', '100', '--inflight', '4'], unit: 'message' },
  '1k-text': { load: ['--scenario', 'throughput', '--size', '1024', '--text', '--conns', '100', '--inflight', '4'], unit: 'message' },
  '64k': { load: ['--scenario', 'throughput', '--size', '65536', '--conns', '10', '--inflight', '2'], unit: 'message' },
  '16m': { load: ['--scenario', 'throughput', '--size', String(16 * 1024 * 1024), '--conns', '1', '--inflight', '1'], unit: 'message' },
  handshake: { load: ['--scenario', 'handshake', '--concurrency', '64'], unit: 'cycle' },
};

const scenario = SCENARIOS[opts.scenario];
if (scenario === undefined) throw new Error(`--scenario ${Object.keys(SCENARIOS).join('|')}, not ${opts.scenario}`);
const names = opts.servers ? opts.servers.split(',') : opts.scenario === 'handshake' ? ['rfc6455', 'ws', 'uws', 'floor'] : ['rfc6455', 'ws', 'uws'];
for (const name of names) if (SERVERS[name] === undefined) throw new Error(`unknown server ${name}`);
const duration = Number(opts.duration);
const warmup = 500;
for (const tool of ['perf', 'strace']) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is needed (apt-get install -y ${tool === 'perf' ? 'linux-perf' : 'strace'})`);
  }
}
installCleanupHooks();
const generator = ensureGenerator(BENCH);
const work = mkdtempSync(join(os.tmpdir(), 'kernel-costs-'));

async function withServer(name, body) {
  const port = await freePort(20000 + Math.floor(Math.random() * 5000), 30000);
  const child = spawnPinned(0, [...SERVERS[name].args, String(port)], { cwd: ROOT, nodeFlags: ['--perf-basic-prof'] });
  try {
    await waitForOutput(child, SERVERS[name].ready, 15000);
    return await body(child.pid, port);
  } finally {
    await stopChild(child);
  }
}

/** The generator's result over its measured window (after `warmup` ms). */
async function generate(port, pid) {
  const out = await run('taskset', ['-c', '1', generator, ...scenario.load, '--port', String(port), '--warmup', String(warmup), '--duration', String(duration), '--server-pid', String(pid)], duration + 60000);
  const result = JSON.parse(out.trim().split('\n').pop());
  if (!result.ok) throw new Error(`generator: ${result.error}`);
  return { rate: result.msgsPerSec ?? result.perSec, serverCpu: result.serverCpu };
}

/** Starts `tool args` once the generator's warm-up is over, for the measured window; resolves when it ends. */
function duringWindow(tool, args) {
  return new Promise((resolve, reject) => {
    setTimeout(() => run(tool, args, duration + 30000).then(resolve, reject), warmup + 100);
  });
}

const seconds = String((duration - 300) / 1000);

async function profile(name) {
  return withServer(name, async (pid, port) => {
    const data = join(work, `${name}.data`);
    const recording = duringWindow('perf', ['record', '-F', '2000', '-p', String(pid), '-o', data, '--', 'sleep', seconds]);
    const { rate } = await generate(port, pid);
    await recording;
    const report = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso', '-g', 'none', '-n', '--stdio'], 60000);
    const byPlace = { kernel: 0, node: 0, js: 0, libc: 0, addons: 0, other: 0 };
    for (const line of report.split('\n')) {
      const match = /^\s+[\d.]+%\s+(\d+)\s+(.+?)\s*$/.exec(line);
      if (!match) continue;
      const samples = Number(match[1]);
      const dso = match[2];
      if (dso.includes('kernel')) byPlace.kernel += samples;
      else if (dso === 'node') byPlace.node += samples;
      else if (dso.startsWith('[JIT]')) byPlace.js += samples;
      else if (dso.startsWith('libc')) byPlace.libc += samples;
      else if (dso.endsWith('.node')) byPlace.addons += samples;
      else byPlace.other += samples;
    }
    return { rate, byPlace };
  });
}

async function counters(name) {
  return withServer(name, async (pid, port) => {
    const machine = join(work, `${name}-machine.txt`);
    const own = join(work, `${name}-own.txt`);
    const wide = duringWindow('perf', ['stat', '-a', '-x', ',', '-o', machine, '-e', 'sched:sched_wakeup,irq_vectors:call_function_single_entry', '--', 'sleep', seconds]);
    const narrow = duringWindow('perf', ['stat', '-p', String(pid), '-x', ',', '-o', own, '-e', 'page-faults', '--', 'sleep', seconds]);
    const { rate } = await generate(port, pid);
    await Promise.all([wide, narrow]);
    const read = (file) => {
      const found = {};
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const fields = line.split(',');
        if (fields.length > 2 && /^\d+$/.test(fields[0])) found[fields[2]] = Number(fields[0]);
      }
      return found;
    };
    return { rate, ...read(machine), ...read(own) };
  });
}

async function syscalls(name) {
  return withServer(name, async (pid, port) => {
    const file = join(work, `${name}-strace.txt`);
    // strace attached first, the generator run whole inside it (no warm-up), so that every system call
    // of the window belongs to the generator's messages or cycles.
    const tracer = spawn('strace', ['-c', '-f', '-p', String(pid), '-o', file], { stdio: 'ignore' });
    const traced = new Promise((resolve) => tracer.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const out = await run('taskset', ['-c', '1', generator, ...scenario.load, '--port', String(port), '--warmup', '0', '--duration', String(duration), '--server-pid', String(pid)], duration + 60000);
    tracer.kill('SIGINT');
    await traced;
    const result = JSON.parse(out.trim().split('\n').pop());
    if (!result.ok) throw new Error(`generator: ${result.error}`);
    const units = result.messages ?? result.handshakes;
    const calls = straceCalls(readFileSync(file, 'utf8'));
    delete calls.futex; // V8's and libuv's threads waking each other, not the server's work
    for (const name of Object.keys(calls)) calls[name] /= units;
    return calls;
  });
}

const rows = [];
for (const name of names) {
  process.stderr.write(`${name}: profile\n`);
  const p = await profile(name);
  process.stderr.write(`${name}: counters\n`);
  const c = await counters(name);
  process.stderr.write(`${name}: system calls\n`);
  const s = await syscalls(name);
  const window = Number(seconds);
  const units = p.rate * window;
  const us = (samples) => ((samples / 2000 / units) * 1e6).toFixed(2);
  const perUnit = (count, rate) => (count / (rate * window)).toFixed(2);
  const traced = Object.entries(s)
    .filter(([, perOne]) => perOne >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([call, perOne]) => `${call} ${perOne.toFixed(2)}`)
    .join(', ');
  const b = p.byPlace;
  rows.push(
    `| ${name} | ${Math.round(p.rate).toLocaleString('en-US')} | ${us(b.kernel + b.node + b.js + b.libc + b.addons + b.other)} | ${us(b.kernel)} | ${us(b.node)} | ${us(b.js)} | ${us(b.libc)} | ${us(b.addons)} | ${perUnit(c['page-faults'] ?? 0, c.rate)} | ${perUnit(c['sched:sched_wakeup'] ?? 0, c.rate)} | ${perUnit(c['irq_vectors:call_function_single_entry'] ?? 0, c.rate)} | ${traced} |`,
  );
}
rmSync(work, { recursive: true, force: true });
const unit = scenario.unit;
console.log(`Scenario ${opts.scenario} (\`wsgen ${scenario.load.join(' ')}\`), ${new Date().toISOString()}, Node ${process.version}, ${os.cpus()[0]?.model ?? '?'}; per ${unit}:\n`);
console.log(`| server | ${unit}s/s (under perf) | server CPU µs | kernel µs | node µs (V8, Node C++) | JS µs | libc µs | addons µs | page faults | wake-ups (machine) | IPIs (machine) | system calls (strace) |`);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
for (const row of rows) console.log(row);
