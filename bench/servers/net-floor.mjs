// The floor of a node:net WebSocket server, for the handshake and idle-memory scenarios only: per connection it finds the
// end of the request head, answers 101 with the Sec-WebSocket-Accept of the key, and answers the
// client's first frame (its close) with a close frame, then ends the socket. No validation, no
// framing, no API: what a connection cycle costs in Node's net.Socket and the kernel alone, so that
// a library's own share of the cost can be told apart. node bench/servers/net-floor.mjs --port P
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

const server = createServer({ noDelay: true }, (socket) => {
  let upgraded = false;
  socket.on('data', (chunk) => {
    if (upgraded) {
      socket.end(CLOSE_1000);
      return;
    }
    const text = chunk.toString('latin1');
    if (!text.endsWith('\r\n\r\n')) return socket.destroy(); // the generator sends its head in one write
    const at = text.search(/sec-websocket-key:/i);
    const key = text.slice(at + 18, text.indexOf('\r\n', at)).trim();
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    upgraded = true;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, server: 'net floor' })}\n`);
});
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
