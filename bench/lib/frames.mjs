// Wire helpers of the load generator: the upgrade request, masked client frames built once,
// and a counter that walks server frames by their lengths only (server frames are not masked).
import { createHash, randomBytes } from 'node:crypto';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;

/** One request head reused by every connection (RFC 6455 §4.1), and the accept value it expects back. */
export function upgradeRequest(host, port, path = '/') {
  const key = randomBytes(16).toString('base64');
  const head =
    `GET ${path} HTTP/1.1\r\n` +
    `Host: ${host}:${port}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    '\r\n';
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  return { request: Buffer.from(head, 'latin1'), accept };
}

/** Checks a complete response head: status 101 and the right Sec-WebSocket-Accept. Returns an error text or ''. */
export function checkUpgradeResponse(head, accept) {
  if (!head.startsWith('HTTP/1.1 101')) return `unexpected status line: ${head.slice(0, head.indexOf('\r\n'))}`;
  const lower = head.toLowerCase();
  const at = lower.indexOf('\r\nsec-websocket-accept:');
  if (at < 0) return 'no Sec-WebSocket-Accept header';
  const end = head.indexOf('\r\n', at + 2);
  const value = head.slice(at + 23, end).trim();
  return value === accept ? '' : `wrong Sec-WebSocket-Accept: ${value}`;
}

/** A single client frame (FIN set), masked with `maskKey` (RFC 6455 §5.3). */
export function maskedFrame(opcode, payload, maskKey) {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extra + 4 + length);
  frame[0] = 0x80 | opcode;
  if (extra === 0) {
    frame[1] = 0x80 | length;
  } else if (extra === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const keyAt = 2 + extra;
  maskKey.copy(frame, keyAt);
  const dataAt = keyAt + 4;
  for (let i = 0; i < length; i++) frame[dataAt + i] = payload[i] ^ maskKey[i & 3];
  return frame;
}

/** A masked close frame with status 1000 (RFC 6455 §5.5.1). */
export function maskedCloseFrame(maskKey) {
  const body = Buffer.from([0x03, 0xe8]);
  return maskedFrame(OP_CLOSE, body, maskKey);
}

/** `size` bytes of valid UTF-8 that mixes 1-, 2-, 3- and 4-byte code points, padded with ASCII. */
export function utf8Text(size) {
  const pieces = ['The quick brown fox ', 'Grüße aus Köln, ', 'Ελληνικά ', '日本語のテキスト ', 'emoji 🚀✓ ', 'plain ascii words. '];
  const parts = [];
  let used = 0;
  for (let i = 0; ; i++) {
    const piece = Buffer.from(pieces[i % pieces.length], 'utf8');
    if (used + piece.length > size) break;
    parts.push(piece);
    used += piece.length;
  }
  parts.push(Buffer.alloc(size - used, 0x20));
  const text = Buffer.concat(parts, size);
  if (text.length !== size) throw new Error('text payload has the wrong size');
  return text;
}

/**
 * Walks the frames a server sends, reading headers only and skipping payloads.
 * `feed(chunk)` returns how many data messages (FIN frames of text/binary/continuation) completed.
 * A frame header split across chunks is copied to `pending` and joined with the next chunk (rare).
 */
export class FrameCounter {
  constructor(expectedLength = -1) {
    this.expectedLength = expectedLength; // payload length every data frame must have; -1: any
    this.remaining = 0; // payload bytes of the current frame still to skip
    this.inFrame = false;
    this.fin = false;
    this.opcode = 0;
    this.length = 0;
    this.pending = null;
    this.closed = false; // a close frame arrived
    this.wrongLength = 0; // data frames whose length differed from expectedLength
    this.fragments = 0; // data frames without FIN (servers here should not fragment echoes)
  }

  /** Counts the frames in `chunk[0, length)`. The chunk may be a reused read buffer: nothing keeps a view of it. */
  feed(chunk, length = chunk.length) {
    let buf = chunk;
    let end = length;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, length)]);
      end = buf.length;
      this.pending = null;
    }
    let i = 0;
    let messages = 0;
    while (i < end) {
      if (!this.inFrame) {
        if (end - i < 2) {
          this.pending = Buffer.from(buf.subarray(i));
          break;
        }
        const b0 = buf[i];
        const b1 = buf[i + 1];
        const len7 = b1 & 0x7f;
        const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
        if (end - i < headerLength) {
          this.pending = Buffer.from(buf.subarray(i));
          break;
        }
        let length = len7;
        if (len7 === 126) length = buf.readUInt16BE(i + 2);
        else if (len7 === 127) length = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
        this.fin = (b0 & 0x80) !== 0;
        this.opcode = b0 & 0x0f;
        this.length = length;
        this.remaining = length;
        this.inFrame = true;
        i += headerLength;
      }
      const take = Math.min(this.remaining, end - i);
      this.remaining -= take;
      i += take;
      if (this.remaining === 0) {
        this.inFrame = false;
        const opcode = this.opcode;
        if (opcode < 0x8) {
          if (this.expectedLength >= 0 && this.length !== this.expectedLength) this.wrongLength++;
          if (this.fin) messages++;
          else this.fragments++;
        } else if (opcode === OP_CLOSE) {
          this.closed = true;
        }
      }
    }
    return messages;
  }
}
