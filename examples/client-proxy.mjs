// A client that goes through an HTTP proxy (a CONNECT tunnel), with a tiny proxy written here.
//
//   npm run build && node examples/client-proxy.mjs   # proxy + server + client in one process; exits 0
//
// The `proxy` option takes http://user:pass@host:port (https:// for TLS to the proxy itself): the client
// asks the proxy for a tunnel to the server (CONNECT host:port, with Proxy-Authorization from the URL's
// credentials), then runs the WebSocket handshake (and for wss://, TLS to the server) inside it.
// Without `proxy`, HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read (never for loopback hosts); `proxy:
// false` connects directly whatever the environment says.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { WebSocket, WebSocketServer } from 'rfc6455';

// The WebSocket server the client wants to reach.
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo: ${data}`)));
await once(wss, 'listening');

// The proxy: it answers CONNECT only, for one user, and only to loopback ports.
const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
const tunnels = [];
const proxy = createServer((req, res) => res.writeHead(405).end());
proxy.on('connect', (req, clientSocket, head) => {
  console.log(`proxy: CONNECT ${req.url}`);
  clientSocket.on('error', () => {});
  if (req.headers['proxy-authorization'] !== expected) {
    return clientSocket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
  }
  const { hostname, port } = new URL(`http://${req.url}`);
  if (hostname !== '127.0.0.1') return clientSocket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  const upstream = connect(Number(port), hostname, () => {
    clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(clientSocket);
    clientSocket.pipe(upstream);
  });
  upstream.on('error', () => clientSocket.destroy());
  tunnels.push(upstream);
});
proxy.listen(0, '127.0.0.1');
await once(proxy, 'listening');

const target = `ws://127.0.0.1:${wss.address().port}/`;
const proxyUrl = (credentials) => `http://${credentials}127.0.0.1:${proxy.address().port}`;

// Wrong credentials: the proxy answers 407, and the client fails as for any unexpected answer.
const refused = new WebSocket(target, { proxy: proxyUrl('alice:wrong@') });
const [error] = await once(refused, 'error');
console.log('with the wrong password:', error.message);

// Through the tunnel.
const ws = new WebSocket(target, { proxy: proxyUrl('alice:s3cret@') });
await once(ws, 'open');
ws.send('hello through the proxy');
const [reply] = await once(ws, 'message');
console.log('client:', String(reply));
ws.close();
await once(ws, 'close');

await new Promise((resolve) => wss.close(resolve));
for (const socket of tunnels) socket.destroy();
proxy.closeAllConnections?.();
await new Promise((resolve) => proxy.close(resolve));
if (String(reply) !== 'echo: hello through the proxy') throw new Error('unexpected reply');
console.log('client-proxy ok');
