// ws.md, "Error codes": each WS_ERR_* a peer can trigger over loopback, side by side with `ws`. A raw
// TCP peer sends the offending frame; the library's socket emits 'error' and closes with the code the
// peer then reads from the close frame on the wire.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, test } from 'vitest';
import { next, type Run, sideBySide } from './compat-harness.js';
import { rawRequest, upgradeRequest } from './server-helpers.js';

/** One frame as a client sends it: masked with a zero key (so the payload reads as is) unless `masked` is false. */
function frame(first: number, payload: Buffer, { masked = true, length }: { masked?: boolean; length?: Buffer } = {}): Buffer {
  const size = length ?? (payload.length < 126 ? Buffer.from([payload.length]) : Buffer.from([126, payload.length >> 8, payload.length & 0xff]));
  const header = Buffer.from(size);
  if (masked) header[0] |= 0x80;
  return Buffer.concat([Buffer.from([first]), header, masked ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

/** The code of the first close frame in `bytes` (either direction; a masked one is unmasked), or "none". */
function closeCode(bytes: Buffer): string {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at] & 0x0f;
    const masked = (bytes[at + 1] & 0x80) !== 0;
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(start);
      start += 2;
    }
    const key = masked ? bytes.subarray(start, start + 4) : Buffer.alloc(4);
    if (masked) start += 4;
    if (opcode === 0x8) {
      if (length < 2) return 'empty';
      return String(((bytes[start] ^ key[0]) << 8) | (bytes[start + 1] ^ key[1]));
    }
    at = start + length;
  }
  return 'none';
}

/** What a scenario needs for a server-side code: `maxPayload` and the frame to send. */
interface ServerCase {
  code: string;
  options?: Record<string, unknown>;
  bytes: Buffer;
}

const SERVER_CASES: Array<[string, ServerCase, string, number]> = [
  ['WS_ERR_EXPECTED_FIN', { code: 'a fragmented ping', bytes: frame(0x09, Buffer.alloc(0)) }, 'RangeError: Invalid WebSocket frame: FIN must be set', 1002],
  ['WS_ERR_EXPECTED_MASK', { code: 'an unmasked frame', bytes: frame(0x81, Buffer.from('a'), { masked: false }) }, 'RangeError: Invalid WebSocket frame: MASK must be set', 1002],
  ['WS_ERR_INVALID_CLOSE_CODE', { code: 'close code 999', bytes: frame(0x88, Buffer.from([0x03, 0xe7])) }, 'RangeError: Invalid WebSocket frame: invalid status code 999', 1002],
  [
    'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
    { code: 'a 126-byte ping', bytes: frame(0x89, Buffer.alloc(126)) },
    'RangeError: Invalid WebSocket frame: invalid payload length 126',
    1002,
  ],
  ['WS_ERR_INVALID_OPCODE', { code: 'opcode 3', bytes: frame(0x83, Buffer.alloc(0)) }, 'RangeError: Invalid WebSocket frame: invalid opcode 3', 1002],
  ['WS_ERR_INVALID_UTF8', { code: 'text 0xff', bytes: frame(0x81, Buffer.from([0xff])) }, 'Error: Invalid WebSocket frame: invalid UTF-8 sequence', 1007],
  [
    'WS_ERR_INVALID_UTF8 (close reason)',
    { code: 'a close reason 0xff', bytes: frame(0x88, Buffer.from([0x03, 0xe8, 0xff])) },
    'Error: Invalid WebSocket frame: invalid UTF-8 sequence',
    1007,
  ],
  ['WS_ERR_UNEXPECTED_RSV_1', { code: 'RSV1 without an extension', bytes: frame(0xc1, Buffer.from('a')) }, 'RangeError: Invalid WebSocket frame: RSV1 must be clear', 1002],
  ['WS_ERR_UNEXPECTED_RSV_2_3', { code: 'RSV2', bytes: frame(0xa1, Buffer.from('a')) }, 'RangeError: Invalid WebSocket frame: RSV2 and RSV3 must be clear', 1002],
  [
    'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
    { code: 'a 2^53-byte frame', bytes: frame(0x82, Buffer.alloc(0), { length: Buffer.from([127, 0, 0x20, 0, 0, 0, 0, 0, 0]) }) },
    'RangeError: Unsupported WebSocket frame: payload length > 2^53 - 1',
    1009,
  ],
  ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', { code: 'over maxPayload', options: { maxPayload: 4 }, bytes: frame(0x82, Buffer.from('12345')) }, 'RangeError: Max payload size exceeded', 1009],
];

