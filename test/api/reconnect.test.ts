// The client's `reconnect` option against real loopback servers (rfc6455's and ws's): restarts on
// the same port, refusals, close codes, the send queue, terminate/close while waiting, maxAttempts,
// and the EventTarget face. Delays are a few ms (options); every wait is for an event.
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer as WsServer, type WebSocket as WsSocket } from 'ws';
import { WebSocket, WebSocketServer, type ReconnectFailedInfo, type ReconnectingInfo, type ReconnectOptions } from '../../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const FAST: ReconnectOptions = { initialDelay: 2, maxDelay: 20, jitter: 0.5 };

function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Peer {
  port: number;
  /** Messages received by this server, as text, in order. */
  received: string[];
  /** Server-side sockets, in the order they connected. */
  sockets: Array<WebSocket | WsSocket>;
  /** 'message' for each message received. */
  events: EventEmitter;
  /** Drop every connection without a close frame and stop listening. */
  stop(): Promise<void>;
}

type Kind = 'rfc6455' | 'ws';
type Verify = (info: unknown, cb: (ok: boolean, code?: number) => void) => void;

/** A server of `kind` on `port` (0: any) that records what it receives. */
async function serve(kind: Kind, port = 0, verifyClient?: Verify): Promise<Peer> {
  const received: string[] = [];
  const sockets: Array<WebSocket | WsSocket> = [];
  const events = new EventEmitter();
  const options = { port, host: '127.0.0.1', verifyClient };
  type AnyServer = NodeJS.EventEmitter & { close(cb: () => void): void; address(): unknown };
  const server = (kind === 'ws' ? new WsServer(options as object) : new WebSocketServer(options as object)) as unknown as AnyServer;
  await once(server, 'listening');
  server.on('connection', (socket: WebSocket | WsSocket) => {
    sockets.push(socket);
    socket.on('message', (data: Buffer) => {
      received.push(String(data));
      events.emit('message');
    });
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const socket of sockets) socket.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(stop);
  return { port: (server.address() as { port: number }).port, received, sockets, events, stop };
}

/** A client with `reconnect`, terminated after the test. */
function client(port: number, reconnect: boolean | ReconnectOptions, extra: object = {}): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { reconnect, ...extra });
  ws.on('error', () => undefined);
  cleanups.push(() => ws.terminate());
  return ws;
}

/** Everything the client emits, in order (reconnect events with their main fields). */
function transcript(ws: WebSocket): string[] {
  const log: string[] = [];
  ws.on('open', () => log.push('open'));
  ws.on('close', (code) => log.push(`close ${code}`));
  ws.on('error', (error) => log.push(`error ${error.message}`));
  ws.on('reconnecting', (info) => log.push(`reconnecting ${info.attempt} ${info.code}${info.status === undefined ? '' : ` ${info.status}`}`));
  ws.on('reconnect', (info) => log.push(`reconnect ${info.attempt}`));
  ws.on('reconnectFailed', (info) => log.push(`reconnectFailed ${info.attempts}`));
  return log;
}

/** Waits until the server has received `count` messages (each arrival is an event; bounded by the count). */
async function receivedCount(peer: Peer, count: number): Promise<void> {
  for (let i = 0; i < count && peer.received.length < count; i++) await next(peer.events, 'message');
  expect(peer.received.length).toBeGreaterThanOrEqual(count);
}

