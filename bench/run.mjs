// The benchmark run: rfc6455, ws (+bufferutil), ws (pure JS) and uWebSockets.js echo servers, each pinned to
// core 0 and measured by the load generator pinned to core 1, interleaved A B C D per scenario and round; for the
// handshake and memory scenarios also a bare net.Socket server (bench/servers/net-floor.mjs) as a reference; for
// the fan-out scenarios one broadcasting server per contender (bench/servers/*-fanout.mjs), Bun's included when
// a bun binary is found.
//   npm run bench         full: 3 rounds, every scenario
//   npm run bench:quick   1 round, fewer scenarios, shorter windows
// Options: --rounds N, --only id,id (scenarios), --contenders id,id, --out FILE (default bench/RESULTS.md),
//          --note "text" (printed on top of the results), --gen c|node (the load generator: bench/gen/wsgen.c,
//          built here with gcc, the default; or bench/load.mjs, which has no fan-out), --bun PATH (default $BUN or
//          /tmp/bun-try/node_modules/.bin/bun, from `npm install --prefix /tmp/bun-try bun`), --fanout-pause-us U
//          (the generator's pause between busy turns in fan-out at full speed, default 0: off).
// Needs `npm run build` first (the rfc6455 contenders run dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureGenerator } from './lib/generator.mjs';
import { renderReport } from './lib/report.mjs';
import {
  allowedCpus,
  freePort,
  installCleanupHooks,
  mappedNativeAddons,
  spawnPinned,
  stopChild,
  waitForOutput,
} from './lib/processes.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const SERVER_CORE = 0;
const LOAD_CORE = 1;
// "2 workers vs 1": the server's processes (primary and workers) may run on both cores, and so may the generator,
// which needs a core too: on a 2-core machine nobody gets a core of its own there (see the report's text).
const CLUSTER_CORES = '0,1';
const PORTS = [18300, 18899]; // clear of Autobahn's 9001, 9002 and 9101 and of the ephemeral range

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    contenders: { type: 'string' },
    out: { type: 'string', default: join(BENCH, 'RESULTS.md') },
    note: { type: 'string' },
    gen: { type: 'string', default: 'c' },
    bun: { type: 'string', default: process.env.BUN ?? '/tmp/bun-try/node_modules/.bin/bun' },
    'fanout-pause-us': { type: 'string' },
  },
});
if (opts.gen !== 'c' && opts.gen !== 'node') throw new Error(`--gen c|node, not ${opts.gen}`);

const MODE = opts.quick ? 'quick' : 'full';
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 1 : 3));
const TIMING = opts.quick ? { warmupMs: 500, durationMs: 1500 } : { warmupMs: 1000, durationMs: 3000 };
const IDLE_CONNECTIONS = opts.quick ? 5000 : 10000;
// Fan-out at full speed: the publisher keeps this many messages in flight (not yet delivered to every subscriber).
// With 8, the fastest servers (uWebSockets.js, Bun) waited at 10,000 subscribers (87-93% of their core): the
// generator must read every subscriber's socket once per window, ~4 µs a read (the read's ACK is processed on its
// core on loopback), and 8 messages did not leave it the time. With 32 every server stays at 97-100% of its core.
const FANOUT_INFLIGHT = 32;
// --fanout-pause-us U: the generator sleeps U µs after each busy turn of its loop, so that frames pile up in the
// sockets. Off by default: at 1,000 µs with 8 in flight the servers idled (uWS 88%, Bun 89%, rfc6455 95% of their
// core) and delivered 10-30% less; with 32 in flight a pause made no read take more frames.
const FANOUT_PAUSE_US = Number(opts['fanout-pause-us'] ?? 0);
const bunInstalled = existsSync(opts.bun);

