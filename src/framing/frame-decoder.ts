// RFC 6455 §5: a streaming frame parser. Bytes come in split at any position; complete messages,
// control frames and the first protocol violation go out to a sink. All state lives in plain fields
// of one object. Payloads are unmasked in place inside the chunk; a message whose single frame lies
// inside one chunk is delivered as a view of that chunk, unless the chunk is only lent (a shared read
// buffer), in which case everything that leaves the decoder or stays in it is copied out first.
import { constants as bufferConstants } from 'node:buffer';
import { IN_KERNEL_SIMD_THRESHOLD, unmask, unmaskInto } from '../masking/mask.js';
import { CloseCode } from './close-codes.js';
import { parseClosePayload } from './close-payload.js';
import { Opcode } from './opcodes.js';
import { ProtocolError, frameError, invalidUtf8Error, maxPayloadError, protocolError } from './protocol-error.js';
import { Utf8Validator, isValidUtf8 } from './utf8.js';

export interface FrameDecoderOptions {
  /** server: every frame must be masked; client: no frame may be masked (RFC 6455 §5.1). Default 'server'. */
  role: 'server' | 'client';
  /**
   * Max message size in bytes (sum of its frames, as received: compressed size when RSV1 is set);
   * 0 = unlimited (up to the largest Buffer). Default 100 MiB (104857600). Exceeded -> 1009,
   * detected from the frame header before the payload is buffered.
   */
  maxPayload: number;
  /** RSV1 allowed on the first frame of a data message (permessage-deflate negotiated). Default false. */
  allowRsv1: boolean;
  /** Deliver text messages without checking their UTF-8. Default false. */
  skipUtf8Validation: boolean;
  /**
   * Max frames in one data message; 0 = unlimited. Default 131072 (DEFAULT_MAX_FRAGMENTS). Exceeded
   * -> 1008, at the header of the frame over the limit.
   */
  maxFragments: number;
}

export interface FrameSink {
  /**
   * A complete data message. compressed = RSV1 was set on its first frame (then data is the raw
   * compressed payload and is NOT UTF-8 checked; an extension inflates it). With `recordFragments`,
   * a binary uncompressed message of several frames also gets `fragmentEnds`: the offset in `data`
   * where each frame but the last ends.
   */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean, fragmentEnds?: readonly number[] | null): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** A valid close frame (code 1005 when the payload was empty). After this the decoder ignores all further input. */
  onClose(code: number, reason: Buffer): void;
  /** The first protocol violation. After this the decoder ignores all further input. */
  onError(error: ProtocolError): void;
}

export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/**
 * Twice what Autobahn 9.3.1 needs (4 MiB in 64-byte frames = 65536), so every conformance case
 * passes, while a million tiny fragments are still cut off. (`ws` 8.23 uses 16384.)
 */
export const DEFAULT_MAX_FRAGMENTS = 131072;

/**
 * A message of one frame up to this size that spans chunks is written straight into a buffer of its
 * exact size. A larger one is gathered as pieces until half of it has arrived, then moved into its
 * exact buffer (a declared length alone never allocates more than twice the bytes received).
 * Fragmented messages are gathered as pieces and joined once at the end.
 */
const DIRECT_MAX = 64 * 1024;
/** A piece at least this long, and at least half of its chunk, is kept as a view of the chunk. */
const MIN_VIEW_PIECE = 2048;
/** Smaller pieces are copied into shared tail buffers of this size (larger ones get their own). */
const TAIL_SIZE = 16 * 1024;
/** Copies shorter than this take a byte loop instead of a native call. */
const SMALL_COPY = 32;
/**
 * Below this many bytes a masked message in a lent chunk is unmasked while copied out (one byte loop);
 * from it on it is unmasked in place first, where the read area's SIMD kernel runs, then copied.
 */
const FUSED_COPY_MAX = IN_KERNEL_SIMD_THRESHOLD;
/** RFC 6455 §5.5: control frame payloads are at most 125 bytes. */
const MAX_CONTROL_PAYLOAD = 125;
/** The high 32 bits of the largest 64-bit length below 2^53 (Number.MAX_SAFE_INTEGER). */
const MAX_SAFE_HIGH = 0x1fffff;
/** 2 bytes + 8 bytes of extended length + 4 bytes of masking key (RFC 6455 §5.2). */
const MAX_HEADER = 14;

