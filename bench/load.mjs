// Load generator: a raw node:net WebSocket client that does its own handshake, keeps pre-built masked
// frames in flight and counts echoes by frame lengths. One measurement per process; prints one JSON line.
// Normally started by bench/run.mjs pinned with `taskset -c 1`; standalone:
//   node bench/load.mjs --scenario throughput --port 8080 --size 16 --conns 100 --inflight 16
// Scenarios: throughput | latency | handshake | idle. Every loop is bounded in time (--warmup + --duration,
// plus a hard deadline) and in count.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  checkUpgradeResponse,
  FrameCounter,
  maskedCloseFrame,
  maskedFrame,
  OP_BINARY,
  OP_TEXT,
  upgradeRequest,
  utf8Text,
} from './lib/frames.mjs';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'throughput' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    size: { type: 'string', default: '16' },
    text: { type: 'boolean', default: false },
    conns: { type: 'string', default: '1' },
    inflight: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '3000' },
    settle: { type: 'string', default: '2000' },
    'server-pid': { type: 'string' },
  },
});

const host = args.host;
const port = Number(args.port);
const warmupMs = Number(args.warmup);
const durationMs = Number(args.duration);
const serverPid = args['server-pid'] ? Number(args['server-pid']) : 0;
const MASK_KEY = randomBytes(4);
const UPGRADE = upgradeRequest(host, port);
const HANDSHAKE_TIMEOUT_MS = 5000;
const OPEN_CONCURRENCY = 128;
const MAX_LATENCY_SAMPLES = 4_000_000;
const MAX_HANDSHAKE_CYCLES = 5_000_000;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// A hard deadline: whatever happens, this process ends. Scenarios that open many sockets get more time.
const deadlineMs = warmupMs + durationMs + Number(args.settle) + 60_000;
setTimeout(() => finish({ ok: false, error: `load generator hit its hard deadline (${deadlineMs} ms)` }, 3), deadlineMs);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function finish(result, code = 0) {
  // Where this process may run: bench/run.mjs pins it to core 1 and checks this field.
  result.genCpus = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? '?';
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

/** utime + stime of a process (all its threads) in seconds, from /proc/<pid>/stat. */
function processCpuSeconds(pid) {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** VmRSS of a process in KiB, from /proc/<pid>/status. */
function processRssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** Start of a measured window: wall clock, own CPU, server CPU. */
function windowStart() {
  return { wall: performance.now(), cpu: process.cpuUsage(), serverCpu: processCpuSeconds(serverPid) };
}

/** Seconds elapsed and CPU utilization (fraction of one core) of the generator and the server. */
function windowEnd(start) {
  const seconds = (performance.now() - start.wall) / 1000;
  const cpu = process.cpuUsage(start.cpu);
  return {
    seconds,
    genCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    serverCpu: (processCpuSeconds(serverPid) - start.serverCpu) / seconds,
  };
}

// Every established connection reads into this one buffer (net's `onread`): no allocation and no stream
// machinery per read. The callback runs synchronously, so one buffer serves all sockets.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * TCP connect + upgrade. Resolves with the socket and its `link`: after the handshake, set `link.onBytes(buf, n)`
 * to receive what arrives (in READ_BUFFER, valid only during the call). `rest` copies any bytes that followed the head.
 */
function openWebSocket() {
  return new Promise((resolve, reject) => {
    const link = { onBytes: onHead };
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n, buf) => link.onBytes(buf, n) },
    });
    let head = null;
    let settled = false;
    const timer = setTimeout(() => fail(new Error('handshake timeout')), HANDSHAKE_TIMEOUT_MS);
    function cleanup() {
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.removeListener('close', onClose);
    }
    function fail(error) {
      if (settled) return;
      cleanup();
      socket.destroy();
      reject(error);
    }
    function onClose() {
      fail(new Error('connection closed during the handshake'));
    }
    function onHead(buf, n) {
      if (settled) return;
      const copy = Buffer.from(buf.subarray(0, n));
      head = head === null ? copy : Buffer.concat([head, copy]);
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) {
        if (head.length > 16384) fail(new Error('response head too large'));
        return;
      }
      const problem = checkUpgradeResponse(head.toString('latin1', 0, at + 4), UPGRADE.accept);
      if (problem) {
        fail(new Error(problem));
        return;
      }
      cleanup();
      link.onBytes = () => {};
      resolve({ socket, link, rest: head.subarray(at + 4) });
    }
    socket.on('connect', () => socket.write(UPGRADE.request));
    socket.on('error', fail);
    socket.on('close', onClose);
  });
}

