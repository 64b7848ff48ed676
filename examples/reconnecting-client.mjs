// A client that survives a server restart: the `reconnect` option keeps one WebSocket object across
// connections, waits with backoff between attempts, and queues what is sent meanwhile.
//
//   npm run build && node examples/reconnecting-client.mjs   # the server "crashes" and comes back; exits 0
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'rfc6455';

const received = [];
const startServer = (port) => {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
  return wss;
};
let server = startServer(0);
await once(server, 'listening');
const port = server.address().port; // the restarted server listens on the same port

const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
  // Delays: 100 ms, then ×2 each attempt (±50 % jitter), at most 2 s; give up after 20 failed attempts.
  reconnect: { initialDelay: 100, maxDelay: 2000, maxAttempts: 20 },
});
ws.on('open', () => console.log('client: open'));
ws.on('reconnecting', ({ attempt, delay, code }) => {
  console.log(`client: connection lost (${code}); attempt ${attempt} in ${Math.round(delay)} ms`);
  if (attempt === 1) {
    ws.send('sent while disconnected'); // queued: goes out right after the next 'open'
    server = startServer(port); // the server comes back
  }
});
ws.on('reconnect', ({ attempt }) => console.log(`client: back after ${attempt} attempt(s)`));

await once(ws, 'open');
ws.send('first');
while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
// The server "crashes": its connections are cut without a close frame (1006), which the client retries.
for (const client of server.clients) client.terminate();
await new Promise((resolve) => server.close(resolve));

await once(ws, 'reconnect');
while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
console.log('server received', received);
ws.close(1000); // close() stops reconnecting; 'close' fires once, now
const [code] = await once(ws, 'close');
await new Promise((resolve) => server.close(resolve));
if (received.join() !== 'first,sent while disconnected' || code !== 1000) throw new Error('unexpected');
console.log('reconnecting-client ok');
