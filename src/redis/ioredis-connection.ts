// A RedisConnection over an ioredis client: callBuffer() for commands, the 'messageBuffer' and
// 'smessageBuffer' events for pub/sub, so no payload is ever decoded as a string.
import type { MessageListener, RedisArgument, RedisConnection } from './redis-connection.js';

/** The part of an ioredis client the broker uses. */
export interface IoRedisLike {
  status: string;
  callBuffer(command: string, ...args: RedisArgument[]): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  duplicate(overrides?: object): IoRedisLike;
  quit(): Promise<unknown>;
  /** true for an ioredis `Cluster`. */
  isCluster?: boolean;
  options?: { shardedSubscribers?: boolean };
}

export function isIoRedis(client: unknown): client is IoRedisLike {
  return typeof client === 'object' && client !== null && typeof (client as IoRedisLike).callBuffer === 'function' && typeof (client as IoRedisLike).status === 'string';
}

/** An ioredis Cluster made without `shardedSubscribers: true`: its SSUBSCRIBE would reach one node only. */
export function isClusterWithoutShardedSubscribers(client: unknown): boolean {
  return isIoRedis(client) && client.isCluster === true && client.options?.shardedSubscribers !== true;
}

export class IoRedisConnection implements RedisConnection {
  constructor(
    private readonly client: IoRedisLike,
    owned: boolean,
  ) {
    // A connection the broker made reports its errors through the broker's state, not as unhandled 'error' events.
    if (owned) client.on('error', () => undefined);
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  command(args: readonly RedisArgument[]): Promise<unknown> {
    return this.client.callBuffer(args[0] as string, ...args.slice(1));
  }

  async subscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    // SSUBSCRIBE takes channels of one hash slot only (CROSSSLOT otherwise, on a cluster): one each.
    if (sharded) await Promise.all(channels.map((channel) => this.client.ssubscribe(channel)));
    else await this.client.subscribe(...channels);
  }

  async unsubscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    if (sharded) await Promise.all(channels.map((channel) => this.client.sunsubscribe(channel)));
    else await this.client.unsubscribe(...channels);
  }

  async ping(): Promise<void> {
    await this.client.callBuffer('PING');
  }

  onMessage(listener: MessageListener): void {
    const onBuffer = (channel: Buffer, message: Buffer): void => listener(channel.toString('utf8'), message);
    this.client.on('messageBuffer', onBuffer);
    this.client.on('smessageBuffer', onBuffer);
  }

  onState(up: () => void, down: () => void): void {
    this.client.on('ready', up);
    this.client.on('close', down);
  }

  duplicate(): RedisConnection {
    // The broker resubscribes itself after a reconnection (and reports the gap), in one command.
    return new IoRedisConnection(this.client.duplicate({ autoResubscribe: false }), true);
  }

  async quit(): Promise<void> {
    await this.client.quit().catch(() => undefined);
  }
}
