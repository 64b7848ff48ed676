// permessage-deflate (RFC 7692) end to end over loopback: against `ws` in both directions, and raw TCP
// peers (no WebSocket library) for the hostile and the wire-level cases.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import zlib from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer, type PerMessageDeflateOptions as WsDeflateOptions } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import type { PerMessageDeflateOptions } from '../../src/extensions/permessage-deflate.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const MiB = 1024 * 1024;

function portOf(server: { address(): unknown }): number {
  const address = server.address() as { port: number } | string | null;
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Our server, echoing every message; `sockets` collects the server-side sockets. */
async function ourServer(options: { perMessageDeflate?: boolean | PerMessageDeflateOptions; maxPayload?: number }) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  server.on('connection', (ws: WebSocket) => {
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  cleanups.push(() => {
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: portOf(server), sockets };
}

async function wsServer(perMessageDeflate: object) {
  const server = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await once(server, 'listening');
  const sockets: WsWebSocket[] = [];
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  cleanups.push(() => {
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: portOf(server), sockets };
}

// ---- messages ---------------------------------------------------------------------------------

/** Compressible but not trivial: repeated records with varying numbers. */
function compressible(bytes: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const part = `{"seq":${i},"value":${(i * 7919) % 10007},"tag":"item-${i % 97}"}\n`;
    parts.push(part);
    length += part.length;
  }
  return parts.join('').slice(0, bytes);
}

const BIG_TEXT = compressible(MiB);
const BIG_BINARY = Buffer.from(compressible(MiB).replace(/item/g, 'ITEM'), 'latin1');
const MESSAGES: Array<{ data: string | Buffer; binary: boolean }> = [
  { data: 'hello', binary: false },
  { data: Buffer.from([1, 2, 3, 0, 255]), binary: true },
  { data: BIG_TEXT, binary: false },
  { data: '', binary: false },
  { data: BIG_BINARY, binary: true },
  { data: Buffer.alloc(0), binary: true },
  { data: 'héllo wörld ✓ '.repeat(200), binary: false },
  { data: BIG_TEXT, binary: false },
];

function expectEchoes(received: Array<{ data: Buffer; isBinary: boolean }>): void {
  expect(received.length).toBe(MESSAGES.length);
  received.forEach((got, i) => {
    const want = MESSAGES[i]!;
    expect(got.isBinary).toBe(want.binary);
    expect(Buffer.compare(got.data, Buffer.from(want.data))).toBe(0);
  });
}

/** Send every message from `ws` (either library: same API) and collect the echoes in order. */
async function roundTrip(ws: WebSocket | WsWebSocket): Promise<Array<{ data: Buffer; isBinary: boolean }>> {
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  const done = new Promise<void>((resolve, reject) => {
    (ws as WsWebSocket).on('message', (data: Buffer, isBinary: boolean) => {
      received.push({ data: Buffer.from(data), isBinary });
      if (received.length === MESSAGES.length) resolve();
    });
    (ws as WsWebSocket).on('error', reject);
    (ws as WsWebSocket).on('close', () => reject(new Error('closed before every echo')));
  });
  for (const m of MESSAGES) ws.send(m.data, { binary: m.binary });
  await done;
  return received;
}

// ---- (a) parameter combinations against ws --------------------------------------------------

interface Combo {
  name: string;
  server: PerMessageDeflateOptions;
  client: PerMessageDeflateOptions;
  /** Parameters expected in the server's Sec-WebSocket-Extensions answer. */
  answer: string[];
}

const COMBOS: Combo[] = [
  { name: 'defaults', server: {}, client: {}, answer: [] },
  { name: 'server_no_context_takeover (server option)', server: { serverNoContextTakeover: true }, client: {}, answer: ['server_no_context_takeover'] },
  { name: 'server_no_context_takeover (client request)', server: {}, client: { serverNoContextTakeover: true }, answer: ['server_no_context_takeover'] },
  { name: 'client_no_context_takeover (server option)', server: { clientNoContextTakeover: true }, client: {}, answer: ['client_no_context_takeover'] },
  { name: 'client_no_context_takeover (client hint)', server: {}, client: { clientNoContextTakeover: true }, answer: ['client_no_context_takeover'] },
  {
    name: 'both no_context_takeover, threshold 0',
    server: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
    client: { threshold: 0 },
    answer: ['server_no_context_takeover', 'client_no_context_takeover'],
  },
  { name: 'server_max_window_bits=8', server: { serverMaxWindowBits: 8 }, client: {}, answer: ['server_max_window_bits=8'] },
  { name: 'server_max_window_bits=9', server: { serverMaxWindowBits: 9 }, client: {}, answer: ['server_max_window_bits=9'] },
  { name: 'server_max_window_bits=12 (client request)', server: {}, client: { serverMaxWindowBits: 12 }, answer: ['server_max_window_bits=12'] },
  { name: 'server_max_window_bits=15', server: { serverMaxWindowBits: 15 }, client: {}, answer: ['server_max_window_bits=15'] },
  { name: 'client_max_window_bits=8', server: { clientMaxWindowBits: 8 }, client: {}, answer: ['client_max_window_bits=8'] },
  { name: 'client_max_window_bits=9', server: { clientMaxWindowBits: 9 }, client: {}, answer: ['client_max_window_bits=9'] },
  { name: 'client_max_window_bits=11 (client offer)', server: {}, client: { clientMaxWindowBits: 11 }, answer: ['client_max_window_bits=11'] },
  { name: 'client_max_window_bits=15', server: { clientMaxWindowBits: 15 }, client: {}, answer: ['client_max_window_bits=15'] },
  {
    name: 'windows 8/8, no context takeover both ways, threshold 0',
    server: { serverMaxWindowBits: 8, clientMaxWindowBits: 8, serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
    client: { threshold: 0 },
    answer: ['server_max_window_bits=8', 'client_max_window_bits=8', 'server_no_context_takeover', 'client_no_context_takeover'],
  },
  { name: 'threshold 0', server: { threshold: 0 }, client: { threshold: 0 }, answer: [] },
  { name: 'concurrencyLimit 1', server: { concurrencyLimit: 1 }, client: { concurrencyLimit: 1 }, answer: [] },
  {
    name: 'concurrencyLimit 1, windows 9/10, no context takeover',
    server: { concurrencyLimit: 1, serverMaxWindowBits: 9, clientMaxWindowBits: 10, serverNoContextTakeover: true, clientNoContextTakeover: true },
    client: { concurrencyLimit: 1 },
    answer: ['server_max_window_bits=9', 'client_max_window_bits=10'],
  },
];

describe('permessage-deflate against ws', () => {
  for (const combo of COMBOS) {
    test(`our server, ws client: ${combo.name}`, async () => {
      const { port, sockets } = await ourServer({ perMessageDeflate: combo.server });
      const ws = new WsWebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: combo.client as WsDeflateOptions });
      cleanups.push(() => ws.terminate());
      let answer = '';
      ws.on('upgrade', (res) => {
        answer = String(res.headers['sec-websocket-extensions'] ?? '');
      });
      await once(ws, 'open');
      expect(answer.startsWith('permessage-deflate')).toBe(true);
      for (const param of combo.answer) expect(answer.split(/\s*;\s*/)).toContain(param);
      expect(ws.extensions).toContain('permessage-deflate');
      expect(sockets[0]!.extensions).toContain('permessage-deflate');
      expectEchoes(await roundTrip(ws));
      // and the closing handshake still works after all that
      ws.close(1000);
      const [code] = (await once(ws, 'close')) as [number];
      expect(code).toBe(1000);
    });

    test(`ws server, our client: ${combo.name}`, async () => {
      const { port, sockets } = await wsServer(combo.server);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: combo.client });
      cleanups.push(() => ws.terminate());
      let answer = '';
      ws.on('upgrade', (res: { headers: Record<string, string | string[] | undefined> }) => {
        answer = String(res.headers['sec-websocket-extensions'] ?? '');
      });
      await once(ws, 'open');
      expect(answer.startsWith('permessage-deflate')).toBe(true);
      for (const param of combo.answer) expect(answer.split(/\s*;\s*/)).toContain(param);
      expect(ws.extensions).toContain('permessage-deflate');
      expect(sockets[0]!.extensions).toContain('permessage-deflate');
      expectEchoes(await roundTrip(ws));
      ws.close(1000);
      const [code] = (await once(ws, 'close')) as [number];
      expect(code).toBe(1000);
    });
  }

  test('our client does not offer when perMessageDeflate is false; nothing is negotiated', async () => {
    const { port, sockets } = await wsServer({});
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    expect(ws.extensions).toBe('');
    expect(sockets[0]!.extensions).toBe('');
    expectEchoes(await roundTrip(ws));
  });

  test('our server does not negotiate by default (as ws)', async () => {
    const { port, sockets } = await ourServer({});
    const ws = new WsWebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    expect(ws.extensions).toBe('');
    expect(sockets[0]!.extensions).toBe('');
  });
});

