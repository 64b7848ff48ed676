// A RedisConnection over a node-redis (v5+) client: sendCommand() with Buffer replies, and pub/sub
// listeners in buffer mode, so no payload is ever decoded as a string.
import type { MessageListener, RedisArgument, RedisConnection } from './redis-connection.js';

type BufferListener = (message: Buffer, channel: Buffer) => void;

/** The part of a node-redis client the broker uses. */
export interface NodeRedisLike {
  readonly isReady: boolean;
  sendCommand(args: readonly RedisArgument[], options?: object): Promise<unknown>;
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

export class NodeRedisConnection implements RedisConnection {
  private listener: MessageListener = () => undefined;
  /** One function for every channel (node-redis keeps listeners in a set: subscribing again adds none). */
  private readonly onBuffer: BufferListener = (message, channel) => this.listener(channel.toString('utf8'), message);

  constructor(
    private readonly client: NodeRedisLike,
    owned: boolean,
  ) {
    if (owned) {
      // node-redis throws an 'error' event with no listener into the event loop; the broker reports state instead.
      client.on('error', () => undefined);
      client.connect().catch(() => undefined);
    }
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  command(args: readonly RedisArgument[]): Promise<unknown> {
    return this.client.sendCommand(args, BUFFER_REPLIES);
  }

  subscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    return sharded ? this.client.sSubscribe([...channels], this.onBuffer, true) : this.client.subscribe([...channels], this.onBuffer, true);
  }

  unsubscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    return sharded ? this.client.sUnsubscribe([...channels], this.onBuffer, true) : this.client.unsubscribe([...channels], this.onBuffer, true);
  }

  async ping(): Promise<void> {
    await this.client.sendCommand(['PING']);
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
