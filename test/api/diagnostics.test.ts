// Diagnostics: the node:diagnostics_channel channels (rfc6455:websocket:*, rfc6455:server:handshake)
// and WebSocketServer.stats(), over real loopback connections.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import {
  diagnosticsChannels,
  WebSocket,
  WebSocketServer,
  type ServerHandshakeMessage,
  type WebSocketCloseMessage,
  type WebSocketOpenMessage,
  type WebSocketPingMessage,
  type WebSocketServerOptions,
  type WebSocketSocketErrorMessage,
} from '../../src/index.js';
import { rawRequest, upgradeRequest } from './server-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Everything published on `name` until the end of the test. */
function record<T>(name: string): T[] {
  const seen: T[] = [];
  const listener = (message: unknown): void => {
    seen.push(message as T);
  };
  subscribe(name, listener);
  cleanups.push(() => {
    unsubscribe(name, listener);
  });
  return seen;
}

async function server(options: Omit<WebSocketServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  cleanups.push(() => {
    for (const ws of wss.clients) ws.terminate();
  });
  const port = (wss.address() as { port: number }).port;
  return { wss, url: `ws://127.0.0.1:${port}`, port };
}

async function connectPair(wss: WebSocketServer, url: string): Promise<{ client: WebSocket; peer: WebSocket }> {
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(url);
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  const [peer] = await accepted;
  return { client, peer };
}

