// The topics API on server sockets, against `ws` clients over loopback.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocket } from '../../src/api/websocket.js';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

describe('subscribe / unsubscribe', () => {
  test('subscribe is idempotent; unsubscribe, isSubscribed, getTopics and subscriberCount follow', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    const events: Array<[string, number, number]> = [];
    wss.on('subscription', (topic: string, newCount: number, oldCount: number) => events.push([topic, newCount, oldCount]));
    expect(a!.server.subscribe('news')).toBe(true);
    expect(a!.server.subscribe('news')).toBe(false);
    expect(a!.server.subscribe('sport')).toBe(true);
    expect(b!.server.subscribe('news')).toBe(true);
    expect(a!.server.getTopics()).toEqual(['news', 'sport']);
    expect(a!.server.isSubscribed('news')).toBe(true);
    expect(b!.server.isSubscribed('sport')).toBe(false);
    expect(wss.subscriberCount('news')).toBe(2);
    expect(a!.server.unsubscribe('news')).toBe(true);
    expect(a!.server.unsubscribe('news')).toBe(false);
    expect(wss.subscriberCount('news')).toBe(1);
    expect(wss.subscriberCount('nothing')).toBe(0);
    expect(events).toEqual([
      ['news', 1, 0],
      ['sport', 1, 0],
      ['news', 2, 1],
      ['news', 1, 2],
    ]);
  });

  test('a closed socket leaves all its topics at once, and cannot subscribe again', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    a!.server.subscribe('x');
    a!.server.subscribe('y');
    const events: Array<[string, number, number]> = [];
    wss.on('subscription', (topic: string, newCount: number, oldCount: number) => events.push([topic, newCount, oldCount]));
    a!.client.close();
    await once(a!.server, 'close');
    expect(events).toEqual([
      ['x', 0, 1],
      ['y', 0, 1],
    ]);
    expect(a!.server.getTopics()).toEqual([]);
    expect(a!.server.subscribe('x')).toBe(false);
    expect(wss.subscriberCount('x')).toBe(0);
  });

  test('topics are opaque strings; a non-string topic is a TypeError', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    for (const topic of ['', '__proto__', 'constructor', 'a/+/#', '*']) expect(a!.server.subscribe(topic)).toBe(true);
    expect(a!.server.getTopics()).toEqual(['', '__proto__', 'constructor', 'a/+/#', '*']);
    expect(() => a!.server.subscribe(42 as unknown as string)).toThrow(TypeError);
    expect(() => wss.publish(undefined as unknown as string, 'x')).toThrow(TypeError);
  });

  test('a client socket has no topics: subscribe and publish throw, the queries answer empty', () => {
    const ws = new WebSocket(null);
    expect(() => ws.subscribe('t')).toThrow(/WebSocketServer/);
    expect(() => ws.publish('t', 'x')).toThrow(/WebSocketServer/);
    expect(ws.isSubscribed('t')).toBe(false);
    expect(ws.getTopics()).toEqual([]);
    expect(ws.unsubscribe('t')).toBe(false);
  });
});

