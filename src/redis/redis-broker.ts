// RedisBroker: the nodes (servers, in any number of processes and machines) that share a Redis
// exchange their publishes through it. Each topic is a Redis channel; a node subscribes to a channel
// only while it has local subscribers on the topic. Topics with history also go through a Redis Stream.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Broker, BrokerNode } from '../pubsub/broker.js';
import type { HistoryLink, HistoryNode, RecoveryResult, StreamPosition } from '../pubsub/recovery.js';
import { HistoryRules, type HistoryLimits, type HistoryRule } from './history.js';
import { Interest } from './interest.js';
import { readPositioned } from './positioned-message.js';
import { connectionOf, type RedisConnection } from './redis-connection.js';
import { isClusterWithoutShardedSubscribers } from './ioredis-connection.js';
import { replay } from './replay.js';
import { APPEND } from './scripts.js';

/** The options of {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /** The application's client (ioredis, or a connected node-redis client): publishes and history commands. */
  client: unknown;
  /** A client for subscribing (it enters subscriber mode). Default: `client.duplicate()`, closed with the broker. */
  subscriber?: unknown;
  /** Prefix of every channel and key. Default 'rfc6455:'. */
  prefix?: string;
  /**
   * Sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7+), for Redis Cluster: a message stays within the
   * shard that owns its topic. With an ioredis `Cluster`, create it with `shardedSubscribers: true`.
   * Default false.
   */
  sharded?: boolean;
  /** Milliseconds interest changes are collected before one SUBSCRIBE/UNSUBSCRIBE goes out. Default 5. */
  debounce?: number;
  /** Topics that keep history (opt-in), for `ws.subscribe(topic, { since })`. Default none. */
  history?: readonly HistoryRule[];
  /** Entries read per XRANGE while replaying history. Default 100. */
  replayBatch?: number;
}

/** The longest a resuming subscription waits for its channel subscription before giving up on the replay. */
const RECOVERY_WAIT = 5000;

/**
 * Events: 'publishError' (error, topic): a publish did not reach Redis (counted in `publishFailures`);
 * 'down' / 'up': the subscriber connection was lost / is back; 'gap' (topics): after a reconnection,
 * the topics resubscribed, whose publishes meanwhile were missed.
 */
export class RedisBroker extends EventEmitter implements Broker {
  /** Publishes that could not be handed to Redis (connection down or a Redis error). */
  publishFailures = 0;
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly ownsSubscriber: boolean;
  private readonly prefix: string;
  private readonly sharded: boolean;
  private readonly debounce: number;
  private readonly history: HistoryRules;
  private readonly replayBatch: number;
  private connected = false;

  /** TypeError for an invalid option. */
  constructor(options: RedisBrokerOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('RedisBroker needs options: { client, subscriber?, ... }');
    this.publisher = connectionOf(options.client, 'client');
    this.ownsSubscriber = options.subscriber === undefined;
    const subscriber = this.ownsSubscriber ? null : connectionOf(options.subscriber, 'subscriber');
    this.prefix = options.prefix ?? 'rfc6455:';
    if (typeof this.prefix !== 'string') throw new TypeError('The "prefix" option must be a string');
    this.sharded = options.sharded === true;
    if (this.sharded && (isClusterWithoutShardedSubscribers(options.client) || isClusterWithoutShardedSubscribers(options.subscriber))) {
      throw new TypeError('sharded: true with an ioredis Cluster needs the Cluster option shardedSubscribers: true');
    }
    this.debounce = positiveInteger(options.debounce ?? 5, 'debounce', 0);
    this.history = new HistoryRules(options.history ?? []);
    this.replayBatch = positiveInteger(options.replayBatch ?? 100, 'replayBatch', 1);
    // Last: a duplicate connects at once, so no invalid option may throw after it.
    this.subscriber = subscriber ?? this.publisher.duplicate();
  }

