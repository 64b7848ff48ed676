import { CloseCode } from '../framing/close-codes.js';
import { encodeClosePayload } from '../framing/close-payload.js';
import { DEFAULT_MAX_FRAGMENTS, FrameDecoder, type FrameSink } from '../framing/frame-decoder.js';
import { COPY_THRESHOLD, encodeFrame, encodeFrameInto, frameByte0, frameLength } from '../framing/frame-encoder.js';
import { Opcode } from '../framing/opcodes.js';
import { ProtocolError, invalidUtf8Error, protocolError } from '../framing/protocol-error.js';
import { isValidUtf8 } from '../framing/utf8.js';
import type { Extension } from '../extensions/extension.js';
import { cryptoMaskKeySource, type MaskKeySource } from './random-source.js';
import { addBatchCallback, batchedBytes, batchScratch, dropBatch, reserveBatch, writeBatch } from './write-batch.js';

export type Role = 'server' | 'client';

/** RFC 6455 §4.1 / WHATWG readyState values. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

export type WriteCallback = (error?: Error | null) => void;

/** What the core asks of its environment (the transport) and tells it. All calls are synchronous. */
export interface ConnectionHandler {
  /** Bytes to put on the wire, in order. `cb` runs once they are written (or failed). */
  write(data: Buffer, cb?: WriteCallback): void;
  /** A message; `fragmentEnds` as FrameSink.onMessage's (with recordFragments only). */
  onMessage(data: Buffer, isBinary: boolean, fragmentEnds?: readonly number[] | null): void;
  onPing(payload: Buffer): void;
  /**
   * An automatic pong is due: return true when the layer above sends it itself (through `cb`, as
   * `ws` does through a socket's pong() that the application may replace), false or absent for the
   * core to send it. Asked once per ping.
   */
  ownPong?(payload: Buffer, cb: WriteCallback): boolean;
  onPong(payload: Buffer): void;
  /** The peer violated the protocol; a close frame with `error.closeCode` has been queued. */
  onProtocolError(error: ProtocolError): void;
  /** We sent a close frame and now wait for the peer's: start the close timeout. */
  awaitPeerClose(): void;
  /** The WebSocket closing handshake is over (or the connection failed): half-close TCP now. */
  endTransport(): void;
  /**
   * Stop (true) or restart (false) reading from the transport: asked while an extension transforms a
   * received message, so that the messages behind it wait in the socket, not in memory.
   */
  holdReading(hold: boolean): void;
  /** Drop the transport now, without a closing handshake (a limit was hit that a close frame cannot fix). */
  abort(error: ProtocolError): void;
  /** With `deferEvents`: call `deliverDeferredEvent()` on a later turn of the event loop (setImmediate). */
  scheduleDeferredEvent?(): void;
  /** The writes held behind a compression have all been handed to `write()`. */
  onWritesFlushed(): void;
}

export interface ConnectionOptions {
  /** Max message size in bytes, 0 = unlimited. Default 100 MiB, as in `ws`. */
  maxPayload: number;
  /** Skip UTF-8 validation of received text (only for trusted peers). Default false. */
  skipUtf8Validation: boolean;
  /** Answer pings automatically with a pong carrying the same payload. Default true. */
  autoPong: boolean;
  /** Masking keys for client frames. Default: the system CSPRNG. */
  maskKeys: MaskKeySource;
  /** The extension negotiated in the opening handshake (permessage-deflate), if any. */
  extension: Extension | null;
  /** Max frames in one received message, 0 = unlimited; beyond -> 1008. Default 131072. */
  maxFragments: number;
  /**
   * Max automatic pongs queued and not yet written, 0 = unlimited; one more ping then aborts the
   * connection (a peer that pings without reading cannot grow our memory). Default 60, as in `ws`.
   */
  maxPendingAutoPongs: number;
  /**
   * Max received frames held while an earlier message is being decompressed, 0 = unlimited; beyond
   * -> 1008. Default 262144. (Reading stops during a decompression, so only frames already read in
   * the same chunk can wait.)
   */
  maxBufferedChunks: number;
  /**
   * Deliver each message, ping and pong in its own turn of the event loop, the frames behind it
   * waiting (`ws`'s allowSynchronousEvents: false). Default false.
   */
  deferEvents: boolean;
}

