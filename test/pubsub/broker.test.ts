// Brokers: interest-based routing between servers (nodes), with the in-process broker.
import { afterEach, describe, expect, test } from 'vitest';
import type { Broker, BrokerLink, BrokerNode } from '../../src/pubsub/broker.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/pubsub/envelope.js';
import { InProcessBroker } from '../../src/pubsub/in-process-broker.js';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

/** Wraps a broker and records what its links are asked. */
function recording(inner: Broker): { broker: Broker; interest: string[]; published: string[] } {
  const interest: string[] = [];
  const published: string[] = [];
  const broker: Broker = {
    connect(node: BrokerNode): BrokerLink {
      const link = inner.connect(node);
      return {
        interest(subscribed, unsubscribed) {
          interest.push(`+[${subscribed.join(',')}] -[${unsubscribed.join(',')}]`);
          link.interest(subscribed, unsubscribed);
        },
        carries: (topic) => link.carries(topic),
        publish(topic, envelope) {
          published.push(`${topic}:${decodeEnvelope(envelope)!.payload.toString()}`);
          link.publish(topic, envelope);
        },
        close: () => link.close(),
      };
    },
  };
  return { broker, interest, published };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('InProcessBroker between two servers', () => {
  test('a publish crosses only to the node with interest, once, in order; interest changes are batched and net', async () => {
    const shared = new InProcessBroker();
    const one = recording(shared);
    const two = recording(shared);
    const a = await startServer({ broker: one.broker });
    const b = await startServer({ broker: two.broker });
    const [a1] = await connectPeers(a.wss, a.port, 1);
    const [b1, b2] = await connectPeers(b.wss, b.port, 2);
    // Node b: two sockets join 'x' (one 0->1 change), 'y' joins and leaves in the same tick (no change).
    b1!.server.subscribe('x');
    b2!.server.subscribe('x');
    b1!.server.subscribe('y');
    b1!.server.unsubscribe('y');
    await tick();
    expect(two.interest).toEqual(['+[x] -[]']);
    // Node a publishes: 'x' crosses (b has interest), 'z' does not; a1 (not subscribed) gets nothing.
    expect(a.wss.publish('x', 'x1')).toBe(0);
    expect(a.wss.publish('z', 'z1')).toBe(0);
    expect(a.wss.publish('x', 'x2')).toBe(0);
    expect(one.published).toEqual(['x:x1', 'x:x2']);
    await until(() => b1!.received.length === 2 && b2!.received.length === 2);
    expect(b1!.received).toEqual(['x1', 'x2']);
    expect(b2!.received).toEqual(['x1', 'x2']);
    // Node b's own publish reaches its subscribers once (locally), and does not cross to a (no interest).
    expect(b.wss.publish('x', 'local')).toBe(2);
    expect(two.published).toEqual([]);
    // Interest goes with the last subscriber; then nothing crosses.
    b1!.client.close();
    b2!.server.unsubscribe('x');
    await until(() => two.interest.length === 2);
    expect(two.interest[1]).toBe('+[] -[x]');
    a.wss.publish('x', 'x3');
    expect(one.published).toEqual(['x:x1', 'x:x2']);
    expect(a1!.received).toEqual([]);
  });

  test('binary and compress flags cross in the envelope; the payload is a copy made at publish', async () => {
    const shared = new InProcessBroker();
    const a = await startServer({ broker: shared });
    const b = await startServer({ broker: shared });
    const [b1] = await connectPeers(b.wss, b.port, 1);
    b1!.server.subscribe('t');
    await tick();
    const payload = Buffer.from([1, 2, 3]);
    a.wss.publish('t', payload);
    payload.fill(0);
    a.wss.publish('t', 'text');
    await until(() => b1!.received.length === 2);
    expect(b1!.received).toEqual(['bin:010203', 'text']);
  });

  test("a node ignores its own envelopes echoed back by a broker, and malformed ones", async () => {
    let node: BrokerNode | null = null;
    const echoing: Broker = {
      connect(n) {
        node = n;
        return { interest() {}, carries: () => true, publish: (_topic, envelope) => n.deliver(envelope), close() {} };
      },
    };
    const { wss, port } = await startServer({ broker: echoing });
    const [peer] = await connectPeers(wss, port, 1);
    peer!.server.subscribe('t');
    expect(wss.publish('t', 'once')).toBe(1);
    node!.deliver(Buffer.from('not an envelope'));
    node!.deliver(encodeEnvelope(Buffer.alloc(8, 0xee), 't', 0, Buffer.from('from another node')));
    await until(() => peer!.received.length === 2);
    expect(peer!.received).toEqual(['once', 'from another node']);
  });

  test('a closed server leaves the broker: its later publishes stay local', async () => {
    const shared = new InProcessBroker();
    const a = await startServer({ broker: shared });
    const b = await startServer({ broker: shared });
    const [b1] = await connectPeers(b.wss, b.port, 1);
    b1!.server.subscribe('t');
    await tick();
    a.wss.publish('t', 'one');
    // (a has no connections: its listener closes at once.)
    await new Promise<void>((resolve) => a.wss.close(() => resolve()));
    a.wss.publish('t', 'two');
    b1!.server.send('end');
    await until(() => b1!.received.length === 2);
    expect(b1!.received).toEqual(['one', 'end']);
  });
});
