// The socket API side by side with `ws` v8: each scenario runs with ws's client and with ours against
// the same `ws` server, and both must behave the same (values, errors, callbacks, event order).
import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocket } from '../../src/index.js';
import { closeWsServer, portOf } from './server-helpers.js';

type AnySocket = WebSocket | WsWebSocket;
type Client = new (url: string, protocols?: string | string[], options?: object) => AnySocket;
const CLIENTS: Array<[string, Client]> = [
  ['ws', WsWebSocket as unknown as Client],
  ['rfc6455', WebSocket as unknown as Client],
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** A `ws` server that records messages and close frames; `onConnection` scripts the server side. */
async function wsServer(
  onConnection?: (socket: WsWebSocket) => void,
): Promise<{ url: string; received: Received[]; closes: Array<[number, string]>; events: EventEmitter }> {
  const server = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const received: Received[] = [];
  const closes: Array<[number, string]> = [];
  // 'message' and 'close' after each one is recorded: tests wait on these, never on time.
  const events = new EventEmitter();
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      received.push({ data: data as Buffer, isBinary });
      events.emit('message');
    });
    socket.on('close', (code, reason) => {
      closes.push([code, reason.toString()]);
      events.emit('close');
    });
    onConnection?.(socket);
  });
  cleanups.push(() => closeWsServer(server));
  const port = portOf(server.address());
  return { url: `ws://127.0.0.1:${port}`, received, closes, events };
}

async function open(Client: Client, url: string, options?: object): Promise<AnySocket> {
  const ws = new Client(url, undefined, options);
  cleanups.push(() => {
    if (ws.readyState !== ws.CLOSED) {
      const closed = once(ws, 'close');
      ws.terminate();
      return closed.then(() => undefined);
    }
  });
  await once(ws, 'open');
  return ws;
}

/** The arguments of the next `event` (unlike events.once, an 'error' meanwhile is not a rejection). */
function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Resolves when `predicate` holds, checked after each event of `emitter` named `event` (bounded). */
async function until(emitter: NodeJS.EventEmitter, event: string, predicate: () => boolean, max = 10_000): Promise<void> {
  for (let i = 0; i < max && !predicate(); i++) await next(emitter, event);
  expect(predicate()).toBe(true);
}

async function closed(ws: AnySocket): Promise<[number, Buffer]> {
  if (ws.readyState === ws.CLOSED) throw new Error('already closed');
  return next<[number, Buffer]>(ws as NodeJS.EventEmitter, 'close');
}

describe('constants and initial state', () => {
  test.each(CLIENTS)('%s: readyState constants on the class and on instances', async (_name, Client) => {
    const { url } = await wsServer();
    for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
      expect((Client as unknown as Record<string, number>)[name]).toBe(value);
    }
    const ws = new Client(url);
    expect(ws.readyState).toBe(ws.CONNECTING);
    expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(Object.prototype.hasOwnProperty.call(ws, 'OPEN')).toBe(false);
    expect(ws.binaryType).toBe('nodebuffer');
    expect(ws.bufferedAmount).toBe(0);
    expect(ws.protocol).toBe('');
    expect(ws.extensions).toBe('');
    expect(ws.isPaused).toBe(false);
    expect(ws.url).toBe(`${url}/`);
    await once(ws, 'open');
    expect(ws.readyState).toBe(ws.OPEN);
    ws.close();
    expect(ws.readyState).toBe(ws.CLOSING);
    await once(ws, 'close');
    expect(ws.readyState).toBe(ws.CLOSED);
  });
});

