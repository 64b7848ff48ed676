// Streams over a WebSocket: createWebSocketStream turns a socket into a Duplex, so stream.pipeline()
// moves data with backpressure (a writer waits while the socket's queue is full; a reader that does
// not keep up stops the socket being read, and TCP slows the sender down).
//
//   npm run build && node examples/streams.mjs   # streams 8 MiB from the server to a slow reader; exits 0
//
// The server streams a "file" produced by a generator, which is only resumed when the socket can take
// more; the client writes what it receives into a deliberately slow Writable and checks the digest.
// Ending the writable side of the stream closes the WebSocket (1000) once the data has gone: a closed
// WebSocket cannot be half-open, so a stream carries one direction's end, not both.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWebSocketStream, WebSocket, WebSocketServer } from 'rfc6455';

const CHUNKS = 128;
const CHUNK_SIZE = 64 * 1024;
let sentDigest = '';

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
wss.on('connection', (ws) => {
  const hash = createHash('sha256');
  let produced = 0;
  let maxQueued = 0;
  async function* file() {
    for (let i = 0; i < CHUNKS; i++) {
      const chunk = Buffer.alloc(CHUNK_SIZE, i % 251);
      hash.update(chunk);
      produced++;
      maxQueued = Math.max(maxQueued, ws.bufferedAmount);
      yield chunk;
    }
    sentDigest = hash.digest('hex');
  }
  pipeline(Readable.from(file()), createWebSocketStream(ws)).then(
    () => console.log(`server: sent ${produced} chunks; at most ${(maxQueued / 1024).toFixed(0)} KiB were queued for the client at once`),
    (error) => console.log('server: the stream failed:', error.message),
  );
});
await once(wss, 'listening');

const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/file`);
const received = createHash('sha256');
let receivedBytes = 0;
const slowSink = new Writable({
  highWaterMark: 64 * 1024,
  write(chunk, encoding, callback) {
    receivedBytes += chunk.length;
    received.update(chunk);
    setTimeout(callback, 1); // a slow consumer: the stream pauses the socket meanwhile
  },
});
await pipeline(createWebSocketStream(ws), slowSink);
await new Promise((resolve) => wss.close(resolve));

const same = received.digest('hex') === sentDigest;
console.log(`client: received ${receivedBytes} bytes, ${same ? 'identical to' : 'DIFFERENT from'} what was sent`);
if (!same || receivedBytes !== CHUNKS * CHUNK_SIZE) throw new Error('the data differs');
console.log('streams ok');