/** Opens `count` WebSockets, at most `concurrency` handshakes at a time. */
async function openMany(count, concurrency) {
  const opened = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const index = next++;
      opened[index] = await openWebSocket();
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return opened;
}

function closeAll(sockets) {
  // RST instead of FIN: no TIME_WAIT left behind on the generator's ephemeral ports.
  for (const socket of sockets) if (!socket.destroyed) socket.resetAndDestroy();
}

/** N connections, W frames in flight on each; every echo is answered by the next frame. */
async function throughput({ latency }) {
  const size = Number(args.size);
  const conns = latency ? 1 : Number(args.conns);
  const inflight = latency ? 1 : Number(args.inflight);
  const payload = args.text ? utf8Text(size) : randomBytes(size);
  const frame = maskedFrame(args.text ? OP_TEXT : OP_BINARY, payload, MASK_KEY);
  const batch = inflight === 1 ? frame : Buffer.concat(Array.from({ length: inflight }, () => frame));
  const slices = [batch.subarray(0, 0)];
  for (let k = 1; k <= inflight; k++) slices.push(batch.subarray(0, k * frame.length));

  const opened = await openMany(conns, OPEN_CONCURRENCY);
  const sockets = opened.map((entry) => entry.socket);
  const state = { total: 0, running: true, errors: 0, closedEarly: 0, surplus: 0 };
  const counters = [];
  const perConnection = new Float64Array(conns);
  const samples = latency ? new Float64Array(MAX_LATENCY_SAMPLES) : null;
  let sampleCount = 0;
  let recording = false;
  let sentAt = 0;

  for (let c = 0; c < conns; c++) {
    const { socket, link, rest } = opened[c];
    const counter = new FrameCounter(size);
    counters.push(counter);
    const onEchoes = (buf, n) => {
      let k = counter.feed(buf, n);
      if (k === 0) return;
      if (latency) {
        const now = performance.now();
        if (recording && sampleCount < MAX_LATENCY_SAMPLES) samples[sampleCount++] = now - sentAt;
        sentAt = now;
      }
      state.total += k;
      perConnection[c] += k;
      if (!state.running) return;
      if (k > inflight) {
        state.surplus += k - inflight;
        k = inflight;
      }
      socket.write(slices[k]);
    };
    link.onBytes = onEchoes;
    socket.on('error', () => state.errors++);
    socket.on('close', () => {
      if (state.running) state.closedEarly++;
    });
    if (rest.length > 0) onEchoes(rest, rest.length);
  }
  if (latency) sentAt = performance.now();
  for (const socket of sockets) socket.write(slices[inflight]);

  await sleep(warmupMs);
  const before = state.total;
  const perConnectionBefore = Float64Array.from(perConnection);
  sampleCount = 0;
  recording = true;
  const start = windowStart();
  await sleep(durationMs);
  const window = windowEnd(start);
  const messages = state.total - before;
  recording = false;
  state.running = false;
  closeAll(sockets);

  let stalled = 0;
  for (let c = 0; c < conns; c++) if (perConnection[c] === perConnectionBefore[c]) stalled++;
  const result = {
    ok: true,
    scenario: latency ? 'latency' : 'throughput',
    size,
    text: args.text,
    conns,
    inflight,
    messages,
    seconds: window.seconds,
    msgsPerSec: messages / window.seconds,
    mbPerSec: (messages * size) / window.seconds / 1e6,
    // Messages per second of server CPU: steadier than msgsPerSec when the server does not get a whole core.
    perServerCpuSec: window.serverCpu > 0 ? messages / (window.serverCpu * window.seconds) : null,
    genCpu: window.genCpu,
    serverCpu: window.serverCpu,
    stalledConnections: stalled,
    wrongLength: counters.reduce((sum, counter) => sum + counter.wrongLength, 0),
    fragments: counters.reduce((sum, counter) => sum + counter.fragments, 0),
    closedByServer: counters.filter((counter) => counter.closed).length,
    closedEarly: state.closedEarly,
    socketErrors: state.errors,
    surplusEchoes: state.surplus,
  };
  if (latency) {
    const sorted = samples.subarray(0, sampleCount).sort();
    const at = (q) => (sampleCount === 0 ? NaN : sorted[Math.min(sampleCount - 1, Math.floor(q * sampleCount))] * 1000);
    result.samples = sampleCount;
    result.p50us = at(0.5);
    result.p99us = at(0.99);
    result.p999us = at(0.999);
    result.maxUs = sampleCount === 0 ? NaN : sorted[sampleCount - 1] * 1000;
  }
  return result;
}