// Decoder states.
/** Reading a frame header (possibly gathered across chunks in the header scratch). */
const HEADER = 0;
/** Reading the payload of the current frame. */
const PAYLOAD = 1;
/** Closed, failed or stopped: all input is ignored. */
const DONE = 2;

const EMPTY = Buffer.alloc(0);
/** A piece whose bytes are already unmasked (see FrameDecoder.pieceMasks). */
const NOT_MASKED = -1;
/** A deferred mask is kept as one number: maskKey + keyIndex * KEY_INDEX_UNIT. */
const KEY_INDEX_UNIT = 0x100000000;

/**
 * A decoder's settings, in one object shared by the decoders made with the same ones (as every
 * connection of a server is): five fields fewer in each idle connection. Never changed in place.
 */
interface DecoderSettings {
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly allowRsv1: boolean;
  readonly skipUtf8Validation: boolean;
  readonly requireMask: boolean;
  readonly recordFragments: boolean;
}

/** The settings objects made last (a few: one process may run servers and clients with different ones). */
const recentSettings: DecoderSettings[] = [];
const RECENT_SETTINGS = 8;

function decoderSettings(
  maxPayload: number,
  maxFragments: number,
  allowRsv1: boolean,
  skipUtf8Validation: boolean,
  requireMask: boolean,
  recordFragments = false,
): DecoderSettings {
  for (let i = 0; i < recentSettings.length; i++) {
    const s = recentSettings[i]!;
    if (
      s.maxPayload === maxPayload &&
      s.maxFragments === maxFragments &&
      s.allowRsv1 === allowRsv1 &&
      s.skipUtf8Validation === skipUtf8Validation &&
      s.requireMask === requireMask &&
      s.recordFragments === recordFragments
    ) {
      return s;
    }
  }
  const settings: DecoderSettings = Object.freeze({ maxPayload, maxFragments, allowRsv1, skipUtf8Validation, requireMask, recordFragments });
  if (recentSettings.unshift(settings) > RECENT_SETTINGS) recentSettings.pop();
  return settings;
}

/** A decoder's state for bytes that span chunks or frames (see FrameDecoder.spill). */
class Spill {
  // A header split across chunks is gathered here.
  header: Buffer | null = null;
  headerNeed = 2;
  // A control frame payload split across chunks is gathered here.
  control: Buffer | null = null;
  /** With recordFragments: where each finished frame of the message ends in the joined bytes. */
  fragmentEnds: number[] | null = null;
  /**
   * A one-frame message that spans chunks: its exact-size buffer, from its first bytes when it is at
   * most DIRECT_MAX bytes, else from when half of it has arrived (before that it is gathered as pieces).
   */
  joined: Buffer | null = null;
  /** Bytes of the current message gathered so far (in `joined`, or in `pieces` and the open tail). */
  joinedLength = 0;
  /**
   * Any other message that spans frames or chunks: its bytes in order (see pieceMasks), joined once
   * when it ends. Memory follows bytes, not piece count: a view is kept only of a piece of at least
   * MIN_VIEW_PIECE bytes that is at least half of its chunk's memory (so a kept chunk is at most
   * twice what it brings), other pieces are copied, the small ones into shared tail buffers.
   */
  pieces: Buffer[] | null = null;
  /**
   * Per piece: NOT_MASKED, or the masking still to undo (maskKey + keyIndex * 2^32) for a view of a
   * binary message's chunk, unmasked only while it is copied into the joined message (one pass).
   */
  pieceMasks: number[] | null = null;
  /** The tail buffer small pieces are copied into; bytes [tailStart, tailUsed) are not in `pieces` yet. */
  tail: Buffer | null = null;
  tailStart = 0;
  tailUsed = 0;
  /** For text split across frames or chunks; created with the first such message. */
  utf8: Utf8Validator | null = null;
}