describe('publish', () => {
  test('every subscriber gets every message exactly once and in order; others get none', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 5);
    for (const peer of peers.slice(0, 4)) peer.server.subscribe('t');
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      expected.push(`m${i}`);
      expect(wss.publish('t', `m${i}`)).toBe(4);
    }
    expect(wss.publish('t', Buffer.from([1, 2, 255]))).toBe(4);
    expected.push('bin:0102ff');
    await until(() => peers.slice(0, 4).every((peer) => peer.received.length >= expected.length));
    for (const peer of peers.slice(0, 4)) expect(peer.received).toEqual(expected);
    // Something sent after the publishes arrives after them (nothing more came to the fifth peer).
    peers[4]!.server.send('last');
    await until(() => peers[4]!.received.length === 1);
    expect(peers[4]!.received).toEqual(['last']);
  });

  test('large messages (header + payload pieces) arrive whole', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    for (const peer of peers) peer.server.subscribe('big');
    const big = Buffer.alloc(200_000, 7);
    big[199_999] = 9;
    expect(wss.publish('big', big)).toBe(3);
    await until(() => peers.every((peer) => peer.received.length === 1));
    for (const peer of peers) expect(peer.received[0]).toBe(`bin:${big.toString('hex')}`);
  });

  test('binary option, numbers and typed arrays are sent as send() sends them', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    a!.server.subscribe('t');
    wss.publish('t', 'as binary', { binary: true });
    wss.publish('t', 12);
    wss.publish('t', new Uint16Array([0x0201]));
    wss.publish('t', Buffer.from('text'), { binary: false });
    await until(() => a!.received.length === 4);
    expect(a!.received).toEqual([`bin:${Buffer.from('as binary').toString('hex')}`, '12', 'bin:0102', 'text']);
  });

  test('ws.publish reaches every subscriber except the sender', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    for (const peer of peers) peer.server.subscribe('chat');
    expect(peers[0]!.server.publish('chat', 'hi')).toBe(2);
    peers[0]!.server.send('own');
    await until(() => peers[1]!.received.length === 1 && peers[2]!.received.length === 1 && peers[0]!.received.length === 1);
    expect(peers.map((peer) => peer.received)).toEqual([['own'], ['hi'], ['hi']]);
  });

  test('publishes and sends to one socket arrive in call order', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    a!.server.subscribe('t');
    const expected: string[] = [];
    for (let i = 0; i < 50; i++) {
      a!.server.send(`s${i}`);
      wss.publish('t', `p${i}`);
      a!.server.send(Buffer.alloc(2000, i));
      wss.publish('t', Buffer.alloc(3000, i));
      expected.push(`s${i}`, `p${i}`, `bin:${Buffer.alloc(2000, i).toString('hex')}`, `bin:${Buffer.alloc(3000, i).toString('hex')}`);
    }
    await until(() => a!.received.length === expected.length);
    expect(a!.received).toEqual(expected);
  });

  test('publish from inside a message handler interleaves with the replies batched in that read', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    for (const peer of peers) peer.server.subscribe('room');
    // Every message is echoed, then published to the room (including its sender), then acknowledged.
    for (const peer of peers) {
      peer.server.on('message', (data) => {
        peer.server.send(`echo:${String(data)}`);
        wss.publish('room', `room:${String(data)}`);
        peer.server.send(`ack:${String(data)}`);
      });
    }
    peers[0]!.client.send('a');
    peers[0]!.client.send('b');
    await until(() => peers[0]!.received.length === 6 && peers[1]!.received.length === 2 && peers[2]!.received.length === 2);
    expect(peers[0]!.received).toEqual(['echo:a', 'room:a', 'ack:a', 'echo:b', 'room:b', 'ack:b']);
    expect(peers[1]!.received).toEqual(['room:a', 'room:b']);
    expect(peers[2]!.received).toEqual(['room:a', 'room:b']);
  });

  test('unsubscribe and close during a publish (from a dropped or close listener) are safe', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 4);
    for (const peer of peers) peer.server.subscribe('t');
    // A subscription change of a later subscriber while the fan-out runs: it is skipped, the others get it.
    const counts: number[] = [];
    wss.once('subscription', (_topic: string, newCount: number) => counts.push(newCount));
    peers[0]!.server.on('message', () => {
      peers[2]!.server.unsubscribe('t');
      peers[3]!.server.terminate();
      counts.push(wss.publish('t', 'after'));
    });
    wss.publish('t', 'before');
    peers[0]!.client.send('go');
    await until(() => peers[0]!.received.length === 2 && peers[1]!.received.length === 2);
    expect(counts).toEqual([3, 2]);
    expect(peers[0]!.received).toEqual(['before', 'after']);
    expect(peers[1]!.received).toEqual(['before', 'after']);
    expect(peers[2]!.received).toEqual(['before']);
  });

  test('a fragmented message being sent is not split: the publish is dropped for that socket', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const dropped: string[] = [];
    a!.server.on('dropped', (topic, data) => dropped.push(`${topic}:${String(data)}`));
    a!.server.send('frag1-', { fin: false });
    expect(wss.publish('t', 'pub')).toBe(1);
    a!.server.send('frag2', { fin: true });
    await until(() => a!.received.length === 1 && b!.received.length === 1);
    expect(a!.received).toEqual(['frag1-frag2']);
    expect(b!.received).toEqual(['pub']);
    expect(dropped).toEqual(['t:pub']);
  });
});

describe('prepared messages', () => {
  test('WebSocket.prepare: one encoding sent by many sockets, with send() callbacks', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    const text = WebSocket.prepare('hello');
    const binary = WebSocket.prepare(Buffer.alloc(5000, 3));
    const done: Array<Error | null | undefined> = [];
    for (const peer of peers) {
      expect(peer.server.send(text, (error) => done.push(error))).toBe(true);
      peer.server.send(binary);
    }
    expect(text.frame()).toBe(text.frame());
    await until(() => done.length === 3 && peers.every((peer) => peer.received.length === 2));
    expect(done.map((error) => error ?? null)).toEqual([null, null, null]);
    for (const peer of peers) expect(peer.received).toEqual(['hello', `bin:${Buffer.alloc(5000, 3).toString('hex')}`]);
  });

  test('publish takes a prepared message; a Blob cannot be prepared', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    a!.server.subscribe('t');
    wss.publish('t', WebSocket.prepare('p', { binary: true }));
    await until(() => a!.received.length === 1);
    expect(a!.received).toEqual(['bin:70']);
    expect(() => WebSocket.prepare(new Blob(['x']) as never)).toThrow(TypeError);
  });

  test('a prepared message sent after the close: its callback gets an error', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    a!.client.close();
    await once(a!.server, 'close');
    const error = await new Promise<Error | null | undefined>((resolve) => a!.server.send(WebSocket.prepare('late'), resolve));
    expect(error).toBeInstanceOf(Error);
  });

  test('a client socket sends a prepared message masked (it cannot share the server bytes)', async () => {
    const { wss, port } = await startServer();
    const received: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
    const { WebSocket: Client } = await import('../../src/index.js');
    const client = new Client(`ws://127.0.0.1:${port}`);
    cleanups.add(() => client.terminate());
    await once(client, 'open');
    const prepared = WebSocket.prepare('from client');
    client.send(prepared);
    client.send(prepared);
    await until(() => received.length === 2);
    expect(received).toEqual(['from client', 'from client']);
  });
});

test('ws clients see the same messages from publish as from clients.forEach(send)', async () => {
  const { wss, port } = await startServer();
  const peers = await connectPeers(wss, port, 2);
  peers[0]!.server.subscribe('t');
  wss.publish('t', 'x');
  wss.publish('t', Buffer.from([9]));
  peers[1]!.server.send('x');
  peers[1]!.server.send(Buffer.from([9]));
  await until(() => peers.every((peer) => peer.received.length === 2));
  expect(peers[0]!.received).toEqual(peers[1]!.received);
  expect(peers[0]!.client.readyState).toBe(WsWebSocket.OPEN);
});
