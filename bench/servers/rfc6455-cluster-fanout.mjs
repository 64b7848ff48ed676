// Fan-out server on rfc6455 (dist/) in N worker processes, through the library's multi-core helper
// (runWorkers + ClusterBroker): connections to /sub subscribe to one topic in whichever worker got them,
// the publisher's (/pub) messages go out with wss.publish in its worker and reach the other workers'
// subscribers through the primary's relay. Used by bench/run.mjs for "2 workers vs 1".
//   node bench/servers/rfc6455-cluster-fanout.mjs --workers N --port P [--host 127.0.0.1]   (npm run build first)
// Prints one ready line with every pid (primary first) once all workers listen; on SIGTERM each worker
// prints `cluster-fanout stats {...}` (its subscribers and publishes) on stderr before the primary exits.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { runWorkers, WebSocketServer } from '../../dist/esm/index.js';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, workers: { type: 'string', default: '2' } },
});
const WORKERS = Number(values.workers);
const TOPIC = 'bench';

const pool = runWorkers({
  workers: WORKERS,
  setup({ broker, reusePort, slot }) {
    const stats = { slot, pid: process.pid, subscribers: 0, publishes: 0 };
    const wss = new WebSocketServer({ port: Number(values.port), host: values.host, broker, reusePort }, () => process.send({ listening: true }));
    wss.on('connection', (ws, req) => {
      ws.on('error', () => {});
      if (req.url !== '/pub') {
        stats.subscribers++;
        ws.subscribe(TOPIC);
        return;
      }
      ws.on('message', (data, isBinary) => {
        stats.publishes++;
        wss.publish(TOPIC, data, { binary: isBinary });
      });
    });
    wss.on('error', (error) => {
      process.stderr.write(`rfc6455-cluster-fanout worker ${slot}: ${error.message}\n`);
      process.exit(1);
    });
    process.once('SIGTERM', () => {
      process.stderr.write(`cluster-fanout stats ${JSON.stringify(stats)}\n`);
      process.exit(0);
    });
    process.once('SIGINT', () => {}); // the primary stops the workers
  },
});

if (pool) {
  let listening = 0;
  cluster.on('message', (worker, message) => {
    if (message?.listening && ++listening === WORKERS) {
      announceReady({
        server: `rfc6455 ${WORKERS} worker(s)`,
        version: require('../../package.json').version,
        pids: [process.pid, ...pool.workers.map((w) => w.process.pid)],
      });
    }
  });
  pool.on('exit', (worker, code, signal, restarted) => {
    process.stderr.write(`rfc6455-cluster-fanout: worker ${worker.process.pid} exited (${signal ?? code})${restarted ? ', restarted' : ''}\n`);
  });
  const stop = () => pool.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
