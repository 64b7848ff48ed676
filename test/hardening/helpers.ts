// Shared pieces of the hardening tests: a hostile WebSocket client made of a bare node:net socket
// (it writes whatever bytes it is told to, builds masked frames by hand and parses the server's
// frames), bounded polling waits, a deterministic PRNG and servers that clean up after themselves.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { WebSocket, WebSocketServer, type WebSocketServerOptions } from '../../src/index.js';

/** Things to undo after each test, last first. */
export class Cleanups {
  private readonly tasks: Array<() => Promise<void> | void> = [];
  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }
  async run(): Promise<void> {
    while (this.tasks.length > 0) {
      try {
        await this.tasks.pop()!();
      } catch {
        // one failed cleanup must not keep the others from running
      }
    }
  }
}

/** RFC 6455 §1.3's sample nonce and its accept value. */
export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/**
 * Poll `condition` every `intervalMs` until it holds; reject after `limitMs` with `what` in the
 * message. The limit is generous on purpose: it bounds a hang, it does not measure speed.
 */
export async function waitFor(condition: () => boolean, what: string, limitMs = 20_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Let the event loop turn once (I/O included). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** mulberry32: a tiny seeded PRNG, so "random" splits are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` cut at `pieces - 1` distinct random positions (sorted), every piece non-empty. */
export function splitAtRandom(bytes: Buffer, pieces: number, random: () => number): Buffer[] {
  const cuts = new Set<number>();
  const wanted = Math.min(pieces - 1, bytes.length - 1);
  while (cuts.size < wanted) cuts.add(1 + Math.floor(random() * (bytes.length - 1)));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of sorted) {
    out.push(bytes.subarray(start, cut));
    start = cut;
  }
  out.push(bytes.subarray(start));
  return out;
}

export function portOf(server: { address(): unknown }): number {
  const address = server.address();
  if (address === null || typeof address !== 'object' || !('port' in address)) throw new Error('not listening on a port');
  return (address as { port: number }).port;
}

/** The lines of an opening handshake (RFC 6455 §4.1) with `extra` lines added and lines whose name is in `drop` removed. */
export function upgradeRequest(options: { path?: string; method?: string; extra?: string[]; drop?: string[] } = {}): string {
  const drop = (options.drop ?? []).map((name) => `${name.toLowerCase()}:`);
  const lines = [
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${KEY}`,
    'Sec-WebSocket-Version: 13',
  ].filter((line) => !drop.some((prefix) => line.toLowerCase().startsWith(prefix)));
  return [`${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/1.1`, ...lines, ...(options.extra ?? []), '', ''].join('\r\n');
}

/** A client frame (RFC 6455 §5.2) built by hand; masked unless `mask` is false. */
export function clientFrame(
  opcode: number,
  payload: Buffer | string,
  { fin = true, rsv1 = false, mask = true, key = [0x37, 0xfa, 0x21, 0x3d] }: { fin?: boolean; rsv1?: boolean; mask?: boolean; key?: number[] } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const length = data.length;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const keyBytes = mask ? 4 : 0;
  const out = Buffer.alloc(2 + ext + keyBytes + length);
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (ext === 0) out[1] = maskBit | length;
  else if (ext === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = maskBit | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const start = 2 + ext + keyBytes;
  if (mask) {
    for (let i = 0; i < 4; i++) out[2 + ext + i] = key[i]!;
    for (let i = 0; i < length; i++) out[start + i] = data[i]! ^ key[i & 3]!;
  } else {
    data.copy(out, start);
  }
  return out;
}

/** A masked close frame with `code` and `reason` (RFC 6455 §5.5.1). */
export function closeFrame(code: number, reason = ''): Buffer {
  const reasonBytes = Buffer.from(reason, 'utf8');
  const payload = Buffer.alloc(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return clientFrame(OP_CLOSE, payload);
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  masked: boolean;
  opcode: number;
  payload: Buffer;
}

export interface ParsedHead {
  status: number;
  /** Lowercase name -> values in order. */
  headers: Map<string, string[]>;
}

/** The status line and fields of an HTTP response head (text before the CRLFCRLF). */
export function parseHead(text: string): ParsedHead {
  const [statusLine = '', ...fields] = text.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? NaN);
  const headers = new Map<string, string[]>();
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon === -1) continue;
    const name = field.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), field.slice(colon + 1).trim()]);
  }
  return { status, headers };
}

/**
 * A WebSocket peer made of a bare TCP socket to 127.0.0.1. It records everything the server sends:
 * the response head, then the frames (parsed, any chunking), and whether and how the socket ended.
 * Errors (a reset after a refusal, say) are recorded, never thrown.
 */
export class RawClient {
  readonly socket: Socket;
  /** Every byte received, head included. */
  received: Buffer = Buffer.alloc(0);
  head: ParsedHead | null = null;
  /** The bytes after the head (for a refusal: the body). */
  body: Buffer = Buffer.alloc(0);
  readonly frames: ServerFrame[] = [];
  connected = false;
  closed = false;
  error: Error | null = null;
  /** Bytes after the head not yet parsed as a frame. */
  private pending: Buffer = Buffer.alloc(0);

