// RFC 6455 §5.2: frame layout. Byte 0 = FIN | RSV1 | RSV2 | RSV3 | opcode(4); byte 1 = MASK | 7-bit
// length, where 126 means a 16-bit length follows and 127 a 64-bit one (most significant bit 0);
// then the 4-byte masking key when MASK is set (§5.3), then the payload.
// The caller validates what it sends (control frames: fin and at most 125 bytes, §5.5; opcodes).
import { maskInto } from '../masking/mask.js';
import { Opcode } from './opcodes.js';

/**
 * Largest payload copied into the header buffer; larger unmasked payloads go out as [header, payload]
 * without copying. Copying costs per byte, an extra piece in a corked writev costs per piece. Measured
 * (2026-11, Node 20, 2-vCPU EPYC VM; 32 frames per cork/uncork over loopback TCP, writer CPU per frame,
 * copy vs split): 256 B 700 vs 776 ns, 512 B 608 vs 571, 1 KiB 782 vs 516, 4 KiB 3211 vs 1988.
 * The crossover is near 512 B; 1 KiB keeps small frames in one piece with margin.
 */
export const COPY_THRESHOLD = 1024;

const TWO_POW_32 = 0x100000000;

/**
 * Below this many bytes a payload is copied by a byte loop, above by a native copy (call overhead).
 * The loop is written out here rather than shared with the decoder's copyBytes: through the shared
 * function the 16 B echo measured 3% slower (2026-12-03, 4+3 interleaved rounds of 100×16).
 */
const SMALL_COPY = 32;

/** Header length in bytes: 2, plus 2 or 8 for extended lengths (§5.2), plus 4 for a masking key. */
function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** Writes the header into target[at, at + headerLength) (the masking key, if any, is written by the caller). */
function writeHeader(target: Buffer, at: number, byte0: number, payloadLength: number, masked: boolean): void {
  const maskBit = masked ? 0x80 : 0;
  target[at] = byte0;
  if (payloadLength < 126) {
    target[at + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[at + 1] = maskBit | 126;
    target[at + 2] = payloadLength >>> 8;
    target[at + 3] = payloadLength & 0xff;
  } else {
    // §5.2: 64-bit length, most significant bit 0 (a Buffer length is below 2^53).
    target[at + 1] = maskBit | 127;
    target.writeUInt32BE(Math.floor(payloadLength / TWO_POW_32), at + 2);
    target.writeUInt32BE(payloadLength >>> 0, at + 6);
  }
}

/**
 * Encodes one frame and appends it to `out`: one Buffer (header + payload copied or masked into it) or
 * two (header, then the caller's payload untouched, when unmasked and payload.length > COPY_THRESHOLD).
 * maskKey null = unmasked (server role); a number = mask with that key (client role; payload always
 * masked into a fresh buffer, caller's buffer never mutated). Returns the number of bytes appended.
 * Lengths: 7-bit, 16-bit (126), 64-bit (127) per RFC 6455 §5.2.
 */
export function encodeFrame(
  out: Buffer[],
  opcode: number,
  payload: Buffer,
  fin: boolean,
  rsv1: boolean,
  maskKey: number | null,
): number {
  const length = payload.length;
  const masked = maskKey !== null;
  const headerLen = headerLength(length, masked);
  const byte0 = frameByte0(opcode, fin, rsv1);
  if (!masked && length > COPY_THRESHOLD) {
    const header = Buffer.allocUnsafe(headerLen);
    writeHeader(header, 0, byte0, length, false);
    out.push(header, payload);
    return headerLen + length;
  }
  const frame = Buffer.allocUnsafe(headerLen + length);
  encodeFrameInto(frame, 0, byte0, payload, maskKey);
  out.push(frame);
  return headerLen + length;
}

/** Bytes of a whole frame with `payloadLength` bytes of payload: header, masking key, payload. */
export function frameLength(payloadLength: number, masked: boolean): number {
  return headerLength(payloadLength, masked) + payloadLength;
}

/** The first header byte: FIN, RSV1 and the opcode (§5.2). */
export function frameByte0(opcode: number, fin: boolean, rsv1: boolean): number {
  return (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f);
}

/**
 * Writes a whole frame (header, key, payload copied or masked) into target at `at`, which must have
 * frameLength(payload.length, maskKey !== null) bytes of room. Every byte of that span is written; the
 * caller's payload is never mutated. Returns the frame's length.
 */
export function encodeFrameInto(target: Buffer, at: number, byte0: number, payload: Buffer, maskKey: number | null): number {
  const length = payload.length;
  const masked = maskKey !== null;
  const headerLen = headerLength(length, masked);
  writeHeader(target, at, byte0, length, masked);
  const start = at + headerLen;
  if (masked) {
    target.writeUInt32BE(maskKey >>> 0, start - 4);
    maskInto(payload, 0, length, maskKey, target, start);
  } else if (length < SMALL_COPY) {
    for (let i = 0; i < length; i++) target[start + i] = payload[i]!;
  } else {
    target.set(payload, start);
  }
  return headerLen + length;
}

/**
 * Splits a message into frames of at most fragmentSize payload bytes (first frame carries opcode and
 * rsv1, the rest are continuations, fin on the last; an empty payload is one frame). nextMaskKey: null
 * for unmasked, or a function called once per frame. Returns bytes appended.
 */
export function encodeFragmented(
  out: Buffer[],
  opcode: number,
  payload: Buffer,
  fragmentSize: number,
  rsv1: boolean,
  nextMaskKey: (() => number) | null,
): number {
  if (!Number.isSafeInteger(fragmentSize) || fragmentSize < 1) {
    throw new RangeError(`fragmentSize must be a positive integer, got ${fragmentSize}`);
  }
  const length = payload.length;
  let bytes = 0;
  let offset = 0;
  // §5.4: the first fragment carries the opcode (and RSV1 for a compressed message, RFC 7692 §6);
  // the others are continuations (opcode 0) with RSV1 clear; FIN is set on the last one only.
  do {
    const end = length - offset > fragmentSize ? offset + fragmentSize : length;
    const first = offset === 0;
    bytes += encodeFrame(
      out,
      first ? opcode : Opcode.Continuation,
      first && end === length ? payload : payload.subarray(offset, end),
      end === length,
      first && rsv1,
      nextMaskKey === null ? null : nextMaskKey(),
    );
    offset = end;
  } while (offset < length);
  return bytes;
}

/**
 * A frame's header alone (with the masking key when `maskKey` is a number), in a buffer with `room`
 * more bytes after it for the caller to fill (0: the header only). For code that frames a payload
 * once and writes the header and the payload separately (`Sender.frame`).
 */
export function encodeHeader(byte0: number, payloadLength: number, maskKey: number | null, room: number): Buffer {
  const masked = maskKey !== null;
  const headerLen = headerLength(payloadLength, masked);
  const target = Buffer.allocUnsafe(headerLen + room);
  writeHeader(target, 0, byte0, payloadLength, masked);
  if (masked) target.writeUInt32BE(maskKey >>> 0, headerLen - 4);
  return target;
}