describe.each<Kind>(['rfc6455', 'ws'])('reconnect to a %s server', (kind) => {
  test('a server restarted on the same port: CONNECTING meanwhile, no close, queued sends delivered once and in order', async () => {
    const first = await serve(kind);
    const ws = client(first.port, FAST);
    const log = transcript(ws);
    await next(ws, 'open');
    ws.send('before');
    await receivedCount(first, 1);

    const reconnecting = next<[ReconnectingInfo]>(ws, 'reconnecting');
    await first.stop();
    const [info] = await reconnecting;
    expect(info).toMatchObject({ attempt: 1, code: 1006, reason: '' });
    expect(info.delay).toBeGreaterThanOrEqual(1);
    expect(info.delay).toBeLessThanOrEqual(20);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    // Sends while waiting are queued (callbacks once they are written) and counted in bufferedAmount.
    const written: Array<Error | null | undefined> = [];
    ws.send('one', (error) => written.push(error));
    ws.send(Buffer.from('two'), (error) => written.push(error));
    const reused = Buffer.from('three');
    ws.send(reused, { binary: false });
    reused.write('XXXXX'); // the queue kept a copy
    expect(ws.bufferedAmount).toBe(11);

    const second = await serve(kind, first.port);
    const [reconnected] = await next<[{ attempt: number }]>(ws, 'reconnect');
    expect(reconnected.attempt).toBeGreaterThanOrEqual(1);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.send('after');
    await receivedCount(second, 4);
    expect(second.received).toEqual(['one', 'two', 'three', 'after']);
    expect(first.received).toEqual(['before']);
    expect(written).toHaveLength(2);
    expect(written.every((error) => error === undefined || error === null)).toBe(true);

    ws.close(1000);
    await next(ws, 'close');
    expect(log.filter((line) => line.startsWith('open') || line.startsWith('close') || line.startsWith('reconnect '))).toEqual([
      'open',
      'open',
      `reconnect ${reconnected.attempt}`,
      'close 1000',
    ]);
    expect(log.filter((line) => line.startsWith('reconnecting')).length).toBe(reconnected.attempt);
  });

  test('a refusal with 503 is retried, then the handshake succeeds; what the first open flushes was sent while connecting', async () => {
    let refusals = 2;
    const peer = await serve(kind, 0, (_info, cb) => (refusals-- > 0 ? cb(false, 503) : cb(true)));
    const ws = client(peer.port, FAST);
    const log = transcript(ws);
    ws.send('queued before the first open');
    await next(ws, 'reconnect');
    await receivedCount(peer, 1);
    expect(peer.received).toEqual(['queued before the first open']);
    expect(log).toEqual(['reconnecting 1 1006 503', 'reconnecting 2 1006 503', 'open', 'reconnect 2']);
  });

  test('a refusal with 403 stops: error and close as without the option, queued callbacks get an error', async () => {
    const peer = await serve(kind, 0, (_info, cb) => cb(false, 403));
    const ws = client(peer.port, FAST);
    const log = transcript(ws);
    const failed = new Promise<Error | null | undefined>((resolve) => ws.send('never', resolve));
    await next(ws, 'close');
    expect(log).toEqual(['error Unexpected server response: 403', 'close 1006']);
    expect(await failed).toBeInstanceOf(Error);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    expect(ws.bufferedAmount).toBe(0);
  });

  test.each([
    [1001, true],
    [1011, true],
    [1012, true],
    [1000, false],
    [1008, false],
    [4000, false],
  ])('a server closing with %i: reconnect %s', async (code, retried) => {
    const peer = await serve(kind);
    const ws = client(peer.port, FAST);
    const log = transcript(ws);
    await next(ws, 'open');
    const ended = retried ? next(ws, 'reconnect') : next(ws, 'close');
    peer.sockets[0]!.close(code, 'bye');
    await ended;
    if (retried) {
      expect(log.slice(0, 2)).toEqual(['open', `reconnecting 1 ${code}`]);
      expect(log.slice(-2)).toEqual(['open', 'reconnect 1']);
      expect(peer.sockets).toHaveLength(2);
    } else {
      expect(log).toEqual(['open', `close ${code}`]);
    }
  });
});

