// Replaying a topic's history after a position, in bounded batches, from its Redis Stream.
import type { RecoveryResult, StreamPosition } from '../pubsub/recovery.js';
import type { RedisConnection } from './redis-connection.js';
import { READ_FROM } from './scripts.js';

/** A stream entry as Redis returns it: [id, [field, value, ...]]. */
type Entry = [Buffer, Buffer[]];

/**
 * Sends `deliver(envelope, offset)` for every publish after `since`, oldest first, reading `batch`
 * entries at a time until the end of the stream. Recovered only when the epoch is the same and
 * nothing between `since` and the first entry was trimmed or expired (then nothing is replayed).
 */
export async function replay(
  connection: RedisConnection,
  keys: readonly [string, string],
  since: StreamPosition,
  batch: number,
  deliver: (envelope: Buffer, offset: number) => void,
): Promise<RecoveryResult> {
  const [epochBytes, top, first] = (await READ_FROM.run(connection, keys, [String(since.offset + 1), String(batch)])) as [Buffer, number, Entry[]];
  const epoch = epochBytes.toString('latin1');
  if (epoch === '') return { recovered: false, position: null, replayed: 0 };
  let position: StreamPosition = { offset: Number(top), epoch };
  if (epoch !== since.epoch || since.offset > position.offset) return { recovered: false, position, replayed: 0 };
  if (since.offset === position.offset) return { recovered: true, position, replayed: 0 };
  if (first.length === 0 || offsetOf(first[0]!) !== since.offset + 1) return { recovered: false, position, replayed: 0 };
  let replayed = 0;
  let entries = first;
  for (;;) {
    let last = since.offset;
    for (const entry of entries) {
      last = offsetOf(entry);
      deliver(envelopeOf(entry), last);
      replayed++;
    }
    position = { offset: Math.max(position.offset, last), epoch };
    if (entries.length < batch) return { recovered: true, position, replayed };
    entries = (await connection.command(['XRANGE', keys[0], `${last + 1}-0`, '+', 'COUNT', String(batch)])) as Entry[];
  }
}

function offsetOf(entry: Entry): number {
  const id = entry[0].toString('latin1');
  return Number(id.slice(0, id.indexOf('-')));
}

/** The entry's 'e' field. */
function envelopeOf(entry: Entry): Buffer {
  return entry[1][1]!;
}
