// Fan-out server on uWebSockets.js for the benchmarks: route /sub subscribes to the topic, route /pub is the
// publisher, whose every message goes out with app.publish(topic).
// node bench/servers/uws-fanout.mjs --port P [--host 127.0.0.1]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const uWS = require('@trufflesuite/uws-js-unofficial');

const MiB = 1024 * 1024;
const TOPIC = 'bench';
const stats = { published: 0, failed: 0 };
// The defaults (16 KiB payload, 64 KiB backpressure) would drop messages under load; these are far above a run's needs.
const limits = {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * MiB,
  maxBackpressure: 256 * MiB,
  closeOnBackpressureLimit: false,
  idleTimeout: 0,
  sendPingsAutomatically: false,
};

const app = uWS.App();
app
  .ws('/sub', { ...limits, open: (ws) => ws.subscribe(TOPIC) })
  .ws('/pub', {
    ...limits,
    message: (ws, message, isBinary) => {
      if (app.publish(TOPIC, message, isBinary)) stats.published++;
      else stats.failed++;
    },
  })
  .listen(values.host, Number(values.port), (listenSocket) => {
    if (!listenSocket) {
      process.stderr.write(`uws-fanout: cannot listen on ${values.host}:${values.port}\n`);
      process.exit(1);
    }
    announceReady({ server: 'uWebSockets.js app.publish', version: require('@trufflesuite/uws-js-unofficial/package.json').version });
  });

const stop = () => {
  process.stderr.write(`uws-fanout stats ${JSON.stringify(stats)}\n`);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
