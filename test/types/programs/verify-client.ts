// verifyClient, synchronous and asynchronous, inline and through ws's callback types; handleProtocols.
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

const allowed = new Set(['https://example.com']);

const verifyAsync: WebSocket.VerifyClientCallbackAsync = (info, callback) => {
  const token = info.req.headers['sec-websocket-protocol'];
  if (token === undefined) {
    callback(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
    return;
  }
  setTimeout(() => callback(allowed.has(info.origin) || info.secure), 10);
};

const verifySync: WebSocket.VerifyClientCallbackSync<IncomingMessage> = ({ req, secure }) =>
  secure || req.socket.remoteAddress === '127.0.0.1';

const options: WebSocket.ServerOptions = {
  port: 0,
  verifyClient: verifyAsync,
  handleProtocols: (protocols, request) => (protocols.has('chat') && request.url !== '/' ? 'chat' : false),
};

const a = new WebSocketServer(options);
const b = new WebSocketServer({ port: 0, verifyClient: verifySync });
const c = new WebSocketServer({
  port: 0,
  verifyClient: (info, done) => {
    done(info.req.url === '/ok');
  },
});
const d = new WebSocketServer({
  port: 0,
  verifyClient: (info: { origin: string; secure: boolean; req: IncomingMessage }) => info.req.headers.host !== undefined,
});

for (const server of [a, b, c, d]) server.on('error', (error) => console.error(error.message));
