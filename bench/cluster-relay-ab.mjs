// A/B for the multi-core broker's channel: how fast can one worker hand envelopes to its primary/parent?
// A: a cluster worker (child process) over IPC with `serialization: 'advanced'`, one envelope per
// message or 32; B: a worker thread's
// postMessage (copy); C: a worker thread's postMessage transferring the envelope's ArrayBuffer.
// Prints envelopes/s per variant, the median of interleaved rounds. Usage: node bench/cluster-relay-ab.mjs [count] [payload]
import cluster from 'node:cluster';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const COUNT = Number(process.argv[2] ?? 50_000);
const PAYLOAD = Number(process.argv[3] ?? 64);
const ROUNDS = 5;

function envelope() {
  const out = Buffer.alloc(12 + 4 + PAYLOAD);
  out[0] = 1;
  out.write('room', 12);
  return out;
}

if (cluster.isWorker) {
  const batch = Number(process.env.BATCH);
  for (let i = 0; i < COUNT; i += batch) {
    const envelopes = [];
    for (let j = 0; j < batch && i + j < COUNT; j++) envelopes.push(envelope());
    process.send({ tag: 'rfc6455:pubsub', type: 'publish', topics: envelopes.map(() => 'room'), envelopes });
  }
} else if (!isMainThread) {
  for (let i = 0; i < COUNT; i++) {
    const data = envelope();
    if (workerData.transfer) parentPort.postMessage({ topic: 'room', envelope: data }, [data.buffer]);
    else parentPort.postMessage({ topic: 'room', envelope: data });
  }
  // Stay until terminated: a thread that ends may leave messages it posted undelivered.
  parentPort.on('message', () => {});
} else {
  cluster.setupPrimary({ serialization: 'advanced' });
  const variants = {
    'cluster IPC (advanced)': () => ipc(1),
    'cluster IPC, 32 per message': () => ipc(32),
    'worker thread (copy)': () => thread(false),
    'worker thread (transfer)': () => thread(true),
  };
  function ipc(batch) {
    return new Promise((resolve) => {
      const start = performance.now();
      const worker = cluster.fork({ BATCH: String(batch) });
      let got = 0;
      worker.on('message', (m) => {
        got += m.envelopes.filter((e) => e.length > 0).length;
        if (got === COUNT) { resolve(COUNT / ((performance.now() - start) / 1000)); worker.kill(); }
      });
    });
  }
  function thread(transfer) {
    return new Promise((resolve) => {
      const start = performance.now();
      const worker = new Worker(new URL(import.meta.url), { workerData: { transfer }, argv: process.argv.slice(2) });
      let got = 0;
      worker.on('message', (m) => {
        if (m.envelope.byteLength > 0 && ++got === COUNT) { resolve(COUNT / ((performance.now() - start) / 1000)); worker.terminate(); }
      });
    });
  }
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) for (const [name, run] of Object.entries(variants)) results[name].push(await run());
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log(`${COUNT} envelopes of ${PAYLOAD}-byte payloads, median of ${ROUNDS} interleaved rounds (noisy: shared 2-core machine; includes worker start-up)`);
  for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(26)} ${Math.round(median(xs)).toLocaleString('en')} envelopes/s`);
  process.exit(0);
}
