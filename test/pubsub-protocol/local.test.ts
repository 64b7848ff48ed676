// rfc6455.pubsub.v1 without Redis (PubSubBroker over the default in-process broker) and the client
// module's own behaviour in Node: binary payloads, the bounded queue, handler removal, servers that
// do not speak the protocol, and two servers sharing an InProcessBroker.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/api/websocket.js';
import { InProcessBroker } from '../../src/pubsub/in-process-broker.js';
import { PubSubBroker, servePubSub } from '../../src/pubsub-protocol/index.js';
import { PubSubClient, type MessageMeta } from '../../client/pubsub-client.mjs';
import { cleanups, startServer } from '../pubsub/helpers.js';
import { until } from '../redis/redis-server.js';

afterEach(() => cleanups.run());

async function served(broker = new PubSubBroker()) {
  const { wss, port } = await startServer({ broker });
  const pubsub = servePubSub(wss);
  return { wss, port, pubsub, url: `ws://127.0.0.1:${port}` };
}

function client(urls: string | string[], options: object = {}): PubSubClient {
  const c = new PubSubClient(urls, { WebSocket, minDelay: 10, maxDelay: 40, ...options });
  cleanups.add(() => c.close());
  return c;
}

const subscribed = (c: PubSubClient) => new Promise((resolve) => c.on('subscribed', resolve));

describe('rfc6455.pubsub.v1 without history', () => {
  test('text and binary both ways through the client; no positions; the sender gets its own publish', async () => {
    const server = await served();
    const alice = client(server.url);
    const bob = client(server.url);
    const got: Array<[string | Uint8Array, MessageMeta]> = [];
    alice.subscribe('t', (data, meta) => got.push([data, meta]));
    const own: unknown[] = [];
    bob.subscribe('t', (data) => own.push(data));
    await Promise.all([subscribed(alice), subscribed(bob)]);
    bob.publish('t', 'hello ✓');
    bob.publish('t', new Uint8Array([0, 10, 255]));
    await until(() => got.length === 2);
    await server.pubsub.publish('t', Buffer.from([1, 2]));
    await until(() => got.length === 3 && own.length === 3);
    expect(own[0]).toBe('hello ✓');
    expect(got[0]).toEqual(['hello ✓', { topic: 't', offset: null, epoch: null, replayed: false }]);
    expect([...(got[1]![0] as Uint8Array)]).toEqual([0, 10, 255]);
    expect([...(got[2]![0] as Uint8Array)]).toEqual([1, 2]);
    expect(alice.position('t')).toBe(null);
  });

  test('two servers sharing an InProcessBroker: publishes cross, once each', async () => {
    const shared = new InProcessBroker();
    const a = await served(new PubSubBroker(shared));
    const b = await served(new PubSubBroker(shared));
    const onA = client(a.url);
    const onB = client(b.url);
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    onA.subscribe('x', (data) => gotA.push(data));
    onB.subscribe('x', (data) => gotB.push(data));
    await Promise.all([subscribed(onA), subscribed(onB)]);
    onA.publish('x', 'from a');
    onB.publish('x', 'from b');
    await until(() => gotA.length === 2 && gotB.length === 2);
    // One more round: nothing was delivered twice.
    onA.publish('x', 'end');
    await until(() => gotA.length === 3 && gotB.length === 3);
    expect(gotA.sort()).toEqual(['end', 'from a', 'from b']);
    expect(gotB.sort()).toEqual(['end', 'from a', 'from b']);
  });

  test('publishes wait (bounded) while disconnected; removing the last handler unsubscribes', async () => {
    const server = await served();
    const watcher = client(server.url);
    const seen: unknown[] = [];
    watcher.subscribe('q', (data) => seen.push(data));
    await subscribed(watcher);
    // A client of a port nobody listens on yet: it queues.
    const c = client(`ws://127.0.0.1:1`, { maxQueue: 2 });
    expect(c.publish('q', 'one')).toBe(true);
    expect(c.publish('q', 'two')).toBe(true);
    expect(c.publish('q', 'three')).toBe(false);
    c.close();
    expect(() => c.publish('q', 'closed')).toThrow(/closed/);
    // A client that connects sends its queue once open.
    const d = new PubSubClient(server.url, { WebSocket, minDelay: 10 });
    cleanups.add(() => d.close());
    d.publish('q', 'queued');
    await until(() => seen.length === 1);
    expect(seen).toEqual(['queued']);
    // Removing the handler leaves the topic on the server.
    const off = d.subscribe('r', () => undefined);
    await subscribed(d);
    expect(server.wss.subscriberCount('r')).toBe(1);
    off();
    await until(() => server.wss.subscriberCount('r') === 0);
  });

  test('a server that does not speak the protocol: error, then reconnection attempts; a second servePubSub throws', async () => {
    const { wss, port } = await startServer({ handleProtocols: () => false });
    const c = client(`ws://127.0.0.1:${port}`);
    const errors: Error[] = [];
    c.on('error', (e: Error) => errors.push(e));
    await until(() => errors.length >= 1);
    // (A server that does not select the subprotocol fails the handshake: the client retries.)
    expect(errors[0]!.message).toMatch(/the connection to ws:\/\/127\.0\.0\.1:\d+\/? failed/);
    await until(() => errors.length >= 2);
    expect(c.state).toBe('reconnecting');
    expect(() => servePubSub(wss)).toThrow(TypeError);
    const server = await served();
    expect(() => servePubSub(server.wss)).toThrow(/served already/);
  });

  test('a raw client of the same server is not served by the protocol', async () => {
    const server = await served();
    const raw = new WebSocket(server.url);
    cleanups.add(() => raw.terminate());
    const [ws] = (await once(server.wss, 'connection')) as [WebSocket];
    if (raw.readyState !== WebSocket.OPEN) await once(raw, 'open');
    expect(server.pubsub.clients.size).toBe(0);
    ws.on('message', (data) => ws.send(`echo ${data}`));
    raw.send('{"type":"ping"}');
    const [reply] = await once(raw, 'message');
    expect(String(reply)).toBe('echo {"type":"ping"}');
  });
});
