// The writes of one tick: a topic's publishes joined once for all its subscribers (SharedWrites), and
// sends outside a read batch corked until the end of the tick. Per socket, what leaves is what was
// sent and published, in call order, each message once.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/api/websocket.js';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

/** Runs `body` on a tick of its own (outside any read), as a timer or a publish from elsewhere does. */
function onItsOwnTick(body: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        body();
        resolve();
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

describe('publishes joined within a tick', () => {
  test('sends and publishes of one tick reach each socket in call order, each once', async () => {
    const { wss, port } = await startServer();
    const [a, b, c] = await connectPeers(wss, port, 3);
    for (const peer of [a!, b!, c!]) peer.server.subscribe('t');
    await onItsOwnTick(() => {
      a!.server.send('a-s1');
      wss.publish('t', 'p1');
      wss.publish('t', 'p2');
      a!.server.send('a-s2');
      b!.server.send('b-s1');
      wss.publish('t', 'p3');
      c!.server.send('c-s1');
    });
    await until(() => a!.received.length === 5 && b!.received.length === 4 && c!.received.length === 4);
    expect(a!.received).toEqual(['a-s1', 'p1', 'p2', 'a-s2', 'p3']);
    expect(b!.received).toEqual(['p1', 'p2', 'b-s1', 'p3']);
    expect(c!.received).toEqual(['p1', 'p2', 'p3', 'c-s1']);
    // Nothing more follows (a second copy of a joined run would arrive with the next message).
    wss.publish('t', 'end');
    await until(() => a!.received.length === 6 && b!.received.length === 5 && c!.received.length === 5);
    for (const peer of [a!, b!, c!]) expect(peer.received.filter((m) => m === 'p1' || m === 'p2' || m === 'p3')).toEqual(['p1', 'p2', 'p3']);
  });

  test('subscribing and unsubscribing between the publishes of one tick: a socket gets exactly the ones made while subscribed', async () => {
    const { wss, port } = await startServer();
    const [a, b, c] = await connectPeers(wss, port, 3);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    await onItsOwnTick(() => {
      wss.publish('t', '1');
      b!.server.unsubscribe('t');
      c!.server.subscribe('t');
      wss.publish('t', '2');
      b!.server.subscribe('t');
      wss.publish('t', '3');
    });
    await until(() => a!.received.length === 3 && b!.received.length === 2 && c!.received.length === 2);
    wss.publish('t', 'end');
    await until(() => a!.received.length === 4 && b!.received.length === 3 && c!.received.length === 3);
    expect(a!.received).toEqual(['1', '2', '3', 'end']);
    expect(b!.received).toEqual(['1', '3', 'end']);
    expect(c!.received).toEqual(['2', '3', 'end']);
  });

  test('publishes to two topics interleaved in one tick keep their order on a socket subscribed to both', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    a!.server.subscribe('x');
    a!.server.subscribe('y');
    b!.server.subscribe('y');
    await onItsOwnTick(() => {
      for (let i = 0; i < 5; i++) {
        wss.publish('x', `x${i}`);
        wss.publish('y', `y${i}`);
      }
    });
    await until(() => a!.received.length === 10 && b!.received.length === 5);
    expect(a!.received).toEqual(['x0', 'y0', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4']);
    expect(b!.received).toEqual(['y0', 'y1', 'y2', 'y3', 'y4']);
  });

  test('a publish by a socket skips it; large frames and sends with callbacks between joined publishes keep the order', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const big = 'B'.repeat(5000);
    const callbacks: string[] = [];
    await onItsOwnTick(() => {
      wss.publish('t', 's1');
      a!.server.publish('t', 'from-a');
      wss.publish('t', big);
      a!.server.send('cb', (error) => callbacks.push(`cb ${String(error ?? 'ok')}`));
      wss.publish('t', 's2');
    });
    await until(() => a!.received.length === 4 && b!.received.length === 4 && callbacks.length === 1);
    expect(a!.received).toEqual(['s1', big, 'cb', 's2']);
    expect(b!.received).toEqual(['s1', 'from-a', big, 's2']);
    expect(callbacks).toEqual(['cb ok']);
  });

  test('bufferedAmount counts the publishes held for the end of the tick, and maxBackpressure sees them', async () => {
    const { wss, port } = await startServer({ maxBackpressure: 20 });
    const [a] = await connectPeers(wss, port, 1);
    a!.server.subscribe('t');
    const dropped: string[] = [];
    a!.server.on('dropped', (topic: string, data: Buffer) => dropped.push(`${topic}:${data.toString()}`));
    const seen: number[] = [];
    await onItsOwnTick(() => {
      seen.push(a!.server.bufferedAmount);
      // 16-byte payloads: 18-byte frames. The first goes (an empty queue takes any message), the
      // second would make 36 > 20 bytes waiting.
      seen.push(wss.publish('t', 'first-0123456789'));
      seen.push(a!.server.bufferedAmount);
      seen.push(wss.publish('t', 'second-123456789'));
    });
    expect(seen).toEqual([0, 1, 18, 0]);
    await until(() => a!.received.length === 1 && dropped.length === 1);
    await until(() => a!.server.bufferedAmount === 0);
    expect(a!.received).toEqual(['first-0123456789']);
    expect(dropped).toEqual(['t:second-123456789']);
  });

  test('terminate() and close() right after a publish in the same tick: the published message leaves first', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    a!.server.subscribe('t');
    b!.server.subscribe('t');
    const aClosed = once(a!.client, 'close');
    const bClosed = once(b!.client, 'close');
    await onItsOwnTick(() => {
      wss.publish('t', 'last');
      a!.server.terminate();
      b!.server.close(4000, 'bye');
    });
    const [[aCode], [bCode, bReason]] = await Promise.all([aClosed, bClosed]);
    expect(a!.received).toEqual(['last']);
    expect(aCode).toBe(1006);
    expect(b!.received).toEqual(['last']);
    expect([bCode, String(bReason)]).toEqual([4000, 'bye']);
  });

  test('a socket with permessage-deflate among plain ones: each gets every publish once, in order', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0 } });
    const [plain] = await connectPeers(wss, port, 1, { perMessageDeflate: false });
    const [deflate] = await connectPeers(wss, port, 1, { perMessageDeflate: true });
    plain!.server.subscribe('t');
    deflate!.server.subscribe('t');
    await onItsOwnTick(() => {
      wss.publish('t', 'c1');
      wss.publish('t', 'n1', { compress: false });
      deflate!.server.send('own');
      wss.publish('t', 'c2');
    });
    await until(() => plain!.received.length === 3 && deflate!.received.length === 4);
    expect(plain!.received).toEqual(['c1', 'n1', 'c2']);
    expect(deflate!.received).toEqual(['c1', 'n1', 'own', 'c2']);
  });
});

