// RedisBroker with real Redis: publishes cross servers exactly once and in order, routed by interest.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cleanups, connectPeers } from '../pubsub/helpers.js';
import { CLIENT_KINDS, command, redisClient, startNode } from './nodes.js';
import { RedisServer, skipReason, until } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  if (skipReason === null) redis = await RedisServer.start();
});
afterAll(() => redis?.stop());
afterEach(() => cleanups.run());

describe.skipIf(skipReason !== null).each(CLIENT_KINDS)('RedisBroker over %s', (kind) => {
  test('a publish on one server reaches the subscribers of the others exactly once, in order per publisher; none of its own comes back', async () => {
    // The third node subscribes through a client of the application's, not a duplicate.
    const nodes = [await startNode(kind, redis.port), await startNode(kind, redis.port), await startNode(kind, redis.port, {}, true)];
    const admin = await redisClient(kind, redis.port);
    const peers = await Promise.all(nodes.map((node) => connectPeers(node.wss, node.port, 2)));
    for (const [a, b] of peers) {
      a!.server.subscribe('room');
      b!.server.subscribe('room');
    }
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{room}'])) as unknown[])[1]) === 3);
    for (let i = 0; i < 20; i++) {
      nodes[0]!.wss.publish('room', `a${i}`);
      nodes[1]!.wss.publish('room', Buffer.from([i]), { binary: true });
    }
    const expected = [...Array(20).keys()];
    for (const [index, pair] of peers.entries()) {
      for (const peer of pair) {
        await until(() => peer.received.length === 40);
        const fromA = peer.received.filter((m) => m.startsWith('a'));
        const fromB = peer.received.filter((m) => m.startsWith('bin:'));
        expect(fromA, `node ${index}`).toEqual(expected.map((i) => `a${i}`));
        expect(fromB, `node ${index}`).toEqual(expected.map((i) => `bin:${i.toString(16).padStart(2, '0')}`));
      }
    }
    // Nothing more arrives (no echo of a node's own publishes, no duplicate).
    nodes[2]!.wss.publish('room', 'end');
    await until(() => peers[0]![0]!.received.length === 41 && peers[1]![0]!.received.length === 41);
    expect(peers[2]![0]!.received).toHaveLength(41);
    expect(peers.map((pair) => pair[0]!.received.at(-1))).toEqual(['end', 'end', 'end']);
    expect(nodes.map((node) => node.broker.publishFailures)).toEqual([0, 0, 0]);
  });

  test('interest routing: of 4 nodes only the interested one subscribes, and a publish costs one delivery', async () => {
    const nodes = await Promise.all([0, 1, 2, 3].map(() => startNode(kind, redis.port)));
    const [peer] = await connectPeers(nodes[3]!.wss, nodes[3]!.port, 1);
    peer!.server.subscribe('only-here');
    const admin = await redisClient(kind, redis.port);
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{only-here}'])) as unknown[])[1]) === 1);
    // PUBLISH answers with the number of subscribers that received it.
    expect(await command(admin, ['PUBLISH', 'rfc6455:{nobody}', 'x'])).toBe(0);
    nodes[0]!.wss.publish('only-here', 'hello');
    await until(() => peer!.received.length === 1);
    expect(peer!.received).toEqual(['hello']);
    // Leaving the topic unsubscribes the channel; subscribe-and-leave within the debounce sends nothing.
    peer!.server.unsubscribe('only-here');
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{only-here}'])) as unknown[])[1]) === 0);
    peer!.server.subscribe('churn');
    peer!.server.unsubscribe('churn');
    expect(await command(admin, ['PUBSUB', 'CHANNELS', 'rfc6455:*'])).toEqual([]);
  });

  test('sharded pub/sub: SSUBSCRIBE and SPUBLISH', async () => {
    const one = await startNode(kind, redis.port, { sharded: true });
    const two = await startNode(kind, redis.port, { sharded: true });
    const [peer] = await connectPeers(two.wss, two.port, 1);
    peer!.server.subscribe('shard');
    const admin = await redisClient(kind, redis.port);
    await until(async () => Number(((await command(admin, ['PUBSUB', 'SHARDNUMSUB', 'rfc6455:{shard}'])) as unknown[])[1]) === 1);
    one.wss.publish('shard', 'over a shard channel');
    await until(() => peer!.received.length === 1);
    expect(peer!.received).toEqual(['over a shard channel']);
  });
});
