// Checks of the load generators: the Node generator's wire helpers (no server needed), then the C generator
// (built if needed) against an in-process `ws` server, which rejects any frame that is not valid for it:
// node bench/selftest.mjs
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { checkUpgradeResponse, FrameCounter, maskedFrame, OP_BINARY, upgradeRequest, utf8Text } from './lib/frames.mjs';
import { ensureGenerator } from './lib/generator.mjs';

/** An unmasked server frame with an arbitrary opcode and FIN bit. */
function serverFrame(opcode, length, fin = true) {
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extra);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (extra === 0) header[1] = length;
  else if (extra === 2) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, Buffer.alloc(length, 0x61)]);
}

// Every split of a stream of frames into chunks yields the same count.
const lengths = [0, 1, 125, 126, 127, 65535, 65536, 70000];
const stream = Buffer.concat([
  ...lengths.map((length) => serverFrame(0x2, length)),
  serverFrame(0x1, 10, false),
  serverFrame(0x0, 10, true),
  serverFrame(0xa, 3),
  serverFrame(0x8, 2),
]);
for (let trial = 0; trial < 300; trial++) {
  const counter = new FrameCounter();
  let messages = 0;
  let at = 0;
  const maxChunk = trial < 100 ? 3 : trial < 200 ? 200 : 70000;
  while (at < stream.length) {
    const size = 1 + Math.floor(Math.random() * maxChunk);
    messages += counter.feed(stream.subarray(at, at + size));
    at += size;
  }
  assert.equal(messages, lengths.length + 1);
  assert.equal(counter.fragments, 1);
  assert.equal(counter.closed, true);
  assert.equal(counter.pending, null);
  assert.equal(counter.inFrame, false);
}
const sized = new FrameCounter(16);
assert.equal(sized.feed(Buffer.concat([serverFrame(0x2, 16), serverFrame(0x2, 17)])), 2);
assert.equal(sized.wrongLength, 1);

// Masked client frames unmask back to the payload, for each length encoding.
for (const length of [0, 16, 125, 126, 1024, 65535, 65536, 200000]) {
  const payload = randomBytes(length);
  const key = randomBytes(4);
  const frame = maskedFrame(OP_BINARY, payload, key);
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  assert.equal(frame[0], 0x82);
  assert.equal(frame[1] & 0x80, 0x80);
  const declared = extra === 0 ? frame[1] & 0x7f : extra === 2 ? frame.readUInt16BE(2) : Number(frame.readBigUInt64BE(2));
  assert.equal(declared, length);
  const maskAt = 2 + extra;
  const data = frame.subarray(maskAt + 4);
  for (let i = 0; i < length; i++) data[i] ^= frame[maskAt + (i & 3)];
  assert.deepEqual(data, payload);
}

for (const size of [16, 1024, 65536]) {
  const text = utf8Text(size);
  assert.equal(text.length, size);
  assert.ok(isUtf8(text));
}