describe('reconnect (rfc6455 server)', () => {
  test('shouldReconnect decides per close code and reason, with the default given', async () => {
    const peer = await serve('rfc6455');
    const seen: Array<[number, string, boolean]> = [];
    const ws = client(peer.port, {
      ...FAST,
      shouldReconnect: (code, reason, context) => {
        seen.push([code, reason, context.defaultDecision]);
        return code === 4000 || context.defaultDecision;
      },
    });
    const log = transcript(ws);
    await next(ws, 'open');
    const back = next(ws, 'reconnect');
    peer.sockets[0]!.close(4000, 'come back');
    await back;
    const closed = next(ws, 'close');
    peer.sockets[1]!.close(4001, 'go away');
    await closed;
    expect(seen).toEqual([
      [4000, 'come back', false],
      [4001, 'go away', false],
    ]);
    expect(log).toEqual(['open', 'reconnecting 1 4000', 'open', 'reconnect 1', 'close 4001']);
  });

  test('a shouldReconnect that throws ends reconnection and is reported through error', async () => {
    const peer = await serve('rfc6455');
    const ws = client(peer.port, {
      ...FAST,
      shouldReconnect: () => {
        throw new Error('policy bug');
      },
    });
    const log = transcript(ws);
    await next(ws, 'open');
    const closed = next(ws, 'close');
    peer.sockets[0]!.terminate();
    await closed;
    expect(log).toEqual(['open', 'error policy bug', 'close 1006']);
  });

  test('queue overflow: send() throws ws\'s CONNECTING error with the queue\'s limits; nothing queued is lost', async () => {
    const port = await freePort();
    const ws = client(port, { ...FAST, maxQueuedMessages: 2, maxQueuedBytes: 8 });
    ws.send('ab');
    ws.send('cd');
    let thrown: unknown;
    try {
      ws.send('ef');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(/^WebSocket is not open: readyState 0 \(CONNECTING\), and the reconnect queue is full/);
    expect((thrown as { code: string }).code).toBe('ERR_RECONNECT_QUEUE_FULL');
    await next(ws, 'reconnecting');
    const peer = await serve('rfc6455', port);
    await next(ws, 'reconnect');
    await receivedCount(peer, 2);
    expect(peer.received).toEqual(['ab', 'cd']);
  });

  test('queue overflow by bytes, and maxQueuedMessages 0 keeps ws\'s throw while CONNECTING', async () => {
    const port = await freePort();
    const ws = client(port, { ...FAST, maxQueuedBytes: 4 });
    ws.send('1234');
    expect(() => ws.send('5')).toThrow(/reconnect queue is full/);
    const none = client(port, { ...FAST, maxQueuedMessages: 0 });
    expect(() => none.send('x')).toThrow(/^WebSocket is not open: readyState 0 \(CONNECTING\)/);
    expect(none.bufferedAmount).toBe(0);
    expect(ws.bufferedAmount).toBe(4);
  });

  test('terminate() while waiting: error and close 1006 as in ws while CONNECTING, queued callbacks fail, no further attempt', async () => {
    const port = await freePort();
    const ws = client(port, { initialDelay: 60000, maxDelay: 60000, jitter: 0 });
    const log = transcript(ws);
    const [info] = await next<[ReconnectingInfo]>(ws, 'reconnecting');
    expect(info).toMatchObject({ attempt: 1, delay: 60000, code: 1006 });
    expect(info.error).toBeInstanceOf(Error);
    const failed = new Promise<Error | null | undefined>((resolve) => ws.send('late', resolve));
    ws.terminate();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    await next(ws, 'close');
    expect(await failed).toBeInstanceOf(Error);
    expect(log).toEqual(['reconnecting 1 1006', 'error WebSocket was closed before the connection was established', 'close 1006']);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    // The timer is gone: a send now fails as after any close, and nothing is pending.
    expect((ws as unknown as { _reconnect: { timer: unknown } })._reconnect.timer).toBeNull();
  });

  test('close() while waiting also stops; close() of an open socket does not reconnect', async () => {
    const port = await freePort();
    const waiting = client(port, { initialDelay: 60000, maxDelay: 60000 });
    await next(waiting, 'reconnecting');
    waiting.close();
    const [code] = await next<[number]>(waiting, 'close');
    expect(code).toBe(1006);

    const peer = await serve('rfc6455');
    const ws = client(peer.port, FAST);
    const log = transcript(ws);
    await next(ws, 'open');
    ws.close(1001); // a code that would be retried, had the server sent it
    await next(ws, 'close');
    expect(log).toEqual(['open', 'close 1001']);
    expect(peer.sockets).toHaveLength(1);
  });

  test('terminate() during an attempt (a server that accepts TCP and never answers) stops reconnecting', async () => {
    let connections = 0;
    const silent = createServer((socket) => {
      connections++;
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const port = (silent.address() as { port: number }).port;
    const ws = client(port, { ...FAST, maxQueuedMessages: 1 });
    const log = transcript(ws);
    await once(silent, 'connection');
    const failed = new Promise<Error | null | undefined>((resolve) => ws.send('q', resolve));
    ws.terminate();
    await next(ws, 'close');
    expect(await failed).toBeInstanceOf(Error);
    expect(log).toEqual(['error WebSocket was closed before the connection was established', 'close 1006']);
    expect(connections).toBe(1);
    expect((ws as unknown as { _reconnect: { timer: unknown } })._reconnect.timer).toBeNull();
  });

  test('terminate() of an open socket does not reconnect', async () => {
    const peer = await serve('rfc6455');
    const ws = client(peer.port, FAST);
    const log = transcript(ws);
    await next(ws, 'open');
    ws.terminate();
    await next(ws, 'close');
    expect(log).toEqual(['open', 'close 1006']);
  });

  test('maxAttempts reached: reconnectFailed with the last error, then error and close; queued sends are counted and fail', async () => {
    const port = await freePort();
    const ws = client(port, { ...FAST, maxAttempts: 2 });
    const log = transcript(ws);
    const failed = new Promise<Error | null | undefined>((resolve) => ws.send('lost', resolve));
    const closed = next(ws, 'close');
    const [info] = await next<[ReconnectFailedInfo]>(ws, 'reconnectFailed');
    expect(info).toMatchObject({ attempts: 2, code: 1006, unsent: 1 });
    expect((info.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await closed;
    expect(await failed).toBeInstanceOf(Error);
    expect(log.map((line) => line.replace(/ECONNREFUSED.*/, 'ECONNREFUSED'))).toEqual([
      'reconnecting 1 1006',
      'reconnecting 2 1006',
      'reconnectFailed 2',
      'error connect ECONNREFUSED',
      'close 1006',
    ]);
  });

  test('the EventTarget face: onopen on every connection, onclose once at the end', async () => {
    const first = await serve('rfc6455');
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/`, { reconnect: FAST });
    cleanups.push(() => ws.terminate());
    const events: string[] = [];
    ws.onopen = (event) => events.push(`onopen ${event.type}`);
    ws.onclose = (event) => events.push(`onclose ${event.code} ${event.reason}`);
    ws.addEventListener('open', () => events.push('open listener'));
    ws.onmessage = (event) => events.push(`message ${String(event.data)}`);
    await next(ws, 'open');
    const waiting = next(ws, 'reconnecting');
    await first.stop();
    await waiting;
    const second = await serve('rfc6455', first.port);
    await next(ws, 'reconnect');
    second.sockets[0]!.send('hi');
    await next(ws, 'message');
    second.sockets[0]!.close(1000, 'done');
    await next(ws, 'close');
    expect(events).toEqual(['onopen open', 'open listener', 'onopen open', 'open listener', 'message hi', 'onclose 1000 done']);
  });

  test('what an open listener sends goes before the queue; redirects are followed again from the first URL', async () => {
    const peer = await serve('rfc6455');
    const ws = client(peer.port, FAST);
    ws.on('open', () => ws.send('hello'));
    await next(ws, 'open');
    await receivedCount(peer, 1);
    const waiting = next(ws, 'reconnecting');
    peer.sockets[0]!.close(1012);
    await waiting;
    ws.send('queued');
    await next(ws, 'reconnect');
    await receivedCount(peer, 3);
    expect(peer.received).toEqual(['hello', 'hello', 'queued']);
    expect(ws.url).toBe(`ws://127.0.0.1:${peer.port}/`);
  });
});

describe('without the option (ws behaviour)', () => {
  test('send() while CONNECTING throws, a lost connection closes with 1006 and no reconnection events', async () => {
    const peer = await serve('rfc6455');
    const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/`);
    cleanups.push(() => ws.terminate());
    const log = transcript(ws);
    expect(() => ws.send('x')).toThrow('WebSocket is not open: readyState 0 (CONNECTING)');
    await next(ws, 'open');
    peer.sockets[0]!.terminate();
    await next(ws, 'close');
    expect(log).toEqual(['open', 'close 1006']);
  });
});
