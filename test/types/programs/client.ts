// A client with subprotocols, headers, TLS and handshake options, and its events.
import { Agent } from 'node:http';
import { createConnection } from 'node:net';
import WebSocket from 'ws';

const options: WebSocket.ClientOptions = {
  headers: { Authorization: 'Bearer token', 'X-Trace': 'abc' },
  handshakeTimeout: 5000,
  perMessageDeflate: false,
  followRedirects: true,
  maxRedirects: 3,
  rejectUnauthorized: false,
  origin: 'https://example.com',
  maxPayload: 1 << 20,
};

const ws = new WebSocket('wss://example.com/socket', ['chat', 'superchat'], options);
const plain = new WebSocket(new URL('ws://localhost:8080'), { headers: { Cookie: 'a=b' } });
const single = new WebSocket('ws://localhost:8080', 'chat');

ws.binaryType = 'arraybuffer';
ws.on('open', function open() {
  console.log('negotiated', this.protocol, ws.extensions, ws.url);
  ws.send(JSON.stringify({ hello: 'world' }));
  ws.send(new Uint8Array([1, 2, 3]), { binary: true, compress: false });
  ws.send(Buffer.from('x'), (error) => {
    if (error) console.error(error);
  });
  ws.ping();
  ws.ping('payload', false, (error) => console.log('ping written', error));
});
ws.on('message', (data, isBinary) => {
  if (isBinary) console.log('binary', data instanceof ArrayBuffer ? data.byteLength : data.length);
  else console.log('text', data.toString());
});
ws.on('upgrade', (response) => console.log(response.headers['set-cookie']));
ws.on('unexpected-response', (request, response) => {
  console.log(response.statusCode, request.getHeader('host'));
});
ws.on('redirect', (url) => console.log('redirected to', url));
ws.on('error', (error) => console.error(error.message));
ws.once('close', (code, reason) => console.log(code, reason.toString('utf8')));

// Routed connections: an agent, a socket factory, the request finished by the application.
const agent = new Agent({ keepAlive: false });
const viaAgent = new WebSocket('ws://localhost:8080', { agent });
const viaFactory = new WebSocket('ws://localhost:8080', {
  createConnection,
  finishRequest: (request, websocket) => {
    request.setHeader('X-Ready-State', String(websocket.readyState));
    request.end();
  },
});
viaAgent.terminate();
viaFactory.terminate();

if (plain.readyState === WebSocket.CONNECTING) plain.close(1000, 'bye');
single.terminate();
console.log(ws.bufferedAmount, ws.isPaused);
ws.pause();
ws.resume();
