// rfc6455.pubsub.v1 over real loopback sockets and a real redis-server: positions in every message,
// resume within history, recovered: false after trimming or a new epoch, no duplicates, unsubscribe,
// authorize, malformed messages, and the client module (client/pubsub-client.mjs) in Node.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';
import type { WebSocketServer } from '../../src/api/server.js';
import { WebSocket } from '../../src/api/websocket.js';
import { PubSubBroker, servePubSub, type PubSubOptions, type PubSubServer } from '../../src/pubsub-protocol/index.js';
import { RedisBroker } from '../../src/redis/index.js';
import { cleanups, startServer } from '../pubsub/helpers.js';
import { redisForFile, skipReason, until } from '../redis/redis-server.js';
import { PubSubClient } from '../../client/pubsub-client.mjs';

const PROTOCOL = 'rfc6455.pubsub.v1';
const redis = redisForFile();
afterEach(() => cleanups.run());

const history = [{ prefix: 'room:', size: 1000, ttl: 60 }, { topic: 'tiny', size: 3, ttl: 60 }];

interface Node {
  wss: WebSocketServer;
  port: number;
  pubsub: PubSubServer;
  client: Redis;
}

async function redisClient(): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: redis.server.port, retryStrategy: () => 20, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  cleanups.add(() => void client.disconnect());
  await once(client, 'ready');
  return client;
}

async function startNode(options: PubSubOptions = {}): Promise<Node> {
  const client = await redisClient();
  const broker = new PubSubBroker(new RedisBroker({ client, debounce: 1, history }));
  const { wss, port } = await startServer({ broker });
  const pubsub = servePubSub(wss, options);
  return { wss, port, pubsub, client };
}

/** A raw client of the subprotocol (the rfc6455 WebSocket): every message it gets, parsed. */
async function rawClient(port: number): Promise<{ ws: WebSocket; got: Array<Record<string, unknown>>; send: (m: object) => void; closed: Promise<[number, Buffer]> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, PROTOCOL);
  cleanups.add(() => ws.terminate());
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (data, isBinary) => {
    const bytes = data as Buffer;
    if (!isBinary) got.push(JSON.parse(bytes.toString()));
    else {
      const end = bytes.indexOf(10);
      got.push({ ...JSON.parse(bytes.toString('utf8', 0, end)), bytes: bytes.subarray(end + 1).toString('hex') });
    }
  });
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  await once(ws, 'open');
  expect(ws.protocol).toBe(PROTOCOL);
  return { ws, got, send: (m) => ws.send(JSON.stringify(m)), closed };
}

const ofType = (got: Array<Record<string, unknown>>, type: string) => got.filter((m) => m.type === type);

