// Nodes for the Redis tests: each a WebSocketServer with its own Redis client(s) and RedisBroker.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { WebSocketServer } from '../../src/api/server.js';
import { RedisBroker, type RedisBrokerOptions } from '../../src/redis/index.js';
import { cleanups, startServer } from '../pubsub/helpers.js';

export type ClientKind = 'ioredis' | 'node-redis';
export const CLIENT_KINDS: ClientKind[] = ['ioredis', 'node-redis'];

const nodeRedis = (port: number) => createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: () => 20 } });
export type RedisClient = Redis | ReturnType<typeof nodeRedis>;

/** A client of either library, reconnecting quickly, closed by the test's cleanups. */
export async function redisClient(kind: ClientKind, port: number): Promise<RedisClient> {
  if (kind === 'ioredis') {
    const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 20, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    cleanups.add(() => void client.disconnect());
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    return client;
  }
  const client = nodeRedis(port);
  client.on('error', () => undefined);
  cleanups.add(() => void client.destroy());
  await client.connect();
  return client;
}

/** A plain command through a client of either library (string replies). */
export async function command(client: RedisClient, args: string[]): Promise<unknown> {
  if (client instanceof Redis) return client.call(args[0]!, ...args.slice(1));
  return client.sendCommand(args);
}

export interface Node {
  wss: WebSocketServer;
  port: number;
  broker: RedisBroker;
}

/** `ownSubscriber`: the broker gets a second client of the test's for subscribing (else it duplicates `client`). */
export async function startNode(
  kind: ClientKind,
  redisPort: number,
  options: Omit<RedisBrokerOptions, 'client' | 'subscriber'> = {},
  ownSubscriber = false,
): Promise<Node> {
  const client = await redisClient(kind, redisPort);
  const subscriber = ownSubscriber ? await redisClient(kind, redisPort) : undefined;
  const broker = new RedisBroker({ client, subscriber, debounce: 1, ...options });
  const { wss, port } = await startServer({ broker });
  return { wss, port, broker };
}