describe('sends outside a read, corked until the end of the tick', () => {
  test('a clients.forEach(send) loop: every callback once, without error, every message once and in order', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    const calls = new Map<WebSocket, number>();
    const errors: unknown[] = [];
    await onItsOwnTick(() => {
      for (let i = 0; i < 5; i++) {
        for (const client of wss.clients) {
          client.send(`m${i}`, (error) => {
            if (error) errors.push(error);
            calls.set(client, (calls.get(client) ?? 0) + 1);
          });
        }
      }
    });
    await until(() => peers.every((peer) => peer.received.length === 5) && [...calls.values()].reduce((s, n) => s + n, 0) === 15);
    for (const peer of peers) {
      expect(peer.received).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(calls.get(peer.server)).toBe(5);
    }
    expect(errors).toEqual([]);
  });

  test('bufferedAmount covers what the tick holds; more than 64 KiB in one tick leaves as it is written, none lost', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    const chunk = Buffer.alloc(1000, 7);
    const amounts: number[] = [];
    let drained = 0;
    await onItsOwnTick(() => {
      a!.server.send('x');
      amounts.push(a!.server.bufferedAmount);
      for (let i = 0; i < 200; i++) a!.server.send(chunk);
    });
    // 'x' is a 3-byte frame, held until the end of the tick.
    expect(amounts).toEqual([3]);
    a!.server.on('drain', () => drained++);
    await until(() => a!.received.length === 201);
    expect(a!.received.slice(1).every((m) => m === `bin:${chunk.toString('hex')}`)).toBe(true);
    await until(() => a!.server.bufferedAmount === 0);
    expect(drained).toBeLessThanOrEqual(1);
  });
});