describe('send', () => {
  const bytes = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

  test.each(CLIENTS)('%s: every data type is sent by its bytes', async (_name, Client) => {
    const { url, received, events } = await wsServer();
    const ws = await open(Client, url);
    const shared = new SharedArrayBuffer(3);
    new Uint8Array(shared).set([7, 8, 9]);
    const sends: unknown[] = [
      'text é',
      42,
      bytes,
      bytes.subarray(3, 7),
      new Uint8Array(bytes.buffer, bytes.byteOffset + 2, 5),
      new Uint16Array([0x0102, 0x0304]),
      new Float64Array([1.5]),
      new DataView(bytes.buffer, bytes.byteOffset + 4, 4),
      bytes.buffer.slice(bytes.byteOffset + 1, bytes.byteOffset + 4),
      shared,
      [1, 2, 255],
      new Blob(['blob ', 'parts']),
      'after the blob',
      Buffer.alloc(0),
      '',
    ];
    for (const data of sends) ws.send(data as never);
    await until(events, 'message', () => received.length === sends.length);
    expect(received.map((r) => [r.data.toString('hex'), r.isBinary])).toEqual([
      [Buffer.from('text é').toString('hex'), false],
      [Buffer.from('42').toString('hex'), false],
      [bytes.toString('hex'), true],
      ['03040506', true],
      ['0203040506', true],
      [Buffer.from(new Uint16Array([0x0102, 0x0304]).buffer).toString('hex'), true],
      [Buffer.from(new Float64Array([1.5]).buffer).toString('hex'), true],
      ['04050607', true],
      ['010203', true],
      ['070809', true],
      ['0102ff', true],
      [Buffer.from('blob parts').toString('hex'), true],
      [Buffer.from('after the blob').toString('hex'), false],
      ['', true],
      ['', false],
    ]);
  });

  test.each(CLIENTS)('%s: the binary option overrides the type; fin:false sends fragments', async (_name, Client) => {
    const { url, received, events } = await wsServer();
    const ws = await open(Client, url);
    ws.send('as binary', { binary: true });
    ws.send(Buffer.from('as text'), { binary: false });
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    await until(events, 'message', () => received.length === 3);
    expect(received.map((r) => [r.data.toString(), r.isBinary])).toEqual([
      ['as binary', true],
      ['as text', false],
      ['fragmented', false],
    ]);
  });

  test.each(CLIENTS)('%s: callbacks run once written, in order', async (_name, Client) => {
    const { url } = await wsServer();
    const ws = await open(Client, url);
    const calls: Array<[number, unknown]> = [];
    await new Promise<void>((resolve) => {
      ws.send('a', (error?: Error | null) => calls.push([1, error]));
      ws.send(Buffer.alloc(100_000), { binary: true }, (error?: Error | null) => calls.push([2, error]));
      ws.ping('p', undefined, (error?: Error | null) => calls.push([3, error]));
      ws.pong((error?: Error | null) => calls.push([4, error]));
      ws.send(new Blob(['b']), (error?: Error | null) => {
        calls.push([5, error]);
        resolve();
      });
    });
    expect(calls.map(([n]) => n)).toEqual([1, 2, 3, 4, 5]);
    for (const [, error] of calls) expect(error ?? undefined).toBeUndefined();
  });

  test.each(CLIENTS)('%s: sending while CONNECTING throws', async (_name, Client) => {
    const { url } = await wsServer();
    const ws = new Client(url);
    const message = 'WebSocket is not open: readyState 0 (CONNECTING)';
    expect(() => ws.send('x')).toThrow(message);
    expect(() => ws.ping()).toThrow(message);
    expect(() => ws.pong()).toThrow(message);
    await once(ws, 'open');
    ws.terminate();
    await once(ws, 'close');
  });

  test.each(CLIENTS)('%s: after the close, callbacks get an error on the next tick and bufferedAmount counts the bytes', async (_name, Client) => {
    const { url } = await wsServer();
    const ws = await open(Client, url);
    ws.close();
    let sync = true;
    const errors: string[] = [];
    const done = new Promise<void>((resolve) => {
      ws.send('12345', (error?: Error | null) => {
        expect(sync).toBe(false);
        errors.push(error!.message);
      });
      ws.ping(Buffer.alloc(3), undefined, (error?: Error | null) => {
        errors.push(error!.message);
        resolve();
      });
    });
    sync = false;
    await done;
    expect(errors).toEqual(['WebSocket is not open: readyState 2 (CLOSING)', 'WebSocket is not open: readyState 2 (CLOSING)']);
    await once(ws, 'close');
    const before = ws.bufferedAmount;
    ws.send('abc');
    ws.send(Buffer.alloc(10));
    expect(ws.bufferedAmount - before).toBe(13);
    const error = await new Promise<Error>((resolve) => ws.send('x', (e?: Error | null) => resolve(e!)));
    expect(error.message).toBe('WebSocket is not open: readyState 3 (CLOSED)');
  });

  test.each(CLIENTS)('%s: bufferedAmount reports bytes not yet written', async (_name, Client) => {
    const { url } = await wsServer();
    const ws = await open(Client, url);
    ws.send(Buffer.alloc(8 * 1024 * 1024));
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    await new Promise<void>((resolve) => ws.send('x', () => resolve()));
    expect(ws.bufferedAmount).toBe(0);
  });
});