// ---- raw TCP peer -------------------------------------------------------------------------------

interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** A WebSocket client made of a bare TCP socket: it writes bytes and parses the server's frames. */
class RawClient {
  readonly socket: Socket;
  response = '';
  readonly frames: RawFrame[] = [];
  private buffer = Buffer.alloc(0);
  private headDone = false;
  private waiters: Array<() => void> = [];
  readonly ended: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      for (const w of this.waiters.splice(0)) w();
    });
    this.ended = new Promise<void>((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
    cleanups.push(() => {
      this.socket.destroy();
    });
  }

  private parse(): void {
    if (!this.headDone) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.response = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 4);
      this.headDone = true;
    }
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        rsv1: (b[0]! & 0x40) !== 0,
        opcode: b[0]! & 0x0f,
        payload: Buffer.from(b.subarray(offset, offset + length)),
      });
      this.buffer = b.subarray(offset + length);
    }
  }

  /** Wait until `ready()` holds or the socket closed (bounded by the test timeout). */
  async until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.socket.destroyed && this.socket.readyState !== 'closed') {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async handshake(offer: string | null): Promise<void> {
    const lines = [
      'GET / HTTP/1.1',
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
    ];
    if (offer !== null) lines.push(`Sec-WebSocket-Extensions: ${offer}`);
    this.socket.write([...lines, '', ''].join('\r\n'));
    await this.until(() => this.headDone);
    expect(this.response.startsWith('HTTP/1.1 101 ')).toBe(true);
  }

  send(frame: Buffer): boolean {
    return this.socket.write(frame);
  }

  closeFrame(): RawFrame | undefined {
    return this.frames.find((f) => f.opcode === 0x8);
  }
}

