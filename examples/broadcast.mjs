// Broadcast with topics: each client subscribes to the room named by its URL path, and what it sends
// goes to everyone else in that room (framed once, the same bytes written to every subscriber).
//
//   npm run build && node examples/broadcast.mjs   # three clients in two rooms; prints, exits 0
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'rfc6455';

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url, 'ws://localhost').pathname; // '/lobby', '/games', ...
  ws.subscribe(room);
  ws.on('message', (data, isBinary) => ws.publish(room, data, { binary: isBinary })); // all but the sender
});
wss.on('subscription', (topic, count) => console.log(`server: ${topic} has ${count} subscriber(s)`));
await once(wss, 'listening');
const base = `ws://127.0.0.1:${wss.address().port}`;

// A client that records what it receives.
async function join(room) {
  const ws = new WebSocket(`${base}${room}`);
  ws.received = [];
  ws.on('message', (data) => ws.received.push(String(data)));
  await once(ws, 'open');
  return ws;
}
const alice = await join('/lobby');
const bob = await join('/lobby');
const carol = await join('/games');
// Each client subscribed in the server's 'connection' listener, before the server read anything from it.

alice.send('hi lobby');
await once(bob, 'message');
console.log('server reached', wss.publish('/lobby', 'announcement'), 'subscriber(s) of /lobby'); // alice and bob
console.log('/games has', wss.subscriberCount('/games'), 'subscriber(s), who got nothing of it');
await Promise.all([once(alice, 'message'), once(bob, 'message')]);

console.log('alice got', alice.received, '| bob got', bob.received, '| carol got', carol.received);
const ok = alice.received.join() === 'announcement' && bob.received.join() === 'hi lobby,announcement' && carol.received.length === 0;
for (const ws of [alice, bob, carol]) ws.close();
await Promise.all([alice, bob, carol].map((ws) => once(ws, 'close')));
await new Promise((resolve) => wss.close(resolve));
if (!ok) throw new Error('unexpected deliveries');
console.log('broadcast ok');
