// Checks of the load generator's wire helpers (no server needed): node bench/selftest.mjs
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { checkUpgradeResponse, FrameCounter, maskedFrame, OP_BINARY, upgradeRequest, utf8Text } from './lib/frames.mjs';

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
console.log('bench selftest: 1 passed, 0 failed');
