// Authentication in verifyClient: the token is checked asynchronously (here against a Map behind a
// promise, in real life a database or a JWT library) before the handshake completes. A refused client
// gets an HTTP 401 and never becomes a WebSocket; an accepted one finds its user on `req`.
//
//   npm run build && node examples/auth-verify-client.mjs   # three clients; prints, exits 0
//
// Browsers cannot set an Authorization header on a WebSocket, so the token may also come in the query
// string (?token=...). Use wss:// then, and keep such URLs out of your access logs.
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'rfc6455';

const sessions = new Map([['t0k3n-alice', { name: 'alice' }]]);
const lookUp = async (token) => {
  await new Promise((resolve) => setTimeout(resolve, 10)); // stands for a round trip to a store
  return sessions.get(token);
};

const wss = new WebSocketServer({
  port: Number(process.env.PORT ?? 0),
  host: '127.0.0.1',
  // Two parameters: the async form. Call done(true) to accept, done(false, status, message, headers) to refuse.
  verifyClient({ req }, done) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? new URL(req.url, 'ws://localhost').searchParams.get('token');
    if (!token) return done(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
    lookUp(token).then(
      (user) => {
        if (user === undefined) return done(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        req.user = user; // the same req is given to 'connection'
        done(true);
      },
      () => done(false, 503, 'Service Unavailable'), // the store failed: refuse, and say it was not the client's fault
    );
  },
});
wss.on('connection', (ws, req) => ws.send(`welcome, ${req.user.name}`));
await once(wss, 'listening');
const url = `ws://127.0.0.1:${wss.address().port}/`;

// Resolves with what happened to one client: its first message, or the HTTP status that refused it.
function attempt(target, options) {
  return new Promise((resolve) => {
    const ws = new WebSocket(target, options);
    ws.on('message', (data) => {
      resolve(`message: ${data}`);
      ws.close();
    });
    ws.on('unexpected-response', (req, res) => {
      resolve(`refused: ${res.statusCode} (WWW-Authenticate: ${res.headers['www-authenticate']})`);
      ws.terminate(); // we handled the response; end the attempt ('error' and 'close' follow)
    });
    ws.on('error', () => {});
  });
}
const results = [
  await attempt(url),
  await attempt(url, { headers: { authorization: 'Bearer wrong' } }),
  await attempt(url, { headers: { authorization: 'Bearer t0k3n-alice' } }),
  await attempt(`${url}?token=t0k3n-alice`),
];
for (const result of results) console.log(result);
await new Promise((resolve) => wss.close(resolve));
const ok = results[0].startsWith('refused: 401') && results[1].startsWith('refused: 401') && results[2] === 'message: welcome, alice' && results[3] === results[2];
if (!ok) throw new Error('unexpected results');
console.log('auth-verify-client ok');
