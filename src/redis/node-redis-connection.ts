// A RedisConnection over a node-redis (v5+) client: sendCommand() with Buffer replies, and pub/sub
// listeners in buffer mode, so no payload is ever decoded as a string.
import type { MessageListener, RedisArgument, RedisConnection } from './redis-connection.js';

type BufferListener = (message: Buffer, channel: Buffer) => void;

/** The part of a node-redis client the broker uses. */
export interface NodeRedisLike {
  readonly isReady: boolean;
  /** A client: (args, options). A cluster (`createCluster`): (firstKey, isReadonly, args, options). */
  sendCommand(...args: any[]): Promise<unknown>;
  subscribe(channels: string[], listener: BufferListener, bufferMode: true): Promise<void>;
  unsubscribe(channels: string[], listener: BufferListener, bufferMode: true): Promise<void>;
  sSubscribe(channels: string[], listener: BufferListener, bufferMode: true): Promise<void>;
  sUnsubscribe(channels: string[], listener: BufferListener, bufferMode: true): Promise<void>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  duplicate(): NodeRedisLike;
  connect(): Promise<unknown>;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
}

/** RESP_TYPES.BLOB_STRING of node-redis (the RESP type byte '$'): bulk strings as Buffers. */
const BLOB_STRING = 36;
const BUFFER_REPLIES = { typeMapping: { [BLOB_STRING]: Buffer } };

export function isNodeRedis(client: unknown): client is NodeRedisLike {
  return typeof client === 'object' && client !== null && typeof (client as NodeRedisLike).sendCommand === 'function' && typeof (client as NodeRedisLike).sSubscribe === 'function';
}

/**
 * The key a node-redis cluster routes a command by: the first key of EVAL/EVALSHA, none for PING, else
 * the first argument (HMGET, XRANGE, PUBLISH and SPUBLISH, whose channel selects the shard).
 */
function firstKeyOf(args: readonly RedisArgument[]): RedisArgument | undefined {
  const name = String(args[0]).toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA') return Number(args[2]) > 0 ? args[3] : undefined;
  if (name === 'PING') return undefined;
  return args[1];
}

export class NodeRedisConnection implements RedisConnection {
  private listener: MessageListener = () => undefined;
  /** A node-redis cluster client (`createCluster`), whose sendCommand takes the routing key first. */
  private readonly cluster: boolean;
  /** A cluster this connection made and connects: commands wait until it knows its slots. */
  private connecting: Promise<unknown> | null = null;
  /** One function for every channel (node-redis keeps listeners in a set: subscribing again adds none). */
  private readonly onBuffer: BufferListener = (message, channel) => this.listener(channel.toString('utf8'), message);

  constructor(
    private readonly client: NodeRedisLike,
    owned: boolean,
  ) {
    this.cluster = 'pubSubNode' in client;
    if (owned) {
      // node-redis throws an 'error' event with no listener into the event loop; the broker reports state instead.
      client.on('error', () => undefined);
      const connected = client.connect().catch(() => undefined);
      // A client queues the commands sent while it connects; a cluster fails them until its slots are known.
      if (this.cluster) this.connecting = connected.then(() => (this.connecting = null));
    }
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  async command(args: readonly RedisArgument[]): Promise<unknown> {
    if (!this.cluster) return this.client.sendCommand(args, BUFFER_REPLIES);
    if (this.connecting !== null) await this.connecting;
    return this.client.sendCommand(firstKeyOf(args), false, args, BUFFER_REPLIES);
  }

  async subscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    if (this.connecting !== null) await this.connecting;
    // SSUBSCRIBE takes channels of one hash slot only (a cluster routes it by the first): one each.
    if (sharded) await Promise.all(channels.map((channel) => this.client.sSubscribe([channel], this.onBuffer, true)));
    else await this.client.subscribe([...channels], this.onBuffer, true);
  }

  async unsubscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    if (this.connecting !== null) await this.connecting;
    if (sharded) await Promise.all(channels.map((channel) => this.client.sUnsubscribe([channel], this.onBuffer, true)));
    else await this.client.unsubscribe([...channels], this.onBuffer, true);
  }

  async ping(): Promise<void> {
    await this.command(['PING']);
  }

  onMessage(listener: MessageListener): void {
    this.listener = listener;
  }

  onState(up: () => void, down: () => void): void {
    this.client.on('ready', up);
    this.client.on('reconnecting', down);
    this.client.on('end', down);
  }

  duplicate(): RedisConnection {
    return new NodeRedisConnection(this.client.duplicate(), true);
  }

  async quit(): Promise<void> {
    const client = this.client;
    await (client.close ?? client.quit)?.call(client).catch(() => undefined);
  }
}