/** The socket's 'close' (events.once would reject on the 'error' that comes first). */
function closed(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.once('close', resolve));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('diagnostics channels', () => {
  test('the names follow undici\'s, under rfc6455:', () => {
    expect(diagnosticsChannels).toEqual({
      open: 'rfc6455:websocket:open',
      close: 'rfc6455:websocket:close',
      socketError: 'rfc6455:websocket:socket_error',
      ping: 'rfc6455:websocket:ping',
      pong: 'rfc6455:websocket:pong',
      handshake: 'rfc6455:server:handshake',
    });
  });

  test('open, ping, pong, close and an accepted handshake, for both ends', async () => {
    const opens = record<WebSocketOpenMessage>(diagnosticsChannels.open);
    const pings = record<WebSocketPingMessage>(diagnosticsChannels.ping);
    const pongs = record<WebSocketPingMessage>(diagnosticsChannels.pong);
    const closes = record<WebSocketCloseMessage>(diagnosticsChannels.close);
    const handshakes = record<ServerHandshakeMessage>(diagnosticsChannels.handshake);
    const { wss, url } = await server({ handleProtocols: () => 'chat' });
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(url, ['chat']);
    cleanups.push(() => client.terminate());
    await once(client, 'open');
    const [peer] = await accepted;

    expect(handshakes).toHaveLength(1);
    expect(handshakes[0]).toMatchObject({ server: wss, accepted: true, status: 101, reason: null, websocket: peer });
    expect(handshakes[0]!.request?.url).toBe('/');
    expect(opens.map((message) => message.websocket)).toEqual([peer, client]);
    expect(opens[0]).toMatchObject({ protocol: 'chat', extensions: '', address: { address: '127.0.0.1' } });
    expect(opens[1]!.address.port).toBe((wss.address() as { port: number }).port);

    client.ping('p1');
    await once(client, 'pong');
    expect(pings).toEqual([{ websocket: peer, payload: Buffer.from('p1') }]);
    expect(pongs).toEqual([{ websocket: client, payload: Buffer.from('p1') }]);

    client.close(1000, 'done');
    await Promise.all([once(client, 'close'), once(peer, 'close')]);
    expect(closes).toHaveLength(2);
    const byEnd = new Map(closes.map((message) => [message.websocket, message]));
    expect(byEnd.get(peer)).toMatchObject({ code: 1000 });
    expect(byEnd.get(peer)!.reason.toString()).toBe('done');
    expect(byEnd.get(client)).toMatchObject({ code: 1000 });
  });

  test('refused handshakes carry their reason and status', async () => {
    const handshakes = record<ServerHandshakeMessage>(diagnosticsChannels.handshake);
    const { wss, port } = await server({ path: '/ok', verifyClient: (info) => info.req.headers['x-let-in'] === 'yes', maxConnections: 1 });
    // Not a WebSocket request at all, an invalid upgrade (no key), a wrong path, a refusal by verifyClient.
    expect((await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(426);
    expect((await rawRequest(port, upgradeRequest('/ok', ['X-Let-In: yes'], ['Sec-WebSocket-Key']))).status).toBe(400);
    expect((await rawRequest(port, upgradeRequest('/elsewhere', ['X-Let-In: yes']))).status).toBe(400);
    expect((await rawRequest(port, upgradeRequest('/ok'))).status).toBe(401);
    // One connection fills maxConnections; the next handshake gets 503.
    const first = await rawRequest(port, upgradeRequest('/ok', ['X-Let-In: yes']));
    cleanups.push(() => {
      first.socket.destroy();
    });
    expect(first.status).toBe(101);
    expect((await rawRequest(port, upgradeRequest('/ok', ['X-Let-In: yes']))).status).toBe(503);

    expect(handshakes.map(({ accepted, status, reason }) => [accepted, status, reason])).toEqual([
      [false, 426, 'notWebSocket'],
      [false, 400, 'invalid'],
      [false, 400, 'path'],
      [false, 401, 'verifyClient'],
      [true, 101, null],
      [false, 503, 'maxConnections'],
    ]);
    expect(handshakes[0]!.request).toBeUndefined();
    expect(handshakes[3]!.request?.url).toBe('/ok');
    expect(handshakes.every((message) => message.server === wss)).toBe(true);

    const stats = wss.stats();
    expect(stats.handshakes).toEqual({
      accepted: 1,
      rejected: 5,
      rejectedBy: { invalid: 1, notWebSocket: 1, path: 1, verifyClient: 1, hookError: 0, serverClosing: 0, maxConnections: 1, aborted: 0, timeout: 0 },
    });
  });

  test('a hook that throws (500) and a request head that never completes (timeout)', async () => {
    const handshakes = record<ServerHandshakeMessage>(diagnosticsChannels.handshake);
    const { wss, port } = await server({
      handshakeTimeout: 50,
      handleProtocols: () => {
        throw new Error('hook failed');
      },
    });
    wss.on('error', () => undefined);
    expect((await rawRequest(port, upgradeRequest('/', ['Sec-WebSocket-Protocol: a']))).status).toBe(500);
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => undefined);
    silent.write('GET / HTTP/1.1\r\n');
    await once(silent, 'close');
    expect(handshakes.map(({ status, reason }) => [status, reason])).toEqual([
      [500, 'hookError'],
      [0, 'timeout'],
    ]);
    expect(wss.stats().handshakes.rejectedBy).toMatchObject({ hookError: 1, timeout: 1 });
  });

  test('socket_error: a peer over maxPayload, and a TCP reset', async () => {
    const errors = record<WebSocketSocketErrorMessage>(diagnosticsChannels.socketError);
    const { wss, url } = await server({ maxPayload: 100 });
    const { client, peer } = await connectPair(wss, url);
    client.send(Buffer.alloc(101));
    await closed(peer);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.websocket).toBe(peer);
    expect((errors[0]!.error as Error & { code: string }).code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(wss.stats().limits.maxPayload).toBe(1);

    const second = await connectPair(wss, url);
    second.client._socket!.resetAndDestroy();
    await closed(second.peer);
    const reset = errors.filter((message) => message.websocket === second.peer);
    expect(reset).toHaveLength(1);
    expect((reset[0]!.error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });
});

describe('WebSocketServer.stats()', () => {
  test('connections, messages and bytes in and out (payload and wire), live and after the close', async () => {
    const { wss, url } = await server({ perMessageDeflate: { threshold: 0 } });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    expect(wss.stats().connections).toBe(0);
    const client = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
    cleanups.push(() => client.terminate());
    await once(client, 'open');
    expect(client.extensions).toBe('permessage-deflate');
    // Very compressible payloads: 10 messages of 10000 bytes.
    for (let i = 0; i < 10; i++) {
      client.send('a'.repeat(10_000));
      await once(client, 'message');
    }
    const live = wss.stats();
    expect(live.connections).toBe(1);
    expect(live.messages).toEqual({ in: 10, out: 10 });
    expect(live.bytes.in).toBe(100_000);
    expect(live.bytes.out).toBe(100_000);
    // Compressed on the wire: far fewer bytes than the payloads, though more than the handshake.
    expect(live.bytes.wireIn).toBeGreaterThan(100);
    expect(live.bytes.wireIn).toBeLessThan(20_000);
    expect(live.bytes.wireOut).toBeLessThan(20_000);
    client.close(1000);
    await until(() => wss.stats().connections === 0, 'the server side to close');
    const after = wss.stats();
    expect(after.bytes.wireIn).toBeGreaterThan(live.bytes.wireIn);
    expect(after.messages).toEqual({ in: 10, out: 10 });
    expect(after.handshakes.accepted).toBe(1);
  });

  test('publish counts each local subscriber reached; a ws client is counted like ours', async () => {
    const { wss, url } = await server();
    const accepted: WebSocket[] = [];
    wss.on('connection', (ws) => {
      ws.subscribe('news');
      accepted.push(ws);
    });
    const clients = [new WebSocket(url), new WsWebSocket(url), new WebSocket(url)];
    for (const client of clients) cleanups.push(() => client.terminate());
    await Promise.all(clients.map((client) => once(client as WebSocket, 'open')));
    await until(() => accepted.length === 3, 'three connections');
    expect(wss.publish('news', 'hello')).toBe(3);
    // A socket's publish reaches the others.
    expect(accepted[0]!.publish('news', Buffer.alloc(4))).toBe(2);
    const stats = wss.stats();
    expect(stats.connections).toBe(3);
    expect(stats.messages.out).toBe(5);
    expect(stats.bytes.out).toBe(3 * 5 + 2 * 4);
  });

  test('limits: maxBufferedAmount and maxBackpressure (policy close); backpressure drops (policy skip); maxFragments', async () => {
    const payload = Buffer.alloc(256 * 1024);
    // maxBufferedAmount: the client stops reading, the server keeps sending.
    {
      const { wss, url } = await server({ maxBufferedAmount: 64 * 1024 });
      const { client, peer } = await connectPair(wss, url);
      client.pause();
      peer.on('error', () => undefined);
      for (let i = 0; i < 200 && peer.readyState === WebSocket.OPEN; i++) {
        peer.send(payload);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await until(() => wss.stats().limits.maxBufferedAmount === 1, 'the maxBufferedAmount trip');
    }
    // maxBackpressure with policy 'close' and, on another server, drops with 'skip'.
    for (const policy of ['close', 'skip'] as const) {
      const { wss, url } = await server({ maxBackpressure: 64 * 1024, backpressurePolicy: policy, maxBufferedAmount: 0 });
      const { client, peer } = await connectPair(wss, url);
      client.pause();
      peer.subscribe('t');
      peer.on('error', () => undefined);
      for (let i = 0; i < 200 && wss.stats().backpressureDrops === 0 && wss.stats().limits.maxBackpressure === 0; i++) {
        wss.publish('t', payload);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const stats = wss.stats();
      if (policy === 'close') {
        await until(() => wss.stats().limits.maxBackpressure === 1, 'the maxBackpressure trip');
        expect(stats.backpressureDrops).toBe(0);
      } else {
        expect(stats.backpressureDrops).toBeGreaterThan(0);
        expect(stats.limits.maxBackpressure).toBe(0);
        expect(peer.readyState).toBe(WebSocket.OPEN);
      }
    }
    // maxFragments: a message in more frames than allowed.
    {
      const { wss, url } = await server({ maxFragments: 3 });
      const { client, peer } = await connectPair(wss, url);
      for (let i = 0; i < 4; i++) client.send('x', { fin: false });
      client.send('x', { fin: true });
      await closed(peer);
      expect(wss.stats().limits).toMatchObject({ maxFragments: 1, maxPayload: 0, maxBufferedAmount: 0 });
    }
  });

  test('a client socket counts nothing on any server; a snapshot is a copy', async () => {
    const { wss, url } = await server();
    const { client } = await connectPair(wss, url);
    const before = wss.stats();
    before.handshakes.rejectedBy.invalid = 99;
    before.limits.maxPayload = 99;
    const other = await server();
    const { peer } = await connectPair(other.wss, other.url);
    // `peer` is another server's socket: what it sends counts there, not on `wss`.
    client.send('to wss');
    await until(() => wss.stats().messages.in === 1, 'the message at wss');
    peer.send('from other');
    await until(() => other.wss.stats().messages.out === 1, 'the count at the other server');
    const after = wss.stats();
    expect(after.handshakes.rejectedBy.invalid).toBe(0);
    expect(after.limits.maxPayload).toBe(0);
    expect(after.messages).toEqual({ in: 1, out: 0 });
  });
});
