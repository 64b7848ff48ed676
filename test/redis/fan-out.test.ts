// RedisBroker with real Redis: publishes cross servers exactly once and in order, routed by interest.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanups, connectPeers } from '../pubsub/helpers.js';
import { CLIENT_KINDS, command, redisClient, startNode } from './nodes.js';
import { redisForFile, skipReason, until } from './redis-server.js';

const redis = redisForFile();
afterEach(() => cleanups.run());

describe.skipIf(skipReason !== null).each(CLIENT_KINDS)('RedisBroker over %s', (kind) => {
  test('a publish on one server reaches the subscribers of the others exactly once, in order per publisher; none of its own comes back', async () => {
    // The third node subscribes through a client of the application's, not a duplicate.
    const nodes = [await startNode(kind, redis.server.port), await startNode(kind, redis.server.port), await startNode(kind, redis.server.port, {}, true)];
    const admin = await redisClient(kind, redis.server.port);
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
    const nodes = await Promise.all([0, 1, 2, 3].map(() => startNode(kind, redis.server.port)));
    const [peer] = await connectPeers(nodes[3]!.wss, nodes[3]!.port, 1);
    peer!.server.subscribe('only-here');
    const admin = await redisClient(kind, redis.server.port);
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{only-here}'])) as unknown[])[1]) === 1);
    // PUBLISH answers with the number of subscribers that received it.
    expect(await command(admin, ['PUBLISH', 'rfc6455:{nobody}', 'x'])).toBe(0);
    nodes[0]!.wss.publish('only-here', 'hello');
    await until(() => peer!.received.length === 1);
    expect(peer!.received).toEqual(['hello']);
    // Leaving the topic unsubscribes the channel; subscribe-and-leave within the debounce sends nothing.
    peer!.server.unsubscribe('only-here');
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{only-here}'])) as unknown[])[1]) === 0);
  });

  test('interest changes are batched: five topics in one SUBSCRIBE, a topic joined and left within the debounce costs nothing', async () => {
    const node = await startNode(kind, redis.server.port, { debounce: 20 });
    const [peer] = await connectPeers(node.wss, node.port, 1);
    const admin = await redisClient(kind, redis.server.port);
    const calls = async (name: string): Promise<number> => {
      const info = String(await command(admin, ['INFO', 'commandstats']));
      return Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    };
    const [subscribesBefore, unsubscribesBefore] = [await calls('subscribe'), await calls('unsubscribe')];
    for (const topic of ['t1', 't2', 't3', 't4', 't5', 'churn']) peer!.server.subscribe(topic);
    peer!.server.unsubscribe('churn');
    await until(async () => ((await command(admin, ['PUBSUB', 'CHANNELS', 'rfc6455:*'])) as unknown[]).length === 5);
    expect(((await command(admin, ['PUBSUB', 'CHANNELS', 'rfc6455:*'])) as string[]).map(String).sort()).toEqual(['rfc6455:{t1}', 'rfc6455:{t2}', 'rfc6455:{t3}', 'rfc6455:{t4}', 'rfc6455:{t5}']);
    expect(await calls('subscribe')).toBe(subscribesBefore + 1);
    expect(await calls('unsubscribe')).toBe(unsubscribesBefore);
    for (const topic of ['t1', 't2', 't3']) peer!.server.unsubscribe(topic);
    await until(async () => ((await command(admin, ['PUBSUB', 'CHANNELS', 'rfc6455:*'])) as unknown[]).length === 2);
    expect(await calls('unsubscribe')).toBe(unsubscribesBefore + 1);
  });

  test('sharded pub/sub: SSUBSCRIBE and SPUBLISH', async () => {
    const one = await startNode(kind, redis.server.port, { sharded: true });
    const two = await startNode(kind, redis.server.port, { sharded: true });
    const [peer] = await connectPeers(two.wss, two.port, 1);
    peer!.server.subscribe('shard');
    const admin = await redisClient(kind, redis.server.port);
    await until(async () => Number(((await command(admin, ['PUBSUB', 'SHARDNUMSUB', 'rfc6455:{shard}'])) as unknown[])[1]) === 1);
    one.wss.publish('shard', 'over a shard channel');
    await until(() => peer!.received.length === 1);
    expect(peer!.received).toEqual(['over a shard channel']);
  });
});
