// The pub/sub state of one server (one node): its subscriptions, the fan-out of publishes to its
// sockets, and its link to the broker that carries publishes to and from other nodes.
import { randomBytes } from 'node:crypto';
import { backpressureFrom, type BackpressureOptions, type BackpressurePolicy } from './backpressure.js';
import type { Broker, BrokerLink, BrokerNode } from './broker.js';
import { decodeEnvelope, encodeEnvelope, FLAG_BINARY, FLAG_COMPRESS, type Envelope } from './envelope.js';
import { deliver, type Subscriber } from './fan-out.js';
import { InProcessBroker } from './in-process-broker.js';
import { PreparedMessage } from './prepared-message.js';
import { isHistoryLink, Recovery, type HistoryNode, type RecoveryResult, type StreamPosition } from './recovery.js';
import { TopicRegistry, type CountListener } from './topic-registry.js';
import { SharedWrites } from '../transport/shared-writes.js';

export interface TopicHubOptions extends BackpressureOptions {
  /** Carries publishes to and from other nodes. Default: a new InProcessBroker (local fan-out only). */
  broker?: Broker;
}

/** Told of the topics whose messages may have been lost in transit (the broker lost its connection). */
export type GapListener = (topic: string) => void;

export class TopicHub<S extends Subscriber & object> implements BrokerNode, HistoryNode {
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
  /** Subscriptions made with `since` whose replay is running: topic -> subscriber -> held live messages. */
  private readonly recovering = new Map<string, Map<S, Recovery>>();
  /**
   * Subscriptions whose replay ended: topic -> subscriber -> the last position replayed. A live message
   * can reach this node after the replay that already sent it (Redis answers the replay on one
   * connection and pushes the live message on another): until a newer live message comes, those at
   * or below this position are dropped, so that none is delivered twice.
   */
  private readonly replayedUpTo = new Map<string, Map<S, StreamPosition>>();
  /** This tick's frames of each topic published to (null when none). */
  private shared: Map<string, SharedWrites> | null = null;
  private readonly forgetShared = (): void => {
    this.shared = null;
  };

