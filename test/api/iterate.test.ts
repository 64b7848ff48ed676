// Async iteration over a socket's messages (`for await ... of ws`, `ws.messages()`), over real loopback
// pairs: ours against ours, and ours against a `ws` peer on either side.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { ConnectionClosedError, WebSocket, WebSocketServer, type WebSocketMessage } from '../../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type Peer = WebSocket | WsWebSocket;

/** An rfc6455 server and a connected client of `clientKind`; resolves with both ends, open. */
async function ourServerPair(clientKind: 'rfc6455' | 'ws'): Promise<{ server: WebSocket; client: Peer; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const port = (wss.address() as { port: number }).port;
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client: Peer = clientKind === 'ws' ? new WsWebSocket(`ws://127.0.0.1:${port}`) : new WebSocket(`ws://127.0.0.1:${port}`);
  cleanups.push(() => client.terminate());
  await once(client as WebSocket, 'open');
  const [server] = await accepted;
  cleanups.push(() => server.terminate());
  return { server, client, wss };
}

/** A `ws` server and an rfc6455 client. */
async function wsServerPair(): Promise<{ server: WsWebSocket; client: WebSocket }> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const port = (wss.address() as { port: number }).port;
  const accepted = once(wss, 'connection') as Promise<[WsWebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  const [server] = await accepted;
  cleanups.push(() => server.terminate());
  return { server, client };
}

async function collect(iterable: AsyncIterable<WebSocketMessage>, limit = 10_000): Promise<string[]> {
  const out: string[] = [];
  for await (const { data, isBinary } of iterable) {
    out.push(`${isBinary ? 'b' : 't'}:${String(data)}`);
    if (out.length >= limit) break;
  }
  return out;
}

describe.each(['rfc6455', 'ws'] as const)('server socket iterated, %s client', (clientKind) => {
  test('yields text and binary messages in order and ends on a clean close (1000)', async () => {
    const { server, client } = await ourServerPair(clientKind);
    const loop = collect(server);
    client.send('one');
    client.send(Buffer.from('two'));
    client.send('three');
    client.close(1000, 'bye');
    expect(await loop).toEqual(['t:one', 'b:two', 't:three']);
  });

  test('ends on 1001 and on a close frame without a code (1005)', async () => {
    for (const code of [1001, undefined]) {
      const { server, client } = await ourServerPair(clientKind);
      const loop = collect(server);
      client.send('x');
      client.close(code);
      expect(await loop).toEqual(['t:x']);
    }
  });

  test('throws a ConnectionClosedError with the code and reason on another close code', async () => {
    const { server, client } = await ourServerPair(clientKind);
    const loop = collect(server);
    client.send('before');
    client.close(4001, 'custom');
    const error = await loop.then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).code).toBe(4001);
    expect((error as ConnectionClosedError).reason).toBe('custom');
  });

  test('the messages received before the close are yielded before the error', async () => {
    const { server, client } = await ourServerPair(clientKind);
    const iterator = server.messages();
    client.send('a');
    client.send('b');
    client.terminate();
    await once(server, 'close');
    expect((await iterator.next()).value?.data.toString()).toBe('a');
    expect((await iterator.next()).value?.data.toString()).toBe('b');
    const error = await iterator.next().then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).code).toBe(1006);
    // Reported once: then the iterator is done.
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  test('a slow consumer pauses the socket: the peer\'s writes back up, the queue stays bounded, nothing is lost', async () => {
    const { server, client } = await ourServerPair(clientKind);
    const iterator = server.messages({ highWaterMark: 8 });
    const first = await (async () => {
      const pending = iterator.next();
      client.send('m0');
      return pending;
    })();
    expect(first.value?.data.toString()).toBe('m0');
    // The consumer now stops taking messages while the peer sends 64 KiB messages.
    let emitted = 0;
    server.on('message', () => emitted++);
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const total = 400;
    for (let i = 1; i <= total; i++) client.send(payload);
    // Wait (bounded) until the server has stopped reading: paused by the iterator.
    for (let i = 0; i < 200 && !server.isPaused; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.isPaused).toBe(true);
    // Give the peer's writes time to reach the server's kernel buffers; they stay there.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const received = await new Promise<number>((resolve) => {
      let count = 0;
      const onMessage = (): void => {
        count++;
      };
      server.on('message', onMessage);
      setImmediate(() => {
        server.off('message', onMessage);
        resolve(count);
      });
    });
    expect(received).toBe(0);
    // The peer holds what the server does not read: its queue is most of the 25 MiB sent.
    expect(client.bufferedAmount).toBeGreaterThan(total * payload.length * 0.5);
    // Our side holds at most the high-water mark plus one read's worth, not the peer's backlog.
    // (a read is at most 256 KiB: 8 queued + at most 4 more of these messages, plus one partly read).
    expect(emitted).toBeLessThanOrEqual(8 + 5);
    const readable = (server._socket as unknown as { readableLength: number }).readableLength;
    expect(readable).toBeLessThan(1024 * 1024);
    // Consuming everything gets every message, in order, and the socket reads again.
    let count = 0;
    for (let i = 0; i < total; i++) {
      const result = await iterator.next();
      expect(result.done).toBe(false);
      expect((result.value!.data as Buffer).length).toBe(payload.length);
      count++;
    }
    expect(count).toBe(total);
    expect(server.isPaused).toBe(false);
    client.close(1000);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });
});

