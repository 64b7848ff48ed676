// Quick multi-core measurement (not the full bench): fan-out deliveries/s with 1 worker vs 2 workers
// (runWorkers + ClusterBroker), 16 B messages published on one topic by worker 1 to N subscribers spread
// over the workers. The subscribers are raw TCP sockets in a child process (the generator) that only
// count bytes. Configurations interleave (1 2 1 2 ...); medians are printed with the generator's CPU time
// and the envelopes the primary relayed. The workers, the generator and this primary share the machine:
// on a 2-core machine shared with others the figures are noisy.
//   npm run build && node bench/cluster-quick.mjs [--subs 400] [--messages 300] [--rounds 3]
import cluster from 'node:cluster';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runCountingSubscribers } from './lib/counting-subscribers.mjs';

const { values: opts } = parseArgs({
  options: {
    subs: { type: 'string', default: '400' },
    messages: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'boolean', default: false },
  },
});
const SUBS = Number(opts.subs);
const MESSAGES = Number(opts.messages);
const PAYLOAD = Buffer.alloc(16, 0x61);
const FRAME = 2 + PAYLOAD.length;
const { runWorkers } = await import('../dist/esm/index.js');

if (opts.child) runCountingSubscribers(SUBS);
else if (cluster.isWorker) runWorker();
else await runPrimary();

/** A worker: a server whose every client subscribes to 't'; publishes on the primary's request. */
function runWorker() {
  runWorkers({
    workers: 1,
    async setup({ broker, reusePort }) {
      const { WebSocketServer } = await import('../dist/esm/index.js');
      const wss = new WebSocketServer({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1', broker, reusePort }, () =>
        process.send({ ready: true }),
      );
      wss.on('connection', (socket) => socket.subscribe('t'));
      process.on('message', async (message) => {
        if (message.publish === undefined) return;
        for (let i = 0; i < message.publish; i++) {
          wss.publish('t', PAYLOAD);
          if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
        }
      });
    },
  });
}

async function runPrimary() {
  const results = new Map([
    [1, []],
    [2, []],
  ]);
  for (let round = 0; round < Number(opts.rounds); round++) {
    for (const workers of results.keys()) results.get(workers).push(await measure(workers));
  }
  console.log(`cluster fan-out: ${SUBS} subscribers, ${MESSAGES} messages of ${PAYLOAD.length} B per run, ${opts.rounds} rounds (median; noisy)`);
  console.log(`node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, ${new Date().toISOString()}`);
  for (const [workers, runs] of results) {
    const rate = median(runs.map((r) => r.rate));
    const generatorCpu = median(runs.map((r) => r.generatorCpu));
    const relayed = median(runs.map((r) => r.relayed));
    console.log(
      `${String(workers)} worker(s)  ${(rate / 1e6).toFixed(2).padStart(6)} M deliveries/s  ` +
        `generator CPU ${generatorCpu.toFixed(0).padStart(5)} ms  envelopes relayed ${relayed}`,
    );
  }
  process.exit(0);
}

async function measure(workers) {
  const port = await freePort();
  process.env.BENCH_PORT = String(port);
  const ready = new Set();
  const onReady = (worker, message) => message?.ready && ready.add(worker);
  cluster.on('message', onReady);
  const pool = runWorkers({ workers, setup() {} });
  await until(() => ready.size === workers);
  cluster.off('message', onReady);

  const generator = fork(new URL(import.meta.url), ['--child', '--subs', String(SUBS)]);
  const next = (key) => new Promise((resolve) => generator.on('message', function on(m) {
    if (m[key] !== undefined) {
      generator.off('message', on);
      resolve(m);
    }
  }));
  const opened = next('open');
  generator.send({ connect: port });
  await opened;
  await until(() => pool.relay.interestIn('t') === workers);
  const done = next('done');
  const deliveries = SUBS * MESSAGES;
  generator.send({ expect: deliveries * FRAME });
  const relayed0 = pool.relay.forwarded;
  const t0 = process.hrtime.bigint();
  pool.workers[0].send({ publish: MESSAGES });
  const { cpu } = await done;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const relayed = pool.relay.forwarded - relayed0;
  generator.send({ close: true });
  await once(generator, 'exit');
  await pool.close();
  return {
    rate: deliveries / seconds,
    generatorCpu: (cpu.user + cpu.system) / 1000,
    relayed,
  };
}

async function until(condition) {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('timed out');
}

async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
