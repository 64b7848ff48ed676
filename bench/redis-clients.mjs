// Resuming clients for bench/redis-bench.mjs: opens N connections to a node's /resume at once, each
// expecting M replayed messages and its 'recovery' report; prints one JSON line with the time until every
// client had everything, per-client times (p50/p99), and this process's CPU.
// node bench/redis-clients.mjs --port P --clients N --missed M --offset O --epoch E
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: { port: { type: 'string' }, clients: { type: 'string' }, missed: { type: 'string' }, offset: { type: 'string' }, epoch: { type: 'string' } },
});
const clients = Number(values.clients);
const missed = Number(values.missed);
const url = `ws://127.0.0.1:${values.port}/resume?offset=${values.offset}&epoch=${values.epoch}`;
const cpu0 = process.cpuUsage();
const start = performance.now();
const times = [];
let recovered = 0;
let failed = 0;
let done = 0;
let sample = null;
const deadline = setTimeout(() => finish(), 60000);
for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(url);
  let got = 0;
  let report = false;
  ws.on('error', () => failed++);
  ws.on('message', (data, isBinary) => {
    if (isBinary) got++;
    else {
      const result = JSON.parse(String(data));
      sample ??= result;
      if (result.recovered === true) recovered++;
      report = true;
    }
    if (got === missed && report) {
      times.push(performance.now() - start);
      ws.terminate();
      if (++done === clients) finish();
    }
  });
}
function finish() {
  clearTimeout(deadline);
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? null;
  process.stdout.write(
    `${JSON.stringify({ clients, missed, complete: times.length, recovered, failed, allMs: times.length === clients ? at(1) : null, p50Ms: at(0.5), p99Ms: at(0.99), sample, cpuSec: (cpu.user + cpu.system) / 1e6 })}\n`,
  );
  process.exit(0);
}
