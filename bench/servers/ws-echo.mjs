// Echo server on `ws` for the benchmarks: node bench/servers/ws-echo.mjs --port P [--host 127.0.0.1]
// With WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1 in the environment ws stays pure JS.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});

// ws 8 validates UTF-8 with node:buffer's isUtf8 whenever Node has it, and only otherwise tries utf-8-validate.
const { isUtf8 } = require('node:buffer');

const wss = new WebSocketServer({ port: Number(values.port), host: values.host }, () => {
  announceReady({
    server: 'ws',
    version: require('ws/package.json').version,
    utf8Validation: isUtf8 ? 'node:buffer isUtf8' : 'utf-8-validate or JS',
    env: { WS_NO_BUFFER_UTIL: process.env.WS_NO_BUFFER_UTIL ?? '', WS_NO_UTF_8_VALIDATE: process.env.WS_NO_UTF_8_VALIDATE ?? '' },
  });
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('error', (error) => {
  process.stderr.write(`ws-echo: ${error.message}\n`);
  process.exit(1);
});
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