/** A masked client frame (RFC 6455 §5.2) built by hand. */
function frame(opcode: number, payload: Buffer, { fin = true, rsv1 = false } = {}): Buffer {
  const length = payload.length;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + ext + 4);
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (ext === 0) header[1] = 0x80 | length;
  else if (ext === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const key = [0x5a, 0x13, 0xc7, 0x2e];
  header.set(key, 2 + ext);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, masked]);
}

function closeCode(f: RawFrame | undefined): number | undefined {
  return f === undefined || f.payload.length < 2 ? undefined : f.payload.readUInt16BE(0);
}

function deflateMessage(text: string | Buffer): Buffer {
  const out = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4); // RFC 7692 §7.2.1: drop 00 00 ff ff
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Inflate a sync-flushed (not finished) raw deflate stream. */
function inflateSync(data: Buffer): Buffer {
  return zlib.inflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

describe('permessage-deflate: hostile input over a real socket', () => {
  test('(b) a 1 GiB zip bomb gets 1009 and the connection ends, without inflating it', async () => {
    const { port, sockets } = await ourServer({ perMessageDeflate: true, maxPayload: MiB });
    // One sync-flushed raw deflate segment of 1 MiB of zeros; each segment starts from an empty window
    // and ends on a byte boundary, so their concatenation is one valid deflate stream of N MiB zeros.
    const segment = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const SEGMENTS = 1000; // ~1 GiB once inflated
    const bomb = Buffer.concat(Array.from({ length: SEGMENTS }, () => segment));
    const payload = bomb.subarray(0, bomb.length - 4);
    // Below maxPayload compressed, so the frame decoder accepts it and the limit must act while inflating.
    expect(payload.length).toBeLessThan(MiB);
    expect(payload.length).toBeGreaterThan(900 * 1024);
    // Sanity: the bomb really is a valid stream (checked on one segment, cheaply).
    expect(inflateSync(segment).length).toBe(MiB);

    const client = new RawClient(port);
    await client.handshake('permessage-deflate; client_max_window_bits');
    expect(client.response.toLowerCase()).toContain('sec-websocket-extensions: permessage-deflate');
    const serverErrors: Error[] = [];
    await client.until(() => sockets.length === 1);
    sockets[0]!.on('error', (e: Error) => serverErrors.push(e));

    const before = process.memoryUsage();
    client.send(frame(0x2, payload, { rsv1: true }));
    await client.until(() => client.closeFrame() !== undefined);
    await client.ended;
    const after = process.memoryUsage();

    expect(closeCode(client.closeFrame())).toBe(1009);
    expect(client.frames.filter((f) => f.opcode !== 0x8)).toEqual([]);
    const grownRss = after.rss - before.rss;
    const grownArrayBuffers = after.arrayBuffers - before.arrayBuffers;
    expect(grownRss).toBeLessThan(64 * MiB);
    expect(grownArrayBuffers).toBeLessThan(64 * MiB);
    if (serverErrors.length > 0) expect(serverErrors[0]!.message).toBe('Max payload size exceeded');
  });

  test('(c) corrupt deflate data gets 1007 and a clean end', async () => {
    const { port } = await ourServer({ perMessageDeflate: true });
    const client = new RawClient(port);
    await client.handshake('permessage-deflate');
    // BTYPE 11 is reserved (RFC 1951 §3.2.3): an error at the first block.
    client.send(frame(0x1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), { rsv1: true }));
    await client.ended;
    expect(closeCode(client.closeFrame())).toBe(1007);
    expect(client.frames.map((f) => f.opcode)).toEqual([0x8]);
  });

  test('(c) compressed text that inflates to invalid UTF-8 gets 1007', async () => {
    const { port } = await ourServer({ perMessageDeflate: true });
    const client = new RawClient(port);
    await client.handshake('permessage-deflate');
    client.send(frame(0x1, deflateMessage(Buffer.from([0x61, 0xc3, 0x28, 0x62])), { rsv1: true }));
    await client.ended;
    expect(closeCode(client.closeFrame())).toBe(1007);
  });

  test('(c) a good compressed message before the corrupt one is still delivered, in order', async () => {
    const { port } = await ourServer({ perMessageDeflate: true });
    const client = new RawClient(port);
    await client.handshake('permessage-deflate');
    client.send(
      Buffer.concat([frame(0x1, deflateMessage('first'), { rsv1: true }), frame(0x1, Buffer.from([0xff, 0xee]), { rsv1: true })]),
    );
    await client.ended;
    expect(client.frames.map((f) => f.opcode)).toEqual([0x1, 0x8]);
    const echo = client.frames[0]!;
    const text = echo.rsv1 ? inflateSync(Buffer.concat([echo.payload, TRAILER])).toString() : echo.payload.toString();
    expect(text).toBe('first');
    expect(closeCode(client.frames[1])).toBe(1007);
  });

  test('(d) send(data, { compress: false }) goes out without RSV1, the default compresses', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(server, 'listening');
    cleanups.push(() => {
      for (const c of server.clients) c.terminate();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const text = 'plain as it is '.repeat(200);
    server.on('connection', (ws: WebSocket) => {
      ws.send(text, { compress: false });
      ws.send(text);
      ws.send(Buffer.from(text), { compress: false, binary: true });
      ws.send(Buffer.from(text), { compress: true, binary: true });
    });
    const client = new RawClient(portOf(server));
    await client.handshake('permessage-deflate');
    await client.until(() => client.frames.length >= 4);
    const [a, b, c, d] = client.frames;
    expect([a!.rsv1, b!.rsv1, c!.rsv1, d!.rsv1]).toEqual([false, true, false, true]);
    expect([a!.opcode, b!.opcode, c!.opcode, d!.opcode]).toEqual([0x1, 0x1, 0x2, 0x2]);
    expect(a!.payload.toString()).toBe(text);
    expect(c!.payload.toString()).toBe(text);
    // With context takeover the compressed ones share one inflater, in order (RFC 7692 §7.2.2).
    const inflater = zlib.createInflateRaw();
    const inflate = (p: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const onData = (chunk: Buffer) => chunks.push(chunk);
        inflater.on('data', onData);
        inflater.write(Buffer.concat([p, TRAILER]));
        inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          inflater.off('data', onData);
          resolve(Buffer.concat(chunks).toString());
        });
        inflater.once('error', reject);
      });
    expect(b!.payload.length).toBeLessThan(text.length / 4);
    expect(await inflate(b!.payload)).toBe(text);
    expect(await inflate(d!.payload)).toBe(text);
    inflater.close();
  });

  test('(d) nothing is compressed when the client did not offer permessage-deflate', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (ws: WebSocket) => ws.send('x'.repeat(5000)));
    const client = new RawClient(portOf(server));
    await client.handshake(null);
    expect(client.response.toLowerCase()).not.toContain('sec-websocket-extensions');
    await client.until(() => client.frames.length >= 1);
    expect(client.frames[0]!.rsv1).toBe(false);
    expect(client.frames[0]!.payload.length).toBe(5000);
    client.socket.destroy();
  });

  describe('(e) RSV1 where it does not belong gets 1002', () => {
    const cases: Array<{ name: string; offer: string | null; bytes: () => Buffer }> = [
      { name: 'on a ping, deflate negotiated', offer: 'permessage-deflate', bytes: () => frame(0x9, Buffer.from('hi'), { rsv1: true }) },
      { name: 'on a pong, deflate negotiated', offer: 'permessage-deflate', bytes: () => frame(0xa, Buffer.alloc(0), { rsv1: true }) },
      { name: 'on a close, deflate negotiated', offer: 'permessage-deflate', bytes: () => frame(0x8, Buffer.from([0x03, 0xe8]), { rsv1: true }) },
      {
        name: 'on a continuation of a compressed message',
        offer: 'permessage-deflate',
        bytes: () => {
          const data = deflateMessage('fragmented');
          return Buffer.concat([
            frame(0x1, data.subarray(0, 3), { fin: false, rsv1: true }),
            frame(0x0, data.subarray(3), { fin: true, rsv1: true }),
          ]);
        },
      },
      {
        name: 'on a continuation of an uncompressed message',
        offer: 'permessage-deflate',
        bytes: () =>
          Buffer.concat([frame(0x1, Buffer.from('abc'), { fin: false }), frame(0x0, Buffer.from('def'), { fin: true, rsv1: true })]),
      },
      { name: 'on a text frame, deflate not offered', offer: null, bytes: () => frame(0x1, deflateMessage('hello'), { rsv1: true }) },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const { port } = await ourServer({ perMessageDeflate: true });
        const client = new RawClient(port);
        await client.handshake(c.offer);
        client.send(c.bytes());
        await client.ended;
        expect(client.frames.map((f) => f.opcode)).toEqual([0x8]);
        expect(closeCode(client.closeFrame())).toBe(1002);
      });
    }

    test('on a text frame, server without perMessageDeflate (offer ignored)', async () => {
      const { port } = await ourServer({});
      const client = new RawClient(port);
      await client.handshake('permessage-deflate');
      expect(client.response.toLowerCase()).not.toContain('sec-websocket-extensions');
      client.send(frame(0x1, deflateMessage('hello'), { rsv1: true }));
      await client.ended;
      expect(closeCode(client.closeFrame())).toBe(1002);
    });

    test('a fragmented compressed message with RSV1 on the first frame only is fine', async () => {
      const { port } = await ourServer({ perMessageDeflate: true });
      const client = new RawClient(port);
      await client.handshake('permessage-deflate');
      const data = deflateMessage('fragmented, properly');
      client.send(
        Buffer.concat([frame(0x1, data.subarray(0, 4), { fin: false, rsv1: true }), frame(0x0, data.subarray(4), { fin: true })]),
      );
      await client.until(() => client.frames.length >= 1);
      const echo = client.frames[0]!;
      expect(echo.opcode).toBe(0x1);
      const text = echo.rsv1 ? inflateSync(Buffer.concat([echo.payload, TRAILER])).toString() : echo.payload.toString();
      expect(text).toBe('fragmented, properly');
      client.socket.destroy();
    });
  });
});