describe('ping and pong', () => {
  test.each(CLIENTS)('%s: payloads, events and the 125-byte limit', async (_name, Client) => {
    const pings: string[] = [];
    const { url, events } = await wsServer((socket) => {
      socket.on('ping', (data) => {
        pings.push(data.toString());
        events.emit('ping');
      });
      socket.ping('from server');
    });
    const ws = new Client(url);
    const gotPing = next<[Buffer]>(ws as NodeJS.EventEmitter, 'ping');
    const pongs: string[] = [];
    ws.on('pong', (data: Buffer) => pongs.push(data.toString()));
    await once(ws, 'open');
    expect((await gotPing)[0].toString()).toBe('from server');
    ws.ping('hello');
    ws.ping(12345);
    ws.ping();
    await until(ws as NodeJS.EventEmitter, 'pong', () => pongs.length === 3);
    expect(pongs).toEqual(['hello', '12345', '']);
    expect(pings).toEqual(['hello', '12345', '']);
    expect(() => ws.ping(Buffer.alloc(126))).toThrow(new RangeError('The data size must not be greater than 125 bytes'));
    expect(() => ws.pong('x'.repeat(126))).toThrow(RangeError);
    ws.ping(Buffer.alloc(125));
    await until(ws as NodeJS.EventEmitter, 'pong', () => pongs.length === 4);
    ws.terminate();
    await closed(ws);
  });

  test.each(CLIENTS)('%s: autoPong: false leaves pongs to the application', async (_name, Client) => {
    const pongs: string[] = [];
    const { url } = await wsServer((socket) => {
      socket.on('pong', (data) => pongs.push(data.toString()));
      socket.ping('one');
    });
    const ws = new Client(url, undefined, { autoPong: false });
    const [payload] = (await once(ws, 'ping')) as [Buffer];
    ws.pong('manual:' + payload.toString());
    ws.close();
    await once(ws, 'close');
    expect(pongs).toEqual(['manual:one']);
  });
});

