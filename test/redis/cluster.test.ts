// RedisBroker against a real Redis Cluster (three masters started by the test), through the cluster
// clients of both libraries: ioredis `Cluster` (with shardedSubscribers) and node-redis `createCluster`.
// Topics spread over every shard: sharded pub/sub keeps each message within its topic's shard, the
// history script's keys and its SPUBLISH share the topic's slot, and a resume replays across shards.
import { once } from 'node:events';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { afterEach, describe, expect, test } from 'vitest';
import type { RecoveryResult } from '../../src/pubsub/recovery.js';
import { RedisBroker, type RedisBrokerOptions } from '../../src/redis/index.js';
import { cleanups, connectPeers, startServer } from '../pubsub/helpers.js';
import type { ClientKind } from './nodes.js';
import { CLIENT_KINDS } from './nodes.js';
import { redisClusterForFile, skipReason, until } from './redis-server.js';

const redis = redisClusterForFile();
afterEach(() => cleanups.run());

/** A cluster client of `kind`, ready, closed by the test's cleanups. */
async function clusterClient(kind: ClientKind, options: { shardedSubscribers?: boolean } = { shardedSubscribers: true }): Promise<unknown> {
  const port = redis.cluster.ports[0]!;
  if (kind === 'ioredis') {
    const client = new Cluster([{ host: '127.0.0.1', port }], { ...options, clusterRetryStrategy: () => 20 });
    client.on('error', () => undefined);
    cleanups.add(() => void client.disconnect());
    await once(client, 'ready');
    return client;
  }
  const client = createCluster({ rootNodes: [{ socket: { host: '127.0.0.1', port } }] });
  client.on('error', () => undefined);
  cleanups.add(() => void client.destroy());
  await client.connect();
  return client;
}

async function clusterNode(kind: ClientKind, options: Omit<RedisBrokerOptions, 'client'>) {
  const broker = new RedisBroker({ client: (await clusterClient(kind)) as RedisBrokerOptions['client'], debounce: 1, ...options });
  const { wss, port } = await startServer({ broker });
  return { wss, port, broker };
}

/** The sharded channels each master has subscribers on (PUBSUB SHARDCHANNELS is per node). */
async function shardChannels(): Promise<string[][]> {
  const replies = await Promise.all(redis.cluster.ports.map((port) => redis.cluster.cli(port, ['pubsub', 'shardchannels'])));
  return replies.map((reply) => reply.split('\n').filter((line) => line !== '').sort());
}

// Twelve topics: with the slots split in three, each shard owns some of them (checked below).
const TOPICS = Array.from({ length: 12 }, (_, i) => `room-${i}`);

describe.skipIf(skipReason !== null).each(CLIENT_KINDS)('RedisBroker on a Redis Cluster through %s', (kind) => {
  test('sharded: publishes on topics of every shard reach the other node once and in order per topic', async () => {
    const one = await clusterNode(kind, { sharded: true });
    const two = await clusterNode(kind, { sharded: true });
    const [peer] = await connectPeers(two.wss, two.port, 1);
    for (const topic of TOPICS) peer!.server.subscribe(topic);
    await until(async () => (await shardChannels()).flat().length === TOPICS.length);
    const perShard = await shardChannels();
    expect(perShard.every((channels) => channels.length > 0), JSON.stringify(perShard)).toBe(true);
    for (let i = 0; i < 5; i++) for (const topic of TOPICS) one.wss.publish(topic, `${topic}#${i}`);
    await until(() => peer!.received.length === TOPICS.length * 5);
    for (const topic of TOPICS) {
      expect(peer!.received.filter((m) => m.startsWith(`${topic}#`))).toEqual([0, 1, 2, 3, 4].map((i) => `${topic}#${i}`));
    }
    expect([one.broker.publishFailures, two.broker.publishFailures]).toEqual([0, 0]);
    // Unsubscribing leaves no channel behind on any shard.
    for (const topic of TOPICS) peer!.server.unsubscribe(topic);
    await until(async () => (await shardChannels()).flat().length === 0);
  });

  test('sharded with history: a resume replays what it missed on each shard, then live messages', async () => {
    const history = [{ prefix: 'feed-', size: 100, ttl: 60 }];
    const topics = TOPICS.map((topic) => `feed-${kind}-${topic}`);
    const publisher = await clusterNode(kind, { sharded: true, history });
    const receiver = await clusterNode(kind, { sharded: true, history });
    for (const topic of topics) for (let i = 1; i <= 3; i++) publisher.wss.publish(topic, `${topic}#${i}`);
    await until(async () => {
      for (const topic of topics) if ((await publisher.broker.position(topic))?.offset !== 3) return false;
      return true;
    });
    const [peer] = await connectPeers(receiver.wss, receiver.port, 1);
    for (const topic of topics) {
      const position = (await publisher.broker.position(topic))!;
      const recovered = once(peer!.server, 'recovery') as Promise<[string, RecoveryResult]>;
      // Resume after the first publish: the second and third are replayed.
      peer!.server.subscribe(topic, { since: { offset: 1, epoch: position.epoch } });
      const [, result] = await recovered;
      expect(result).toEqual({ recovered: true, position: { offset: 3, epoch: position.epoch }, replayed: 2 });
    }
    for (const topic of topics) publisher.wss.publish(topic, `${topic}#4`);
    await until(() => peer!.received.length === topics.length * 3);
    for (const topic of topics) {
      expect(peer!.received.filter((m) => m.startsWith(`${topic}#`))).toEqual([2, 3, 4].map((i) => `${topic}#${i}`));
    }
    expect((await shardChannels()).every((channels) => channels.length > 0)).toBe(true);
  });

  test('not sharded: PUBLISH through the cluster reaches subscribers on another node', async () => {
    const one = await clusterNode(kind, {});
    const two = await clusterNode(kind, {});
    const [peer] = await connectPeers(two.wss, two.port, 1);
    for (const topic of TOPICS.slice(0, 4)) peer!.server.subscribe(topic);
    // Plain pub/sub is cluster-wide: publish until the subscription is in place, then count.
    await until(() => {
      one.wss.publish(TOPICS[0]!, 'probe');
      return peer!.received.includes('probe');
    });
    for (const topic of TOPICS.slice(0, 4)) one.wss.publish(topic, `${topic}!`);
    await until(() => TOPICS.slice(0, 4).every((topic) => peer!.received.includes(`${topic}!`)));
    // Each topic's PUBLISH goes to the node of its slot, which broadcasts it: topics may arrive in any order.
    expect(peer!.received.filter((m) => m !== 'probe').sort()).toEqual(TOPICS.slice(0, 4).map((topic) => `${topic}!`));
  });
});

describe.skipIf(skipReason !== null)('RedisBroker on an ioredis Cluster without shardedSubscribers', () => {
  test('sharded: true is refused at construction, with the option to set', async () => {
    const client = (await clusterClient('ioredis', {})) as RedisBrokerOptions['client'];
    expect(() => new RedisBroker({ client, sharded: true })).toThrow(new TypeError('sharded: true with an ioredis Cluster needs the Cluster option shardedSubscribers: true'));
  });
});