// ---- (f) order ----------------------------------------------------------------------------------

describe('(f) order of mixed compressed / uncompressed messages and pings', () => {
  const COUNT = 300;
  function payloadOf(i: number): string {
    // sizes vary: tiny, below and above the threshold, a few large
    const size = i % 50 === 0 ? 200_000 : i % 3 === 0 ? 10 : i % 3 === 1 ? 900 : 5000;
    return `#${i}:` + compressible(size);
  }

  async function exercise(port: number, Client: typeof WebSocket | typeof WsWebSocket, serverEvents: string[]) {
    const ws = new (Client as typeof WsWebSocket)(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    expect(ws.extensions).toContain('permessage-deflate');
    const expected: string[] = [];
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        const id = text.slice(0, text.indexOf(':'));
        expect(text).toBe(payloadOf(Number(id.slice(1))));
        events.push(`m${id}`);
        if (events.length === expected.length) resolve();
      });
      ws.on('pong', (payload: Buffer) => {
        events.push(`p${payload.toString()}`);
        if (events.length === expected.length) resolve();
      });
      ws.on('close', () => reject(new Error('closed early')));
    });
    for (let i = 0; i < COUNT; i++) {
      ws.send(payloadOf(i), { compress: i % 4 !== 1 });
      expected.push(`m#${i}`);
      if (i % 5 === 2) {
        ws.ping(String(i));
        expected.push(`p${i}`);
      }
    }
    await done;
    expect(events).toEqual(expected);
    expect(serverEvents).toEqual(expected.map((e) => e.replace(/^p/, 'ping')));
  }

  async function orderServer() {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 1000, serverNoContextTakeover: true } });
    await once(server, 'listening');
    const serverEvents: string[] = [];
    server.on('connection', (ws: WebSocket) => {
      let n = 0;
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const text = data.toString();
        serverEvents.push(`m${text.slice(0, text.indexOf(':'))}`);
        // alternate how the echo goes out, so compressed and uncompressed writes interleave
        ws.send(data, { binary: isBinary, compress: n++ % 3 !== 0 });
      });
      ws.on('ping', (payload: Buffer) => serverEvents.push(`ping${payload.toString()}`));
    });
    cleanups.push(() => {
      for (const c of server.clients) c.terminate();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { port: portOf(server), serverEvents };
  }

  test('our client to our server', async () => {
    const { port, serverEvents } = await orderServer();
    await exercise(port, WebSocket, serverEvents);
  });

  test('ws client to our server', async () => {
    const { port, serverEvents } = await orderServer();
    await exercise(port, WsWebSocket, serverEvents);
  });
});

