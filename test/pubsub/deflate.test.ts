// Publishing to sockets that negotiated permessage-deflate, received by `ws` clients.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

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
    (deflating[0]!.client as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (chunk: Buffer) => {
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
