// `npm start`: an echo server on the rfc6455 core, plus a client that talks to it once.
import { WebSocket, WebSocketServer } from '../dist/esm/index.js';

const port = Number(process.env.PORT ?? 8080);
const server = new WebSocketServer({ port, host: '127.0.0.1' }, () => {
  const url = `ws://127.0.0.1:${port}/`;
  console.log(`rfc6455 echo demo listening on ${url}`);
  const client = new WebSocket(url);
  client.on('open', () => client.send('hello from the rfc6455 client'));
  client.on('message', (data) => {
    console.log(`client got its echo back: ${data}`);
    client.close(1000);
  });
  client.on('close', (code) => console.log(`client closed with ${code}; the server keeps running (Ctrl-C to stop)`));
});

server.on('connection', (ws, req) => {
  console.log(`connection from ${req.socket.remoteAddress} for ${req.url}`);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on('error', (error) => {
  console.error(`cannot start the demo: ${error.message} (set PORT to use another port)`);
  process.exitCode = 1;
});
process.once('SIGINT', () => server.close(() => process.exit(0)));
