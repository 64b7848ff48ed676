// Publishing to sockets that negotiated permessage-deflate, received by `ws` clients.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { PerMessageDeflateCodec } from '../../src/extensions/permessage-deflate-codec.js';
import { WebSocket } from '../../src/api/websocket.js';
import { cleanups, connectPeers, startServer, until, type Peer } from './helpers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanups.run();
});

function socketOf(peer: Peer): Socket {
  return (peer.client as unknown as { _socket: Socket })._socket;
}

/** Every byte the client's socket receives from now on. */
function wire(peer: Peer): Buffer[] {
  const chunks: Buffer[] = [];
  socketOf(peer).prependListener('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  return chunks;
}

const big = (seed: number): string => `${seed}:` + 'compressible text '.repeat(200);

describe('publish with permessage-deflate', () => {
  test('compressed per socket: every payload arrives intact and in order, mixed with plain sockets and sends', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0 } });
    const deflating = await connectPeers(wss, port, 3, { perMessageDeflate: true });
    const plain = await connectPeers(wss, port, 2, { perMessageDeflate: false });
    const all = [...deflating, ...plain];
    expect(deflating.map((peer) => peer.client.extensions)).toEqual(['permessage-deflate', 'permessage-deflate', 'permessage-deflate']);
    let compressedFrames = 0;
    // Count the RSV1 frames on the wire of one deflating client.
    socketOf(deflating[0]!).prependListener('data', (chunk: Buffer) => {
      if ((chunk[0]! & 0x40) !== 0) compressedFrames++;
    });
    for (const peer of all) peer.server.subscribe('t');
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      expect(wss.publish('t', big(i))).toBe(5);
      expected.push(big(i));
      // An uncompressed publish and a send, queued behind the compressions in call order.
      wss.publish('t', `small${i}`, { compress: false });
      expected.push(`small${i}`);
      for (const peer of all) peer.server.send(`send${i}`);
      expected.push(`send${i}`);
    }
    await until(() => all.every((peer) => peer.received.length === expected.length));
    for (const peer of all) expect(peer.received).toEqual(expected);
    expect(compressedFrames).toBeGreaterThan(0);
  });

  test('publish from a message handler while a compression is in flight keeps the order', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0 } });
    const [a, b] = await connectPeers(wss, port, 2, { perMessageDeflate: true });
    a!.server.subscribe('room');
    b!.server.subscribe('room');
    a!.server.on('message', (data) => {
      a!.server.send(`echo:${String(data)}`);
      wss.publish('room', `room:${String(data)}`, { compress: false });
      wss.publish('room', big(Number(data)));
    });
    for (let i = 0; i < 5; i++) a!.client.send(String(i));
    await until(() => a!.received.length === 15 && b!.received.length === 10);
    const expectedA: string[] = [];
    const expectedB: string[] = [];
    for (let i = 0; i < 5; i++) {
      expectedA.push(`echo:${i}`, `room:${i}`, big(i));
      expectedB.push(`room:${i}`, big(i));
    }
    expect(a!.received).toEqual(expectedA);
    expect(b!.received).toEqual(expectedB);
  });
});

describe('shared compression (server_no_context_takeover)', () => {
  test('one compression per publish and per parameter set; the same bytes go to each socket; payloads intact', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0, serverNoContextTakeover: true } });
    const same = await connectPeers(wss, port, 3, { perMessageDeflate: true });
    const narrow = await connectPeers(wss, port, 2, { perMessageDeflate: { serverMaxWindowBits: 10 } });
    const plain = await connectPeers(wss, port, 1, { perMessageDeflate: false });
    const all = [...same, ...narrow, ...plain];
    expect(all.map((peer) => peer.client.extensions)).toEqual([...Array(5).fill('permessage-deflate'), '']);
    const wires = all.map(wire);
    const shared = vi.spyOn(PerMessageDeflateCodec.prototype, 'compressShared');
    const perSocket = vi.spyOn(PerMessageDeflateCodec.prototype, 'compress');
    for (const peer of all) peer.server.subscribe('t');
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      expect(wss.publish('t', big(i))).toBe(6);
      expected.push(big(i));
      for (const peer of all) peer.server.send(`send${i}`, { compress: false });
      expected.push(`send${i}`);
    }
    await until(() => all.every((peer) => peer.received.length === expected.length));
    for (const peer of all) expect(peer.received).toEqual(expected);
    // Two parameter sets (window 15 and 10): two compressions per publish, none through the per-socket path.
    expect(shared).toHaveBeenCalledTimes(20);
    expect(perSocket).not.toHaveBeenCalled();
    const bytes = wires.map((chunks) => Buffer.concat(chunks).toString('hex'));
    expect(bytes[1]).toBe(bytes[0]);
    expect(bytes[2]).toBe(bytes[0]);
    expect(bytes[4]).toBe(bytes[3]);
    // RSV1 on the first frame of the compressed ones, none on the plain socket's.
    expect(Buffer.from(bytes[0]!, 'hex')[0]).toBe(0xc1);
    expect(Buffer.from(bytes[5]!, 'hex')[0]).toBe(0x81);
  });

  test('a prepared message sent by many sockets is compressed once; empty and tiny messages too', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 0, serverNoContextTakeover: true } });
    const peers = await connectPeers(wss, port, 3, { perMessageDeflate: true });
    const shared = vi.spyOn(PerMessageDeflateCodec.prototype, 'compressShared');
    const messages = [WebSocket.prepare(big(1)), WebSocket.prepare(''), WebSocket.prepare('a'), WebSocket.prepare(Buffer.alloc(70000, 1))];
    for (const peer of peers) for (const message of messages) peer.server.send(message);
    await until(() => peers.every((peer) => peer.received.length === 4));
    for (const peer of peers) expect(peer.received).toEqual([big(1), '', 'a', `bin:${Buffer.alloc(70000, 1).toString('hex')}`]);
    expect(shared).toHaveBeenCalledTimes(4);
  });

  test('below the threshold the plain shared frame goes, uncompressed', async () => {
    const { wss, port } = await startServer({ perMessageDeflate: { threshold: 100, serverNoContextTakeover: true } });
    const [a] = await connectPeers(wss, port, 1, { perMessageDeflate: true });
    const chunks = wire(a!);
    a!.server.subscribe('t');
    wss.publish('t', 'short');
    await until(() => a!.received.length === 1);
    expect(Buffer.concat(chunks).toString('hex')).toBe('8105' + Buffer.from('short').toString('hex'));
  });
});
