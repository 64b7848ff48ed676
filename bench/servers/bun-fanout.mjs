// Fan-out server on Bun for the benchmarks (run with bun, not node): connections to /sub subscribe to the topic,
// the one to /pub is the publisher, whose every message goes out with server.publish(topic).
// bun bench/servers/bun-fanout.mjs --port P [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import { announceReady } from './native-modules.mjs';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const MiB = 1024 * 1024;
const TOPIC = 'bench';

const server = Bun.serve({
  hostname: values.host,
  port: Number(values.port),
  fetch(req, srv) {
    const publisher = new URL(req.url).pathname === '/pub';
    if (srv.upgrade(req, { data: { publisher } })) return undefined;
    return new Response('upgrade expected', { status: 400 });
  },
  websocket: {
    perMessageDeflate: false,
    maxPayloadLength: 64 * MiB,
    backpressureLimit: 256 * MiB,
    closeOnBackpressureLimit: false,
    idleTimeout: 960,
    sendPings: false,
    open(ws) {
      if (!ws.data.publisher) ws.subscribe(TOPIC);
    },
    message(ws, message) {
      server.publish(TOPIC, message);
    },
  },
});
announceReady({ server: 'Bun server.publish', version: Bun.version });
const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