// ---- more edges: fragments, close behind a compression, the client's own limits ---------------

describe('permessage-deflate: fragments, close order, client limits', () => {
  test('our server sends a compressed message in fragments (empty last one included) to a ws client', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(server, 'listening');
    cleanups.push(() => {
      for (const c of server.clients) c.terminate();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    server.on('connection', (ws: WebSocket) => {
      ws.send(BIG_TEXT.slice(0, 300_000), { fin: false });
      ws.send(BIG_TEXT.slice(300_000, 700_000), { fin: false });
      ws.send('', { fin: false });
      ws.send(BIG_TEXT.slice(700_000), { fin: true });
      ws.send(Buffer.from('abc'), { fin: false, binary: true });
      ws.send(Buffer.alloc(0), { fin: true, binary: true });
    });
    const ws = new WsWebSocket(`ws://127.0.0.1:${portOf(server)}/`);
    cleanups.push(() => ws.terminate());
    const got: Array<{ data: Buffer; isBinary: boolean }> = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        got.push({ data, isBinary });
        if (got.length === 2) resolve();
      });
      ws.on('close', (code) => reject(new Error(`closed ${code}`)));
    });
    expect(got[0]!.isBinary).toBe(false);
    expect(got[0]!.data.toString()).toBe(BIG_TEXT);
    expect(got[1]!.isBinary).toBe(true);
    expect(got[1]!.data.toString()).toBe('abc');
  });

  test('close() right after a large compressed send: the message arrives, then the close frame', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (ws: WebSocket) => {
      ws.send(BIG_TEXT);
      ws.ping('after');
      ws.close(4000, 'bye');
    });
    const ws = new WsWebSocket(`ws://127.0.0.1:${portOf(server)}/`);
    const events: string[] = [];
    ws.on('message', (data: Buffer) => events.push(data.toString() === BIG_TEXT ? 'big' : 'other'));
    ws.on('ping', (data: Buffer) => events.push(`ping ${data.toString()}`));
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect(events).toEqual(['big', 'ping after']);
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('bye');
  });

  test('our client with maxPayload 1 MiB closes with 1009 on a message that inflates beyond it', async () => {
    const { port, sockets } = await wsServer({});
    // Default closeTimeout (30 s): the close handshake must complete by itself, reading resumed
    // after the failed inflation (else the test times out).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: MiB });
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    expect(ws.extensions).toContain('permessage-deflate');
    const serverSide = sockets[0]!;
    const serverClosed = once(serverSide, 'close');
    const errors: Error[] = [];
    ws.on('error', (e: Error) => errors.push(e));
    // (events.once would reject on the 'error' event that comes first)
    const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
    serverSide.send(Buffer.alloc(8 * MiB), { binary: true }); // ~8 KiB on the wire
    // After failing the connection the peer's reply is read but not parsed: 1006, as ws reports.
    expect(await closed).toBe(1006);
    expect(errors.map((e) => e.message).join()).toBe('Max payload size exceeded');
    const [peerCode] = (await serverClosed) as [number];
    expect(peerCode).toBe(1009);
  });

  test('our client: a message exactly at maxPayload once inflated is accepted', async () => {
    const { port, sockets } = await wsServer({});
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: 64 * 1024 });
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    sockets[0]!.send(Buffer.alloc(64 * 1024, 7), { binary: true });
    const [data] = (await once(ws, 'message')) as [Buffer];
    expect(data.length).toBe(64 * 1024);
    expect(data.every((b) => b === 7)).toBe(true);
  });

  test('terminate() while a message is being inflated: no error escapes, the socket closes', async () => {
    const { port, sockets } = await ourServer({ perMessageDeflate: true });
    const client = new RawClient(port);
    await client.handshake('permessage-deflate');
    await client.until(() => sockets.length === 1);
    const serverSide = sockets[0]!;
    const closed = once(serverSide, 'close');
    const payload = deflateMessage(Buffer.alloc(4 * MiB));
    client.send(frame(0x2, payload, { rsv1: true }));
    serverSide.once('message', () => {});
    // terminate as soon as the frame has arrived (the inflation is asynchronous)
    await new Promise<void>((resolve) => setImmediate(resolve));
    serverSide.terminate();
    await closed;
    await client.ended;
  });
});