describe('the frame of the last send(), reused within the tick', () => {
  test('a Buffer changed between two sends in one tick: each socket gets the bytes it was sent', async () => {
    const { wss, port } = await startServer();
    const [a, b, c] = await connectPeers(wss, port, 3);
    const data = Buffer.from('0123');
    await onItsOwnTick(() => {
      a!.server.send(data);
      b!.server.send(data);
      data[0] = 0x39; // '9'
      c!.server.send(data);
      a!.server.send(data);
    });
    await until(() => a!.received.length === 2 && b!.received.length === 1 && c!.received.length === 1);
    expect(a!.received).toEqual([`bin:${Buffer.from('0123').toString('hex')}`, `bin:${Buffer.from('9123').toString('hex')}`]);
    expect(b!.received).toEqual([`bin:${Buffer.from('0123').toString('hex')}`]);
    expect(c!.received).toEqual([`bin:${Buffer.from('9123').toString('hex')}`]);
  });

  test('one socket sending the same data twice, then other data, in one tick: each in call order, once', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    const data = Buffer.from('same');
    await onItsOwnTick(() => {
      // The first send of `data` goes through the write batch, the repeats take the tick's shared frame.
      a!.server.send(data);
      a!.server.send(data);
      b!.server.send(data);
      a!.server.send('other');
      a!.server.send(data);
    });
    await until(() => a!.received.length === 4 && b!.received.length === 1);
    const same = `bin:${data.toString('hex')}`;
    expect(a!.received).toEqual([same, same, 'other', same]);
    expect(b!.received).toEqual([same]);
  });

  test('the same data with other options (binary/text, compress, fin) is framed as asked', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0 } });
    const [plain] = await connectPeers(wss, port, 1, { perMessageDeflate: false });
    const [deflate] = await connectPeers(wss, port, 1, { perMessageDeflate: true });
    const compressedFrames: boolean[] = [];
    // The raw frames the deflate client reads: RSV1 tells a compressed one.
    (deflate!.client as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (chunk: Buffer) => {
      compressedFrames.push((chunk[0]! & 0x40) !== 0);
    });
    const data = Buffer.from('same');
    await onItsOwnTick(() => {
      plain!.server.send(data);
      plain!.server.send(data, { binary: false });
      plain!.server.send('text');
      plain!.server.send('text', { binary: true });
      plain!.server.send(data, { fin: false });
      plain!.server.send(data, { fin: true });
      deflate!.server.send(data);
    });
    await until(() => plain!.received.length === 5 && deflate!.received.length === 1);
    const hex = data.toString('hex');
    expect(plain!.received).toEqual([`bin:${hex}`, 'same', 'text', `bin:${Buffer.from('text').toString('hex')}`, `bin:${hex}${hex}`]);
    expect(deflate!.received).toEqual([`bin:${hex}`]);
    expect(compressedFrames[0]).toBe(true);
  });

  test('the same data to server sockets and to a client socket (masked): every peer reads it once, callbacks once', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 2);
    // A client socket of this library, to an echo server of this library.
    const { wss: echo, port: echoPort } = await startServer();
    echo.on('connection', (ws: WebSocket) => ws.on('message', (message, isBinary) => ws.send(message, { binary: isBinary })));
    const client = new WebSocket(`ws://127.0.0.1:${echoPort}`);
    cleanups.add(() => client.terminate());
    await once(client, 'open');
    const echoed: string[] = [];
    client.on('message', (message: Buffer) => echoed.push(message.toString()));
    let calls = 0;
    await onItsOwnTick(() => {
      for (let i = 0; i < 3; i++) {
        for (const peer of peers) peer.server.send('hello', () => calls++);
        client.send('hello', () => calls++);
      }
    });
    await until(() => peers.every((peer) => peer.received.length === 3) && echoed.length === 3 && calls === 9);
    for (const peer of peers) expect(peer.received).toEqual(['hello', 'hello', 'hello']);
    expect(echoed).toEqual(['hello', 'hello', 'hello']);
    expect(calls).toBe(9);
  });

  test('WebSocket.prepare() and the cached frame interleave in order on each socket', async () => {
    const { wss, port } = await startServer();
    const [a, b] = await connectPeers(wss, port, 2);
    const prepared = WebSocket.prepare('prepared');
    await onItsOwnTick(() => {
      for (const peer of [a!, b!]) {
        peer.server.send('x');
        peer.server.send(prepared);
        peer.server.send('x');
      }
    });
    await until(() => a!.received.length === 3 && b!.received.length === 3);
    expect(a!.received).toEqual(['x', 'prepared', 'x']);
    expect(b!.received).toEqual(['x', 'prepared', 'x']);
  });
});