/** A decoder event held back while an earlier message is still being decompressed. */
interface HeldEvent {
  opcode: number;
  data: Buffer;
  ends: readonly number[] | null;
  isBinary: boolean;
  compressed: boolean;
  code: number;
  error: ProtocolError | null;
}

/** A frame write held back while an earlier message is still being compressed. */
interface HeldWrite {
  opcode: number;
  data: Buffer;
  fin: boolean;
  compress: boolean;
  cb: WriteCallback | undefined;
}

/** What waits behind a compression, a decompression or a deferred event (see Connection.holds). */
class Holds {
  /** Payload bytes of the message being compressed and of the writes held behind it. */
  heldBytes = 0;
  /** Received events held while a message is decompressed (or behind a deferred event). */
  heldEvents: HeldEvent[] | null = null;
  /** deferEvents: the event waiting for its turn (the held events are behind it), and whether it is due. */
  deferred: HeldEvent | null = null;
  deferredDue = false;
  /** The callback of the message being compressed: the transport may go before the compression ends. */
  compressingCb: WriteCallback | undefined = undefined;
  /** Writes held while a message is compressed. */
  heldWrites: HeldWrite[] | null = null;
  /** The transport is to be ended once the held writes are out. */
  endAfterWrites = false;
}

/** The code and reason of the peer's close frame. */
interface PeerClose {
  readonly code: number;
  readonly reason: Buffer;
}

/** Connection.openSend: the fragmented message being sent goes through the extension. */
const OPEN_SEND_COMPRESSED = 0x100;

export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_AUTO_PONGS = 60;
export const DEFAULT_MAX_BUFFERED_CHUNKS = 262144;
export { DEFAULT_MAX_FRAGMENTS };

/** The options a connection keeps (see Connection.settings). Never changed in place. */
interface ConnectionSettings {
  readonly maxPayload: number;
  readonly skipUtf8Validation: boolean;
  readonly maxPendingAutoPongs: number;
  readonly maxBufferedChunks: number;
  readonly autoPong: boolean;
  readonly deferEvents: boolean;
}

/** The settings objects made last (a few: one process may hold servers and clients with different ones). */
const recentSettings: ConnectionSettings[] = [];
const RECENT_SETTINGS = 8;

/** The shared settings object with these values (an idle connection keeps one field, not six). */
function connectionSettings(
  maxPayload: number,
  skipUtf8Validation: boolean,
  maxPendingAutoPongs: number,
  maxBufferedChunks: number,
  autoPong: boolean,
  deferEvents: boolean,
): ConnectionSettings {
  for (let i = 0; i < recentSettings.length; i++) {
    const s = recentSettings[i]!;
    if (
      s.maxPayload === maxPayload &&
      s.skipUtf8Validation === skipUtf8Validation &&
      s.maxPendingAutoPongs === maxPendingAutoPongs &&
      s.maxBufferedChunks === maxBufferedChunks &&
      s.autoPong === autoPong &&
      s.deferEvents === deferEvents
    ) {
      return s;
    }
  }
  const settings: ConnectionSettings = Object.freeze({ maxPayload, skipUtf8Validation, maxPendingAutoPongs, maxBufferedChunks, autoPong, deferEvents });
  if (recentSettings.unshift(settings) > RECENT_SETTINGS) recentSettings.pop();
  return settings;
}

/**
 * The sans-I/O state machine of one WebSocket connection (RFC 6455 §5-7): bytes in through
 * `receive()`, events and bytes out through the handler. The role decides the masking rules.
 */
export class Connection implements FrameSink {
  readyState: ReadyState = ReadyState.OPEN;
  closeFrameSent = false;
  /** The peer's close frame, once received (one field, not three, in every idle connection). */
  private peerClose: PeerClose | null = null;

