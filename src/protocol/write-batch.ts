// Small frames sent while one connection processes what it received (the echo of a message, the pong of
// a ping, a reply to each of the many frames of one read) are encoded side by side into one
// process-wide scratch buffer, and leave as one Buffer when that processing ends: one allocation and one
// write per read instead of one of each per frame. Only the connection that is processing a read (or a
// decompressed message) batches; what it sends to other connections goes out at once, as always. Only
// one connection has frames in the scratch at a time: should another one need it, the first one's
// frames are written out before, so every connection's bytes keep their order.
// Everything here is synchronous, so a single scratch serves every connection of the thread.
import type { WriteCallback } from './connection.js';

/** Where a batch goes when it is written: the connection's transport. */
export interface BatchTarget {
  write(data: Buffer, cb?: WriteCallback): void;
}

/** Batches never exceed this; a frame that does not fit first writes out the batch before it. */
export const SCRATCH_SIZE = 64 * 1024;

/** The scratch itself; frames are encoded into it at the offsets `reserveBatch()` returns. */
export const batchScratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_SIZE);

let owner: BatchTarget | null = null;
let used = 0;
/** Callbacks of the frames in the batch, in order; they run once the batch is written. */
let callbacks: WriteCallback[] | null = null;

/**
 * Room for `length` more bytes (at most SCRATCH_SIZE) at the end of `target`'s batch: returns the
 * offset in `batchScratch` to write them at. Another target's batch is written out first.
 */
export function reserveBatch(target: BatchTarget, length: number): number {
  if (owner !== target || used + length > SCRATCH_SIZE) {
    if (owner !== null) writeBatch(owner);
    owner = target;
  }
  const at = used;
  used += length;
  return at;
}

/** `cb` runs once `target`'s batch (which must be current: just reserved) has been written. */
export function addBatchCallback(target: BatchTarget, cb: WriteCallback): void {
  if (owner !== target) throw new Error('addBatchCallback: not the current batch');
  (callbacks ??= []).push(cb);
}

/**
 * Write `target`'s batch (a copy of its bytes, as one Buffer) and empty the scratch; its callbacks run,
 * in order, once the bytes are written. Returns false, writing nothing, when target has no batch.
 */
export function writeBatch(target: BatchTarget): boolean {
  if (owner !== target) return false;
  const length = used;
  const list = callbacks;
  // Cleared before the write: it may re-enter (a limit tripped by it writes a close frame).
  owner = null;
  used = 0;
  callbacks = null;
  const bytes = Buffer.allocUnsafe(length);
  batchScratch.copy(bytes, 0, 0, length);
  if (list === null) target.write(bytes);
  else if (list.length === 1) target.write(bytes, list[0]);
  else target.write(bytes, (error) => runAll(list, error));
  return true;
}

function runAll(list: WriteCallback[], error?: Error | null): void {
  for (const cb of list) cb(error);
}

/**
 * Forget `target`'s batch without writing it (its transport is gone). Its callbacks get the error
 * `makeError` builds (only then), on the next tick, as a write to a closed socket would give them.
 */
export function dropBatch(target: BatchTarget, makeError: () => Error): void {
  if (owner !== target) return;
  const list = callbacks;
  owner = null;
  used = 0;
  callbacks = null;
  if (list !== null) process.nextTick(runAll, list, makeError());
}

/** Bytes in `target`'s batch, not yet handed to its transport. */
export function batchedBytes(target: BatchTarget): number {
  return owner === target ? used : 0;
}
