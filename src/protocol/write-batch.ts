// Small frames sent while one connection processes what it received (the echo of a message, the pong of
// a ping, a reply to each of the many frames of one read) are encoded side by side into one
// process-wide slab, and leave as one Buffer when that processing ends: one write per read instead of
// one per frame. Only the connection that is processing a read (or a decompressed message) batches;
// what it sends to other connections goes out at once, as always. Only one connection has frames in
// the slab at a time: should another one need it, the first one's frames are written out before, so
// every connection's bytes keep their order.
// A written batch is a view of the slab, not a copy: the slab is never written again below the end of
// the last batch, and a new slab takes over once it is full (the old one lives as long as a write that
// holds a view of it). A target whose earlier writes still wait (a peer that reads slowly) gets a copy
// instead, so that a stalled socket holds its own bytes and not a slab.
// Everything here is synchronous, so a single slab serves every connection of the thread.
import type { WriteCallback } from './connection.js';

/** Where a batch goes when it is written: the connection's transport. */
export interface BatchTarget {
  write(data: Buffer, cb?: WriteCallback): void;
  /** True while earlier writes have not all reached the system (absent: never). */
  writesWaiting?(): boolean;
}

/** Batches never exceed this (a slab's size); a frame that does not fit first writes out the batch before it. */
export const SCRATCH_SIZE = 64 * 1024;

/**
 * The slab; frames are encoded into it at the offsets `reserveBatch()` returns. It is replaced when
 * full, so read it after reserveBatch(), never before.
 */
export let batchScratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_SIZE);

let owner: BatchTarget | null = null;
/** The current batch is batchScratch[start, used); below start, the slab belongs to written batches. */
let start = 0;
let used = 0;
/** Callbacks of the frames in the batch, in order; they run once the batch is written. */
let callbacks: WriteCallback[] | null = null;

/**
 * Room for `length` more bytes (at most SCRATCH_SIZE) at the end of `target`'s batch: returns the
 * offset in `batchScratch` (read after this call) to write them at. Another target's batch is written
 * out first, and so is this one's when the slab is full.
 */
export function reserveBatch(target: BatchTarget, length: number): number {
  if (owner !== target || used + length > SCRATCH_SIZE) {
    if (owner !== null) writeBatch(owner);
    owner = target;
    if (used + length > SCRATCH_SIZE) {
      batchScratch = Buffer.allocUnsafeSlow(SCRATCH_SIZE);
      start = used = 0;
    }
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
 * Write `target`'s batch (a view of the slab, or a copy while the target's earlier writes wait) as one
 * Buffer; its callbacks run, in order, once the bytes are written. Returns false, writing nothing, when
 * target has no batch.
 */
export function writeBatch(target: BatchTarget): boolean {
  if (owner !== target) return false;
  const from = start;
  const to = used;
  const list = callbacks;
  // Cleared before the write: it may re-enter (a limit tripped by it writes a close frame).
  owner = null;
  callbacks = null;
  let bytes: Buffer;
  if (target.writesWaiting?.() === true) {
    // Not kept as a view: the slab's room is reused for the next batch.
    used = from;
    bytes = Buffer.allocUnsafe(to - from);
    batchScratch.copy(bytes, 0, from, to);
  } else {
    start = to;
    bytes = batchScratch.subarray(from, to);
  }
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
  used = start;
  callbacks = null;
  if (list !== null) process.nextTick(runAll, list, makeError());
}

/** Bytes in `target`'s batch, not yet handed to its transport. */
export function batchedBytes(target: BatchTarget): number {
  return owner === target ? used - start : 0;
}