export class FrameDecoder {
  private settings: DecoderSettings;

  get maxPayload(): number {
    return this.settings.maxPayload;
  }
  set maxPayload(value: number) {
    const s = this.settings;
    this.settings = decoderSettings(value, s.maxFragments, s.allowRsv1, s.skipUtf8Validation, s.requireMask, s.recordFragments);
  }
  get maxFragments(): number {
    return this.settings.maxFragments;
  }
  set maxFragments(value: number) {
    const s = this.settings;
    this.settings = decoderSettings(s.maxPayload, value, s.allowRsv1, s.skipUtf8Validation, s.requireMask, s.recordFragments);
  }
  get allowRsv1(): boolean {
    return this.settings.allowRsv1;
  }
  set allowRsv1(value: boolean) {
    const s = this.settings;
    this.settings = decoderSettings(s.maxPayload, s.maxFragments, value, s.skipUtf8Validation, s.requireMask, s.recordFragments);
  }
  get skipUtf8Validation(): boolean {
    return this.settings.skipUtf8Validation;
  }
  set skipUtf8Validation(value: boolean) {
    const s = this.settings;
    this.settings = decoderSettings(s.maxPayload, s.maxFragments, s.allowRsv1, value, s.requireMask, s.recordFragments);
  }

  /** Report where the frames of a fragmented binary message end (binaryType 'fragments'). */
  get recordFragments(): boolean {
    return this.settings.recordFragments;
  }
  set recordFragments(value: boolean) {
    const s = this.settings;
    this.settings = decoderSettings(s.maxPayload, s.maxFragments, s.allowRsv1, s.skipUtf8Validation, s.requireMask, value);
  }

  private readonly sink: FrameSink;
  private state = HEADER;

  /** Header bytes gathered so far when a header is split across chunks (the bytes are in spill.header). */
  private headerHave = 0;

  // The current frame.
  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private masked = false;
  private maskKey = 0;
  private payloadLength = 0;
  private payloadRead = 0;

  // The current data message (messageOpcode 0 = none open).
  private messageOpcode = 0;
  private messageCompressed = false;
  private messageValidate = false;
  /** Declared bytes of the message so far, including the whole current frame. */
  private messageLength = 0;
  /** Frames of the message so far, including the current one. */
  private messageFragments = 0;
  /**
   * What only a header, control frame or message that spans frames or chunks needs: created the first
   * time one comes (a connection that only ever gets whole frames in one read, or none, never has it).
   */
  private spill: Spill | null = null;
  /** The chunk being processed is only lent for the duration of push(): nothing may keep a view of it. */
  private borrowed = false;

  constructor(sink: FrameSink, options?: Partial<FrameDecoderOptions>) {
    this.sink = sink;
    const role = options?.role ?? 'server';
    if (role !== 'server' && role !== 'client') throw new TypeError(`invalid role: ${String(role)}`);
    const maxPayload = options?.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (!(maxPayload >= 0)) throw new RangeError(`invalid maxPayload: ${String(maxPayload)}`);
    const maxFragments = options?.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    if (!(maxFragments >= 0)) throw new RangeError(`invalid maxFragments: ${String(maxFragments)}`);
    this.settings = decoderSettings(maxPayload, maxFragments, options?.allowRsv1 ?? false, options?.skipUtf8Validation ?? false, role === 'server');
  }

  /**
   * Feed bytes split at any position. Every complete frame in the chunk is processed in one loop.
   * Never throws for any input: a violation becomes onError. If a sink callback throws (the
   * application's own bug), the decoder stops, reports onError(1011) with the exception as `cause`
   * so that the peer gets a close frame, and rethrows the exception to the caller: an application
   * error is never swallowed. Unmasks IN PLACE inside `chunk`: the chunk belongs to the decoder after push.
   * When `borrowed` is false views of it are handed to the sink and kept; when true (a buffer the
   * caller reuses after push returns) every byte handed out or kept is a copy.
   */
  push(chunk: Buffer, borrowed = false): void {
    if (this.state === DONE) return;
    this.borrowed = borrowed;
    try {
      this.run(chunk);
    } catch (err) {
      if (this.state === DONE) throw err;
      const error = new ProtocolError(
        CloseCode.InternalError,
        `frame sink failed: ${err instanceof Error ? err.message : String(err)}`,
        'WS_ERR_INTERNAL_ERROR',
      );
      error.cause = err;
      this.finish();
      this.sink.onError(error);
      throw err;
    }
  }

