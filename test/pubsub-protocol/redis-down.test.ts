// rfc6455.pubsub.v1 while Redis is unreachable: protocol publishes normally reach the local subscribers
// as Redis hands them back numbered; with Redis down they must still reach them at once (without a
// position, at most once), as a plain publish does, and the publisher learns there is no position.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/api/websocket.js';
import { PubSubBroker, servePubSub } from '../../src/pubsub-protocol/index.js';
import { RedisBroker } from '../../src/redis/index.js';
import { cleanups, startServer } from '../pubsub/helpers.js';
import { redisForFile, skipReason, until } from '../redis/redis-server.js';

const PROTOCOL = 'rfc6455.pubsub.v1';
const redis = redisForFile();
afterEach(() => cleanups.run());

async function rawClient(port: number): Promise<{ got: Array<Record<string, unknown>>; send: (m: object) => void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, PROTOCOL);
  cleanups.add(() => ws.terminate());
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => got.push(JSON.parse(String(data))));
  await once(ws, 'open');
  return { got, send: (m) => ws.send(JSON.stringify(m)) };
}

const ofType = (got: Array<Record<string, unknown>>, type: string) => got.filter((m) => m.type === type);

describe.skipIf(skipReason !== null)('rfc6455.pubsub.v1 with Redis down', () => {
  test('publishes reach the local subscribers at once, without a position; the publisher is told null', async () => {
    const client = new Redis({ host: '127.0.0.1', port: redis.server.port, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    cleanups.add(() => void client.disconnect());
    await once(client, 'ready');
    const redisBroker = new RedisBroker({ client, debounce: 1, history: [{ prefix: 'room:', size: 100, ttl: 60 }] });
    const failures: string[] = [];
    redisBroker.on('publishError', (_error: Error, topic: string) => failures.push(topic));
    const { wss, port } = await startServer({ broker: new PubSubBroker(redisBroker) });
    servePubSub(wss);
    const alice = await rawClient(port);
    const bob = await rawClient(port);
    for (const topic of ['room:1', 'plain']) {
      bob.send({ type: 'subscribe', topic });
    }
    await until(() => ofType(bob.got, 'subscribed').length === 2);
    // With Redis up: numbered for the history topic.
    alice.send({ type: 'publish', topic: 'room:1', data: 'up', id: 1 });
    await until(() => ofType(bob.got, 'message').length === 1);
    expect(ofType(bob.got, 'message')[0]).toMatchObject({ topic: 'room:1', data: 'up', offset: 1 });

    await redis.server.stop();
    await until(() => client.status !== 'ready');
    alice.send({ type: 'publish', topic: 'room:1', data: 'down-history', id: 2 });
    alice.send({ type: 'publish', topic: 'plain', data: 'down-plain', id: 3 });
    await until(() => ofType(bob.got, 'message').length === 3);
    const [, history, plain] = ofType(bob.got, 'message');
    expect(history).toMatchObject({ topic: 'room:1', data: 'down-history' });
    expect(history!.offset ?? null).toBe(null);
    expect(plain).toMatchObject({ topic: 'plain', data: 'down-plain' });
    await until(() => ofType(alice.got, 'published').length === 3);
    const published = ofType(alice.got, 'published');
    expect(published.map((m) => [m.id, m.offset ?? null])).toEqual([
      [1, 1],
      [2, null],
      [3, null],
    ]);
    await until(() => failures.length === 2);
    expect(failures.sort()).toEqual(['plain', 'room:1']);
    await redis.server.restart();
  });
});
