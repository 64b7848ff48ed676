/**
 * The broker interface: how the publishes of one server (a node) reach the subscribers of other nodes
 * (other processes, worker threads or machines), routed by interest.
 *
 * A server connects to its broker once (`connect`), giving a `BrokerNode`: its 8-byte id and the
 * function that fans an incoming publish out to its local subscribers. Through the returned link:
 *
 *  - `interest(subscribed, unsubscribed)`: the topics whose local subscriber count went from 0 to 1,
 *    and from 1 to 0, since the last call. Changes are batched (one call per tick at most) and, across
 *    calls, in order: a broker applies them in the order given.
 *  - `carries(topic)`: whether a publish on the topic would leave this node (the server builds the
 *    envelope only then; a broker that cannot tell answers true).
 *  - `publish(topic, envelope)`: a local publish, already delivered locally, as a binary envelope
 *    (envelope.ts: origin = this node's id, topic, flags, payload). The broker carries it to the nodes
 *    that have declared interest in the topic, and to no other.
 *  - `close()`: the server closed; the link releases what it holds. Idempotent.
 *
 * A broker hands an incoming envelope to `node.deliver(envelope)`; the node drops envelopes of its own
 * origin (a broker that echoes, such as Redis pub/sub, needs no filter of its own) and malformed ones.
 *
 * Delivery guarantees, plainly: at most once. A publish reaches the nodes that had declared interest in
 * its topic when the broker routed it; one made while interest is still on its way may miss a node
 * (a subscriber may miss what was published in the same tick it subscribed in). Publishes of one node
 * on one topic arrive at each other node in the order they were made; there is no order across
 * publishing nodes, no acknowledgement, no retry and no history: a node that is disconnected misses
 * what is published meanwhile. Each node then applies its subscribers' backpressure policy.
 *
 * Designed for a Redis broker (interest = SUBSCRIBE/UNSUBSCRIBE of a channel per topic; publish =
 * PUBLISH of the envelope; echoes filtered by origin) and a node:cluster broker (the primary keeps each
 * worker's interest and forwards envelopes over IPC) alike.
 */
export interface Broker {
  /** Called once by each server that uses the broker: `node` is the server's side, the link the broker's. */
  connect(node: BrokerNode): BrokerLink;
}

/** What a server gives its broker: its id and where incoming publishes go. */
export interface BrokerNode {
  /** This node's id, 8 random bytes: the origin of its envelopes. */
  readonly id: Buffer;
  /** An envelope from another node: fan its payload out to the local subscribers of its topic. */
  deliver(envelope: Buffer): void;
}

/** What a broker gives a server: see {@link Broker} for the contract of each method. */
export interface BrokerLink {
  /** The topics whose local subscriber count went 0 → 1 (`subscribed`) and 1 → 0 (`unsubscribed`), in order. */
  interest(subscribed: readonly string[], unsubscribed: readonly string[]): void;
  /** Whether a publish on `topic` would leave this node (true when the broker cannot tell). */
  carries(topic: string): boolean;
  /** A local publish, already delivered locally, to carry to the interested nodes. */
  publish(topic: string, envelope: Buffer): void;
  /** The server closed: release what the link holds. Idempotent. */
  close(): void;
}