  /** Stop processing: the rest of the current chunk and all later input are ignored. */
  stop(): void {
    this.finish();
  }

  private run(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end && this.state !== DONE) {
      if (this.state === HEADER) {
        if (this.headerHave === 0 && end - pos >= 2) {
          // The usual case: the header starts in this chunk.
          const need = this.startFrame(chunk[pos]!, chunk[pos + 1]!);
          if (need === 0) return;
          if (end - pos < need) {
            const spill = (this.spill ??= new Spill());
            chunk.copy((spill.header ??= Buffer.allocUnsafe(MAX_HEADER)), 0, pos, end);
            this.headerHave = end - pos;
            spill.headerNeed = need;
            return;
          }
          if (!this.readHeader(chunk, pos)) return;
          pos += need;
        } else {
          // A header split across chunks: gather it in the scratch.
          const spill = (this.spill ??= new Spill());
          const target = this.headerHave < 2 ? 2 : spill.headerNeed;
          let n = target - this.headerHave;
          if (n > end - pos) n = end - pos;
          const header = (spill.header ??= Buffer.allocUnsafe(MAX_HEADER));
          for (let i = 0; i < n; i++) header[this.headerHave + i] = chunk[pos + i]!;
          this.headerHave += n;
          pos += n;
          if (this.headerHave < target) return;
          if (target === 2) {
            const need = this.startFrame(header[0]!, header[1]!);
            if (need === 0) return;
            spill.headerNeed = need;
            if (need > 2) continue;
          }
          this.headerHave = 0;
          if (!this.readHeader(header, 0)) return;
        }
        if (this.payloadLength === 0) this.endEmptyFrame();
        continue;
      }

      // PAYLOAD
      const remaining = this.payloadLength - this.payloadRead;
      const available = end - pos;
      if (this.opcode >= Opcode.Close) {
        if (this.payloadRead === 0 && available >= remaining) {
          const stop = pos + remaining;
          if (this.masked) unmask(chunk, pos, stop, this.maskKey, 0);
          const payload = this.borrowed ? copyOut(chunk, pos, stop) : chunk.subarray(pos, stop);
          pos = stop;
          this.endControlFrame(payload);
        } else {
          const n = remaining < available ? remaining : available;
          if (this.masked) unmask(chunk, pos, pos + n, this.maskKey, this.payloadRead & 3);
          const spill = (this.spill ??= new Spill());
          const control = (spill.control ??= Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD));
          for (let i = 0; i < n; i++) control[this.payloadRead + i] = chunk[pos + i]!;
          this.payloadRead += n;
          pos += n;
          if (this.payloadRead === this.payloadLength) {
            // The sink may keep the payload: hand it a copy, not the scratch.
            const payload = Buffer.allocUnsafe(this.payloadLength);
            control.copy(payload, 0, 0, this.payloadLength);
            this.endControlFrame(payload);
          }
        }
        continue;
      }

      if (this.payloadRead === 0 && available >= remaining && this.fin && this.opcode !== Opcode.Continuation) {
        // A message of one frame inside this chunk: zero copy (one when the chunk is lent).
        const stop = pos + remaining;
        let data: Buffer;
        if (this.borrowed && this.masked && remaining < FUSED_COPY_MAX) {
          // A small one from a lent chunk: unmasked while it is copied out, in one pass. (Kept inline:
          // as a method shared with the control-frame path, 16 B 100×16 measured 1-3% slower.)
          data = Buffer.allocUnsafe(remaining);
          unmaskInto(chunk, pos, stop, this.maskKey, 0, data, 0);
        } else {
          if (this.masked) unmask(chunk, pos, stop, this.maskKey, 0);
          data = this.borrowed ? copyOut(chunk, pos, stop) : chunk.subarray(pos, stop);
        }
        pos = stop;
        // RFC 6455 §8.1: a text message must be valid UTF-8, else 1007.
        if (this.messageValidate && !isValidUtf8(data)) {
          this.fail(invalidUtf8Error());
          return;
        }
        this.deliver(data);
        continue;
      }

