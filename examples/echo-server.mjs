// An echo server and a client that talks to it.
//
//   npm run build && node examples/echo-server.mjs          # runs, prints, exits 0
//   PORT=9001 KEEP_RUNNING=1 node examples/echo-server.mjs  # only the server, until Ctrl-C
//
// The server sends every message back as it came (text stays text, binary stays binary).
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'rfc6455';

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  console.log('server: connection from', req.socket.remoteAddress);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (error) => console.log('server: socket error', error.message));
});
await once(wss, 'listening');
const { port } = wss.address();
console.log(`server: listening on ws://127.0.0.1:${port}`);

if (process.env.KEEP_RUNNING) {
  process.once('SIGINT', () => wss.shutdown().then(() => process.exit(0)));
} else {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await once(ws, 'open');
  ws.send('hello');
  const [text, textIsBinary] = await once(ws, 'message');
  ws.send(new Uint8Array([1, 2, 3]));
  const [bytes, bytesIsBinary] = await once(ws, 'message');
  console.log(`client: got "${text}" (binary: ${textIsBinary}) and [${[...bytes]}] (binary: ${bytesIsBinary})`);
  ws.close(1000, 'done');
  const [code] = await once(ws, 'close');
  await new Promise((resolve) => wss.close(resolve));
  console.log(`echo-server ok: closed with ${code}`);
}
