// A replay and the live messages it overlaps: Redis answers a replay on the broker's command connection
// and pushes the same publishes live on its subscriber connection, and the two connections are read
// independently, so a live message can reach the node after the replay already delivered it. Here the
// subscriber connection's reading is held (the socket paused) while a socket resumes, which makes that
// order certain: the late live copies must not be delivered a second time.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';
import type { RecoveryResult } from '../../src/pubsub/recovery.js';
import { RedisBroker } from '../../src/redis/index.js';
import { cleanups, connectPeers, startServer } from '../pubsub/helpers.js';
import { command, redisClient, startNode } from './nodes.js';
import { redisForFile, skipReason, until } from './redis-server.js';

const redis = redisForFile();
afterEach(() => cleanups.run());

const history = [{ prefix: 'overlap:', size: 1000, ttl: 60 }];

describe.skipIf(skipReason !== null)('a replay overlapping live messages', () => {
  test('live copies of replayed publishes that arrive after the replay are dropped; newer ones flow', async () => {
    const topic = 'overlap:late-live';
    const publisher = await startNode('ioredis', redis.server.port, { history });
    // The receiving node, with a subscriber connection of the test's so that its reading can be held.
    const client = (await redisClient('ioredis', redis.server.port)) as Redis;
    const subscriber = (await redisClient('ioredis', redis.server.port)) as Redis;
    const broker = new RedisBroker({ client, subscriber, history, debounce: 1 });
    const { wss, port } = await startServer({ broker });
    const admin = await redisClient('ioredis', redis.server.port);
    const offset = async (): Promise<number> => Number(await command(admin, ['HGET', `rfc6455:{${topic}}:meta`, 'offset']));

    // A socket that stays subscribed, so the node keeps its Redis subscription.
    const [steady, resuming] = await connectPeers(wss, port, 2);
    const ready = once(steady!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    steady!.server.subscribe(topic, { since: { offset: 0, epoch: '' } });
    await ready;
    for (let i = 1; i <= 3; i++) publisher.wss.publish(topic, `m${i}`);
    await until(() => steady!.received.length === 3);
    const epoch = String(await command(admin, ['HGET', `rfc6455:{${topic}}:meta`, 'epoch']));

    // Hold the live stream, publish two more, and resume a socket from m3: the replay sends m4 and m5.
    subscriber.stream.pause();
    publisher.wss.publish(topic, 'm4');
    publisher.wss.publish(topic, 'm5');
    await until(async () => (await offset()) === 5);
    const recovered = once(resuming!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    resuming!.server.subscribe(topic, { since: { offset: 3, epoch } });
    await until(() => resuming!.received.length === 2);

    // The replay has sent m4 and m5; only now do their live copies arrive, then a new publish.
    subscriber.stream.resume();
    const [, result] = await recovered;
    expect(result).toEqual({ recovered: true, position: { offset: 5, epoch }, replayed: 2 });
    await until(() => steady!.received.length === 5);
    publisher.wss.publish(topic, 'm6');
    await until(() => steady!.received.length === 6 && resuming!.received.length >= 3);
    expect(steady!.received).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(resuming!.received).toEqual(['m4', 'm5', 'm6']);
    // Both sockets heard m6 through the same live path: the replay's mark is gone once newer messages flow.
    publisher.wss.publish(topic, 'm7');
    await until(() => resuming!.received.length === 4 && steady!.received.length === 7);
    expect(resuming!.received).toEqual(['m4', 'm5', 'm6', 'm7']);
  });
});
