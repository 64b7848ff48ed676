// The Lua scripts of the history. Reads run by EVALSHA, falling back to EVAL (which caches the
// script) when Redis answers NOSCRIPT (a restarted or flushed server). Appends always run by EVAL:
// a NOSCRIPT retry would let a later publish overtake an earlier one right after a Redis restart.
import { createHash } from 'node:crypto';
import type { RedisArgument, RedisConnection } from './redis-connection.js';

export class Script {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVAL: in order with every other command of the connection, whatever Redis has cached. */
  runInOrder(connection: RedisConnection, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown> {
    return connection.command(['EVAL', this.source, String(keys.length), ...keys, ...args]);
  }

  async run(connection: RedisConnection, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown> {
    try {
      return await connection.command(['EVALSHA', this.sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!String((error as Error)?.message).includes('NOSCRIPT')) throw error;
      return this.runInOrder(connection, keys, args);
    }
  }
}

/**
 * One atomic step: allocate the topic's next offset (starting a new epoch, and dropping any stale
 * stream, when the topic's metadata is gone), append the envelope to its stream (entry id = offset,
 * trimmed to about `size`), refresh both keys' TTL, and publish the positioned message.
 * KEYS: stream, meta. ARGV: envelope, size, ttl, channel, a fresh epoch, '1' for SPUBLISH.
 * Returns { offset, epoch }.
 */
export const APPEND = new Script(`
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'offset', 0)
end
local offset = redis.call('HINCRBY', KEYS[2], 'offset', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], offset .. '-0', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call(ARGV[6] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[4], 'H' .. offset .. ' ' .. epoch .. ' ' .. ARGV[1])
return { offset, epoch }
`);

/**
 * The topic's epoch and last offset with the first batch of entries from an offset, read together.
 * KEYS: stream, meta. ARGV: first offset, count. Returns { epoch or '', last offset, entries }.
 */
export const READ_FROM = new Script(`
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'offset')
if not meta[1] then return { '', 0, {} } end
return { meta[1], tonumber(meta[2]), redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2]) }
`);
