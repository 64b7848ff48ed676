// A subscriber that stops reading: a raw TCP client that completes the handshake and never reads again.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { WebSocket } from '../../src/api/websocket.js';
import { ProtocolError } from '../../src/framing/protocol-error.js';
import { upgradeRequest } from '../api/server-helpers.js';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

/** A client that upgrades, then never reads (its receive window fills, then the server's queue grows). */
async function stalledReader(wss: import('../../src/api/server.js').WebSocketServer, port: number): Promise<{ socket: Socket; server: WebSocket }> {
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const socket = connect({ port, host: '127.0.0.1' });
  cleanups.add(() => void socket.destroy());
  await once(socket, 'connect');
  socket.write(upgradeRequest('/'));
  const [server] = await accepted;
  socket.pause();
  return { socket, server };
}

const MESSAGE = Buffer.alloc(16 * 1024, 1);
const LIMIT = 256 * 1024;

/**
 * Publish 8 messages (128 KiB) per round, paced by the healthy `reader` (its queue below 64 KiB before
 * each round, so it stays under the limit), until `done()` (bounded).
 */
async function publishUntil(
  wss: import('../../src/api/server.js').WebSocketServer,
  reader: WebSocket,
  done: () => boolean,
  check: () => void,
): Promise<number> {
  let published = 0;
  for (let round = 0; round < 4000 && !done(); round++) {
    await until(() => reader.bufferedAmount < 64 * 1024);
    for (let i = 0; i < 8; i++) {
      wss.publish('t', MESSAGE);
      published++;
      check();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return published;
}

describe('maxBackpressure', () => {
  test("'skip': the stalled subscriber misses messages and its queue stays bounded; the others get all", async () => {
    const { wss, port } = await startServer({ maxBackpressure: LIMIT });
    const { server: stalled } = await stalledReader(wss, port);
    const [reader] = await connectPeers(wss, port, 1);
    stalled.subscribe('t');
    reader!.server.subscribe('t');
    let dropped = 0;
    stalled.on('dropped', (topic, data, isBinary) => {
      expect([topic, data.length, isBinary]).toEqual(['t', MESSAGE.length, true]);
      dropped++;
    });
    let maxQueued = 0;
    const published = await publishUntil(
      wss,
      reader!.server,
      () => dropped >= 100,
      () => (maxQueued = Math.max(maxQueued, stalled.bufferedAmount)),
    );
    expect(dropped).toBeGreaterThanOrEqual(100);
    expect(maxQueued).toBeLessThanOrEqual(LIMIT);
    expect(stalled.readyState).toBe(1);
    await until(() => reader!.received.length === published);
  });

  test("'close': the stalled subscriber is dropped with 1008 at once, the others go on", async () => {
    const { wss, port } = await startServer({ maxBackpressure: LIMIT, backpressurePolicy: 'close' });
    const { server: stalled } = await stalledReader(wss, port);
    const [reader] = await connectPeers(wss, port, 1);
    stalled.subscribe('t');
    reader!.server.subscribe('t');
    const errors: unknown[] = [];
    stalled.on('error', (error) => errors.push(error));
    // (events.once would reject on the 'error' event.)
    const closed = new Promise<[number]>((resolve) => stalled.on('close', (code) => resolve([code])));
    let maxQueued = 0;
    const published = await publishUntil(
      wss,
      reader!.server,
      () => stalled.readyState !== 1,
      () => (maxQueued = Math.max(maxQueued, stalled.bufferedAmount)),
    );
    const [code] = await closed;
    expect(code).toBe(1006); // no closing handshake with a peer that does not read
    expect(errors).toHaveLength(1);
    expect((errors[0] as ProtocolError).closeCode).toBe(1008);
    expect(maxQueued).toBeLessThanOrEqual(LIMIT);
    expect(wss.subscriberCount('t')).toBe(1);
    await until(() => reader!.received.length === published);
  });

  test('invalid options are a TypeError from the constructor', async () => {
    await expect(startServer({ maxBackpressure: -1 })).rejects.toThrow(TypeError);
    await expect(startServer({ backpressurePolicy: 'drop' as never })).rejects.toThrow(TypeError);
    await expect(startServer({ broker: {} as never })).rejects.toThrow(TypeError);
  });
});