  /** Whether the peer's close frame was received. */
  get closeFrameReceived(): boolean {
    return this.peerClose !== null;
  }
  /** The code of the peer's close frame (1005: none in it), or 1006 while none was received. */
  get closeCodeReceived(): number {
    return this.peerClose === null ? CloseCode.Abnormal : this.peerClose.code;
  }
  /** The reason of the peer's close frame; empty while none was received. */
  get closeReasonReceived(): Buffer {
    return this.peerClose === null ? EMPTY : this.peerClose.reason;
  }

  private readonly decoder: FrameDecoder;
  private readonly maskKeys: MaskKeySource | null;
  /** The options kept, in an object shared by the connections made with the same ones. */
  private readonly settings: ConnectionSettings;
  private readonly extension: Extension | null;
  /** Automatic pongs handed to the transport and not yet written. */
  private pendingAutoPongs = 0;
  /** Created with the first automatic pong: a connection that is never pinged does not pay for it. */
  private autoPongWritten: (() => void) | null = null;
  /**
   * Opcode of a message sent with fin=false and not yet finished, plus OPEN_SEND_COMPRESSED when it
   * goes through the extension; else -1.
   */
  private openSend = -1;
  /** A received message is being decompressed (or deferEvents holds one); later decoder events wait in `holds`. */
  private decompressing = false;
  /** An outgoing message is being compressed; later writes wait in `holds`. */
  private compressing = false;
  /**
   * What waits behind a compression, a decompression or a deferred event: made the first time one
   * happens (a connection without an extension and without deferEvents never has it).
   */
  private holds: Holds | null = null;
  /** Inside receive() (or a decompressed message's delivery): small frames gather in the write batch. */
  private batching = false;

  constructor(
    role: Role,
    private readonly handler: ConnectionHandler,
    options: Partial<ConnectionOptions> = {},
  ) {
    const settings = connectionSettings(
      options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      options.skipUtf8Validation ?? false,
      options.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS,
      options.maxBufferedChunks ?? DEFAULT_MAX_BUFFERED_CHUNKS,
      options.autoPong ?? true,
      options.deferEvents ?? false,
    );
    this.settings = settings;
    this.extension = options.extension ?? null;
    this.decoder = new FrameDecoder(this, {
      role,
      maxPayload: settings.maxPayload,
      maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      // RFC 6455 §5.2: RSV1 only when an extension claims it.
      allowRsv1: this.extension !== null,
      skipUtf8Validation: settings.skipUtf8Validation,
    });
    // RFC 6455 §5.1: a client masks every frame it sends, a server never does.
    this.maskKeys = role === 'client' ? (options.maskKeys ?? cryptoMaskKeySource()) : null;
  }

  /** 'client' or 'server': a client masks what it sends, and only a client has masking keys. */
  get role(): Role {
    return this.maskKeys === null ? 'server' : 'client';
  }

  /** The extension negotiated (permessage-deflate), or null. */
  get negotiatedExtension(): Extension | null {
    return this.extension;
  }

  /** A message sent with fin=false is not finished: only its continuation frames may go now. */
  get sendingFragments(): boolean {
    return this.openSend !== -1;
  }

  /** Report the frame boundaries of fragmented binary messages (binaryType 'fragments'). */
  set recordFragments(record: boolean) {
    this.decoder.recordFragments = record;
  }

  /**
   * Bytes handed to send() and not yet given to the transport: payloads waiting for a compression,
   * and the frames in this connection's write batch.
   */
  get pendingBytes(): number {
    const holds = this.holds;
    return (holds === null ? 0 : holds.heldBytes) + batchedBytes(this.handler);
  }

  /**
   * Feed bytes read from the transport. `borrowed`: the chunk is only lent for this call (a shared
   * read buffer), so whatever is kept or handed out is copied. Never throws.
   */
  receive(chunk: Buffer, borrowed = false): void {
    if (this.readyState === ReadyState.CLOSED || this.closeFrameReceived) return;
    // Frames sent while the chunk is processed leave together at its end (an exception from an
    // application handler propagates, and they still leave).
    this.batching = true;
    try {
      this.decoder.push(chunk, borrowed);
    } finally {
      this.batching = false;
      writeBatch(this.handler);
    }
  }

