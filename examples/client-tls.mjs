// wss:// — a WebSocket server over TLS (an https server) and a client that trusts its certificate.
//
//   npm run build && node examples/client-tls.mjs                               # the test fixture cert
//   TLS_CERT=cert.pem TLS_KEY=key.pem node examples/client-tls.mjs              # your own
//
// A self-signed certificate for 127.0.0.1 and localhost (valid 30 days) can be made with:
//   openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
//     -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem
// The client's TLS options (ca, cert, key, servername, rejectUnauthorized...) go to tls.connect.
// Without `ca` a self-signed certificate is refused; never turn verification off
// (rejectUnauthorized: false) outside a test.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { WebSocket, WebSocketServer } from 'rfc6455';

const cert = readFileSync(process.env.TLS_CERT ?? new URL('../test/fixtures/tls-cert.pem', import.meta.url));
const key = readFileSync(process.env.TLS_KEY ?? new URL('../test/fixtures/tls-key.pem', import.meta.url));

const server = createServer({ cert, key }, (req, res) => res.end('an https server that also speaks wss\n'));
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  ws.send(`hello over ${req.socket.getProtocol()}`); // req.socket is the TLSSocket
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await once(server, 'listening');
const url = `wss://127.0.0.1:${server.address().port}/`;

// 1. Without `ca`, the self-signed certificate is not trusted: the handshake fails before any HTTP.
const untrusting = new WebSocket(url);
const [error] = await once(untrusting, 'error');
console.log('without ca:', error.code ?? error.message);

// 2. With the certificate as `ca`, it is trusted (its subjectAltName covers 127.0.0.1).
const ws = new WebSocket(url, { ca: cert });
const [message] = await once(ws, 'message');
console.log('with ca:', String(message));
ws.close();
await once(ws, 'close');
await new Promise((resolve) => wss.close(resolve));
await new Promise((resolve) => server.close(resolve));
if (!String(message).startsWith('hello over TLS')) throw new Error('unexpected message');
console.log('client-tls ok');