  /** Throws a TypeError for an invalid option. `onCount` hears every change of a topic's subscriber count. */
  constructor(
    options: TopicHubOptions,
    onCount: CountListener,
    private readonly onGap: GapListener = () => undefined,
  ) {
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

  /**
   * With `since`, a new subscription first gets the publishes after that position replayed by the
   * broker's history (live messages wait meanwhile), then `onRecovered` hears the outcome.
   */
  subscribe(subscriber: S, topic: string, since?: StreamPosition, onRecovered?: (result: RecoveryResult) => void): boolean {
    const added = this.registry.subscribe(subscriber, checkTopic(topic));
    if (added && since !== undefined) this.recover(subscriber, topic, since, onRecovered ?? (() => undefined));
    return added;
  }

  unsubscribe(subscriber: S, topic: string): boolean {
    this.stopRecovery(subscriber, topic);
    this.forgetReplayed(subscriber, topic);
    return this.registry.unsubscribe(subscriber, checkTopic(topic));
  }

  unsubscribeAll(subscriber: S): void {
    if (this.recovering.size > 0) for (const topic of this.registry.topicsOf(subscriber)) this.stopRecovery(subscriber, topic);
    if (this.replayedUpTo.size > 0) for (const topic of this.registry.topicsOf(subscriber)) this.forgetReplayed(subscriber, topic);
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
    // Handed to the broker first: a broker with history answers with the publish's offset, which the
    // subscriptions recovering on this topic need.
    let numbered: Promise<StreamPosition | null> | null = null;
    const link = this.connected();
    if (link !== null && link.carries(topic)) {
      const flags = (message.binary ? FLAG_BINARY : 0) | (message.compress ? FLAG_COMPRESS : 0);
      const envelope = encodeEnvelope(this.id, topic, flags, message.data);
      if (isHistoryLink(link)) numbered = link.publish(topic, envelope) ?? null;
      else link.publish(topic, envelope);
    }
    return this.fanOut(topic, message, except, null, numbered);
  }

  /** BrokerNode: a publish of another node (with its history position, if any). Own and malformed envelopes are ignored. */
  deliver(envelope: Buffer, offset?: number, epoch?: string): void {
    const decoded = decodeEnvelope(envelope);
    if (decoded === null || decoded.origin.equals(this.id)) return;
    const replayed = offset !== undefined && epoch !== undefined ? this.replayedUpTo.get(decoded.topic) : undefined;
    const skip = replayed !== undefined ? this.alreadyReplayed(replayed, decoded.topic, offset!, epoch!) : null;
    this.fanOut(decoded.topic, preparedFrom(decoded), skip, offset ?? null, null);
  }

  /**
   * The subscribers of `topic` whose replay already sent the live message at (offset, epoch); the others
   * leave the map for good, since the live messages of a topic come in offset order.
   */
  private alreadyReplayed(replayed: Map<S, StreamPosition>, topic: string, offset: number, epoch: string): Set<S> | null {
    let skip: Set<S> | null = null;
    for (const [subscriber, position] of replayed) {
      if (position.epoch === epoch && offset <= position.offset) (skip ??= new Set()).add(subscriber);
      else replayed.delete(subscriber);
    }
    if (replayed.size === 0) this.replayedUpTo.delete(topic);
    return skip;
  }

  /** HistoryNode: the broker lost its connection; publishes on these topics may have been missed. */
  gap(topics: readonly string[]): void {
    for (const topic of topics) this.onGap(topic);
  }

  /** The server closed: leave the broker (later publishes stay local). */
  close(): void {
    this.closed = true;
    this.link?.close();
    this.link = null;
  }

  /** `offset`/`numbered`: the message's history offset, known or to come, for recovering subscriptions. */
  private fanOut(
    topic: string,
    message: PreparedMessage,
    except: S | Set<S> | null,
    offset: number | null,
    numbered: Promise<StreamPosition | null> | null,
  ): number {
    const subscribers = this.registry.subscribersOf(topic);
    if (subscribers === undefined) return 0;
    const recovering = this.recovering.get(topic);
    const skip = except instanceof Set ? except : null;
    // A frame in one piece joins the topic's frames of this tick (see SharedWrites).
    const frame = message.frame();
    let shared: SharedWrites | null = null;
    let index = 0;
    if (frame.length === 1) {
      shared = this.sharedWritesOf(topic);
      index = shared.add(frame[0]!);
    }
    let reached = 0;
    for (const subscriber of subscribers) {
      if (subscriber === except || (skip !== null && skip.has(subscriber))) continue;
      const recovery = recovering?.get(subscriber);
      if (recovery !== undefined) recovery.hold(message, offset, numbered);
      else if (deliver(subscriber, topic, message, this.limit, this.policy, shared, index)) reached++;
    }
    return reached;
  }

  /** The frames published to `topic` in this tick. */
  private sharedWritesOf(topic: string): SharedWrites {
    let byTopic = this.shared;
    if (byTopic === null) {
      this.shared = byTopic = new Map();
      process.nextTick(this.forgetShared);
    }
    let writes = byTopic.get(topic);
    if (writes === undefined || writes.finished) byTopic.set(topic, (writes = new SharedWrites()));
    return writes;
  }

  /**
   * Replay what `subscriber` missed on `topic` since `since`, holding its live messages meanwhile; then
   * send those the replay did not cover (all of them when the history was not recovered).
   */
  private recover(subscriber: S, topic: string, since: StreamPosition, onRecovered: (result: RecoveryResult) => void): void {
    const link = this.connected();
    if (link === null || !isHistoryLink(link)) {
      process.nextTick(onRecovered, { recovered: false, position: null, replayed: 0 });
      return;
    }
    const recovery = new Recovery();
    let byTopic = this.recovering.get(topic);
    if (byTopic === undefined) this.recovering.set(topic, (byTopic = new Map()));
    byTopic.set(subscriber, recovery);
    const current = (): boolean => this.recovering.get(topic)?.get(subscriber) === recovery;
    let lastReplayed = since.offset;
    const replay = (envelope: Buffer, offset: number): void => {
      const decoded = decodeEnvelope(envelope);
      if (decoded === null || !current()) return;
      lastReplayed = offset;
      deliver(subscriber, topic, preparedFrom(decoded), this.limit, this.policy);
    };
    void link.recover(topic, since, replay).then(async (result) => {
      await recovery.settled();
      if (!current()) return;
      this.stopRecovery(subscriber, topic);
      for (const message of recovery.drain(result.recovered ? lastReplayed : 0)) deliver(subscriber, topic, message, this.limit, this.policy);
      if (result.recovered && result.replayed > 0 && result.position !== null) {
        let byTopic = this.replayedUpTo.get(topic);
        if (byTopic === undefined) this.replayedUpTo.set(topic, (byTopic = new Map()));
        byTopic.set(subscriber, { offset: lastReplayed, epoch: result.position.epoch });
      }
      // On a tick of its own: a listener that throws must not become a rejection of this chain.
      process.nextTick(onRecovered, result);
    });
  }

  private forgetReplayed(subscriber: S, topic: string): void {
    const byTopic = this.replayedUpTo.get(topic);
    if (byTopic?.delete(subscriber) && byTopic.size === 0) this.replayedUpTo.delete(topic);
  }

  private stopRecovery(subscriber: S, topic: string): void {
    const byTopic = this.recovering.get(topic);
    if (byTopic?.delete(subscriber) && byTopic.size === 0) this.recovering.delete(topic);
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

function preparedFrom(envelope: Envelope): PreparedMessage {
  return new PreparedMessage(envelope.payload, (envelope.flags & FLAG_BINARY) !== 0, (envelope.flags & FLAG_COMPRESS) !== 0);
}

/** Topics are strings (any content, compared exactly); anything else is the application's misuse. */
function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string') throw new TypeError(`A topic must be a string, not ${typeof topic}`);
  return topic;
}
