/**
 * The permessage-deflate codec of one connection (RFC 7692 §7.2) over node:zlib raw deflate.
 *
 * - Send: each message is deflated and sync-flushed; the flush's trailing 00 00 ff ff is removed from
 *   the last piece (§7.2.1). Receive: 00 00 ff ff is appended to the last piece before inflating
 *   (§7.2.2).
 * - Context takeover keeps one zlib stream per direction for the connection's life; without it
 *   (`*_no_context_takeover`) the stream is reset after each message when another one is already
 *   waiting, and released otherwise, so an idle connection holds no zlib state.
 * - zlib streams are created on first use, not at negotiation: a connection that never sends (or
 *   never receives) a compressed message never allocates a compressor (or decompressor).
 * - Window bits: zlib refuses a raw deflate window of 8 bits, so a negotiated 8 compresses with 9.
 *   That stays within the promise: zlib never emits a distance beyond its window minus 262 bytes, i.e.
 *   250 < 256 for 9 bits. The decompressor uses exactly the negotiated window.
 * - Received data that inflates beyond `maxPayload` fails with 1009 as soon as the output crosses the
 *   limit: the stream is destroyed there, so the rest is never inflated and at most one zlib output
 *   chunk (`chunkSize`, 16 KiB by default) beyond the limit is ever allocated. Corrupt data fails with
 *   1007. A failure ends its own direction only: that stream is released and every pending or later
 *   call in that direction gets the same error, while the other direction goes on (messages the
 *   application sent before the peer's bad message still go out, ahead of the close frame).
 * - A compressed message that ends its deflate stream (a block with BFINAL set, §7.2.3.4) is accepted;
 *   the bytes after the final block are ignored and the next message starts a fresh stream (as in `ws`).
 * - An empty message compresses to 00 (the header bits of an empty stored block, §7.2.3.6), also when
 *   it is the empty last piece of a fragmented one. A received message without any compressed byte
 *   inflates to nothing without touching zlib (the trailer alone would leave zlib inside a half-read
 *   stored block and desynchronize the next message).
 * - Callbacks run on a later tick (process.nextTick), outside zlib's stream callbacks, and not at all once
 *   close() was called, even when they were already scheduled.
 * - Every zlib operation goes through the process-wide concurrency limiter, one operation per direction
 *   at a time, so each direction completes in call order.
 */
import zlib from 'node:zlib';
import { CloseCode } from '../framing/close-codes.js';
import { ProtocolError, asProtocolError, maxPayloadError } from '../framing/protocol-error.js';
import type { ExtensionOffer } from '../handshake/token-list.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { Extension, TransformCallback } from './extension.js';

/** RFC 7692 §7.2.1: the tail of a sync flush (an empty stored block). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);
/** BFINAL 0, BTYPE 00 (stored) and padding: the start of an empty stored block. */
const EMPTY_BLOCK_HEADER = Buffer.from([0x00]);

export interface DirectionConfig {
  /** The negotiated LZ77 window, 8-15. */
  windowBits: number;
  /** A fresh context for every message. */
  noContextTakeover: boolean;
}

export interface CodecConfig {
  /** The agreed parameters, as an extension element (for introspection). */
  params: ExtensionOffer;
  /** What we compress with. */
  send: DirectionConfig;
  /** What the peer compresses with. */
  receive: DirectionConfig;
  threshold: number;
  limiter: ConcurrencyLimiter;
  /** level, memLevel, strategy, chunkSize (already validated). */
  deflateOptions: zlib.ZlibOptions;
  /** chunkSize (already validated). */
  inflateOptions: zlib.ZlibOptions;
}


interface Job {
  data: Buffer;
  fin: boolean;
  /** 0 = unlimited (decompression only). */
  maxPayload: number;
  cb: TransformCallback;
}

/** The work of one direction: jobs in call order, one running at a time, and its output so far. */
class Lane {
  private readonly jobs: Job[] = [];
  private head = 0;
  /** The running job, which holds a limiter slot. */
  current: Job | null = null;
  release: (() => void) | null = null;
  /** Submitted to the limiter and not started yet. */
  waiting = false;
  /** A zlib error or a limit ended this direction; every later job gets this error. */
  error: ProtocolError | Error | null = null;
  readonly chunks: Buffer[] = [];
  length = 0;