  /**
   * Send a data message (or one fragment of it when `fin` is false). `compress` asks the negotiated
   * extension to compress it (decided on the first fragment; small messages may still go as they are).
   */
  send(data: Buffer, isBinary: boolean, fin = true, cb?: WriteCallback, compress = false): void {
    let opcode: number;
    let compressed: boolean;
    const open = this.openSend;
    if (open === -1) {
      opcode = isBinary ? Opcode.Binary : Opcode.Text;
      const extension = this.extension;
      compressed = compress && extension !== null && (!fin || extension.shouldCompress(data.length));
      if (!fin) this.openSend = compressed ? opcode | OPEN_SEND_COMPRESSED : opcode;
    } else {
      opcode = Opcode.Continuation;
      compressed = (open & OPEN_SEND_COMPRESSED) !== 0;
      if (fin) this.openSend = -1;
    }
    this.queueFrame(opcode, data, fin, compressed, cb);
  }

  ping(payload: Buffer, cb?: WriteCallback): void {
    this.queueFrame(Opcode.Ping, payload, true, false, cb);
  }

  pong(payload: Buffer, cb?: WriteCallback): void {
    this.queueFrame(Opcode.Pong, payload, true, false, cb);
  }

  /**
   * Start (or complete) the closing handshake (RFC 6455 §7.1.2). `code` undefined sends a close
   * frame without a payload. The caller validates code and reason.
   */
  close(code?: number, reason?: string | Buffer, cb?: WriteCallback): void {
    if (this.closeFrameSent || this.readyState === ReadyState.CLOSED) {
      if (cb !== undefined) process.nextTick(cb, new Error('WebSocket is not open: a close frame was already sent'));
      return;
    }
    const payload = encodeClosePayload(code, reason); // throws on a misuse, before any state changes
    this.closeFrameSent = true;
    this.readyState = ReadyState.CLOSING;
    this.queueFrame(Opcode.Close, payload, true, false, cb);
    if (this.closeFrameReceived) {
      this.endTransport();
    } else {
      this.handler.awaitPeerClose();
    }
  }

