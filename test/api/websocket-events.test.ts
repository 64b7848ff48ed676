// The WHATWG face (addEventListener, on<event>, event objects) side by side with `ws` v8.
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { CloseEvent, ErrorEvent, Event, MessageEvent, WebSocket } from '../../src/index.js';
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

function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** An echo server that closes with 4000 'done' when it receives "close". */
async function echoServer(): Promise<string> {
  const server = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close') socket.close(4000, 'done');
      else socket.send(data, { binary: isBinary });
    });
  });
  cleanups.push(() => closeWsServer(server));
  const port = portOf(server.address());
  return `ws://127.0.0.1:${port}`;
}

/** A port with nothing listening (a server opened and closed). */
async function deadPort(): Promise<number> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

interface Shape {
  type: string;
  target: boolean;
  data?: unknown;
  code?: number;
  reason?: string;
  wasClean?: boolean;
  message?: string;
  error?: boolean;
}

function shape(event: Record<string, unknown>, ws: AnySocket): Shape {
  const out: Shape = { type: event.type as string, target: event.target === ws };
  for (const key of ['data', 'code', 'reason', 'wasClean', 'message'] as const) {
    if (key in event) (out as unknown as Record<string, unknown>)[key] = event[key];
  }
  if ('error' in event) out.error = event.error instanceof Error;
  if (out.data instanceof ArrayBuffer) out.data = `ArrayBuffer:${Buffer.from(out.data).toString('hex')}`;
  return out;
}

