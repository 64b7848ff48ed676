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
}

export function isIoRedis(client: unknown): client is IoRedisLike {
  return typeof client === 'object' && client !== null && typeof (client as IoRedisLike).callBuffer === 'function' && typeof (client as IoRedisLike).status === 'string';
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
    await (sharded ? this.client.ssubscribe(...channels) : this.client.subscribe(...channels));
  }

  async unsubscribe(channels: readonly string[], sharded: boolean): Promise<void> {
    await (sharded ? this.client.sunsubscribe(...channels) : this.client.unsubscribe(...channels));
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
