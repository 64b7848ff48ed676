// The baseline server under test: an echo server on the `ws` package, permessage-deflate on.
// Each message goes back as it came, text as text and binary as binary.
// Usage: node autobahn/ws-echo-server.mjs [--port 9001] [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const server = new WebSocketServer({ port: Number(values.port), host: values.host, perMessageDeflate: true });

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  // Protocol errors from the peer arrive here; `ws` has already closed the connection with a code.
  socket.on('error', () => {});
});

server.on('listening', () => console.log(`ws echo server on ws://${values.host}:${values.port}`));
server.on('error', (error) => {
  console.error(`ws echo server: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const client of server.clients) client.terminate();
    server.close(() => process.exit(0));
  });
}
