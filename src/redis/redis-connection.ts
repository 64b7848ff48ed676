// What the broker needs of one Redis connection, whichever client library the application uses. The
// broker never speaks RESP itself: it runs commands through the application's client (ioredis or
// node-redis), with replies in buffer mode so that envelopes stay bytes end to end.
import { IoRedisConnection, isIoRedis } from './ioredis-connection.js';
import { isNodeRedis, NodeRedisConnection } from './node-redis-connection.js';

export type RedisArgument = string | Buffer;
/** An incoming pub/sub message: its channel (UTF-8) and its bytes. */
export type MessageListener = (channel: string, message: Buffer) => void;

export interface RedisConnection {
  /** Whether commands sent now go out at once (the connection is up and ready). */
  readonly ready: boolean;
  /** One command; bulk-string replies come back as Buffers. Rejects on a Redis error or a lost connection. */
  command(args: readonly RedisArgument[]): Promise<unknown>;
  /** SUBSCRIBE (SSUBSCRIBE when sharded) to all `channels` in one command. */
  subscribe(channels: readonly string[], sharded: boolean): Promise<void>;
  unsubscribe(channels: readonly string[], sharded: boolean): Promise<void>;
  /** A round trip (PING) on this connection: resolves once every message Redis sent before the answer has been emitted. */
  ping(): Promise<void>;
  /** Messages of the subscribed channels (both kinds). */
  onMessage(listener: MessageListener): void;
  /** `up` when the connection is (again) ready, `down` when it was lost. */
  onState(up: () => void, down: () => void): void;
  /** A connection of the same client library and settings (for subscribing), connecting itself. */
  duplicate(): RedisConnection;
  /** Close the connection (only for one made by duplicate()). */
  quit(): Promise<void>;
}

/** The application's client, ioredis or node-redis. TypeError for anything else. */
export function connectionOf(client: unknown, name: string): RedisConnection {
  if (isIoRedis(client)) return new IoRedisConnection(client, false);
  if (isNodeRedis(client)) return new NodeRedisConnection(client, false);
  throw new TypeError(`The "${name}" option must be an ioredis client or a connected node-redis client`);
}
