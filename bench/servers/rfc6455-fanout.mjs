// Fan-out server on rfc6455 (dist/) for the benchmarks. Connections to /sub are subscribers, the one to /pub the
// publisher; every message of the publisher goes to every subscriber, through
//   --mode publish   wss.publish(topic): framed once, the same bytes queued on every subscriber
//   --mode each      wss.clients.forEach(send), as a ws program would do it
// node bench/servers/rfc6455-fanout.mjs --mode publish|each --port P [--host 127.0.0.1]   (npm run build first)
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { WebSocketServer } from '../../dist/esm/index.js';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, mode: { type: 'string', default: 'publish' } },
});
if (values.mode !== 'publish' && values.mode !== 'each') throw new Error(`--mode publish|each, not ${values.mode}`);
const TOPIC = 'bench';

const wss = new WebSocketServer({ port: Number(values.port), host: values.host }, () => {
  announceReady({ server: `rfc6455 ${values.mode}`, version: require('../../package.json').version });
});
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  if (req.url !== '/pub') {
    if (values.mode === 'publish') ws.subscribe(TOPIC);
    return;
  }
  if (values.mode === 'publish') {
    ws.on('message', (data, isBinary) => wss.publish(TOPIC, data, { binary: isBinary }));
  } else {
    ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) if (client !== ws) client.send(data, { binary: isBinary });
    });
  }
});
wss.on('error', (error) => {
  process.stderr.write(`rfc6455-fanout: ${error.message}\n`);
  process.exit(1);
});
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