describe('event objects', () => {
  test.each(CLIENTS)('%s: open, message (text and binary), close shapes through on<event> attributes', async (_name, Client) => {
    const url = await echoServer();
    const ws = new Client(url);
    ws.binaryType = 'arraybuffer';
    const events: Shape[] = [];
    const closed = new Promise<void>((resolve) => {
      ws.onopen = (event: unknown) => {
        events.push(shape(event as Record<string, unknown>, ws));
        ws.send('hello');
      };
      ws.onmessage = (event: unknown) => {
        events.push(shape(event as Record<string, unknown>, ws));
        if (typeof (event as { data: unknown }).data === 'string') ws.send(Buffer.from([1, 2]));
        else ws.send('close');
      };
      ws.onclose = (event: unknown) => {
        events.push(shape(event as Record<string, unknown>, ws));
        resolve();
      };
    });
    await closed;
    expect(events).toEqual([
      { type: 'open', target: true },
      { type: 'message', target: true, data: 'hello' },
      { type: 'message', target: true, data: 'ArrayBuffer:0102' },
      { type: 'close', target: true, code: 4000, reason: 'done', wasClean: true },
    ]);
  });

  test.each(CLIENTS)('%s: error event shape; close is not clean', async (_name, Client) => {
    const port = await deadPort();
    const ws = new Client(`ws://127.0.0.1:${port}`);
    const events: Shape[] = [];
    let error: unknown;
    ws.onerror = (event: unknown) => {
      error = (event as { error: unknown }).error;
      events.push(shape(event as Record<string, unknown>, ws));
    };
    await new Promise<void>((resolve) => {
      ws.onclose = (event: unknown) => {
        events.push(shape(event as Record<string, unknown>, ws));
        resolve();
      };
    });
    expect(events).toEqual([
      { type: 'error', target: true, error: true, message: (error as Error).message },
      { type: 'close', target: true, code: 1006, reason: '', wasClean: false },
    ]);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});

describe('addEventListener / removeEventListener', () => {
  test.each(CLIENTS)('%s: once, duplicates, handleEvent objects, removal, unknown types', async (_name, Client) => {
    const url = await echoServer();
    const ws = new Client(url);
    const calls: string[] = [];
    const listener = (event: { data: unknown }): void => {
      calls.push(`fn:${String(event.data)}`);
    };
    const object = {
      handleEvent(event: { data: unknown }): void {
        calls.push(`object:${String(event.data)}`);
      },
    };
    const onceListener = (event: { data: unknown }): void => {
      calls.push(`once:${String(event.data)}`);
    };
    ws.addEventListener('message', listener as never);
    ws.addEventListener('message', listener as never); // a duplicate is ignored
    ws.addEventListener('message', object as never);
    ws.addEventListener('message', onceListener as never, { once: true });
    ws.addEventListener('ping' as never, (() => calls.push('ping')) as never); // not an EventTarget event
    expect(ws.listenerCount('message')).toBe(3);
    expect(ws.listenerCount('ping')).toBe(0);
    await once(ws, 'open');

    ws.send('one');
    await next(ws as NodeJS.EventEmitter, 'message');
    expect(calls).toEqual(['fn:one', 'object:one', 'once:one']);
    expect(ws.listenerCount('message')).toBe(2);

    ws.removeEventListener('message', listener as never);
    ws.removeEventListener('message', (() => undefined) as never); // unknown: nothing happens
    ws.send('two');
    await next(ws as NodeJS.EventEmitter, 'message');
    expect(calls).toEqual(['fn:one', 'object:one', 'once:one', 'object:two']);

    ws.terminate();
    await next(ws as NodeJS.EventEmitter, 'close');
  });

  test.each(CLIENTS)('%s: on<event> attributes: one handler each, replaced, cleared by null, separate from addEventListener', async (_name, Client) => {
    const url = await echoServer();
    const ws = new Client(url);
    const calls: string[] = [];
    const first = (): void => {
      calls.push('first');
    };
    const second = (): void => {
      calls.push('second');
    };
    expect(ws.onopen).toBeNull();
    ws.onopen = first;
    expect(ws.onopen).toBe(first);
    ws.onopen = second;
    expect(ws.onopen).toBe(second);
    ws.addEventListener('open', second);
    expect(ws.listenerCount('open')).toBe(2);
    ws.removeEventListener('open', second); // removes the addEventListener one only
    expect(ws.onopen).toBe(second);
    ws.onmessage = first;
    ws.onmessage = null;
    expect(ws.onmessage).toBeNull();
    ws.onclose = 'not a function' as never;
    expect(ws.onclose).toBeNull();
    await once(ws, 'open');
    expect(calls).toEqual(['second']);
    ws.terminate();
    await next(ws as NodeJS.EventEmitter, 'close');
  });

  test.each(CLIENTS)('%s: listeners run with the socket as this, in registration order with on()', async (_name, Client) => {
    const url = await echoServer();
    const ws = new Client(url);
    const order: string[] = [];
    let self: unknown;
    ws.on('open', () => order.push('on'));
    ws.addEventListener('open', function (this: unknown) {
      self = this;
      order.push('addEventListener');
    });
    ws.onopen = () => order.push('onopen');
    await once(ws, 'open');
    expect(order).toEqual(['on', 'addEventListener', 'onopen']);
    expect(self).toBe(ws);
    ws.terminate();
    await next(ws as NodeJS.EventEmitter, 'close');
  });
});

describe('event classes', () => {
  test('defaults and readonly shapes, as ws', () => {
    const event = new Event('open');
    expect(event.type).toBe('open');
    expect(event.target).toBeNull();
    expect(new MessageEvent('message').data).toBeNull();
    expect(new MessageEvent('message', { data: 'x' }).data).toBe('x');
    const close = new CloseEvent('close');
    expect([close.code, close.reason, close.wasClean]).toEqual([0, '', false]);
    const error = new ErrorEvent('error', { error: new Error('boom'), message: 'boom' });
    expect(error.message).toBe('boom');
    expect(error.error).toBeInstanceOf(Error);
    expect(new ErrorEvent('error').error).toBeNull();
    expect(() => {
      (event as unknown as { type: string }).type = 'changed';
    }).toThrow(TypeError);
  });
});

describe('the EventEmitter face: listener table', () => {
  // rfc6455 gives each WebSocket a compact listener table with a slot per common event; it must
  // behave exactly like EventEmitter's own, side by side with ws.
  const IMPLEMENTATIONS: Array<[string, () => NodeJS.EventEmitter]> = [
    ['ws', () => new (WsWebSocket as unknown as new (address: null, protocols: undefined, options: object) => NodeJS.EventEmitter)(null, undefined, {})],
    ['rfc6455', () => new WebSocket(null)],
  ];

  test.each(IMPLEMENTATIONS)('%s: eventNames, listenerCount and removal see only real listeners', (_name, make) => {
    const ws = make();
    expect(ws.eventNames()).toEqual([]);
    expect(ws.listenerCount('message')).toBe(0);
    const a = (): void => {};
    const b = (): void => {};
    ws.on('message', a);
    ws.on('message', b);
    ws.on('custom', a);
    expect(ws.eventNames().sort()).toEqual(['custom', 'message']);
    expect(ws.listenerCount('message')).toBe(2);
    expect(ws.listeners('message')).toEqual([a, b]);
    ws.removeListener('message', a);
    expect(ws.listeners('message')).toEqual([b]);
    ws.removeAllListeners('message');
    expect(ws.eventNames()).toEqual(['custom']);
    expect(ws.listenerCount('message')).toBe(0);
    ws.removeAllListeners();
    expect(ws.eventNames()).toEqual([]);
  });

  test.each(IMPLEMENTATIONS)('%s: names of Object.prototype members are ordinary events', (_name, make) => {
    const ws = make();
    expect(ws.listenerCount('toString')).toBe(0);
    expect(ws.emit('constructor')).toBe(false);
    const seen: string[] = [];
    ws.on('toString', () => seen.push('toString'));
    ws.on('constructor', () => seen.push('constructor'));
    expect(ws.listenerCount('toString')).toBe(1);
    expect(ws.emit('toString')).toBe(true);
    expect(ws.emit('constructor')).toBe(true);
    expect(seen).toEqual(['toString', 'constructor']);
  });

  test.each(IMPLEMENTATIONS)('%s: once, prepend and emit with arguments', (_name, make) => {
    const ws = make();
    const seen: unknown[] = [];
    ws.once('ping', (x) => seen.push(['once', x]));
    ws.on('ping', (x) => seen.push(['on', x]));
    ws.prependListener('ping', (x) => seen.push(['first', x]));
    ws.emit('ping', 1);
    ws.emit('ping', 2);
    expect(seen).toEqual([['first', 1], ['once', 1], ['on', 1], ['first', 2], ['on', 2]]);
  });
});