  /**
   * The transport is gone (TCP closed or destroyed; the transport may say so as it destroys the socket,
   * and again once it has closed). Every callback still owed gets an error, on the next tick.
   */
  transportClosed(): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.readyState = ReadyState.CLOSED;
    // (The error is only built when the batch has callbacks: this runs for every connection.)
    dropBatch(this.handler, connectionClosedError);
    this.decoder.stop();
    // After close() the extension calls back no more: the message it was compressing, and the writes
    // held behind it, are failed here (with `ws`'s words).
    this.extension?.close();
    const holds = this.holds;
    if (holds === null) return;
    if (holds.heldEvents !== null) holds.heldEvents.length = 0;
    holds.heldBytes = 0;
    if (this.compressing || holds.heldWrites !== null) this.dropCompression(holds);
  }

  /** The message being compressed and the writes held behind it will never leave: fail their callbacks. */
  private dropCompression(holds: Holds): void {
    const owed: WriteCallback[] = [];
    if (this.compressing && holds.compressingCb !== undefined) owed.push(holds.compressingCb);
    this.compressing = false;
    holds.compressingCb = undefined;
    for (const write of holds.heldWrites?.splice(0) ?? []) if (write.cb !== undefined) owed.push(write.cb);
    if (owed.length > 0) process.nextTick(callEach, owed, new Error('The socket was closed while data was being compressed'));
  }

  /** Half-close TCP once every frame queued before this point is written (after a compression). */
  private endTransport(): void {
    if (this.compressing) {
      this.holds!.endAfterWrites = true;
    } else {
      writeBatch(this.handler);
      this.handler.endTransport();
    }
  }

  /** Write a frame now, or behind the message being compressed, so that frames leave in call order. */
  private queueFrame(opcode: number, data: Buffer, fin: boolean, compress: boolean, cb: WriteCallback | undefined): void {
    if (this.compressing) {
      const holds = this.holds!;
      holds.heldBytes += data.length;
      (holds.heldWrites ??= []).push({ opcode, data, fin, compress, cb });
    } else if (compress) {
      this.compressFrame(opcode, data, fin, cb);
    } else if (opcode === ENCODED) {
      this.writeEncoded(data, cb);
    } else {
      this.writeFrame(opcode, data, fin, false, cb);
    }
  }

  private compressFrame(opcode: number, data: Buffer, fin: boolean, cb: WriteCallback | undefined): void {
    if (this.readyState === ReadyState.CLOSED) {
      // The extension is closed and would never call back.
      this.compressing = false;
      if (cb !== undefined) process.nextTick(cb, connectionClosedError());
      return;
    }
    const holds = (this.holds ??= new Holds());
    this.compressing = true;
    holds.compressingCb = cb;
    holds.heldBytes += data.length;
    this.extension!.compress(data, fin, (error, result) => {
      // The transport went first: transportClosed() has failed this callback already.
      if (this.readyState === ReadyState.CLOSED) return;
      holds.compressingCb = undefined;
      holds.heldBytes -= data.length;
      if (error !== null || result === undefined) {
        this.compressing = false;
        // A local zlib failure: not the peer's doing, but the stream cannot go on.
        const failure = error ?? new Error('compression failed');
        if (cb !== undefined) cb(failure);
        holds.endAfterWrites = false;
        // What waited behind it cannot go out, except a close frame the application already asked for.
        holds.heldBytes = 0;
        for (const write of holds.heldWrites?.splice(0) ?? []) {
          if (write.opcode === Opcode.Close) this.writeFrame(write.opcode, write.data, true, false, write.cb);
          else if (write.cb !== undefined) process.nextTick(write.cb, failure);
        }
        this.fail(new ProtocolError(CloseCode.InternalError, failure.message));
        return;
      }
      // RFC 7692 §6: RSV1 marks the first frame of a compressed message only. (Still `compressing`
      // while the held writes leave: a frame queued meanwhile, such as the close frame of a limit that
      // this write trips, takes its place behind them.)
      this.writeFrame(opcode, result, fin, opcode !== Opcode.Continuation, cb);
      this.flushHeldWrites();
    });
  }

  /** Write the frames held behind a compression, in order, until one of them is compressed in turn. */
  private flushHeldWrites(): void {
    const holds = this.holds!;
    const held = holds.heldWrites;
    while (held !== null && held.length > 0) {
      const write = held.shift()!;
      holds.heldBytes -= write.data.length;
      if (write.compress) {
        this.compressFrame(write.opcode, write.data, write.fin, write.cb);
        return;
      }
      if (write.opcode === ENCODED) this.writeEncoded(write.data, write.cb);
      else this.writeFrame(write.opcode, write.data, write.fin, false, write.cb);
    }
    this.compressing = false;
    if (this.readyState === ReadyState.CLOSED) return;
    if (holds.endAfterWrites) {
      holds.endAfterWrites = false;
      writeBatch(this.handler);
      this.handler.endTransport();
    }
    this.handler.onWritesFlushed();
  }

  private writeFrame(opcode: number, payload: Buffer, fin: boolean, rsv1: boolean, cb?: WriteCallback): void {
    const maskKey = this.maskKeys === null ? null : this.maskKeys();
    const handler = this.handler;
    if (this.batching && payload.length <= COPY_THRESHOLD) {
      // Encoded straight into the batch; a callback runs once the batch is written.
      const length = frameLength(payload.length, maskKey !== null);
      const at = reserveBatch(handler, length);
      encodeFrameInto(batchScratch, at, frameByte0(opcode, fin, rsv1), payload, maskKey);
      if (cb !== undefined) addBatchCallback(handler, cb);
      return;
    }
    // Frames batched before this one go first.
    writeBatch(handler);
    const out = FRAME_OUT;
    encodeFrame(out, opcode, payload, fin, rsv1, maskKey);
    // One buffer, or a header and the payload. Taken out of `out` before writing: a write can re-enter
    // (a limit tripped by it fails the connection, which writes a close frame through here).
    const first = out[0]!;
    const second = out.length === 2 ? out[1]! : null;
    out.length = 0;
    if (second === null) {
      handler.write(first, cb);
    } else {
      handler.write(first);
      handler.write(second, cb);
    }
  }

  /**
   * Write a frame that is already encoded (a published message framed once for many connections, or
   * `Sender.frame`'s output): `frame` is its buffers, in order. It leaves in call order with the
   * frames sent before and after it (behind a compression, or in the write batch). Returns false,
   * writing nothing, while a fragmented message is being sent (a frame cannot go between its fragments),
   * or once a close frame was sent.
   */
  sendEncoded(frame: readonly Buffer[], cb?: WriteCallback): boolean {
    if (this.openSend !== -1 || this.closeFrameSent || this.readyState === ReadyState.CLOSED) return false;
    if (this.compressing) {
      const data = frame.length === 1 ? frame[0]! : Buffer.concat(frame);
      const holds = this.holds!;
      holds.heldBytes += data.length;
      (holds.heldWrites ??= []).push({ opcode: ENCODED, data, fin: true, compress: false, cb });
      return true;
    }
    if (frame.length === 1) {
      this.writeEncoded(frame[0]!, cb);
      return true;
    }
    writeBatch(this.handler);
    const last = frame.length - 1;
    for (let i = 0; i < last; i++) this.handler.write(frame[i]!);
    this.handler.write(frame[last]!, cb);
    return true;
  }

  /**
   * Whether an encoded frame handed to the transport now would leave in call order with this
   * connection's sends: open, no close frame sent, not between the fragments of a message, nothing
   * held behind a compression.
   */
  get writesEncodedNow(): boolean {
    return (
      this.openSend === -1 &&
      !this.closeFrameSent &&
      this.readyState === ReadyState.OPEN &&
      !this.compressing &&
      (this.holds === null || this.holds.heldWrites === null || this.holds.heldWrites.length === 0)
    );
  }

  /** One encoded frame: copied into the write batch when batching and small, else written after it. */
  private writeEncoded(bytes: Buffer, cb: WriteCallback | undefined): void {
    const handler = this.handler;
    if (this.batching && bytes.length <= COPY_THRESHOLD) {
      const at = reserveBatch(handler, bytes.length);
      bytes.copy(batchScratch, at);
      if (cb !== undefined) addBatchCallback(handler, cb);
      return;
    }
    writeBatch(handler);
    handler.write(bytes, cb);
  }

  // ---- FrameSink: events from the decoder -------------------------------------------------
  // While a received message is decompressed, later events wait in order behind it.

  onMessage(data: Buffer, isBinary: boolean, compressed: boolean, fragmentEnds?: readonly number[] | null): void {
    if (this.decompressing) {
      this.hold(Opcode.Binary, data, isBinary, compressed, 0, null, fragmentEnds ?? null);
    } else if (compressed) {
      this.decompress(data, isBinary);
    } else if (this.settings.deferEvents && this.defer(Opcode.Binary, data, isBinary, fragmentEnds ?? null)) {
      return;
    } else if (fragmentEnds === undefined || fragmentEnds === null) {
      this.handler.onMessage(data, isBinary);
    } else {
      this.handler.onMessage(data, isBinary, fragmentEnds);
    }
  }

  onPing(payload: Buffer): void {
    if (this.decompressing) {
      this.hold(Opcode.Ping, payload, false, false, 0, null);
      return;
    }
    if (this.settings.deferEvents && this.defer(Opcode.Ping, payload, false, null)) return;
    // RFC 6455 §5.5.2-3: answer a ping with a pong carrying the same application data,
    // unless we already sent our close frame.
    if (this.settings.autoPong && !this.closeFrameSent) {
      // A peer that pings and never reads: its pongs pile up unwritten. Drop it there, as `ws` does:
      // no 'error' (nothing the peer sent was invalid), and the ping is still reported.
      if (this.settings.maxPendingAutoPongs > 0 && this.pendingAutoPongs >= this.settings.maxPendingAutoPongs) {
        this.abort(new ProtocolError(CloseCode.PolicyViolation, `more than ${this.settings.maxPendingAutoPongs} automatic pongs waiting to be written`), false);
        this.handler.onPing(payload);
        return;
      }
      this.pendingAutoPongs++;
      const written = (this.autoPongWritten ??= () => void this.pendingAutoPongs--);
      if (this.handler.ownPong?.(payload, written) !== true) this.queueFrame(Opcode.Pong, payload, true, false, written);
    }
    this.handler.onPing(payload);
  }

  onPong(payload: Buffer): void {
    if (this.decompressing) {
      this.hold(Opcode.Pong, payload, false, false, 0, null);
      return;
    }
    if (this.settings.deferEvents && this.defer(Opcode.Pong, payload, false, null)) return;
    // RFC 6455 §5.5.3: an unsolicited pong is delivered and never answered.
    this.handler.onPong(payload);
  }

  onClose(code: number, reason: Buffer): void {
    if (this.decompressing) {
      this.hold(Opcode.Close, reason, false, false, code, null);
      return;
    }
    this.peerClose = { code, reason };
    if (this.closeFrameSent) {
      // RFC 6455 §7.1.2: both close frames exchanged; the TCP connection can go.
      this.endTransport();
    } else {
      // RFC 6455 §5.5.1: echo the status code and, as `ws` does, the reason (copied into the new
      // frame: the received one is a view of the read chunk); a close without a code is answered,
      // as `ws` does, with an empty close frame (§7.1.5: the peer then sees 1005).
      if (code === CloseCode.NoStatus) this.close();
      else this.close(code, reason);
    }
  }

  onError(error: ProtocolError): void {
    if (this.decompressing) {
      this.hold(0, EMPTY, false, false, 0, error);
      return;
    }
    this.fail(error);
  }

  /**
   * Stop everything and ask the transport to drop the connection at once, without a close frame
   * (it could not leave anyway). The error goes to onProtocolError first when `report`.
   */
  abort(error: ProtocolError, report = true): void {
    if (this.readyState === ReadyState.CLOSED) return;
    // CLOSING until the transport reports the close, as after `ws`'s terminate().
    this.readyState = ReadyState.CLOSING;
    this.decoder.stop();
    this.dropHeldEvents();
    dropBatch(this.handler, () => error);
    if (report) this.handler.onProtocolError(error);
    this.handler.abort(error);
  }

  /**
   * RFC 6455 §7.1.7: fail the connection: send a close frame with the code, then drop TCP. Used for
   * the peer's violations, and by the layers above for a policy limit (1008) or a local failure (1011).
   */
  fail(error: ProtocolError): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.decoder.stop();
    this.dropHeldEvents();
    if (!this.closeFrameSent) {
      this.closeFrameSent = true;
      this.readyState = ReadyState.CLOSING;
      this.queueFrame(Opcode.Close, encodeClosePayload(error.closeCode, undefined), true, false, undefined);
    }
    this.handler.onProtocolError(error);
    // Reading may be held behind a decompression that failed: the peer's close and FIN must get in.
    this.handler.holdReading(false);
    this.endTransport();
  }

  /** The received events waiting behind a decompression or a deferred event are dropped. */
  private dropHeldEvents(): void {
    const holds = this.holds;
    if (holds === null) return;
    if (holds.heldEvents !== null) holds.heldEvents.length = 0;
    holds.deferred = null;
  }

  private hold(
    opcode: number,
    data: Buffer,
    isBinary: boolean,
    compressed: boolean,
    code: number,
    error: ProtocolError | null,
    ends: readonly number[] | null = null,
  ): void {
    const holds = (this.holds ??= new Holds());
    if (this.settings.maxBufferedChunks > 0 && (holds.heldEvents?.length ?? 0) >= this.settings.maxBufferedChunks && error === null) {
      this.fail(protocolError(RangeError, CloseCode.PolicyViolation, 'WS_ERR_TOO_MANY_BUFFERED_PARTS', 'Too many buffered chunks', false));
      return;
    }
    (holds.heldEvents ??= []).push({ opcode, data, ends, isBinary, compressed, code, error });
  }

  /**
   * deferEvents: put this event off to a later turn (the events behind it wait, reading stops), as
   * `ws` does without allowSynchronousEvents. False when it is the deferred event, now due.
   */
  private defer(opcode: number, data: Buffer, isBinary: boolean, ends: readonly number[] | null): boolean {
    const holds = (this.holds ??= new Holds());
    if (holds.deferredDue) {
      holds.deferredDue = false;
      return false;
    }
    holds.deferred = { opcode, data, ends, isBinary, compressed: false, code: 0, error: null };
    this.decompressing = true; // (the same wait: later events are held behind this one)
    this.handler.holdReading(true);
    this.handler.scheduleDeferredEvent!();
    return true;
  }

  /** deferEvents: the deferred event's turn: deliver it, then the held events up to the next deferred one. */
  deliverDeferredEvent(): void {
    const holds = this.holds;
    const event = holds === null ? null : holds.deferred;
    if (holds !== null) holds.deferred = null;
    this.decompressing = false;
    // (None when the connection failed meanwhile: what was received after the failure is dropped.)
    if (holds === null || event === null || this.readyState === ReadyState.CLOSED) return;
    holds.deferredDue = true;
    this.batching = true;
    try {
      if (event.opcode === Opcode.Ping) this.onPing(event.data);
      else if (event.opcode === Opcode.Pong) this.onPong(event.data);
      else this.onMessage(event.data, event.isBinary, false, event.ends);
      this.releaseHeldEvents();
    } finally {
      holds.deferredDue = false;
      this.batching = false;
      writeBatch(this.handler);
    }
  }

  private decompress(data: Buffer, isBinary: boolean): void {
    this.decompressing = true;
    this.handler.holdReading(true);
    this.extension!.decompress(data, true, this.settings.maxPayload, (error, result) => {
      this.decompressing = false;
      if (this.readyState === ReadyState.CLOSED) return;
      if (error !== null || result === undefined) {
        // 1009 (too big once inflated) or 1007 (corrupt data), from the extension.
        this.fail(error instanceof ProtocolError ? error : new ProtocolError(CloseCode.InvalidPayload, String(error)));
        return;
      }
      // RFC 6455 §8.1: the inflated text must be valid UTF-8.
      if (!isBinary && !this.settings.skipUtf8Validation && !isValidUtf8(result)) {
        this.fail(invalidUtf8Error());
        return;
      }
      // What the application sends in reply, and the held events' replies, leave as one batch.
      this.batching = true;
      try {
        this.handler.onMessage(result, isBinary);
        this.releaseHeldEvents();
      } finally {
        this.batching = false;
        writeBatch(this.handler);
      }
    });
  }

  /** Replay the events that waited behind a decompression, until the next one starts. */
  private releaseHeldEvents(): void {
    const held = this.holds === null ? null : this.holds.heldEvents;
    while (held !== null && held.length > 0 && !this.decompressing && this.readyState !== ReadyState.CLOSED) {
      const event = held.shift()!;
      switch (event.opcode) {
        case Opcode.Binary:
          this.onMessage(event.data, event.isBinary, event.compressed, event.ends);
          break;
        case Opcode.Ping:
          this.onPing(event.data);
          break;
        case Opcode.Pong:
          this.onPong(event.data);
          break;
        case Opcode.Close:
          this.onClose(event.code, event.data);
          break;
        default:
          this.fail(event.error!);
      }
    }
    if (!this.decompressing) this.handler.holdReading(false);
  }
}

const EMPTY = Buffer.alloc(0);

/** The opcode of a held write whose data is a whole encoded frame (sendEncoded). */
const ENCODED = -1;

/** Where writeFrame has encodeFrame put a frame's buffers; emptied before they are written. */
const FRAME_OUT: Buffer[] = [];

function connectionClosedError(): Error {
  return new Error('WebSocket is not open: the connection closed');
}

function callEach(callbacks: readonly WriteCallback[], error: Error): void {
  for (const cb of callbacks) cb(error);
}
