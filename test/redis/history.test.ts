// History and resume through RedisBroker: ws.subscribe(topic, { since }) replays what was missed, in
// order, before live messages, without duplicates; recovered: false when history was lost.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import type { RecoveryResult } from '../../src/pubsub/recovery.js';
import { cleanups, connectPeers } from '../pubsub/helpers.js';
import { CLIENT_KINDS, command, redisClient, startNode } from './nodes.js';
import { redisForFile, skipReason, until } from './redis-server.js';

const redis = redisForFile();
afterEach(() => cleanups.run());

const history = [{ prefix: 'feed:', size: 1000, ttl: 60 }, { topic: 'tiny', size: 5, ttl: 60 }];

describe.skipIf(skipReason !== null).each(CLIENT_KINDS)('history over %s', (kind) => {
  test('since replays the missed publishes in order, in batches, before live ones, with no duplicate', async () => {
    const topic = `feed:${kind}:replay`;
    const publisher = await startNode(kind, redis.server.port, { history });
    const subscriberNode = await startNode(kind, redis.server.port, { history, replayBatch: 7 });
    // A first subscriber learns the position; 30 publishes follow while a second socket is away.
    const [first] = await connectPeers(subscriberNode.wss, subscriberNode.port, 1);
    const positionOf = once(first!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    first!.server.subscribe(topic, { since: { offset: 0, epoch: '' } });
    const [, initial] = await positionOf;
    expect(initial).toEqual({ recovered: false, position: null, replayed: 0 });
    publisher.wss.publish(topic, 'm1');
    await until(() => first!.received.length === 1);
    const admin = await redisClient(kind, redis.server.port);
    const epoch = String(await command(admin, ['HGET', `rfc6455:{${topic}}:meta`, 'epoch']));
    expect(await publisher.broker.position(topic)).toEqual({ offset: 1, epoch });
    expect(await publisher.broker.position('no-history')).toBe(null);
    for (let i = 2; i <= 31; i++) publisher.wss.publish(topic, `m${i}`);
    // The second socket resumes after m1 while publishes go on.
    const [second] = await connectPeers(subscriberNode.wss, subscriberNode.port, 1);
    const recovered = once(second!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    second!.server.subscribe(topic, { since: { offset: 1, epoch } });
    for (let i = 32; i <= 40; i++) publisher.wss.publish(topic, `m${i}`);
    const [recoveredTopic, result] = await recovered;
    expect(recoveredTopic).toBe(topic);
    expect(result.recovered).toBe(true);
    expect(result.position!.epoch).toBe(epoch);
    expect(result.replayed).toBeGreaterThanOrEqual(30);
    const expected = Array.from({ length: 39 }, (_, i) => `m${i + 2}`);
    await until(() => second!.received.length >= 39);
    for (let i = 41; i <= 45; i++) publisher.wss.publish(topic, `m${i}`);
    expected.push('m41', 'm42', 'm43', 'm44', 'm45');
    await until(() => second!.received.length >= 44);
    expect(second!.received).toEqual(expected);
    // Resuming at the top replays nothing and is recovered.
    const [third] = await connectPeers(subscriberNode.wss, subscriberNode.port, 1);
    const atTop = once(third!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    third!.server.subscribe(topic, { since: { offset: 45, epoch } });
    expect((await atTop)[1]).toEqual({ recovered: true, position: { offset: 45, epoch }, replayed: 0 });
  });

  test('local publishes during a replay on the same node arrive once and in order', async () => {
    const topic = `feed:${kind}:local`;
    const node = await startNode(kind, redis.server.port, { history, replayBatch: 3 });
    const [away, back] = await connectPeers(node.wss, node.port, 2);
    void away;
    for (let i = 1; i <= 10; i++) node.wss.publish(topic, `m${i}`);
    const admin = await redisClient(kind, redis.server.port);
    await until(async () => Number(await command(admin, ['HGET', `rfc6455:{${topic}}:meta`, 'offset'])) === 10);
    const epoch = String(await command(admin, ['HGET', `rfc6455:{${topic}}:meta`, 'epoch']));
    const recovered = once(back!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    back!.server.subscribe(topic, { since: { offset: 4, epoch } });
    for (let i = 11; i <= 20; i++) node.wss.publish(topic, `m${i}`);
    expect((await recovered)[1].recovered).toBe(true);
    await until(() => back!.received.length >= 16);
    expect(back!.received).toEqual(Array.from({ length: 16 }, (_, i) => `m${i + 5}`));
  });

  test('recovered: false when the history was trimmed, or the epoch differs; live messages still flow', async () => {
    const node = await startNode(kind, redis.server.port, { history });
    const topic = 'tiny';
    await command(await redisClient(kind, redis.server.port), ['DEL', 'rfc6455:{tiny}:stream', 'rfc6455:{tiny}:meta']);
    const [peer, other] = await connectPeers(node.wss, node.port, 2);
    // MAXLEN ~ trims whole nodes of the stream: publish enough that the oldest are surely gone.
    for (let i = 1; i <= 500; i++) node.wss.publish(topic, `m${i}`);
    const admin = await redisClient(kind, redis.server.port);
    await until(async () => Number(await command(admin, ['HGET', 'rfc6455:{tiny}:meta', 'offset'])) === 500);
    expect(Number(await command(admin, ['XLEN', 'rfc6455:{tiny}:stream']))).toBeLessThan(500);
    const epoch = String(await command(admin, ['HGET', 'rfc6455:{tiny}:meta', 'epoch']));
    const trimmed = once(peer!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    peer!.server.subscribe(topic, { since: { offset: 1, epoch } });
    expect((await trimmed)[1]).toEqual({ recovered: false, position: { offset: 500, epoch }, replayed: 0 });
    const otherEpoch = once(other!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    other!.server.subscribe(topic, { since: { offset: 499, epoch: 'not-the-epoch' } });
    expect((await otherEpoch)[1]).toEqual({ recovered: false, position: { offset: 500, epoch }, replayed: 0 });
    expect(peer!.received).toEqual([]);
    const publisher = await startNode(kind, redis.server.port, { history });
    publisher.wss.publish(topic, 'live');
    await until(() => peer!.received.length === 1 && other!.received.length === 1);
    expect([peer!.received, other!.received]).toEqual([['live'], ['live']]);
  });

  test('a topic without history: since answers recovered: false and the subscription is live', async () => {
    const node = await startNode(kind, redis.server.port, { history });
    const [peer] = await connectPeers(node.wss, node.port, 1);
    const result = once(peer!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    peer!.server.subscribe('plain', { since: { offset: 3, epoch: 'x' } });
    expect((await result)[1]).toEqual({ recovered: false, position: null, replayed: 0 });
    expect(() => peer!.server.subscribe('other', { since: { offset: -1, epoch: 'x' } })).toThrow(TypeError);
  });
});
