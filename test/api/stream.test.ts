// createWebSocketStream side by side with ws's: data both ways, backpressure, end/close/error mapping.
import { EventEmitter, once } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { createWebSocketStream as wsCreateStream, WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { createWebSocketStream, WebSocket } from '../../src/index.js';

type AnySocket = WebSocket | WsWebSocket;
type Flavor = [string, (url: string) => AnySocket, (ws: AnySocket, options?: object) => Duplex];
const FLAVORS: Flavor[] = [
  ['ws', (url) => new WsWebSocket(url), (ws, options) => wsCreateStream(ws as WsWebSocket, options)],
  ['rfc6455', (url) => new WebSocket(url), (ws, options) => createWebSocketStream(ws as WebSocket, options)],
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

async function until(emitter: NodeJS.EventEmitter, event: string, predicate: () => boolean, max = 100_000): Promise<void> {
  for (let i = 0; i < max && !predicate(); i++) await next(emitter, event);
  expect(predicate()).toBe(true);
}

interface ServerSide {
  url: string;
  /** The server's socket of the latest connection. */
  socket: () => WsWebSocket;
  received: Buffer[];
  closes: number[];
  events: EventEmitter;
}

/** A `ws` server that records what it receives; 'connection', 'message' and 'close' on `events`. */
async function server(): Promise<ServerSide> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  let latest: WsWebSocket | undefined;
  const received: Buffer[] = [];
  const closes: number[] = [];
  const events = new EventEmitter();
  wss.on('connection', (socket) => {
    latest = socket;
    socket.on('message', (data) => {
      received.push(data as Buffer);
      events.emit('message');
    });
    socket.on('close', (code) => {
      closes.push(code);
      events.emit('close');
    });
    events.emit('connection');
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `ws://127.0.0.1:${address.port}`, socket: () => latest!, received, closes, events };
}

function tracked(ws: AnySocket): AnySocket {
  cleanups.push(() => {
    if (ws.readyState !== ws.CLOSED) {
      const closed = next(ws as NodeJS.EventEmitter, 'close');
      ws.terminate();
      return closed.then(() => undefined);
    }
  });
  return ws;
}

describe.each(FLAVORS)('%s', (_name, connect, stream) => {
  test('writes before open wait for it; messages arrive as stream data', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws);
    duplex.write('written while connecting');
    await until(side.events, 'message', () => side.received.length === 1);
    expect(side.received[0]!.toString()).toBe('written while connecting');
    side.socket().send('to the stream');
    const [chunk] = await next<[Buffer]>(duplex, 'data');
    expect(Buffer.isBuffer(chunk)).toBe(true);
    expect(chunk.toString()).toBe('to the stream');
  });

  test('readableObjectMode: text messages are strings, binary stay Buffers', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws, { readableObjectMode: true });
    await once(ws, 'open');
    side.socket().send('text');
    side.socket().send(Buffer.from([1, 2]));
    const items: unknown[] = [];
    duplex.on('data', (item) => items.push(item));
    await until(duplex, 'data', () => items.length === 2);
    expect(items[0]).toBe('text');
    expect(Buffer.isBuffer(items[1])).toBe(true);
  });

  test('backpressure on the readable side: a full buffer pauses the socket, reading resumes it', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws, { readableHighWaterMark: 1024 });
    await once(ws, 'open');
    const count = 64;
    const message = Buffer.alloc(1024, 7);
    let delivered = 0;
    ws.on('message', () => delivered++);
    for (let i = 0; i < count; i++) side.socket().send(message);
    // Nobody reads: after a message fills the buffer, the socket is paused.
    await until(ws as NodeJS.EventEmitter, 'message', () => delivered >= 2);
    expect(ws.isPaused).toBe(true);
    let total = 0;
    duplex.on('data', (chunk: Buffer) => {
      total += chunk.length;
    });
    await until(duplex, 'data', () => total === count * message.length);
    expect(total).toBe(count * message.length);
    expect(ws.isPaused).toBe(false);
  });

  test('backpressure on the writable side: write() returns false once the socket is behind, drain follows, order is kept', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws, { writableHighWaterMark: 1024 });
    await once(ws, 'open');
    // The peer stops reading: the kernel buffers fill, then the WebSocket's, then the stream's.
    side.socket().pause();
    const CHUNK = 256 * 1024;
    let written = 0;
    // Bounded: 50 MiB is far more than loopback's kernel buffers can hold.
    while (written < 200 && duplex.write(Buffer.alloc(CHUNK, written & 0xff))) written++;
    written++; // the write that returned false is queued too
    expect(written).toBeLessThan(200);
    const drained = once(duplex, 'drain');
    side.socket().resume();
    await drained;
    await until(side.events, 'message', () => side.received.length === written);
    expect(side.received.map((b) => [b.length, b[0]])).toEqual([...Array(written).keys()].map((i) => [CHUNK, i & 0xff]));
  });

  test('end() closes the WebSocket (1005) once written; the stream then ends and closes', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws);
    duplex.resume();
    duplex.end('last words');
    const events: string[] = [];
    duplex.on('finish', () => events.push('finish'));
    duplex.on('end', () => events.push('end'));
    await next(duplex, 'close');
    events.push('close');
    expect(events).toEqual(['finish', 'end', 'close']);
    await until(side.events, 'close', () => side.closes.length === 1);
    expect(side.received.map(String)).toEqual(['last words']);
    expect(side.closes).toEqual([1005]);
    expect(ws.readyState).toBe(ws.CLOSED);
  });

  test('the server closes: the readable side ends; ending the writable side then closes the stream', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws);
    await once(ws, 'open');
    side.socket().close(1000);
    duplex.resume();
    await next(duplex, 'end');
    duplex.end();
    await next(duplex, 'close');
    expect(ws.readyState).toBe(ws.CLOSED);
  });

  test('destroy() terminates the WebSocket (1006 on the server) and emits close', async () => {
    const side = await server();
    const ws = tracked(connect(side.url));
    const duplex = stream(ws);
    await once(ws, 'open');
    duplex.destroy();
    await next(duplex, 'close');
    expect(ws.readyState).toBe(ws.CLOSED);
    await until(side.events, 'close', () => side.closes.length === 1);
    expect(side.closes).toEqual([1006]);
  });

  test("the WebSocket's error destroys the stream with it", async () => {
    // A raw server that accepts and then sends a frame with a reserved opcode.
    const raw = createServer((socket: Socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (chunk) => {
        const key = /sec-websocket-key: (.*)\r\n/i.exec(chunk.toString('latin1'))![1]!;
        const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        socket.write(Buffer.from([0x83, 0x00]));
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const ws = tracked(connect(`ws://127.0.0.1:${(raw.address() as { port: number }).port}`));
    const duplex = stream(ws);
    const events: string[] = [];
    duplex.on('error', (error: Error) => events.push(`error:${error instanceof Error}`));
    await next(duplex, 'close');
    events.push('close');
    expect(events).toEqual(['error:true', 'close']);
    expect(duplex.destroyed).toBe(true);
  });
});

test("rfc6455: a stream error with no listener of the application's does not throw", async () => {
  const dead = createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const { port } = dead.address() as { port: number };
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const duplex = createWebSocketStream(ws);
  await next(duplex, 'close');
  expect(duplex.destroyed).toBe(true);
});