/** One open + upgrade + close handshake + TCP close. */
function handshakeCycle(closeFrame) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    let head = null;
    let counter = null;
    let settled = false;
    const timer = setTimeout(() => fail(new Error('cycle timeout')), HANDSHAKE_TIMEOUT_MS);
    function fail(error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    function onFrames(chunk) {
      // Our close frame went out right after the response head; the server's reply ends the cycle.
      counter.feed(chunk);
      if (counter.closed) socket.end();
    }
    socket.on('connect', () => socket.write(UPGRADE.request));
    socket.on('data', (chunk) => {
      if (counter !== null) {
        onFrames(chunk);
        return;
      }
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) return;
      const problem = checkUpgradeResponse(head.toString('latin1', 0, at + 4), UPGRADE.accept);
      if (problem) {
        fail(new Error(problem));
        return;
      }
      counter = new FrameCounter();
      socket.write(closeFrame);
      if (head.length > at + 4) onFrames(head.subarray(at + 4));
    });
    socket.on('error', fail);
    socket.on('close', () => {
      if (settled) return;
      if (counter === null || !counter.closed) {
        fail(new Error('closed before the close handshake finished'));
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Handshakes per second: `concurrency` loops of open + upgrade + close. */
async function handshakes() {
  const concurrency = Number(args.concurrency);
  const closeFrame = maskedCloseFrame(MASK_KEY);
  const state = { running: true, counting: false, done: 0, cycles: 0, errors: 0, firstError: '' };
  async function loop() {
    while (state.running && state.cycles < MAX_HANDSHAKE_CYCLES) {
      state.cycles++;
      try {
        await handshakeCycle(closeFrame);
        if (state.counting) state.done++;
      } catch (error) {
        if (state.counting) state.errors++;
        if (!state.firstError) state.firstError = error.message;
        await sleep(5);
      }
    }
  }
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(warmupMs);
  state.counting = true;
  const start = windowStart();
  await sleep(durationMs);
  const window = windowEnd(start);
  const done = state.done;
  state.counting = false;
  state.running = false;
  await Promise.all(loops);
  return {
    ok: true,
    scenario: 'handshake',
    concurrency,
    handshakes: done,
    seconds: window.seconds,
    perSec: done / window.seconds,
    perServerCpuSec: window.serverCpu > 0 ? done / (window.serverCpu * window.seconds) : null,
    genCpu: window.genCpu,
    serverCpu: window.serverCpu,
    errors: state.errors,
    firstError: state.firstError,
  };
}

/** Server RSS per idle connection: RSS before and after opening N connections that then sit idle. */
async function idle() {
  if (!serverPid) throw new Error('--server-pid is needed for the idle scenario');
  const conns = Number(args.conns);
  const settleMs = Number(args.settle);
  // Warm the server's code paths first so that lazily loaded code is not charged to the connections.
  closeAll((await openMany(Math.min(200, conns), OPEN_CONCURRENCY)).map((entry) => entry.socket));
  await sleep(500);
  const rssBefore = processRssKiB(serverPid);
  const start = windowStart();
  const opened = await openMany(conns, OPEN_CONCURRENCY);
  const openWindow = windowEnd(start);
  const sockets = opened.map((entry) => entry.socket);
  let errors = 0;
  for (const socket of sockets) socket.on('error', () => errors++);
  await sleep(settleMs);
  const rssAfter = processRssKiB(serverPid);
  const alive = sockets.filter((socket) => !socket.destroyed).length;
  closeAll(sockets);
  return {
    ok: true,
    scenario: 'idle',
    conns,
    alive,
    rssBeforeKiB: rssBefore,
    rssAfterKiB: rssAfter,
    bytesPerConn: ((rssAfter - rssBefore) * 1024) / conns,
    openSeconds: openWindow.seconds,
    opensPerSec: conns / openWindow.seconds,
    genCpu: openWindow.genCpu,
    serverCpu: openWindow.serverCpu,
    socketErrors: errors,
  };
}

const scenarios = {
  throughput: () => throughput({ latency: false }),
  latency: () => throughput({ latency: true }),
  handshake: handshakes,
  idle,
};

const run = scenarios[args.scenario];
if (!run || !Number.isInteger(port) || port <= 0) {
  finish({ ok: false, error: `usage: --scenario ${Object.keys(scenarios).join('|')} --port P` }, 2);
} else {
  run().then(
    (result) => finish(result),
    (error) => finish({ ok: false, error: String(error?.message ?? error) }, 1),
  );
}