/**
 * Opens a raw connection to a server of the server library, sends `bytes`, and logs the server
 * socket's 'error' (if `withError`) and the close code the raw peer reads.
 */
async function serverReceives(run: Run, { options, bytes }: ServerCase, withError: boolean): Promise<void> {
  const { wss, port } = await run.listen(options);
  const connected = next(wss, 'connection');
  const response = await rawRequest(port, upgradeRequest());
  const [socket] = (await connected) as [import('ws').WebSocket];
  socket.on('error', (error) => run.s('error', withError ? error : error instanceof Error));
  let wire = Buffer.from(response.body, 'latin1');
  // The raw peer ends the TCP connection once it has read a close frame, as a client does.
  response.socket.on('data', (chunk: Buffer) => {
    wire = Buffer.concat([wire, chunk]);
    if (closeCode(wire) !== 'none') response.socket.end();
  });
  const closed = next(socket, 'close');
  const rawClosed = once(response.socket, 'close');
  response.socket.write(bytes);
  await Promise.all([closed, rawClosed]);
  run.c('close frame', closeCode(wire));
}

describe('error codes a client can trigger on the server', () => {
  test.each(SERVER_CASES)('%s: the peer reads the close code', (_name, kase, _message, code) =>
    sideBySide((run) => serverReceives(run, kase, false), ['s: error true', `c: close frame "${code}"`])(),
  );

  test.each(SERVER_CASES)("%s: the server socket's 'error' (class, code, message)", (name, kase, message) => {
    const colon = message.indexOf(': ');
    const [type, text] = [message.slice(0, colon), message.slice(colon + 2)];
    const code = name.split(' ')[0];
    return sideBySide((run) => serverReceives(run, kase, true), [`s: error ${type}[${code}]: ${text}`])();
  });
});

/**
 * A raw server that completes the handshake and sends `bytes`; logs the client's 'error' (if
 * `withError`) and the close code of the client's close frame.
 */
async function clientReceives(run: Run, bytes: Buffer, withError: boolean): Promise<void> {
  let wire = Buffer.alloc(0);
  const server = createNetServer((socket: Socket) => {
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.endsWith('\r\n\r\n')) {
        wire = Buffer.concat([wire, chunk]);
        return;
      }
      head += chunk.toString('latin1');
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1];
      if (!head.endsWith('\r\n\r\n') || key === undefined) return;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.write(bytes);
    });
    socket.on('end', () => socket.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  run.cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = run.connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', (error) => run.c('error', withError ? error : error instanceof Error));
  const [code] = await next(client, 'close');
  run.c('close', code);
  run.s('close frame', closeCode(wire));
}

const MASKED_TEXT = Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x61]);

describe('error codes a server can trigger on the client', () => {
  test(
    'WS_ERR_UNEXPECTED_MASK: a masked frame from the server, the client closes with 1002',
    sideBySide((run) => clientReceives(run, MASKED_TEXT, false), ['c: error true', 'c: close 1006', 's: close frame "1002"']),
  );

  test(
    "WS_ERR_UNEXPECTED_MASK: the client's 'error' (class, code, message)",
    sideBySide((run) => clientReceives(run, MASKED_TEXT, true), ['c: error RangeError[WS_ERR_UNEXPECTED_MASK]: Invalid WebSocket frame: MASK must be clear']),
  );
});