const CONTENDERS = [
  {
    id: 'rfc6455',
    label: 'rfc6455',
    color: '#e8590c',
    args: (port) => ['bin/rfc6455.cjs', 'serve', '--echo', '--port', String(port), '--host', '127.0.0.1'],
    ready: /listening on ws:\/\/\S+/,
    fanout: (port) => ['bench/servers/rfc6455-fanout.mjs', '--mode', 'publish', '--port', String(port), '--host', '127.0.0.1'],
    fanoutReady: /^\{"ready".*$/m,
    check: () => '',
    notes: 'our CLI echo server (dist/, pure JS); fan-out: `wss.publish(topic)` (bench/servers/rfc6455-fanout.mjs --mode publish)',
  },
  {
    id: 'rfc6455-each',
    label: 'rfc6455 forEach(send)',
    color: '#ffa94d',
    fanout: (port) => ['bench/servers/rfc6455-fanout.mjs', '--mode', 'each', '--port', String(port), '--host', '127.0.0.1'],
    fanoutReady: /^\{"ready".*$/m,
    check: () => '',
    notes: 'fan-out only: the publisher\'s message sent to every other client with `wss.clients` and `send`, as a ws program does it',
  },
  {
    id: 'ws',
    label: 'ws + bufferutil',
    color: '#1971c2',
    args: (port) => ['bench/servers/ws-echo.mjs', '--port', String(port), '--host', '127.0.0.1'],
    ready: /^\{"ready".*$/m,
    fanout: (port) => ['bench/servers/ws-fanout.mjs', '--port', String(port), '--host', '127.0.0.1'],
    fanoutReady: /^\{"ready".*$/m,
    check: (native) => (native.some((p) => p.includes('bufferutil')) ? '' : 'bufferutil native addon is not loaded'),
    notes:
      'baseline; fan-out: `wss.clients.forEach(send)` (bench/servers/ws-fanout.mjs). Masking through bufferutil; UTF-8 validation through node:buffer isUtf8, which ws 8 prefers over utf-8-validate whenever Node has it (Node ≥ 18.14), so utf-8-validate is never loaded',
  },
  {
    id: 'ws-js',
    label: 'ws (pure JS)',
    color: '#74c0fc',
    args: (port) => ['bench/servers/ws-echo.mjs', '--port', String(port), '--host', '127.0.0.1'],
    env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
    ready: /^\{"ready".*$/m,
    check: (native) => (native.length === 0 ? '' : `native addons loaded although disabled: ${native.join(', ')}`),
    notes: 'WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1: JS masking; UTF-8 validation still uses node:buffer isUtf8 (part of Node)',
  },
  {
    id: 'uws',
    label: 'uWebSockets.js',
    color: '#2f9e44',
    args: (port) => ['bench/servers/uws-echo.mjs', '--port', String(port), '--host', '127.0.0.1'],
    ready: /^\{"ready".*$/m,
    fanout: (port) => ['bench/servers/uws-fanout.mjs', '--port', String(port), '--host', '127.0.0.1'],
    fanoutReady: /^\{"ready".*$/m,
    check: (native) => (native.some((p) => /uws_linux_[^/]*\.node$/.test(p)) ? '' : 'the uWS native binary is not loaded (JS fallback?)'),
    notes:
      'maxPayloadLength 64 MiB, maxBackpressure 256 MiB (default 64 KiB drops echoes), idleTimeout off, no compression; fan-out: `app.publish(topic)` (bench/servers/uws-fanout.mjs)',
  },
  {
    id: 'bun',
    label: 'Bun server.publish',
    color: '#f08c00',
    command: opts.bun,
    fanout: (port) => ['bench/servers/bun-fanout.mjs', '--port', String(port), '--host', '127.0.0.1'],
    fanoutReady: /^\{"ready".*$/m,
    check: () => '',
    notes: `fan-out only: Bun.serve with \`server.publish(topic)\` (bench/servers/bun-fanout.mjs), bun at ${opts.bun}; backpressureLimit 256 MiB, no compression, no pings`,
  },
  {
    id: 'rfc6455-w1',
    label: 'rfc6455, 1 worker',
    color: '#fd7e14',
    cluster: (port) => ['bench/servers/rfc6455-cluster-fanout.mjs', '--workers', '1', '--port', String(port), '--host', '127.0.0.1'],
    clusterReady: /^\{"ready".*$/m,
    check: () => '',
    notes: '"2 workers vs 1" only: `runWorkers` with 1 worker (bench/servers/rfc6455-cluster-fanout.mjs): the cluster primary plus one worker serving every connection, `wss.publish(topic)`',
  },
  {
    id: 'rfc6455-w2',
    label: 'rfc6455, 2 workers',
    color: '#c2255c',
    cluster: (port) => ['bench/servers/rfc6455-cluster-fanout.mjs', '--workers', '2', '--port', String(port), '--host', '127.0.0.1'],
    clusterReady: /^\{"ready".*$/m,
    check: () => '',
    notes: '"2 workers vs 1" only: `runWorkers` with 2 workers; subscribers spread over both (Node 20 has no SO_REUSEPORT: the primary hands connections out), the publisher\'s messages reach the other worker through the primary\'s ClusterRelay',
  },
  {
    id: 'floor',
    label: 'net.Socket floor',
    color: '#868e96',
    args: (port) => ['bench/servers/net-floor.mjs', '--port', String(port), '--host', '127.0.0.1'],
    ready: /^\{"ready".*$/m,
    check: () => '',
    // Not a WebSocket library: it answers the generator's upgrade and close and nothing else.
    scenarios: ['hs-1', 'hs-64', 'idle'],
    notes:
      'not a contender but a reference: the least a node:net server can do per connection (101 with the accept key, a close frame back, end), with no validation, framing or API. What any library built on net.Socket pays in Node and the kernel',
  },
];

// Each scenario: the generator's arguments; `quick` marks the ones the quick run keeps.
const SCENARIOS = [
  { id: '16b-1x64', group: 'throughput', title: '16 B binary, 1×64', short: '16 B, 1×64', quick: false, load: ['--scenario', 'throughput', '--size', '16', '--conns', '1', '--inflight', '64'] },
  { id: '16b-100x16', group: 'throughput', title: '16 B binary, 100×16', short: '16 B, 100×16', quick: true, load: ['--scenario', 'throughput', '--size', '16', '--conns', '100', '--inflight', '16'] },
  { id: '1k-bin', group: 'throughput', title: '1 KiB binary, 100×4', short: '1 KiB bin, 100×4', quick: false, load: ['--scenario', 'throughput', '--size', '1024', '--conns', '100', '--inflight', '4'] },
  { id: '1k-text', group: 'throughput', title: '1 KiB text, 100×4', short: '1 KiB text, 100×4', quick: true, load: ['--scenario', 'throughput', '--size', '1024', '--text', '--conns', '100', '--inflight', '4'] },
  { id: '64k', group: 'throughput', title: '64 KiB binary, 10×2', short: '64 KiB, 10×2', quick: true, load: ['--scenario', 'throughput', '--size', '65536', '--conns', '10', '--inflight', '2'] },
  { id: '16m', group: 'throughput', title: '16 MiB binary, 1×1', short: '16 MiB, 1×1', quick: false, load: ['--scenario', 'throughput', '--size', String(16 * 1024 * 1024), '--conns', '1', '--inflight', '1'] },
  { id: 'latency', group: 'latency', title: '16 B binary, 1×1', short: 'latency', quick: true, load: ['--scenario', 'latency', '--size', '16'] },
  { id: 'hs-1', group: 'handshake', title: 'open + upgrade + close, 1 at a time', short: '1 concurrent', quick: false, load: ['--scenario', 'handshake', '--concurrency', '1'] },
  { id: 'hs-64', group: 'handshake', title: 'open + upgrade + close, 64 concurrent', short: '64 concurrent', quick: true, load: ['--scenario', 'handshake', '--concurrency', '64'] },
  {
    id: 'idle',
    group: 'memory',
    title: `${IDLE_CONNECTIONS.toLocaleString('en-US')} idle connections`,
    short: `${IDLE_CONNECTIONS / 1000}k idle`,
    quick: true,
    load: ['--scenario', 'idle', '--conns', String(IDLE_CONNECTIONS), '--settle', opts.quick ? '1000' : '2000'],
  },
  ...[
    { subs: 1000, size: 16, quick: true },
    { subs: 1000, size: 1024, quick: false },
    { subs: 10000, size: 16, quick: true },
    { subs: 10000, size: 1024, quick: false },
  ].map(({ subs, size, quick }) => ({
    id: `fan-${subs / 1000}k-${size === 16 ? '16b' : '1k'}`,
    group: 'fanout',
    title: `1 topic, ${subs.toLocaleString('en-US')} subscribers, ${size === 16 ? '16 B' : '1 KiB'}`,
    short: `${subs / 1000}k subs, ${size === 16 ? '16 B' : '1 KiB'}`,
    quick,
    load: ['--scenario', 'fanout', '--subs', String(subs), '--size', String(size), '--inflight', String(FANOUT_INFLIGHT), '--pause-us', String(FANOUT_PAUSE_US)],
  })),
  {
    id: 'fan-1k-100hz',
    group: 'fanout',
    title: '1 topic, 1,000 subscribers, 16 B, 100 publishes/s',
    short: '1k subs, 100/s',
    quick: false,
    load: ['--scenario', 'fanout', '--subs', '1000', '--size', '16', '--rate', '100', '--inflight', '1000'],
  },
  ...[
    { subs: 1000, quick: true },
    { subs: 10000, quick: false },
  ].map(({ subs, quick }) => ({
    id: `workers-${subs / 1000}k-16b`,
    group: 'cluster',
    title: `2 workers vs 1: 1 topic, ${subs.toLocaleString('en-US')} subscribers, 16 B`,
    short: `${subs / 1000}k subs, 16 B`,
    quick,
    load: ['--scenario', 'fanout', '--subs', String(subs), '--size', '16', '--inflight', String(FANOUT_INFLIGHT), '--pause-us', String(FANOUT_PAUSE_US)],
  })),
];

/** Whether a contender has a server for a scenario. */
function takesPart(contender, scenario) {
  if (scenario.group === 'fanout') return Boolean(contender.fanout);
  if (scenario.group === 'cluster') return Boolean(contender.cluster);
  if (!contender.args) return false;
  return !contender.scenarios || contender.scenarios.includes(scenario.id);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pick(list, filter, what) {
  if (!filter) return list;
  const ids = filter.split(',');
  const unknown = ids.filter((id) => !list.some((item) => item.id === id));
  if (unknown.length) throw new Error(`unknown ${what}: ${unknown.join(', ')} (known: ${list.map((item) => item.id).join(', ')})`);
  return list.filter((item) => ids.includes(item.id));
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

function machineFacts() {
  let openFilesLimit = '?';
  try {
    openFilesLimit = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  } catch {
    // leave '?'
  }
  let ephemeralPorts = '?';
  try {
    ephemeralPorts = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().replace(/\s+/, '–');
  } catch {
    // leave '?'
  }
  const commit = git(['rev-parse', '--short=12', 'HEAD']);
  return {
    date: new Date().toISOString(),
    cpuModel: os.cpus()[0]?.model ?? '?',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    commit: `${commit} (${git(['log', '-1', '--format=%s']).slice(0, 80)})`,
    dirty: git(['status', '--porcelain', '--', 'src']).length > 0,
    distBuilt: new Date(statSync(join(ROOT, 'dist/cjs/api/cli.js')).mtimeMs).toISOString(),
    versions: {
      ws: packageVersion('ws'),
      bufferutil: packageVersion('bufferutil'),
      'utf-8-validate': packageVersion('utf-8-validate'),
      uws: packageVersion('@trufflesuite/uws-js-unofficial'),
    },
    openFilesLimit,
    ephemeralPorts,
    loadStart: os.loadavg(),
  };
}

let nextPort = PORTS[0];
async function takePort() {
  if (nextPort > PORTS[1]) nextPort = PORTS[0];
  const port = await freePort(nextPort, PORTS[1]);
  nextPort = port + 1;
  return port;
}

function parseLastJsonLine(text) {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (line.startsWith('{')) {
      try {
        return JSON.parse(line);
      } catch {
        // keep looking
      }
    }
  }
  return null;
}

/** Starts a fresh server, checks it, runs one generator process against it, stops the server. */
async function measure(contender, scenario, round, generator) {
  const measurement = { round, scenario: scenario.id, contender: contender.id };
  const port = await takePort();
  const fanout = scenario.group === 'fanout';
  const cluster = scenario.group === 'cluster';
  const serverArgs = cluster ? contender.cluster : fanout ? contender.fanout : contender.args;
  const serverCores = cluster ? CLUSTER_CORES : String(SERVER_CORE);
  const loadCores = cluster ? CLUSTER_CORES : String(LOAD_CORE);
  const server = spawnPinned(serverCores, serverArgs(port), { cwd: ROOT, env: contender.env, command: contender.command });
  try {
    const match = await waitForOutput(server, cluster ? contender.clusterReady : fanout ? contender.fanoutReady : contender.ready, 15000);
    const announced = match[0].startsWith('{') ? JSON.parse(match[0]) : null;
    const native = mappedNativeAddons(server.pid).map((p) => relative(ROOT, p));
    // A multi-process server (cluster primary and workers): every process's CPU list is checked and its CPU counted.
    const pids = announced?.pids ?? [server.pid];
    const allowed = pids.map((pid) => allowedCpus(pid));
    const cpus = allowed.every((list) => list === allowed[0]) ? allowed[0] : allowed.join(' ');
    contender.native ??= native;
    const program = `${contender.env ? `${Object.entries(contender.env).map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}${contender.command ? 'bun' : 'node'}`;
    if (contender.args) contender.commandLine ??= `${program} ${contender.args('P').join(' ')}`;
    if (contender.fanout) contender.fanoutCommandLine ??= `${program} ${contender.fanout('P').join(' ')}`;
    if (contender.cluster) contender.clusterCommandLine ??= `${program} ${contender.cluster('P').join(' ')}`;
    if (announced?.version) contender.version = announced.version;
    const expectedCpus = serverCores.replace(',', '-'); // /proc shows 0,1 as 0-1
    const problem = contender.check(native) || (cpus === expectedCpus ? '' : `server may run on CPUs ${cpus}, not ${expectedCpus}`);
    if (problem) throw new Error(`contender check failed: ${problem}`);
    await sleep(200);

    const timing = ['--warmup', String(TIMING.warmupMs), '--duration', String(TIMING.durationMs)];
    const loadArgs = [...scenario.load, ...timing, '--port', String(port), '--server-pid', pids.join(',')];
    const load = generator
      ? spawnPinned(loadCores, loadArgs, { cwd: ROOT, command: generator })
      : spawnPinned(loadCores, ['bench/load.mjs', ...loadArgs], { cwd: ROOT });
    // Beyond the generator's own hard deadline (60 s + 5 ms per connection it opens, past its windows).
    const limitMs = TIMING.warmupMs + TIMING.durationMs + 180_000;
    const outcome = await Promise.race([
      load.exited.then(() => 'load'),
      server.exited.then(() => 'server'),
      sleep(limitMs).then(() => 'timeout'),
    ]);
    if (outcome !== 'load') await stopChild(load, 500);
    if (outcome === 'server') throw new Error(`server exited during the measurement: ${server.stderrText.trim().slice(-400)}`);
    if (outcome === 'timeout') throw new Error(`load generator did not finish within ${limitMs} ms`);
    measurement.result = parseLastJsonLine(load.stdoutText) ?? { ok: false, error: `no result from the load generator: ${load.stderrText.trim().slice(-400)}` };
    if (measurement.result.ok && measurement.result.genCpus !== loadCores.replace(',', '-')) {
      measurement.error = `load generator may run on CPUs ${measurement.result.genCpus}, not ${loadCores}`;
    }
  } catch (error) {
    measurement.error = error.message;
  } finally {
    measurement.serverExit = await stopChild(server, 2000);
    const stats = /uws-(?:echo|fanout) stats (\{.*\})/.exec(server.stderrText);
    if (stats) measurement.serverStats = JSON.parse(stats[1]);
    const workers = [...server.stderrText.matchAll(/cluster-fanout stats (\{.*\})/g)].map((m) => JSON.parse(m[1]));
    if (workers.length > 0) measurement.serverStats = { workers: workers.sort((a, b) => a.slot - b.slot) };
  }
  return measurement;
}

function describe(measurement) {
  if (measurement.error) return `ERROR ${measurement.error}`;
  const r = measurement.result;
  if (!r.ok) return `ERROR ${r.error}`;
  const wait = Number.isFinite(r.serverWait) ? `; waited for a CPU: gen ${Math.round(r.genWait * 100)}%, server ${Math.round(r.serverWait * 100)}%` : '';
  const cpu = `(gen ${Math.round(r.genCpu * 100)}%, server ${Math.round(r.serverCpu * 100)}%${wait})`;
  if (r.scenario === 'throughput') return `${Math.round(r.msgsPerSec).toLocaleString('en-US')} msg/s, ${r.mbPerSec.toFixed(1)} MB/s ${cpu}`;
  if (r.scenario === 'latency') return `p50 ${r.p50us.toFixed(1)} µs, p99 ${r.p99us.toFixed(1)} µs, p99.9 ${r.p999us.toFixed(1)} µs ${cpu}`;
  if (r.scenario === 'fanout') {
    const spread = measurement.serverStats?.workers ? `, subscribers per worker ${measurement.serverStats.workers.map((w) => w.subscribers).join('/')}` : '';
    return `${Math.round(r.deliveriesPerSec).toLocaleString('en-US')} deliveries/s (${Math.round(r.publishesPerSec)} publishes/s), p50 ${(r.p50us / 1000).toFixed(2)} ms, p99 ${(r.p99us / 1000).toFixed(2)} ms, ${r.lostDeliveries} lost, ${r.missedDeliveries ?? '?'} missed, ${r.duplicateDeliveries ?? '?'} duplicated, ${(r.deliveries / r.reads).toFixed(1)} frames/read${spread} ${cpu}`;
  }
  if (r.scenario === 'handshake') return `${Math.round(r.perSec).toLocaleString('en-US')} handshakes/s, ${r.errors} errors ${cpu}`;
  return `${Math.round(r.bytesPerConn).toLocaleString('en-US')} B/conn (${r.rssBeforeKiB} -> ${r.rssAfterKiB} KiB, ${r.alive}/${r.conns} alive) ${cpu}`;
}

async function main() {
  installCleanupHooks();
  if (!existsSync(join(ROOT, 'dist/cjs/api/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  let contenders = pick(CONTENDERS, opts.contenders, 'contenders');
  if (!contenders.some((c) => c.id === 'ws')) throw new Error('the baseline contender "ws" must be part of the run');
  if (!bunInstalled) {
    if (opts.contenders?.split(',').includes('bun')) throw new Error(`no bun at ${opts.bun} (--bun PATH, or npm install --prefix /tmp/bun-try bun)`);
    contenders = contenders.filter((c) => c.id !== 'bun');
    process.stdout.write(`bench: no bun at ${opts.bun}, Bun left out of the fan-out scenarios\n`);
  }
  let scenarios = pick(opts.quick && !opts.only ? SCENARIOS.filter((s) => s.quick) : SCENARIOS, opts.only, 'scenarios');
  if (opts.gen === 'node' && scenarios.some((s) => s.group === 'fanout')) {
    scenarios = scenarios.filter((s) => s.group !== 'fanout');
    process.stdout.write('bench: the node generator has no fan-out scenario; those are left out\n');
  }
  const generator = opts.gen === 'c' ? ensureGenerator(BENCH) : null;
  const started = Date.now();
  const run = {
    mode: MODE,
    rounds: ROUNDS,
    timing: TIMING,
    meta: { ...machineFacts(), generator: opts.gen },
    contenders,
    scenarios,
    measurements: [],
  };
  if (opts.note) run.meta.note = opts.note;
  const rawFile = join(dirname(opts.out), 'results', `${MODE}.json`); // next to the report and its charts
  mkdirSync(dirname(rawFile), { recursive: true });
  const save = () => writeFileSync(rawFile, `${JSON.stringify(run, (key, value) => (typeof value === 'function' || value instanceof RegExp ? undefined : value), 1)}\n`);

  process.stdout.write(
    `bench (${MODE}): ${ROUNDS} round(s) × ${scenarios.length} scenarios × ${contenders.length} contenders; load average ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}\n`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      for (const contender of contenders) {
        if (!takesPart(contender, scenario)) continue;
        const measurement = await measure(contender, scenario, round, generator);
        run.measurements.push(measurement);
        save();
        process.stdout.write(`[${round}/${ROUNDS}] ${scenario.title.padEnd(40)} ${contender.label.padEnd(16)} ${describe(measurement)}\n`);
      }
    }
  }
  run.meta.loadEnd = os.loadavg();
  run.meta.elapsedSeconds = (Date.now() - started) / 1000;
  save();

  const report = renderReport(run);
  const charts = report.charts;
  let markdown = report.markdown;
  // The full run also measures across processes through Redis (bench/redis-bench.mjs, its own
  // redis-server) and includes its tables; `npm run bench:redis` runs that part alone.
  if (!opts.quick && opts.only === undefined && existsSync('/usr/bin/redis-server')) {
    process.stdout.write('\nbench: the Redis part (bench/redis-bench.mjs)\n');
    const redis = spawnSync(process.execPath, [join(BENCH, 'redis-bench.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const file = join(BENCH, 'RESULTS-redis.md');
    if (redis.status === 0 && existsSync(file)) {
      const body = readFileSync(file, 'utf8').replace(/^# .*\n/, '').replace(/^## /gm, '### ');
      markdown += `\n## Across processes through Redis\n\nFrom \`node bench/redis-bench.mjs\` in the same run (also in [RESULTS-redis.md](RESULTS-redis.md)).\n${body}`;
    } else {
      markdown += `\n## Across processes through Redis\n\nbench/redis-bench.mjs failed in this run (exit ${redis.status}); see its output.\n`;
    }
  }
  const chartDir = join(dirname(opts.out), 'charts');
  mkdirSync(chartDir, { recursive: true });
  for (const chart of charts) writeFileSync(join(chartDir, chart.file), chart.svg);
  writeFileSync(opts.out, markdown);
  process.stdout.write(`\nwrote ${relative(process.cwd(), opts.out)}, ${charts.length} charts in ${relative(process.cwd(), chartDir)}/, raw data in ${relative(process.cwd(), rawFile)} (${Math.round(run.meta.elapsedSeconds)} s)\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);