describe('rfc6455 client socket iterated', () => {
  test('against a ws server: yields its messages and ends on its 1000', async () => {
    const { server, client } = await wsServerPair();
    const loop = collect(client);
    server.send('hello');
    server.send(Buffer.from([1, 2, 3]), { binary: true });
    server.close(1000);
    expect(await loop).toEqual(['t:hello', 'b:\u0001,\u0002,\u0003'.replace(/,/g, '')]);
  });

  test('against a ws server: a slow consumer makes the server\'s writes back up', async () => {
    const { server, client } = await wsServerPair();
    const iterator = client.messages({ highWaterMark: 4 });
    const payload = Buffer.alloc(64 * 1024, 0x62);
    const total = 300;
    for (let i = 0; i < total; i++) server.send(payload);
    for (let i = 0; i < 200 && !client.isPaused; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.isPaused).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.bufferedAmount).toBeGreaterThan(total * payload.length * 0.5);
    let count = 0;
    for await (const { data } of { [Symbol.asyncIterator]: () => iterator }) {
      expect((data as Buffer).length).toBe(payload.length);
      if (++count === total) break;
    }
    expect(count).toBe(total);
    expect(client.isPaused).toBe(false);
  });

  test('iteration requested before open sees the first message', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => {
      ws.send('welcome');
      ws.close(1000);
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    cleanups.push(() => client.terminate());
    expect(await collect(client)).toEqual(['t:welcome']);
  });

  test('a failed handshake throws, with the handshake error as the cause', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: () => false });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    const error = await collect(client).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).code).toBe(1006);
    expect(String(((error as Error).cause as Error).message)).toMatch(/401/);
  });
});

describe('iterator semantics (ours/ours)', () => {
  test('messages sent in the connection\'s first bytes are not lost when iteration starts in the connection handler', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const result = new Promise<string[]>((resolve, reject) => {
      wss.on('connection', (ws) => {
        collect(ws).then(resolve, reject);
      });
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    cleanups.push(() => client.terminate());
    client.on('open', () => {
      for (let i = 0; i < 50; i++) client.send(`n${i}`);
      client.close(1000);
    });
    expect(await result).toEqual(Array.from({ length: 50 }, (_, i) => `t:n${i}`));
  });

  test('break leaves the socket open; the next iterator continues where the loop stopped', async () => {
    const { server, client } = await ourServerPair('rfc6455');
    for (let i = 0; i < 6; i++) client.send(`k${i}`);
    const firstTwo = await collect(server, 2);
    expect(firstTwo).toEqual(['t:k0', 't:k1']);
    expect(server.readyState).toBe(WebSocket.OPEN);
    // The server can still send after the loop.
    const echoed = once(client as WebSocket, 'message');
    server.send('still open');
    expect(String((await echoed)[0])).toBe('still open');
    client.close(1000);
    expect(await collect(server)).toEqual(['t:k2', 't:k3', 't:k4', 't:k5']);
  });

  test('only one iterator at a time; a second one throws until the first is left', async () => {
    const { server } = await ourServerPair('rfc6455');
    const iterator = server.messages();
    expect(() => server.messages()).toThrow(/already has a message iterator/);
    expect(() => server[Symbol.asyncIterator]()).toThrow(/already has a message iterator/);
    await iterator.return!();
    const again = server.messages();
    await again.return!();
  });

  test('return() while next() waits resolves it as done, and a paused socket reads again', async () => {
    const { server, client } = await ourServerPair('rfc6455');
    const iterator = server.messages({ highWaterMark: 1 });
    client.send('fill');
    for (let i = 0; i < 200 && !server.isPaused; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.isPaused).toBe(true);
    await iterator.return!();
    expect(server.isPaused).toBe(false);
    const second = server.messages();
    const pending = second.next();
    await second.return!();
    // The message kept from the first iterator went to the second one's first next().
    expect((await pending).value?.data.toString()).toBe('fill');
    const third = server.messages();
    const waiting = third.next();
    await third.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });

  test('an application pause() is not undone by the iterator', async () => {
    const { server, client } = await ourServerPair('rfc6455');
    const iterator = server.messages({ highWaterMark: 2 });
    client.send('p1');
    expect((await iterator.next()).value?.data.toString()).toBe('p1');
    server.pause();
    await iterator.return!();
    expect(server.isPaused).toBe(true);
    server.resume();
  });

  test('invalid highWaterMark is a TypeError; iterating a closed socket ends at once', async () => {
    const { server, client } = await ourServerPair('rfc6455');
    expect(() => server.messages({ highWaterMark: 0 })).toThrow(TypeError);
    expect(() => server.messages({ highWaterMark: 1.5 })).toThrow(TypeError);
    client.close(1000);
    await once(server, 'close');
    expect(await collect(server)).toEqual([]);
  });

  test('binaryType applies to the yielded data', async () => {
    const { server, client } = await ourServerPair('rfc6455');
    server.binaryType = 'arraybuffer';
    const iterator = server.messages();
    client.send(Buffer.from([9, 8]));
    const { value } = await iterator.next();
    expect(value?.isBinary).toBe(true);
    expect(value?.data).toBeInstanceOf(ArrayBuffer);
    await iterator.return!();
  });
});