describe('close', () => {
  const invalidCodes: unknown[] = [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, '1000', null, NaN];

  test.each(CLIENTS)('%s: invalid close codes throw TypeError, long reasons RangeError', async (_name, Client) => {
    const { url, closes } = await wsServer();
    const ws = await open(Client, url);
    for (const code of invalidCodes) {
      expect(() => ws.close(code as number), String(code)).toThrow(new TypeError('First argument must be a valid error code number'));
    }
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(new RangeError('The message must not be greater than 123 bytes'));
    expect(() => ws.close(1000, 'é'.repeat(62))).toThrow(RangeError);
    expect(ws.readyState).toBe(ws.OPEN);
    ws.close(4000, 'é'.repeat(61) + 'x');
    const [code, reason] = await closed(ws);
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('é'.repeat(61) + 'x');
    expect(closes).toEqual([[4000, 'é'.repeat(61) + 'x']]);
  });

  test.each(CLIENTS)('%s: without a code the close frame is empty (1005) and a reason is ignored', async (_name, Client) => {
    const { url, closes } = await wsServer();
    const ws = await open(Client, url);
    ws.close(undefined, 'ignored');
    const [code] = await closed(ws);
    expect(code).toBe(1005);
    expect(closes).toEqual([[1005, '']]);
  });

  test.each(CLIENTS)('%s: a Uint8Array reason; close() again while CLOSING is a no-op', async (_name, Client) => {
    const { url, closes } = await wsServer();
    const ws = await open(Client, url);
    ws.close(3001, new Uint8Array(Buffer.from('bytes')) as Buffer);
    ws.close(3002, 'second');
    ws.close(12 as number); // no validation once CLOSING, as in ws
    await closed(ws);
    expect(closes).toEqual([[3001, 'bytes']]);
  });

  test('rfc6455: a reason that is not UTF-8, null, or a code that is 1004-1006 without its fraction throws TypeError (ws would send some)', async () => {
    const { url } = await wsServer();
    const ws = (await open(WebSocket as unknown as Client, url)) as WebSocket;
    expect(() => ws.close(1000, null as unknown as string)).toThrow(new TypeError('Second argument must be a string or a Uint8Array'));
    expect(() => ws.close(1005.5)).toThrow(new TypeError('First argument must be a valid error code number'));
    expect(() => ws.close(1000, Buffer.from([0xc3, 0x28]))).toThrow(new TypeError('The close reason must be valid UTF-8'));
    expect(() => ws.close(1000, new Uint8Array([0xff]))).toThrow(TypeError);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  test.each(CLIENTS)('%s: the server closes: close event with its code and reason, and the echo', async (_name, Client) => {
    const { url, closes, events } = await wsServer((socket) => socket.close(4321, 'server says bye'));
    const ws = new Client(url);
    const [code, reason] = await closed(ws);
    expect(code).toBe(4321);
    expect(Buffer.isBuffer(reason)).toBe(true);
    expect(reason.toString()).toBe('server says bye');
    await until(events, 'close', () => closes.length === 1);
    // The client echoes the code (RFC 6455 §5.5.1) and, as ws does, the reason.
    expect(closes[0]).toEqual([4321, 'server says bye']);
  });

  test.each(CLIENTS)('%s: terminate ends with 1006 on both sides', async (_name, Client) => {
    const { url, closes, events } = await wsServer();
    const ws = await open(Client, url);
    ws.terminate();
    expect(ws.readyState).toBe(ws.CLOSING);
    const [code, reason] = await closed(ws);
    expect(code).toBe(1006);
    expect(reason.length).toBe(0);
    await until(events, 'close', () => closes.length === 1);
    expect(closes).toEqual([[1006, '']]);
  });
});

describe('binaryType', () => {
  test.each(CLIENTS)("%s: 'fragments' gives one Buffer per frame of a fragmented binary message", async (_name, Client) => {
    const { url } = await wsServer((socket) => {
      socket.on('message', () => {
        // Uncompressed (no deflate offer below), so every frame arrives as sent.
        socket.send(Buffer.from('ab'), { fin: false });
        socket.send(Buffer.from(''), { fin: false });
        socket.send(Buffer.from('cde'), { fin: false });
        socket.send(Buffer.from('f'), { fin: true });
        socket.send(Buffer.from('whole'));
      });
    });
    const ws = await open(Client, url, { perMessageDeflate: false });
    ws.binaryType = 'fragments';
    const messages: string[][] = [];
    ws.on('message', (data: unknown) => messages.push((data as Buffer[]).map((piece) => piece.toString())));
    ws.send('go');
    for (let i = 0; i < 100 && messages.length < 2; i++) await once(ws, 'message');
    // Frames without a byte make no piece.
    expect(messages).toEqual([['ab', 'cde', 'f'], ['whole']]);
  });

  test.each(CLIENTS)('%s: nodebuffer, arraybuffer, fragments, blob; text stays a Buffer; unknown types are ignored', async (_name, Client) => {
    const { url } = await wsServer((socket) => {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    const ws = await open(Client, url);
    const roundTrip = async (data: string | Buffer): Promise<[unknown, boolean]> => {
      const reply = once(ws, 'message') as Promise<[unknown, boolean]>;
      ws.send(data);
      return reply;
    };
    const payload = Buffer.from([1, 2, 3, 250]);

    let [data, isBinary] = await roundTrip(payload);
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(isBinary).toBe(true);

    ws.binaryType = 'arraybuffer';
    expect(ws.binaryType).toBe('arraybuffer');
    [data] = await roundTrip(payload);
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(data as ArrayBuffer)).toEqual(payload);

    ws.binaryType = 'fragments';
    [data] = await roundTrip(payload);
    expect(Array.isArray(data)).toBe(true);
    expect(Buffer.concat(data as Buffer[])).toEqual(payload);

    ws.binaryType = 'blob';
    [data] = await roundTrip(payload);
    expect(data).toBeInstanceOf(Blob);
    expect(Buffer.from(await (data as Blob).arrayBuffer())).toEqual(payload);

    ws.binaryType = 'nonsense' as never;
    expect(ws.binaryType).toBe('blob');

    ws.binaryType = 'arraybuffer';
    [data, isBinary] = await roundTrip('text');
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(isBinary).toBe(false);
    expect(String(data)).toBe('text');
  });
});

describe('pause and resume', () => {
  test.each(CLIENTS)('%s: isPaused follows pause/resume; messages keep their order', async (_name, Client) => {
    let server!: WsWebSocket;
    const { url } = await wsServer((socket) => {
      server = socket;
    });
    const ws = await open(Client, url);
    const got: string[] = [];
    ws.on('message', (data: Buffer) => got.push(data.toString()));
    ws.pause();
    expect(ws.isPaused).toBe(true);
    for (let i = 0; i < 5; i++) server.send(`m${i}`);
    await new Promise<void>((resolve) => server.send('last', () => resolve()));
    ws.resume();
    expect(ws.isPaused).toBe(false);
    await until(ws as NodeJS.EventEmitter, 'message', () => got.length === 6);
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'last']);
  });

  test.each(CLIENTS)('%s: pause and resume are no-ops while CONNECTING', async (_name, Client) => {
    const { url } = await wsServer();
    const ws = new Client(url);
    ws.pause();
    expect(ws.isPaused).toBe(false);
    ws.resume();
    await once(ws, 'open');
    ws.terminate();
    await once(ws, 'close');
  });
});

/** A raw TCP server that completes the handshake and then writes `frames`; emits 'data' for what follows. */
async function rawServer(frames: Buffer): Promise<{ url: string; received: Buffer[]; events: EventEmitter }> {
  const received: Buffer[] = [];
  const events = new EventEmitter();
  const server: Server = createServer((socket: Socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      if (head.endsWith('\r\n\r\n')) {
        received.push(chunk);
        events.emit('data');
        return;
      }
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: (.*)\r\n/i.exec(head)![1]!;
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.write(frames);
      head += '\r\n\r\n';
    });
    socket.on('error', () => undefined);
    sockets.add(socket);
  });
  const sockets = new Set<Socket>();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `ws://127.0.0.1:${address.port}`, received, events };
}