  get queued(): number {
    return this.jobs.length - this.head;
  }

  push(job: Job): void {
    this.jobs.push(job);
  }

  shift(): Job | undefined {
    if (this.head === this.jobs.length) return undefined;
    const job = this.jobs[this.head]!;
    this.jobs[this.head++] = undefined as unknown as Job;
    if (this.head === this.jobs.length) {
      this.jobs.length = 0;
      this.head = 0;
    }
    return job;
  }

  /** The output collected for the current job, as one buffer; resets the collection. */
  take(): Buffer {
    const { chunks, length } = this;
    const out = chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, length);
    chunks.length = 0;
    this.length = 0;
    return out;
  }

  /** Forget everything; returns the callbacks of the current and queued jobs, in order. */
  drop(): TransformCallback[] {
    const callbacks: TransformCallback[] = [];
    if (this.current !== null) {
      callbacks.push(this.current.cb);
      this.current = null;
      const release = this.release!;
      this.release = null;
      release();
    }
    for (let job = this.shift(); job !== undefined; job = this.shift()) callbacks.push(job.cb);
    this.chunks.length = 0;
    this.length = 0;
    return callbacks;
  }
}

export class PerMessageDeflateCodec implements Extension {
  readonly name = 'permessage-deflate';
  readonly rsv1 = true;
  /** The agreed parameters. */
  readonly params: ExtensionOffer;

  private closed = false;
  private readonly inbound = new Lane();
  private readonly outbound = new Lane();

  private inflater: zlib.InflateRaw | null = null;
  /** Bytes written to `inflater`; more than it consumed means its deflate stream has ended. */
  private inflaterInput = 0;
  /** Compressed and inflated bytes of the message being received. */
  private messageInput = 0;
  private messageInflated = 0;
  private deflater: zlib.DeflateRaw | null = null;

  readonly sharedCompressionKey: string | null;

  constructor(private readonly config: CodecConfig) {
    this.params = config.params;
    const o = config.deflateOptions;
    // Without context, the output depends only on these (chunkSize only cuts it into pieces).
    this.sharedCompressionKey = config.send.noContextTakeover
      ? `${deflateWindowBits(config.send.windowBits)}:${o.level ?? -1}:${o.memLevel ?? 8}:${o.strategy ?? 0}`
      : null;
  }