const { accept } = upgradeRequest('127.0.0.1', 1);
assert.equal(checkUpgradeResponse(`HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, accept), '');
assert.notEqual(checkUpgradeResponse('HTTP/1.1 400 Bad Request\r\n\r\n', accept), '');

// The C generator, each scenario briefly, every length encoding, against ws (echo; /pub broadcasts to the others).
const generator = ensureGenerator(dirname(fileURLToPath(import.meta.url)));
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await once(wss, 'listening');
let invalid = 0;
wss.on('connection', (ws, req) => {
  ws.on('error', () => invalid++);
  ws.on('message', (data, isBinary) => {
    if (req.url !== '/pub') ws.send(data, { binary: isBinary });
    else for (const client of wss.clients) if (client !== ws) client.send(data, { binary: isBinary });
  });
});
const port = String(wss.address().port);
function wsgen(args) {
  return new Promise((resolve, reject) => {
    const timing = ['--warmup', '100', '--duration', '300', '--port', port, '--server-pid', String(process.pid)];
    execFile(generator, [...timing, ...args], { timeout: 60_000 }, (error, stdout) => {
      if (error) reject(new Error(`wsgen ${args.join(' ')}: ${error.message} ${stdout}`));
      else resolve(JSON.parse(stdout));
    });
  });
}
const cases = [
  ...[0, 125, 126, 65535, 65536, 200000].map((size) => [['--scenario', 'throughput', '--size', String(size), '--conns', '2', '--inflight', '3'], 'messages']),
  [['--scenario', 'throughput', '--size', '1024', '--text', '--conns', '2', '--inflight', '2'], 'messages'],
  [['--scenario', 'latency', '--size', '16'], 'samples'],
  [['--scenario', 'handshake', '--concurrency', '4'], 'handshakes'],
  [['--scenario', 'idle', '--conns', '20', '--settle', '100'], 'alive'],
  [['--scenario', 'fanout', '--subs', '5', '--size', '16', '--inflight', '2'], 'deliveries'],
  [['--scenario', 'fanout', '--subs', '5', '--size', '16', '--inflight', '8', '--pause-us', '1000'], 'deliveries'],
  [['--scenario', 'fanout', '--subs', '5', '--size', '1024', '--rate', '200', '--inflight', '100'], 'deliveries'],
];
for (const [args, counted] of cases) {
  const result = await wsgen(args);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.ok(result[counted] > 0, `${args.join(' ')}: no ${counted}`);
  for (const key of ['wrongLength', 'fragments', 'socketErrors', 'stalledConnections', 'closedEarly', 'errors', 'lostDeliveries', 'unexpectedFrames', 'publisherReceived', 'missedDeliveries', 'duplicateDeliveries']) {
    assert.ok(!(result[key] > 0), `${args.join(' ')}: ${key} ${result[key]}`);
  }
  if (result.scenario === 'fanout') assert.equal(result.totalDeliveries, result.totalPublished * 5, `${args.join(' ')}: every message to every subscriber`);
}
for (const client of wss.clients) client.terminate();

// The fan-out count against a server that is known to be exact (or to be wrong in a known way): a raw node:net
// server that writes each subscriber's frames in pieces of 1 to 7 bytes (so the generator's frames cross its
// reads anywhere), and on request skips message 5 for its first subscriber and sends message 7 twice to its
// second. The generator must count every delivery once, name the skipped one missed and the extra one duplicated.
function knownFanoutServer({ faults }) {
  const subs = [];
  let messages = 0;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    let role = null;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      if (role === null) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        const key = /sec-websocket-key: *(\S+)/i.exec(text)[1];
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        role = text.startsWith('GET /pub') ? 'pub' : 'sub';
        if (role === 'sub') subs.push({ socket, out: [] });
        chunk = head.subarray(end + 4);
      }
      if (role !== 'pub') return;
      pending = Buffer.concat([pending, chunk]);
      // Masked client frames of < 126 bytes (the generator's 16 B messages).
      while (pending.length >= 6 && pending.length >= 6 + (pending[1] & 0x7f)) {
        const length = pending[1] & 0x7f;
        const payload = Buffer.from(pending.subarray(6, 6 + length));
        for (let i = 0; i < length; i++) payload[i] ^= pending[2 + (i & 3)];
        pending = pending.subarray(6 + length);
        messages++;
        const frame = Buffer.concat([Buffer.from([0x82, length]), payload]);
        subs.forEach((sub, index) => {
          if (faults && index === 0 && messages === 5) return;
          sub.out.push(frame);
          if (faults && index === 1 && messages === 7) sub.out.push(frame);
        });
        setImmediate(flushAll);
      }
    });
  });
  function flushAll() {
    for (const sub of subs) {
      if (sub.out.length === 0 || sub.socket.destroyed) continue;
      const bytes = Buffer.concat(sub.out);
      sub.out = [];
      for (let at = 0; at < bytes.length; ) {
        const take = 1 + Math.floor(Math.random() * 7);
        sub.socket.write(bytes.subarray(at, at + take));
        at += take;
      }
    }
  }
  return server;
}
for (const faults of [false, true]) {
  const server = knownFanoutServer({ faults });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const args = ['--scenario', 'fanout', '--subs', '4', '--size', '16', '--inflight', '4', '--warmup', '100', '--duration', '300'];
  const result = await new Promise((resolve, reject) => {
    const pids = `${process.pid},${process.pid}`; // a multi-process server's pids (here the same twice)
    execFile(generator, [...args, '--port', String(server.address().port), '--server-pid', pids], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(new Error(`wsgen ${args.join(' ')}: ${error.message} ${stdout}`)) : resolve(JSON.parse(stdout)),
    );
  });
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.ok(result.totalPublished > 10, `faults ${faults}: only ${result.totalPublished} messages`);
  assert.equal(result.missedDeliveries, faults ? 1 : 0, `faults ${faults}: missed ${result.missedDeliveries}`);
  assert.equal(result.duplicateDeliveries, faults ? 1 : 0, `faults ${faults}: duplicated ${result.duplicateDeliveries}`);
  assert.equal(result.totalDeliveries, result.totalPublished * 4, `faults ${faults}: ${result.totalDeliveries} deliveries of ${result.totalPublished} × 4 messages`);
  assert.equal(result.fragments + result.wrongLength + result.unexpectedFrames + result.socketErrors, 0, JSON.stringify(result));
  for (const socket of server.connections ?? []) socket.destroy();
  server.close();
}

const refused = await wsgen(['--scenario', 'throughput', '--port', '1']).catch((error) => ({ ok: false, error: error.message }));
assert.equal(refused.ok, false);
assert.equal(invalid, 0, 'ws saw an invalid frame');
wss.close();
console.log(`bench selftest: 3 passed, 0 failed (C generator: ${cases.length} scenarios against ws, 2 fan-out counts against a known server)`);