describe("the peer's misbehavior", () => {
  test('rfc6455: a protocol violation never throws without an error listener; the close frame carries 1002', async () => {
    // Opcode 0x3 is reserved (RFC 6455 §5.2).
    const { url, received } = await rawServer(Buffer.from([0x83, 0x00]));
    const ws = new WebSocket(url);
    const [code] = await next<[number]>(ws, 'close');
    expect(code).toBe(1006);
    const frame = Buffer.concat(received);
    // A masked close frame: 0x88, 0x82, 4-byte key, then the masked code.
    expect(frame[0]).toBe(0x88);
    const unmasked = (frame[6]! ^ frame[2]!) * 256 + (frame[7]! ^ frame[3]!);
    expect(unmasked).toBe(1002);
  });

  test.each(CLIENTS)('%s: with an error listener, the error comes once, then close 1006', async (_name, Client) => {
    const { url } = await rawServer(Buffer.from([0x83, 0x00, 0x83, 0x00]));
    const ws = new Client(url);
    const events: string[] = [];
    ws.on('error', (error: Error) => events.push(`error:${error instanceof Error}`));
    ws.on('close', (code: number) => events.push(`close:${code}`));
    await next(ws as NodeJS.EventEmitter, 'close');
    expect(events).toEqual(['error:true', 'close:1006']);
  });
});

describe('after the peer closed', () => {
  test.each(CLIENTS)('%s: the socket is CLOSING once the close frame is echoed; later sends fail and write nothing', async (_name, Client) => {
    // The server sends a close frame (1000) and keeps TCP open.
    const { url, received, events } = await rawServer(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    const ws = new Client(url);
    const close = next<[number]>(ws as NodeJS.EventEmitter, 'close');
    await until(events, 'data', () => received.length > 0);
    const echo = Buffer.concat(received);
    expect(echo[0]).toBe(0x88);
    expect(ws.readyState).toBe(ws.CLOSING);
    const error = await new Promise<Error | undefined>((resolve) => ws.send('late', (e?: Error | null) => resolve(e ?? undefined)));
    expect(error?.message).toBe('WebSocket is not open: readyState 2 (CLOSING)');
    expect(Buffer.concat(received)).toEqual(echo);
    ws.terminate();
    const [code] = await close;
    expect(code).toBe(1000);
  });
});

describe('server-side sockets', () => {
  test('a WebSocket made without an address is a server socket waiting for _attach', () => {
    const ws = new WebSocket();
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect(ws.url).toBe('');
    expect(ws._socket).toBeNull();
  });

  test('_socket exposes the underlying socket (as ws)', async () => {
    const { url } = await wsServer();
    const ws = (await open(WebSocket as unknown as Client, url)) as WebSocket;
    expect(ws._socket?.remoteAddress).toBe('127.0.0.1');
  });
});