      const n = remaining < available ? remaining : available;
      const stop = pos + n;
      if (n > 0 && !this.collect(chunk, pos, stop)) return;
      this.payloadRead += n;
      pos = stop;
      if (this.payloadRead === this.payloadLength) this.endDataFrame();
    }
  }

  /**
   * Check the first two header bytes; returns the full header length (2..14), or 0 after
   * reporting a violation.
   */
  private startFrame(b0: number, b1: number): number {
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    // The checks run in `ws`'s order, so that a frame breaking several rules gets `ws`'s error.
    // RFC 6455 §5.2: RSV2 and RSV3 must be 0 (no negotiated extension defines them).
    if ((b0 & 0x30) !== 0) return this.fail(frameError('WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear'));
    // RFC 6455 §5.2: RSV1 only with an extension that defines it.
    if (rsv1 && !this.settings.allowRsv1) return this.fail(frameError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear'));
    switch (opcode) {
      case Opcode.Continuation:
        // RFC 7692 §6 (RFC 6455 §5.2): RSV1 marks the first frame of a message only.
        if (rsv1) return this.fail(frameError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear'));
        // RFC 6455 §5.4: a continuation frame continues an open fragmented message.
        if (this.messageOpcode === 0) return this.fail(frameError('WS_ERR_INVALID_OPCODE', 'invalid opcode 0'));
        break;
      case Opcode.Text:
      case Opcode.Binary:
        // RFC 6455 §5.4: fragments of different messages must not interleave.
        if (this.messageOpcode !== 0) return this.fail(frameError('WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`));
        break;
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        // RFC 6455 §5.5: control frames must not be fragmented.
        if (!fin) return this.fail(frameError('WS_ERR_EXPECTED_FIN', 'FIN must be set'));
        // RFC 7692 §6 (RFC 6455 §5.2): RSV1 is never set on a control frame.
        if (rsv1) return this.fail(frameError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear'));
        // RFC 6455 §5.5: control frame payloads are at most 125 bytes; §5.5.1: a close body of one
        // byte cannot hold its 2-byte code.
        if (length7 > MAX_CONTROL_PAYLOAD || (length7 === 1 && opcode === Opcode.Close)) {
          return this.fail(frameError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `invalid payload length ${length7}`));
        }
        break;
      default:
        // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
        return this.fail(frameError('WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`));
    }
    // RFC 6455 §5.1: a client masks every frame; a server masks none.
    if (masked !== this.settings.requireMask) {
      return this.fail(masked ? frameError('WS_ERR_UNEXPECTED_MASK', 'MASK must be clear') : frameError('WS_ERR_EXPECTED_MASK', 'MASK must be set'));
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.masked = masked;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  /** Read the length and masking key of a header checked by startFrame; false after a violation. */
  private readHeader(buf: Buffer, offset: number): boolean {
    const length7 = buf[offset + 1]! & 0x7f;
    let p = offset + 2;
    let length = length7;
    if (length7 === 126) {
      length = (buf[p]! << 8) | buf[p + 1]!;
      p += 2;
    } else if (length7 === 127) {
      const high = readUint32(buf, p);
      if (high > MAX_SAFE_HIGH) {
        // A length JavaScript cannot hold exactly: `ws`'s error, and its close code 1009, except that
        // RFC 6455 §5.2 makes a length with the most significant bit set a framing violation (1002).
        this.fail(
          protocolError(
            RangeError,
            high >= 0x80000000 ? CloseCode.ProtocolError : CloseCode.MessageTooBig,
            'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
            'Unsupported WebSocket frame: payload length > 2^53 - 1',
            false,
          ),
        );
        return false;
      }
      length = high * 0x100000000 + readUint32(buf, p + 4);
      p += 8;
    }
    if (this.opcode < Opcode.Close) {
      const messageLength = this.opcode === Opcode.Continuation ? this.messageLength + length : length;
      // RFC 6455 §7.4.1: a message too big to process -> 1009, before its payload is buffered.
      if (messageLength > this.messageLimit()) {
        this.fail(maxPayloadError());
        return false;
      }
      if (this.opcode === Opcode.Continuation) {
        // A policy limit (RFC 6455 §7.4.1, 1008): fragment count, whatever their size.
        if (++this.messageFragments > this.settings.maxFragments && this.settings.maxFragments > 0) {
          this.fail(protocolError(RangeError, CloseCode.PolicyViolation, 'WS_ERR_TOO_MANY_BUFFERED_PARTS', 'Too many message fragments', false));
          return false;
        }
      } else {
        this.messageFragments = 1;
        this.messageOpcode = this.opcode;
        this.messageCompressed = this.rsv1;
        this.messageValidate = this.opcode === Opcode.Text && !this.rsv1 && !this.settings.skipUtf8Validation;
      }
      this.messageLength = messageLength;
    }
    this.maskKey = this.masked ? readUint32(buf, p) : 0;
    this.payloadLength = length;
    this.payloadRead = 0;
    this.state = PAYLOAD;
    return true;
  }

  /** The largest message accepted: maxPayload, or the largest Buffer when 0 (unlimited). */
  private messageLimit(): number {
    const max = this.settings.maxPayload;
    return max > 0 && max < bufferConstants.MAX_LENGTH ? max : bufferConstants.MAX_LENGTH;
  }

  /** A frame with an empty payload has just been read. */
  private endEmptyFrame(): void {
    if (this.opcode >= Opcode.Close) this.endControlFrame(EMPTY);
    else this.endDataFrame();
  }

  /** The last payload byte of a data frame was read (or the frame was empty). */
  private endDataFrame(): void {
    this.state = HEADER;
    const spill = this.spill;
    if (!this.fin) {
      if (this.settings.recordFragments && this.messageOpcode === Opcode.Binary && !this.messageCompressed && spill !== null && spill.joinedLength > 0) {
        // Frames that carried no byte make no piece (as in `ws`).
        const ends = (spill.fragmentEnds ??= []);
        if (ends.length === 0 || ends[ends.length - 1]! < spill.joinedLength) ends.push(spill.joinedLength);
      }
      return;
    }
    let data: Buffer = EMPTY;
    if (spill !== null) {
      // RFC 6455 §8.1: a text message must end on a code point boundary, else 1007.
      if (this.messageValidate && spill.utf8 !== null && !spill.utf8.finish()) {
        this.fail(invalidUtf8Error());
        return;
      }
      if (spill.joined !== null) {
        data = spill.joined;
        spill.joined = null;
      } else if (spill.joinedLength > 0) {
        data = this.joinPieces(spill);
      }
      spill.joinedLength = 0;
    }
    this.deliver(data);
  }

  /** The gathered pieces as one buffer (the piece itself when there is only one), state cleared. */
  private joinPieces(spill: Spill): Buffer {
    sealTail(spill);
    const pieces = spill.pieces!;
    // One piece that is a view of a chunk or a copy of its own is the message as it is; bytes in a
    // tail are copied out, so that a small message never holds (or shows) a whole tail buffer.
    if (pieces.length === 1 && pieces[0]!.buffer !== spill.tail?.buffer) {
      const only = pieces[0]!;
      const mask = spill.pieceMasks![0]!;
      clearPieces(spill);
      if (mask !== NOT_MASKED) unmask(only, 0, only.length, mask % KEY_INDEX_UNIT, Math.floor(mask / KEY_INDEX_UNIT));
      return only;
    }
    const data = Buffer.allocUnsafe(spill.joinedLength);
    movePiecesInto(spill, data);
    return data;
  }

  /** Hand a complete message to the sink and close the message state. */
  private deliver(data: Buffer): void {
    const isBinary = this.messageOpcode === Opcode.Binary;
    const compressed = this.messageCompressed;
    this.state = HEADER;
    this.messageOpcode = 0;
    this.messageLength = 0;
    this.messageFragments = 0;
    const spill = this.spill;
    const ends = spill === null ? null : spill.fragmentEnds;
    if (ends === null) {
      this.sink.onMessage(data, isBinary, compressed);
    } else {
      spill!.fragmentEnds = null;
      this.sink.onMessage(data, isBinary, compressed, ends);
    }
  }

  private endControlFrame(payload: Buffer): void {
    this.state = HEADER;
    if (this.opcode === Opcode.Ping) {
      this.sink.onPing(payload);
    } else if (this.opcode === Opcode.Pong) {
      this.sink.onPong(payload);
    } else {
      // RFC 6455 §5.5.1: close payload rules (code validity 1002, reason UTF-8 1007).
      const close = parseClosePayload(payload);
      if (close instanceof ProtocolError) {
        this.finish();
        this.sink.onError(close);
        return;
      }
      this.finish();
      this.sink.onClose(close.code, close.reason);
    }
  }

  /**
   * Take chunk[start, stop) of the current data frame's payload (start < stop) into the message being
   * joined, unmasked, and check its UTF-8 there; false after a violation.
   */
  private collect(chunk: Buffer, start: number, stop: number): boolean {
    const n = stop - start;
    const spill = (this.spill ??= new Spill());
    const from = spill.joinedLength;
    let into: Buffer;
    let at: number;
    if (spill.joined === null && this.fin && this.messageFragments === 1 && (from === 0 ? this.payloadLength <= DIRECT_MAX : (from + n) * 2 >= this.payloadLength)) {
      // A one-frame message of known size: its exact buffer, written once. A large one only once half
      // of it is here (memory stays within twice the bytes received); what was gathered before moves in.
      const joined = Buffer.allocUnsafe(this.payloadLength);
      if (from > 0) movePiecesInto(spill, joined);
      spill.joined = joined;
    }
    if (spill.joined !== null) {
      into = spill.joined;
      at = from;
      this.copyPayload(chunk, start, stop, into, at);
    } else if (!this.borrowed && n >= MIN_VIEW_PIECE && n * 2 >= chunk.buffer.byteLength) {
      // Kept as a view of the chunk (it belongs to the decoder). Text is unmasked in place now, to
      // check its UTF-8; other bytes are unmasked while they are joined.
      sealTail(spill);
      let mask = NOT_MASKED;
      if (this.masked) {
        if (this.messageValidate) unmask(chunk, start, stop, this.maskKey, this.payloadRead & 3);
        else mask = this.maskKey + (this.payloadRead & 3) * KEY_INDEX_UNIT;
      }
      addPiece(spill, chunk.subarray(start, stop), mask);
      into = chunk;
      at = start;
    } else if (n > TAIL_SIZE / 2) {
      sealTail(spill);
      into = Buffer.allocUnsafe(n);
      at = 0;
      this.copyPayload(chunk, start, stop, into, at);
      addPiece(spill, into, NOT_MASKED);
    } else {
      if (spill.tail === null || spill.tail.length - spill.tailUsed < n) {
        sealTail(spill);
        spill.tail = Buffer.allocUnsafe(TAIL_SIZE);
        spill.tailStart = spill.tailUsed = 0;
      }
      into = spill.tail;
      at = spill.tailUsed;
      this.copyPayload(chunk, start, stop, into, at);
      spill.tailUsed += n;
    }
    spill.joinedLength = from + n;
    // RFC 6455 §8.1: fail fast on invalid UTF-8 in the bytes received so far, else 1007.
    if (this.messageValidate && !(spill.utf8 ??= new Utf8Validator()).feed(into, at, at + n)) {
      this.fail(invalidUtf8Error());
      return false;
    }
    return true;
  }

  /**
   * chunk[start, stop) of the current frame's payload, unmasked, to dst at `at`. A chunk of our own is
   * left as it is (views of it may be kept); a lent one is unmasked in place first, since in the read
   * area that costs no copy.
   */
  private copyPayload(chunk: Buffer, start: number, stop: number, dst: Buffer, at: number): void {
    if (this.masked && !this.borrowed) {
      unmaskInto(chunk, start, stop, this.maskKey, this.payloadRead & 3, dst, at);
      return;
    }
    if (this.masked) unmask(chunk, start, stop, this.maskKey, this.payloadRead & 3);
    copyBytes(chunk, start, stop, dst, at);
  }

  /** Report the first violation and stop. Returns 0 so header checks can `return this.fail(...)`. */
  private fail(error: ProtocolError): 0 {
    this.finish();
    this.sink.onError(error);
    return 0;
  }

  private finish(): void {
    this.state = DONE;
    const spill = this.spill;
    if (spill !== null) {
      spill.fragmentEnds = null;
      spill.joined = null;
      spill.joinedLength = 0;
      clearPieces(spill);
    }
  }
}

/** Copy the gathered pieces in order to the start of `data`, unmasking the deferred ones; pieces cleared. */
function movePiecesInto(spill: Spill, data: Buffer): void {
  sealTail(spill);
  const pieces = spill.pieces!;
  const masks = spill.pieceMasks!;
  clearPieces(spill);
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const mask = masks[i]!;
    if (mask === NOT_MASKED) piece.copy(data, at);
    else unmaskInto(piece, 0, piece.length, mask % KEY_INDEX_UNIT, Math.floor(mask / KEY_INDEX_UNIT), data, at);
    at += piece.length;
  }
}

function clearPieces(spill: Spill): void {
  spill.pieces = spill.pieceMasks = null;
  spill.tail = null;
  spill.tailStart = spill.tailUsed = 0;
}

/** The bytes copied into the tail since the last piece become a piece, so that the order holds. */
function sealTail(spill: Spill): void {
  if (spill.tailUsed === spill.tailStart) return;
  addPiece(spill, spill.tail!.subarray(spill.tailStart, spill.tailUsed), NOT_MASKED);
  spill.tailStart = spill.tailUsed;
}

function addPiece(spill: Spill, piece: Buffer, mask: number): void {
  (spill.pieces ??= []).push(piece);
  (spill.pieceMasks ??= []).push(mask);
}

/** chunk[start, stop) to dst at `at`: a byte loop for short spans, a native copy for the rest. */
function copyBytes(chunk: Buffer, start: number, stop: number, dst: Buffer, at: number): void {
  if (stop - start < SMALL_COPY) {
    const base = at - start;
    for (let i = start; i < stop; i++) dst[base + i] = chunk[i]!;
  } else {
    chunk.copy(dst, at, start, stop);
  }
}

/**
 * Messages from SLAB_MIN to SLAB_MAX bytes copied out of a lent chunk share slabs of SLAB_SIZE (see
 * messageBuffer); smaller ones take Node's pool, where dozens already share an 8 KiB pool.
 */
const SLAB_MIN = 256;
const SLAB_MAX = 4096;
const SLAB_SIZE = 64 * 1024;
let slab: Buffer = EMPTY;
let slabUsed = 0;

/**
 * Memory for a message of `length` bytes copied out of the shared read area. Those of SLAB_MIN to
 * SLAB_MAX bytes are carved from a 64 KiB slab (8-byte aligned, as Node's 8 KiB Buffer pool does, so
 * that typed-array views of a message line up): one allocation per dozens of 1 KiB messages instead of
 * one per eight (1 KiB echo 100x4: +2-4%). A message the application keeps holds its slab, as a
 * message of `ws` holds the 64 KiB socket read it is a view of.
 */
function messageBuffer(length: number): Buffer {
  if (length > SLAB_MAX || length < SLAB_MIN) return Buffer.allocUnsafe(length);
  if (slabUsed + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed = (at + length + 7) & ~7;
  return slab.subarray(at, at + length);
}

/** A copy of chunk[start, stop) in memory of its own (small ones from a shared slab). */
function copyOut(chunk: Buffer, start: number, stop: number): Buffer {
  const copy = messageBuffer(stop - start);
  copyBytes(chunk, start, stop, copy, 0);
  return copy;
}

function readUint32(buf: Buffer, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}
