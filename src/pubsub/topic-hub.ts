// The pub/sub state of one server (one node): its subscriptions, the fan-out of publishes to its
// sockets, and its link to the broker that carries publishes to and from other nodes.
import { randomBytes } from 'node:crypto';
import { backpressureFrom, type BackpressureOptions, type BackpressurePolicy } from './backpressure.js';
import type { Broker, BrokerLink, BrokerNode } from './broker.js';
import { decodeEnvelope, encodeEnvelope, FLAG_BINARY, FLAG_COMPRESS } from './envelope.js';
import { deliver, type Subscriber } from './fan-out.js';
import { InProcessBroker } from './in-process-broker.js';
import { PreparedMessage } from './prepared-message.js';
import { TopicRegistry, type CountListener } from './topic-registry.js';

export interface TopicHubOptions extends BackpressureOptions {
  /** Carries publishes to and from other nodes. Default: a new InProcessBroker (local fan-out only). */
  broker?: Broker;
}

export class TopicHub<S extends Subscriber & object> implements BrokerNode {
  readonly id: Buffer = randomBytes(8);
  private readonly registry: TopicRegistry<S>;
  private readonly broker: Broker;
  private readonly limit: number;
  private readonly policy: BackpressurePolicy;
  /** Connected on first need; null again after close(). */
  private link: BrokerLink | null = null;
  private closed = false;
  /** Topics whose interest changed since the broker was last told: topic -> has local subscribers. */
  private changed: Map<string, boolean> | null = null;
  /** Topics the broker was told this node has interest in. */
  private readonly declared = new Set<string>();
  private readonly flush = (): void => this.flushInterest();

  /** Throws a TypeError for an invalid option. `onCount` hears every change of a topic's subscriber count. */
  constructor(options: TopicHubOptions, onCount: CountListener) {
    const { limit, policy } = backpressureFrom(options);
    this.limit = limit;
    this.policy = policy;
    const broker = options.broker ?? new InProcessBroker();
    if (typeof broker !== 'object' || broker === null || typeof broker.connect !== 'function') {
      throw new TypeError('The "broker" option must be an object with a connect(node) method');
    }
    this.broker = broker;
    this.registry = new TopicRegistry<S>((topic, newCount, oldCount) => {
      if (newCount === 0 || oldCount === 0) this.interestChanged(topic, newCount > 0);
      onCount(topic, newCount, oldCount);
    });
  }

  subscribe(subscriber: S, topic: string): boolean {
    return this.registry.subscribe(subscriber, checkTopic(topic));
  }

  unsubscribe(subscriber: S, topic: string): boolean {
    return this.registry.unsubscribe(subscriber, checkTopic(topic));
  }

  unsubscribeAll(subscriber: S): void {
    this.registry.unsubscribeAll(subscriber);
  }

  isSubscribed(subscriber: S, topic: string): boolean {
    return this.registry.isSubscribed(subscriber, checkTopic(topic));
  }

  topicsOf(subscriber: S): string[] {
    return this.registry.topicsOf(subscriber);
  }

  count(topic: string): number {
    return this.registry.count(checkTopic(topic));
  }

  /**
   * Send `message` to every local subscriber of `topic` but `except`, each under the backpressure
   * policy, then hand it to the broker when other nodes may want it. Returns the local subscribers reached.
   */
  publish(topic: string, message: PreparedMessage, except: S | null): number {
    checkTopic(topic);
    const reached = this.fanOut(topic, message, except);
    const link = this.connected();
    if (link !== null && link.carries(topic)) {
      const flags = (message.binary ? FLAG_BINARY : 0) | (message.compress ? FLAG_COMPRESS : 0);
      link.publish(topic, encodeEnvelope(this.id, topic, flags, message.data));
    }
    return reached;
  }

  /** BrokerNode: a publish of another node. Own and malformed envelopes are ignored. */
  deliver(envelope: Buffer): void {
    const decoded = decodeEnvelope(envelope);
    if (decoded === null || decoded.origin.equals(this.id)) return;
    const message = new PreparedMessage(decoded.payload, (decoded.flags & FLAG_BINARY) !== 0, (decoded.flags & FLAG_COMPRESS) !== 0);
    this.fanOut(decoded.topic, message, null);
  }

  /** The server closed: leave the broker (later publishes stay local). */
  close(): void {
    this.closed = true;
    this.link?.close();
    this.link = null;
  }

  private fanOut(topic: string, message: PreparedMessage, except: S | null): number {
    const subscribers = this.registry.subscribersOf(topic);
    if (subscribers === undefined) return 0;
    let reached = 0;
    for (const subscriber of subscribers) {
      if (subscriber !== except && deliver(subscriber, topic, message, this.limit, this.policy)) reached++;
    }
    return reached;
  }

  private connected(): BrokerLink | null {
    if (this.link === null && !this.closed) this.link = this.broker.connect(this);
    return this.link;
  }

  private interestChanged(topic: string, interested: boolean): void {
    if (this.changed === null) {
      this.changed = new Map();
      queueMicrotask(this.flush);
    }
    this.changed.set(topic, interested);
  }

  /** Tell the broker the net interest changes of this tick: a topic joined and left again is no change. */
  private flushInterest(): void {
    const changed = this.changed!;
    this.changed = null;
    const subscribed: string[] = [];
    const unsubscribed: string[] = [];
    for (const [topic, interested] of changed) {
      if (interested && !this.declared.has(topic)) {
        this.declared.add(topic);
        subscribed.push(topic);
      } else if (!interested && this.declared.delete(topic)) {
        unsubscribed.push(topic);
      }
    }
    if (subscribed.length === 0 && unsubscribed.length === 0) return;
    this.connected()?.interest(subscribed, unsubscribed);
  }
}

/** Topics are strings (any content, compared exactly); anything else is the application's misuse. */
function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string') throw new TypeError(`A topic must be a string, not ${typeof topic}`);
  return topic;
}
