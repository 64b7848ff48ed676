// Preloaded (`node --import`) into a bench server to measure diagnostics in use: subscribes to every
// rfc6455 channel (counting what arrives) and reads the server's stats() once a second.
import { subscribe } from 'node:diagnostics_channel';

const counts = new Map();
for (const name of ['rfc6455:websocket:open', 'rfc6455:websocket:close', 'rfc6455:websocket:socket_error', 'rfc6455:websocket:ping', 'rfc6455:websocket:pong', 'rfc6455:server:handshake']) {
  counts.set(name, 0);
  subscribe(name, () => counts.set(name, counts.get(name) + 1));
}
// The server the CLI makes: found through the handshake channel's messages.
let server = null;
subscribe('rfc6455:server:handshake', (message) => {
  server ??= message.server;
});
const timer = setInterval(() => {
  if (server !== null) server.stats();
}, 1000);
timer.unref();