  constructor(port: number, cleanups?: Cleanups) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('connect', () => {
      this.connected = true;
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error: Error) => {
      this.error = error;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    cleanups?.add(() => this.destroy());
  }

  private onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    if (this.head === null) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.head = parseHead(this.received.subarray(0, end).toString('latin1'));
      this.pending = Buffer.from(this.received.subarray(end + 4));
    } else {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    }
    this.body = this.received.subarray(this.received.indexOf('\r\n\r\n') + 4);
    if (this.head.status === 101) this.parseFrames();
  }

  private parseFrames(): void {
    let b = this.pending;
    for (;;) {
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const keyOffset = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) break;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < length; i++) payload[i]! ^= b[keyOffset + (i & 3)]!;
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, rsv1: (b[0]! & 0x40) !== 0, masked, opcode: b[0]! & 0x0f, payload });
      b = b.subarray(offset + length);
    }
    this.pending = b;
  }

  write(bytes: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Write each piece separately, letting the event loop turn between writes. */
  async writePieces(pieces: Buffer[]): Promise<void> {
    for (const piece of pieces) {
      if (this.socket.destroyed) return;
      this.socket.write(piece);
      await nextTurn();
    }
  }

  async waitConnected(limitMs = 20_000): Promise<void> {
    await waitFor(() => this.connected || this.closed, 'the TCP connection', limitMs);
    if (!this.connected) throw new Error(`could not connect: ${String(this.error)}`);
  }

  /** Wait for a response head (whatever its status). */
  async waitHead(limitMs = 20_000): Promise<ParsedHead> {
    await waitFor(() => this.head !== null || this.closed, 'a response head', limitMs);
    if (this.head === null) throw new Error(`closed without a response; received ${JSON.stringify(this.received.toString('latin1'))}`);
    return this.head;
  }

  /** Send a valid opening handshake and wait for the 101. */
  async handshake(extra: string[] = []): Promise<void> {
    this.write(upgradeRequest({ extra }));
    const head = await this.waitHead();
    if (head.status !== 101) throw new Error(`handshake refused: ${head.status}`);
    if (head.headers.get('sec-websocket-accept')?.[0] !== ACCEPT) throw new Error('wrong Sec-WebSocket-Accept');
  }

  async waitFrames(count: number, limitMs = 20_000): Promise<void> {
    await waitFor(() => this.frames.length >= count || this.closed, `${count} frames`, limitMs);
  }

  async waitClosed(limitMs = 20_000): Promise<void> {
    await waitFor(() => this.closed, 'the server to close the TCP connection', limitMs);
  }

  /** The first close frame received, if any. */
  closeFrameReceived(): ServerFrame | undefined {
    return this.frames.find((f) => f.opcode === OP_CLOSE);
  }

  /** The code of the first close frame received (undefined: none, or no code in it). */
  closeCode(): number | undefined {
    const f = this.closeFrameReceived();
    return f === undefined || f.payload.length < 2 ? undefined : f.payload.readUInt16BE(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface EchoServer {
  server: WebSocketServer;
  port: number;
  /** Every server-side socket, in order of connection. */
  sockets: WebSocket[];
}

/**
 * Our standalone server on 127.0.0.1, echoing every message. `errorListener: false` leaves the
 * server-side sockets without an 'error' listener. Cleanup terminates the clients and closes it.
 */
export async function echoServer(
  cleanups: Cleanups,
  options: Omit<WebSocketServerOptions, 'port' | 'host' | 'server' | 'noServer'> = {},
  { errorListener = true }: { errorListener?: boolean } = {},
): Promise<EchoServer> {
  const server = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  server.on('connection', (ws: WebSocket) => {
    sockets.push(ws);
    if (errorListener) ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  let closed = false;
  cleanups.add(async () => {
    if (closed) return;
    closed = true;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: portOf(server), sockets };
}

/**
 * Close `server` (stop listening) and wait for its 'close': in standalone mode that comes only once
 * the listener's last TCP connection has ended, so it is the public proof that none is left open.
 */
export function closeServer(server: WebSocketServer, limitMs = 20_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not close within ${limitMs} ms: connections left open`)), limitMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Our client: connect, send `text`, resolve with the echo, then close with 1000 and wait for 'close'. */
export async function echoWithOurClient(port: number, text: string, limitMs = 20_000): Promise<string> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on('error', () => {});
  try {
    const echo = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo within ${limitMs} ms`)), limitMs);
      ws.on('open', () => ws.send(text));
      ws.on('message', (data: Buffer) => {
        clearTimeout(timer);
        resolve(data.toString('utf8'));
      });
      ws.on('close', (code: number) => {
        clearTimeout(timer);
        reject(new Error(`closed (${code}) before the echo`));
      });
    });
    const got = await echo;
    const closed = once(ws, 'close');
    ws.close(1000);
    await closed;
    return got;
  } finally {
    ws.terminate();
  }
}