  /** A whole message deflated in one synchronous call, as `deflated()` ends it (§7.2.1). */
  compressShared(data: Buffer): Buffer {
    const result = zlib.deflateRawSync(data, {
      ...this.config.deflateOptions,
      windowBits: deflateWindowBits(this.config.send.windowBits),
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    if (endsWithTrailer(result)) return result.subarray(0, result.length - TRAILER.length);
    return result.length === 0 ? Buffer.from(EMPTY_BLOCK_HEADER) : result;
  }

  shouldCompress(byteLength: number): boolean {
    // As in `ws`: with context takeover even small messages gain from the shared window.
    return !this.config.send.noContextTakeover || byteLength >= this.config.threshold;
  }

  decompress(data: Buffer, fin: boolean, maxPayload: number, cb: TransformCallback): void {
    this.submit(this.inbound, { data, fin, maxPayload, cb });
  }

  compress(data: Buffer, fin: boolean, cb: TransformCallback): void {
    this.submit(this.outbound, { data, fin, maxPayload: 0, cb });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseInflater();
    this.releaseDeflater();
    this.inbound.drop();
    this.outbound.drop();
  }

  // ---- scheduling -----------------------------------------------------------------------------

  private submit(lane: Lane, job: Job): void {
    if (this.closed) return;
    if (lane.error !== null) {
      process.nextTick(PerMessageDeflateCodec.callBack, this, job.cb, lane.error);
      return;
    }
    lane.push(job);
    this.pump(lane);
  }

  /** Ask the limiter for a slot for the lane's next job, unless one is running or asked for. */
  private pump(lane: Lane): void {
    if (lane.current !== null || lane.waiting || lane.queued === 0) return;
    lane.waiting = true;
    this.config.limiter.run((release) => {
      lane.waiting = false;
      const job = !this.closed && lane.error === null ? lane.shift() : undefined;
      if (job === undefined) {
        release();
        return;
      }
      lane.current = job;
      lane.release = release;
      try {
        if (lane === this.inbound) this.inflate(job);
        else this.deflate(job);
      } catch (error) {
        // zlib could not set up a stream (out of memory): a local failure that ends this direction, with
        // its callbacks; nothing throws into whichever job's release() started this one.
        const message = error instanceof Error ? error.message : String(error);
        if (lane === this.inbound) this.fail(lane, new ProtocolError(CloseCode.InternalError, `decompression failed: ${message}`));
        else this.fail(lane, new Error(`compression failed: ${message}`));
      }
    });
  }

  /** Runs a scheduled callback unless the codec was closed since (the contract of Extension.close). */
  private static callBack(codec: PerMessageDeflateCodec, cb: TransformCallback, error: ProtocolError | Error | null, result?: Buffer): void {
    if (!codec.closed) cb(error, result);
  }

  /**
   * The current job of `lane` is done: free its slot, start the next, and call back on the next tick,
   * outside zlib's stream machinery (a throwing callback cannot corrupt it), in the same queue as the
   * failure callbacks so the order holds.
   */
  private finish(lane: Lane, job: Job, result: Buffer): void {
    lane.current = null;
    const release = lane.release!;
    lane.release = null;
    release();
    this.pump(lane);
    process.nextTick(PerMessageDeflateCodec.callBack, this, job.cb, null, result);
  }

  /** End one direction: release its stream and fail its current and queued jobs with `error`. */
  private fail(lane: Lane, error: ProtocolError | Error): void {
    if (this.closed || lane.error !== null) return;
    lane.error = error;
    if (lane === this.inbound) this.releaseInflater();
    else this.releaseDeflater();
    for (const cb of lane.drop()) process.nextTick(PerMessageDeflateCodec.callBack, this, cb, error);
  }

  // ---- receive --------------------------------------------------------------------------------

  private inflate(job: Job): void {
    if (job.data.length === 0 && (!job.fin || this.messageInput === 0)) {
      // Nothing to inflate: an empty piece, or a message without any compressed byte (a valid one has
      // at least the header bits of its last block; the trailer alone would leave zlib inside a
      // half-read stored block).
      process.nextTick(() => {
        if (this.inbound.current !== job) return;
        if (job.fin) this.messageInflated = 0;
        this.finish(this.inbound, job, EMPTY);
      });
      return;
    }
    this.messageInput += job.data.length;
    let stream = this.inflater;
    if (stream === null) {
      stream = zlib.createInflateRaw({ ...this.config.inflateOptions, windowBits: this.config.receive.windowBits });
      const s = stream;
      s.on('data', (chunk: Buffer) => this.onInflated(s, chunk));
      s.on('error', (error: Error) => this.onInflateError(s, error));
      this.inflater = stream;
      this.inflaterInput = 0;
    }
    const s = stream;
    const written = (error?: Error | null): void => {
      if (error) this.onInflateError(s, s.errored ?? error);
      else this.inflated(s, job);
    };
    if (job.fin) {
      // RFC 7692 §7.2.2: append 00 00 ff ff to the payload of the message, then inflate.
      if (job.data.length > 0) s.write(job.data);
      s.write(TRAILER, written);
      this.inflaterInput += job.data.length + TRAILER.length;
    } else {
      s.write(job.data, written);
      this.inflaterInput += job.data.length;
    }
  }

  private onInflated(stream: zlib.InflateRaw, chunk: Buffer): void {
    if (stream !== this.inflater) return;
    const job = this.inbound.current!;
    this.messageInflated += chunk.length;
    if (job.maxPayload > 0 && this.messageInflated > job.maxPayload) {
      // Checked as the bytes come out of zlib: destroying the stream here stops the inflation.
      this.fail(this.inbound, maxPayloadError());
      return;
    }
    this.inbound.chunks.push(chunk);
    this.inbound.length += chunk.length;
  }

  private onInflateError(stream: zlib.InflateRaw, error: Error): void {
    if (stream !== this.inflater) return;
    // As `ws`: zlib's own error (message, code, errno), failing the connection with 1007.
    this.fail(this.inbound, asProtocolError(error, CloseCode.InvalidPayload));
  }

  /** The pieces of `job` went through the inflater. */
  private inflated(stream: zlib.InflateRaw, job: Job): void {
    if (stream !== this.inflater || this.inbound.current !== job) return;
    const result = this.inbound.take();
    if (job.fin) {
      this.messageInput = 0;
      this.messageInflated = 0;
      // Input left unconsumed: the deflate stream ended (BFINAL); the next message needs a new one.
      if (stream.bytesWritten < this.inflaterInput) this.releaseInflater();
      else if (this.config.receive.noContextTakeover) {
        // RFC 7692 §7.2.2: the peer starts every message with an empty window.
        if (this.inbound.queued > 0) stream.reset();
        else this.releaseInflater();
      }
    }
    this.finish(this.inbound, job, result);
  }

  private releaseInflater(): void {
    const stream = this.inflater;
    if (stream === null) return;
    this.inflater = null;
    this.inflaterInput = 0;
    stream.close();
  }

  // ---- send -----------------------------------------------------------------------------------

  private deflate(job: Job): void {
    let stream = this.deflater;
    if (stream === null) {
      const bits = this.config.send.windowBits;
      stream = zlib.createDeflateRaw({
        ...this.config.deflateOptions,
        windowBits: deflateWindowBits(bits),
        // Every write ends with a sync flush, so each piece is complete on the wire.
        flush: zlib.constants.Z_SYNC_FLUSH,
      });
      const s = stream;
      s.on('data', (chunk: Buffer) => {
        if (s !== this.deflater) return;
        this.outbound.chunks.push(chunk);
        this.outbound.length += chunk.length;
      });
      s.on('error', (error: Error) => this.onDeflateError(s, error));
      this.deflater = stream;
    }
    const s = stream;
    s.write(job.data, (error?: Error | null) => {
      if (error) this.onDeflateError(s, s.errored ?? error);
      else this.deflated(s, job);
    });
  }

  private onDeflateError(stream: zlib.DeflateRaw, error: Error): void {
    if (stream !== this.deflater) return;
    this.fail(this.outbound, new Error(`compression failed: ${error.message}`));
  }

  private deflated(stream: zlib.DeflateRaw, job: Job): void {
    if (stream !== this.deflater || this.outbound.current !== job) return;
    let result = this.outbound.take();
    if (job.fin) {
      // RFC 7692 §7.2.1: remove the 00 00 ff ff the sync flush ended with, so the message ends with the
      // header bits of an empty stored block. A flush with nothing new to flush emits nothing: then
      // send those bits alone (00), which the receiver's trailer completes (§7.2.3.6).
      if (endsWithTrailer(result)) result = result.subarray(0, result.length - TRAILER.length);
      else if (result.length === 0) result = Buffer.from(EMPTY_BLOCK_HEADER);
      if (this.config.send.noContextTakeover) {
        if (this.outbound.queued > 0) stream.reset();
        else this.releaseDeflater();
      }
    }
    this.finish(this.outbound, job, result);
  }

  private releaseDeflater(): void {
    const stream = this.deflater;
    if (stream === null) return;
    this.deflater = null;
    stream.close();
  }
}

/** zlib rejects 8 for raw deflate; 9 keeps every distance within 256 bytes (see above). */
function deflateWindowBits(bits: number): number {
  return bits === 8 ? 9 : bits;
}

function endsWithTrailer(data: Buffer): boolean {
  const n = data.length;
  return n >= 4 && data[n - 4] === 0x00 && data[n - 3] === 0x00 && data[n - 2] === 0xff && data[n - 1] === 0xff;
}
