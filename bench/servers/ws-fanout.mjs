// Fan-out server on `ws` for the benchmarks: the connection to /pub is the publisher, the others subscribers; every
// message of the publisher goes to every other client with wss.clients.forEach(send), the way ws programs broadcast.
// node bench/servers/ws-fanout.mjs --port P [--host 127.0.0.1]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});

const wss = new WebSocketServer({ port: Number(values.port), host: values.host }, () => {
  announceReady({ server: 'ws forEach(send)', version: require('ws/package.json').version });
});
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  if (req.url !== '/pub') return;
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) if (client !== ws) client.send(data, { binary: isBinary });
  });
});
wss.on('error', (error) => {
  process.stderr.write(`ws-fanout: ${error.message}\n`);
  process.exit(1);
});
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
