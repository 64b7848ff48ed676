// What travels on a topic's Redis channel: the envelope as it is, or, for a topic with history, the
// envelope behind its position: 'H' <offset> ' ' <epoch> ' ' <envelope> (written by the APPEND script).
// An envelope starts with its version byte (1), never 'H', so the two cannot be confused.
import type { StreamPosition } from '../pubsub/recovery.js';

const H = 0x48;
const SPACE = 0x20;

export interface Positioned {
  envelope: Buffer;
  /** null for a topic without history. */
  position: StreamPosition | null;
}

/** null for a malformed positioned message. */
export function readPositioned(message: Buffer): Positioned | null {
  if (message[0] !== H) return { envelope: message, position: null };
  const afterOffset = message.indexOf(SPACE, 1);
  const afterEpoch = afterOffset < 0 ? -1 : message.indexOf(SPACE, afterOffset + 1);
  if (afterEpoch < 0) return null;
  const offset = Number(message.toString('latin1', 1, afterOffset));
  if (!Number.isSafeInteger(offset)) return null;
  return { envelope: message.subarray(afterEpoch + 1), position: { offset, epoch: message.toString('latin1', afterOffset + 1, afterEpoch) } };
}