describe.skipIf(skipReason !== null)('rfc6455.pubsub.v1 server', () => {
  test('messages carry { offset, epoch }; a resume replays exactly what was missed, once, then live ones', async () => {
    const a = await startNode();
    const b = await startNode();
    const alice = await rawClient(a.port);
    alice.send({ type: 'subscribe', topic: 'room:1' });
    await until(() => ofType(alice.got, 'subscribed').length === 1);
    expect(ofType(alice.got, 'subscribed')[0]).toMatchObject({ topic: 'room:1', recovered: null });
    const bob = await rawClient(b.port);
    bob.send({ type: 'publish', topic: 'room:1', data: 'm1', id: 7 });
    await until(() => ofType(alice.got, 'message').length === 1);
    const first = ofType(alice.got, 'message')[0]!;
    expect(first).toMatchObject({ type: 'message', topic: 'room:1', data: 'm1', offset: 1 });
    expect(typeof first.epoch).toBe('string');
    await until(() => ofType(bob.got, 'published').length === 1);
    expect(ofType(bob.got, 'published')[0]).toEqual({ type: 'published', id: 7, offset: 1, epoch: first.epoch });
    // A binary publish: header, line feed, bytes.
    bob.ws.send(Buffer.concat([Buffer.from(JSON.stringify({ type: 'publish', topic: 'room:1' })), Buffer.from([10, 0, 255, 10])]));
    await until(() => ofType(alice.got, 'message').length === 2);
    expect(ofType(alice.got, 'message')[1]).toMatchObject({ offset: 2, epoch: first.epoch, bytes: '00ff0a' });
    // Alice goes away; four publishes (one by the server app) while she is gone.
    alice.ws.close();
    await alice.closed;
    for (const data of ['m3', 'm4', 'm5']) bob.send({ type: 'publish', topic: 'room:1', data, id: data });
    await until(() => ofType(bob.got, 'published').length === 4);
    expect(await b.pubsub.publish('room:1', 'm6')).toMatchObject({ offset: 6, epoch: first.epoch });
    // She comes back on the other node with her last position; publishes go on meanwhile.
    const again = await rawClient(b.port);
    again.send({ type: 'subscribe', topic: 'room:1', since: { offset: 2, epoch: first.epoch } });
    bob.send({ type: 'publish', topic: 'room:1', data: 'm7' });
    await until(() => ofType(again.got, 'subscribed').length === 1);
    bob.send({ type: 'publish', topic: 'room:1', data: 'm8' });
    await until(() => ofType(again.got, 'message').some((m) => m.data === 'm8'));
    const messages = ofType(again.got, 'message');
    expect(messages.map((m) => m.data)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    expect(messages.map((m) => m.offset)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(messages.slice(0, 4).every((m) => m.replayed === true)).toBe(true);
    expect(messages[5]!.replayed).toBe(undefined);
    expect(ofType(again.got, 'subscribed')[0]).toMatchObject({ topic: 'room:1', recovered: true, epoch: first.epoch });
    // Bob never subscribed: he got no message.
    expect(ofType(bob.got, 'message')).toEqual([]);
  });

  test('recovered: false after the history was trimmed, and after a new epoch', async () => {
    const a = await startNode();
    const alice = await rawClient(a.port);
    alice.send({ type: 'subscribe', topic: 'tiny' });
    await until(() => ofType(alice.got, 'subscribed').length === 1);
    const first = await a.pubsub.publish('tiny', 'one');
    await until(() => ofType(alice.got, 'message').length === 1);
    // Many more than the 3 kept (MAXLEN ~ trims in whole nodes: enough publishes to trim the first).
    for (let i = 0; i < 300; i++) await a.pubsub.publish('tiny', `n${i}`);
    const late = await rawClient(a.port);
    late.send({ type: 'subscribe', topic: 'tiny', since: first });
    await until(() => ofType(late.got, 'subscribed').length === 1);
    expect(ofType(late.got, 'subscribed')[0]).toMatchObject({ recovered: false, replayed: 0, epoch: first!.epoch, offset: 301 });
    expect(ofType(late.got, 'message')).toEqual([]);
    // The history is lost (as when Redis restarts without persistence): a new epoch.
    await a.client.del('rfc6455:{room:e}:meta', 'rfc6455:{room:e}:stream');
    const before = await a.pubsub.publish('room:e', 'old');
    await a.client.del('rfc6455:{room:e}:meta', 'rfc6455:{room:e}:stream');
    const after = await a.pubsub.publish('room:e', 'new');
    expect(after!.epoch).not.toBe(before!.epoch);
    const back = await rawClient(a.port);
    back.send({ type: 'subscribe', topic: 'room:e', since: before });
    await until(() => ofType(back.got, 'subscribed').length === 1);
    expect(ofType(back.got, 'subscribed')[0]).toMatchObject({ recovered: false, offset: 1, epoch: after!.epoch });
  });

  test('unsubscribe stops the messages; errors for unknown topics and double subscriptions', async () => {
    const a = await startNode();
    const alice = await rawClient(a.port);
    alice.send({ type: 'subscribe', topic: 'room:u' });
    await until(() => ofType(alice.got, 'subscribed').length === 1);
    alice.send({ type: 'subscribe', topic: 'room:u' });
    alice.send({ type: 'unsubscribe', topic: 'room:none' });
    await until(() => ofType(alice.got, 'error').length === 2);
    expect(ofType(alice.got, 'error').map((m) => m.code)).toEqual(['subscribed', 'not-subscribed']);
    await a.pubsub.publish('room:u', 'before');
    await until(() => ofType(alice.got, 'message').length === 1);
    alice.send({ type: 'unsubscribe', topic: 'room:u' });
    await until(() => ofType(alice.got, 'unsubscribed').length === 1);
    await a.pubsub.publish('room:u', 'after');
    alice.send({ type: 'ping', id: 'p' });
    await until(() => ofType(alice.got, 'pong').length === 1);
    expect(ofType(alice.got, 'message').map((m) => m.data)).toEqual(['before']);
    expect(ofType(alice.got, 'pong')[0]).toEqual({ type: 'pong', id: 'p' });
  });

  test('authorize: false answers forbidden; a throw closes that connection with 1011', async () => {
    const calls: string[] = [];
    const a = await startNode({
      async authorize(_ws, topic, action) {
        calls.push(`${action} ${topic}`);
        if (topic === 'room:boom') throw new Error('boom');
        return !topic.startsWith('room:secret');
      },
    });
    const alice = await rawClient(a.port);
    alice.send({ type: 'subscribe', topic: 'room:secret' });
    alice.send({ type: 'publish', topic: 'room:secret', data: 'x', id: 1 });
    alice.send({ type: 'subscribe', topic: 'room:open' });
    await until(() => ofType(alice.got, 'subscribed').length === 1);
    expect(ofType(alice.got, 'error')).toEqual([
      { type: 'error', code: 'forbidden', topic: 'room:secret', action: 'subscribe', message: 'not allowed' },
      { type: 'error', code: 'forbidden', topic: 'room:secret', action: 'publish', id: 1, message: 'not allowed' },
    ]);
    expect(calls).toEqual(['subscribe room:secret', 'publish room:secret', 'subscribe room:open']);
    alice.send({ type: 'subscribe', topic: 'room:boom' });
    const [code] = await alice.closed;
    expect(code).toBe(1011);
    // The server goes on.
    const bob = await rawClient(a.port);
    bob.send({ type: 'ping' });
    await until(() => ofType(bob.got, 'pong').length === 1);
  });

  test('malformed messages close with 1007 (not JSON) or 1008 (not the protocol); the server goes on', async () => {
    const a = await startNode();
    const cases: Array<[string | Buffer, number]> = [
      ['not json', 1007],
      [Buffer.from('binary without a header'), 1007],
      ['[1,2]', 1008],
      ['null', 1008],
      ['{"type":"dance"}', 1008],
      ['{"type":"subscribe"}', 1008],
      ['{"type":"subscribe","topic":""}', 1008],
      ['{"type":"subscribe","topic":"t","since":{"offset":-1,"epoch":"e"}}', 1008],
      ['{"type":"subscribe","topic":"t","since":"yesterday"}', 1008],
      ['{"type":"publish","topic":"t","data":{"a":1}}', 1008],
      ['{"type":"publish","topic":"t","data":"x","id":{}}', 1008],
      [Buffer.from('{"type":"subscribe","topic":"t"}\n'), 1008],
      [Buffer.from('{"type":"publish","topic":"t","data":"x"}\nbytes'), 1008],
      [`{"type":"subscribe","topic":"${'x'.repeat(1025)}"}`, 1008],
    ];
    for (const [message, expected] of cases) {
      const peer = await rawClient(a.port);
      peer.ws.send(message);
      const [code] = await peer.closed;
      expect([String(message).slice(0, 40), code]).toEqual([String(message).slice(0, 40), expected]);
    }
    // A raw (non-protocol) client on the same server is left alone: its messages are its app's.
    const raw = new WebSocket(`ws://127.0.0.1:${a.port}`);
    cleanups.add(() => raw.terminate());
    const [server] = (await once(a.wss, 'connection')) as [WebSocket];
    if (raw.readyState !== WebSocket.OPEN) await once(raw, 'open');
    expect(server.protocol).toBe('');
    const echoed = once(raw, 'message');
    server.on('message', (data) => server.send(data as Buffer));
    raw.send('not json, not the protocol');
    expect(String((await echoed)[0])).toBe('not json, not the protocol');
  });

  test('servePubSub needs a PubSubBroker', async () => {
    const { wss } = await startServer({});
    expect(() => servePubSub(wss)).toThrow(TypeError);
  });

  test('the client module in Node: resumes across servers, drops duplicates, reports recovered and gap', async () => {
    const a = await startNode();
    const b = await startNode();
    const events: string[] = [];
    const client = new PubSubClient([`ws://127.0.0.1:${a.port}`, `ws://127.0.0.1:${b.port}`], { WebSocket, minDelay: 10, maxDelay: 50 });
    cleanups.add(() => client.close());
    const got: string[] = [];
    client.subscribe('room:c', (data, meta) => got.push(`${data}${meta.replayed ? '*' : ''}`));
    client.on('recovered', (r) => events.push(`recovered ${r.topic} ${r.replayed}`));
    client.on('gap', (g) => events.push(`gap ${g.topic} ${g.reason}`));
    await new Promise((resolve) => client.on('subscribed', resolve));
    expect(client.publish('room:c', 'c1')).toBe(true);
    await until(() => got.length === 1);
    // Server A goes away: the client moves to B; what was published meanwhile comes back once, replayed.
    for (const ws of a.wss.clients) ws.terminate();
    await b.pubsub.publish('room:c', 'c2');
    await b.pubsub.publish('room:c', 'c3');
    expect(client.publish('room:c', 'c4')).toBe(true); // queued while disconnected, or sent to B
    await until(() => got.length === 4);
    await until(() => events.length === 1);
    expect(client.url).toBe(`ws://127.0.0.1:${b.port}`);
    expect(got.slice(0, 3)).toEqual(['c1', 'c2*', 'c3*']);
    expect(got[3]!.startsWith('c4')).toBe(true);
    expect(events[0]!.startsWith('recovered room:c')).toBe(true);
    expect(client.position('room:c')).toMatchObject({ offset: 4 });
    // The history is lost while it is away: a gap.
    for (const ws of b.wss.clients) ws.terminate();
    await b.client.del('rfc6455:{room:c}:meta', 'rfc6455:{room:c}:stream');
    await until(() => events.length === 2);
    expect(events[1]).toBe('gap room:c not-recovered');
    await b.pubsub.publish('room:c', 'c5');
    await until(() => got.length === 5);
    expect(got[4]).toBe('c5');
    expect(events).toEqual([events[0], 'gap room:c not-recovered']);
    // Messages of a new epoch while connected (the history expired meanwhile): a gap.
    await b.client.del('rfc6455:{room:c}:meta', 'rfc6455:{room:c}:stream');
    await b.pubsub.publish('room:c', 'c6');
    await until(() => got.length === 6);
    expect(events[2]).toBe('gap room:c new-epoch');
    client.close();
    expect(client.state).toBe('closed');
  });
});