  /** One node per broker: a RedisBroker holds that node's connections. */
  connect(node: BrokerNode): HistoryLink {
    if (this.connected) throw new Error('A RedisBroker serves one server: make one per WebSocketServer');
    this.connected = true;
    const { publisher, subscriber, sharded, prefix } = this;
    const channel = (topic: string): string => `${prefix}{${topic}}`;
    const interest = new Interest(
      {
        subscribe: (topics) => subscriber.subscribe(topics.map(channel), sharded),
        unsubscribe: (topics) => subscriber.unsubscribe(topics.map(channel), sharded),
      },
      this.debounce,
    );
    const history = node as Partial<HistoryNode>;
    let closed = false;

    const receive = (message: Buffer): void => {
      const positioned = readPositioned(message);
      if (positioned === null) return;
      if (positioned.position === null) node.deliver(positioned.envelope);
      else (node as HistoryNode).deliver(positioned.envelope, positioned.position.offset, positioned.position.epoch);
    };
    // After a reconnection, the messages that come with or right after the resubscription wait until
    // the gap is reported: an app never sees a message published after the gap before it hears of the gap.
    let held: Buffer[] | null = null;
    subscriber.onMessage((_channel, message) => {
      if (closed) return;
      if (held !== null) held.push(message);
      else receive(message);
    });
    let down = false;
    subscriber.onState(
      () => {
        if (closed || !down) return;
        down = false;
        this.emit('up');
        const holding: Buffer[] = [];
        held = holding;
        const release = (): void => {
          if (held === holding) held = null;
          for (const message of holding) if (!closed) receive(message);
        };
        interest.restore().then(
          (topics) => {
            if (closed) return;
            // On ticks of their own: a listener that throws must not become a rejection of this chain,
            // nor keep the held messages from their subscribers.
            if (topics.length > 0) {
              process.nextTick(() => {
                history.gap?.(topics);
                this.emit('gap', topics);
              });
            }
            process.nextTick(release);
          },
          release,
        );
      },
      () => {
        if (closed || down) return;
        down = true;
        interest.lost();
        this.emit('down');
      },
    );

    const failed = (topic: string, error: unknown): null => {
      this.publishFailures++;
      // On a tick of its own: never inside a promise's handler (a throwing listener would be an
      // unhandled rejection) nor before the publish's local fan-out.
      process.nextTick(() => this.emit('publishError', error instanceof Error ? error : new Error(String(error)), topic));
      return null;
    };
    const keys = (topic: string): [string, string] => this.keysOf(topic);

    return {
      interest: (subscribed, unsubscribed) => {
        if (!closed) interest.change(subscribed, unsubscribed);
      },
      // Whether another node listens is Redis's knowledge, not this node's: every publish goes out.
      carries: () => !closed,
      publish: (topic, envelope) => {
        if (!publisher.ready) {
          const error = new Error(`Redis is unreachable: the publish on "${topic}" reached local subscribers only`);
          // Answered null (not void) whatever the topic: a caller that waits for the echo learns it will not come.
          return Promise.resolve(failed(topic, error));
        }
        const limits = this.history.of(topic);
        if (limits === null) {
          publisher.command([sharded ? 'SPUBLISH' : 'PUBLISH', channel(topic), envelope]).catch((error) => failed(topic, error));
          return;
        }
        return this.append(envelope, limits, keys(topic), channel(topic)).catch((error) => failed(topic, error));
      },
      recover: async (topic, since, deliver): Promise<RecoveryResult> => {
        const none: RecoveryResult = { recovered: false, position: null, replayed: 0 };
        if (this.history.of(topic) === null) return none;
        let timer: NodeJS.Timeout | undefined;
        const waited = await Promise.race([
          interest.whenActive(topic).then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(resolve, RECOVERY_WAIT, false))),
        ]);
        clearTimeout(timer);
        if (!waited || closed) return none;
        const result = await replay(publisher, keys(topic), since, this.replayBatch, deliver).catch(() => none);
        // The replay read the stream on one connection; the live copies of the entries it sent come on
        // the subscriber connection, maybe later. A PING there, answered after every message Redis sent
        // it before, makes sure they all arrived (and were held, then dropped as replayed) before the
        // recovery ends: otherwise the last replayed publishes could reach the socket a second time.
        if (result.replayed > 0 && !closed) await subscriber.ping().catch(() => undefined);
        return result;
      },
      close: () => {
        if (closed) return;
        closed = true;
        interest.close();
        if (this.ownsSubscriber) void subscriber.quit();
        else {
          const topics = interest.subscribed();
          if (topics.length > 0) subscriber.unsubscribe(topics.map(channel), sharded).catch(() => undefined);
        }
      },
    };
  }

  /** The position of `topic`'s last publish, or null when it keeps no history (or has none yet). */
  async position(topic: string): Promise<StreamPosition | null> {
    if (this.history.of(topic) === null) return null;
    const [epoch, offset] = (await this.publisher.command(['HMGET', this.keysOf(topic)[1], 'epoch', 'offset'])) as [Buffer | null, Buffer | null];
    return epoch === null || offset === null ? null : { offset: Number(offset.toString('latin1')), epoch: epoch.toString('latin1') };
  }

  /** The topic's stream and metadata hash, in one hash slot (the braces) for Redis Cluster. */
  private keysOf(topic: string): [string, string] {
    return [`${this.prefix}{${topic}}:stream`, `${this.prefix}{${topic}}:meta`];
  }

  private async append(envelope: Buffer, limits: HistoryLimits, keys: [string, string], channel: string): Promise<StreamPosition> {
    const reply = (await APPEND.runInOrder(this.publisher, keys, [
      envelope,
      String(limits.size),
      String(limits.ttl),
      channel,
      randomBytes(6).toString('hex'),
      this.sharded ? '1' : '0',
    ])) as [number, Buffer];
    return { offset: Number(reply[0]), epoch: reply[1].toString('latin1') };
  }
}

function positiveInteger(value: unknown, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new TypeError(`The "${name}" option must be an integer >= ${min}`);
  return value as number;
}
