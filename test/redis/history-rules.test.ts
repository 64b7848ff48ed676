// What needs no Redis: history rules, the positioned channel message, client detection, and `since`
// with a broker that keeps no history.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { RecoveryResult } from '../../src/pubsub/recovery.js';
import { encodeEnvelope } from '../../src/pubsub/envelope.js';
import { HistoryRules } from '../../src/redis/history.js';
import { readPositioned } from '../../src/redis/positioned-message.js';
import { RedisBroker } from '../../src/redis/redis-broker.js';
import { cleanups, connectPeers, startServer, until } from '../pubsub/helpers.js';

describe('HistoryRules', () => {
  test('an exact topic wins over prefixes, the longest prefix over shorter ones, other topics keep none', () => {
    const rules = new HistoryRules([
      { prefix: 'chat:', size: 10, ttl: 60 },
      { prefix: 'chat:vip:', size: 100, ttl: 600 },
      { topic: 'chat:vip:lobby', size: 1, ttl: 5 },
    ]);
    expect(rules.of('chat:room')).toEqual({ size: 10, ttl: 60 });
    expect(rules.of('chat:vip:room')).toEqual({ size: 100, ttl: 600 });
    expect(rules.of('chat:vip:lobby')).toEqual({ size: 1, ttl: 5 });
    expect(rules.of('news')).toBe(null);
  });

  test('malformed rules are TypeErrors', () => {
    expect(() => new HistoryRules([{ topic: 'a', size: 0, ttl: 1 }])).toThrow(TypeError);
    expect(() => new HistoryRules([{ topic: 'a', size: 1, ttl: 1.5 }])).toThrow(TypeError);
    expect(() => new HistoryRules([{ topic: 'a', prefix: 'b', size: 1, ttl: 1 }])).toThrow(TypeError);
    expect(() => new HistoryRules([{ size: 1, ttl: 1 }])).toThrow(TypeError);
    expect(() => new HistoryRules({} as never)).toThrow(TypeError);
  });
});

describe('positioned channel messages', () => {
  const envelope = encodeEnvelope(Buffer.alloc(8, 7), 'topic', 1, Buffer.from([0x48, 0x20, 0, 255]));

  test('a plain envelope passes as it is; a positioned one gives its offset, epoch and envelope', () => {
    expect(readPositioned(envelope)).toEqual({ envelope, position: null });
    const positioned = Buffer.concat([Buffer.from('H42 ab12 '), envelope]);
    expect(readPositioned(positioned)).toEqual({ envelope, position: { offset: 42, epoch: 'ab12' } });
  });

  test('malformed positioned messages are null', () => {
    expect(readPositioned(Buffer.from('H42'))).toBe(null);
    expect(readPositioned(Buffer.from('H42 epoch'))).toBe(null);
    expect(readPositioned(Buffer.from('Hx epoch '))).toBe(null);
  });
});

describe('RedisBroker options', () => {
  test('anything but an ioredis or node-redis client is a TypeError', () => {
    expect(() => new RedisBroker({ client: {} })).toThrow(TypeError);
    expect(() => new RedisBroker(undefined as never)).toThrow(TypeError);
  });

  test('an invalid option throws before the subscriber connection is made (nothing is left connecting)', () => {
    // A real ioredis client that never connects (lazyConnect): duplicate() would open a connection.
    const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true });
    const duplicate = vi.spyOn(client, 'duplicate');
    expect(() => new RedisBroker({ client, debounce: -1 })).toThrow(TypeError);
    expect(() => new RedisBroker({ client, prefix: 1 as never })).toThrow(TypeError);
    expect(() => new RedisBroker({ client, history: [{ topic: 'a', size: 0, ttl: 1 }] })).toThrow(TypeError);
    expect(duplicate).not.toHaveBeenCalled();
    const broker = new RedisBroker({ client });
    expect(duplicate).toHaveBeenCalledTimes(1);
    void broker;
    client.disconnect();
  });
});

describe('since with a broker that keeps no history (the default InProcessBroker)', () => {
  afterEach(() => cleanups.run());

  test("the subscription is live at once and 'recovery' says recovered: false", async () => {
    const { wss, port } = await startServer();
    const [peer] = await connectPeers(wss, port, 1);
    const result = once(peer!.server, 'recovery') as Promise<[string, RecoveryResult]>;
    expect(peer!.server.subscribe('t', { since: { offset: 5, epoch: 'e' } })).toBe(true);
    expect(await result).toEqual(['t', { recovered: false, position: null, replayed: 0 }]);
    wss.publish('t', 'live');
    await until(() => peer!.received.length === 1);
    expect(peer!.received).toEqual(['live']);
    expect(() => peer!.server.subscribe('u', { since: { offset: 1 } as never })).toThrow(TypeError);
  });
});
