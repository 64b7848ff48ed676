// RFC 6455 §5.3: payload masking. Octet i of the payload is XORed with octet (i mod 4) of the
// 32-bit masking key; masking and unmasking are the same operation.
//
// Short spans use a byte loop (the four key octets held in locals, four bytes per iteration).
// Longer spans XOR 32-bit words through an Int32Array view of the 4-byte-aligned middle of the
// underlying memory, with the byte loop for the unaligned head and the tail. The word path assumes a
// little-endian host; on a big-endian host every span takes the byte loop.
//
// Building that view (even reading `.buffer` and `.byteOffset`) costs tens of nanoseconds, a lot next
// to XORing a few dozen bytes. So one view over the whole ArrayBuffer last used is cached along with
// the array last used and its byteOffset: the many frames unmasked inside one received chunk share
// it. A short span in another array takes the byte loop, unless that array was already seen once
// (then it is likely a chunk holding many small frames, and the view pays for itself).
// Thresholds measured with bench/masking-micro.mjs and threshold-forced builds (2026-11, Node 20,
// 2-vCPU EPYC VM, noisy): word vs byte loop in the cached array crosses at ~16-24 B (32 B: ~30 vs ~46 ns);
// with a view to build (~50-70 ns) at ~100-128 B; maskInto copy + word XOR vs fused byte loop into a
// fresh pooled Buffer at ~100-128 B. Large spans: ~4.5-5 GB/s vs ~0.5 GB/s for a plain byte loop.

import { simdXor, simdXorInPlace } from './simd.js';

/** Spans of at least this many bytes go through the WebAssembly SIMD kernel (simd.ts), where it runs. */
export const SIMD_THRESHOLD = 4096;

/** Spans already in the kernel's memory (its read area) need no copy: the kernel takes them from here. */
export const IN_KERNEL_SIMD_THRESHOLD = 32;

/** Spans in the array last unmasked (cached view) take the word loop from this many bytes. */
export const WORD_LOOP_THRESHOLD = 32;

/** Spans in another array take the word loop from this many bytes (or from WORD_LOOP_THRESHOLD when
 *  the array was seen before); maskInto copies + XORs from here. */
export const NEW_ARRAY_WORD_LOOP_THRESHOLD = 128;

/** ArrayBuffers (and remembered arrays) up to this size are cached (socket reads are at most 64 KiB);
 *  larger ones never are, so the cache does not keep a large buffer alive. */
const VIEW_CACHE_MAX_BYTES = 64 * 1024;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let sightedArray: Uint8Array | null = null;
let cachedArray: Uint8Array | null = null;
let cachedArrayOffset = 0;
let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** The key rotated left by `keyIndex` octets, so that key octet `keyIndex` is the most significant. */
function rotateKey(maskKey: number, keyIndex: number): number {
  const shift = (keyIndex & 3) << 3;
  return shift === 0 ? maskKey | 0 : (maskKey << shift) | (maskKey >>> (32 - shift));
}

/**
 * `dst[dstStart + i] = src[srcStart + i] ^ keyOctet(i)` for i in [0, length), where `key` is already
 * rotated so its most significant octet applies to i = 0. `src` and `dst` may be the same array.
 */
function xorBytes(
  src: Uint8Array,
  srcStart: number,
  dst: Uint8Array,
  dstStart: number,
  length: number,
  key: number,
): void {
  const k0 = key >>> 24;
  const k1 = (key >>> 16) & 0xff;
  const k2 = (key >>> 8) & 0xff;
  const k3 = key & 0xff;
  const delta = dstStart - srcStart;
  const end = srcStart + length;
  const end4 = srcStart + (length & ~3);
  let i = srcStart;
  for (; i < end4; i += 4) {
    dst[i + delta] = src[i]! ^ k0;
    dst[i + 1 + delta] = src[i + 1]! ^ k1;
    dst[i + 2 + delta] = src[i + 2]! ^ k2;
    dst[i + 3 + delta] = src[i + 3]! ^ k3;
  }
  if (i < end) {
    dst[i + delta] = src[i]! ^ k0;
    if (++i < end) {
      dst[i + delta] = src[i]! ^ k1;
      if (++i < end) dst[i + delta] = src[i]! ^ k2;
    }
  }
}

/** The rotated key as the little-endian word that XORs 4 bytes at once (its octets reversed). */
function littleEndianWord(key: number): number {
  return (key >>> 24) | ((key >>> 8) & 0xff00) | ((key << 8) & 0xff0000) | (key << 24);
}

/**
 * dst[dstStart, +length) = src[srcStart, +length) XOR key through the SIMD kernel; false (nothing done)
 * when it cannot run here. The tail below 16 bytes takes the byte loop: whole 16-byte blocks keep the
 * key phase.
 */
function xorSimd(src: Uint8Array, srcStart: number, dst: Uint8Array, dstStart: number, length: number, key: number): boolean {
  if (!LITTLE_ENDIAN) return false;
  const kernel = simdXor();
  if (kernel === null) return false;
  const blocks = length & ~15;
  kernel(src, srcStart, dst, dstStart, blocks, littleEndianWord(key));
  if (blocks < length) xorBytes(src, srcStart + blocks, dst, dstStart + blocks, length - blocks, key);
  return true;
}

/** XOR buf[start, end) in place; `key` is rotated so its most significant octet applies to buf[start]. */
function xorInPlace(buf: Uint8Array, start: number, end: number, key: number): void {
  const length = end - start;
  if (length >= IN_KERNEL_SIMD_THRESHOLD && LITTLE_ENDIAN) {
    // In the kernel's read area: XOR where the bytes are. Elsewhere, long spans through its window.
    const blocks = length & ~15;
    if (simdXorInPlace(buf, start, blocks, littleEndianWord(key))) {
      if (blocks < length) xorBytes(buf, start + blocks, buf, start + blocks, length - blocks, key);
      return;
    }
    if (length >= SIMD_THRESHOLD && xorSimd(buf, start, buf, start, length, key)) return;
  }
  let byteOffset: number;
  let words: Int32Array | null = null;
  if (buf === cachedArray) {
    if (length < WORD_LOOP_THRESHOLD) {
      xorBytes(buf, start, buf, start, length, key);
      return;
    }
    byteOffset = cachedArrayOffset;
    words = cachedWords;
  } else {
    if (length < WORD_LOOP_THRESHOLD || !LITTLE_ENDIAN) {
      xorBytes(buf, start, buf, start, length, key);
      return;
    }
    if (length < NEW_ARRAY_WORD_LOOP_THRESHOLD && buf !== sightedArray) {
      // First short span in this array: not worth a view yet. A second one (many small frames in one
      // chunk) builds it.
      if (buf.length <= VIEW_CACHE_MAX_BYTES) sightedArray = buf;
      xorBytes(buf, start, buf, start, length, key);
      return;
    }
    byteOffset = buf.byteOffset;
    const arrayBuffer = buf.buffer;
    if (arrayBuffer === cachedBuffer) {
      words = cachedWords;
    } else if (arrayBuffer.byteLength <= VIEW_CACHE_MAX_BYTES) {
      words = cachedWords = new Int32Array(arrayBuffer, 0, arrayBuffer.byteLength >>> 2);
      cachedBuffer = arrayBuffer;
    }
    if (words !== null) {
      cachedArray = buf;
      cachedArrayOffset = byteOffset;
    }
  }
  // Bytes before the first 4-byte-aligned address of the underlying memory.
  const head = (4 - ((byteOffset + start) & 3)) & 3;
  if (head !== 0) {
    xorBytes(buf, start, buf, start, head, key);
    key = rotateKey(key, head);
  }
  const wordsStart = start + head;
  const wordCount = (length - head) >>> 2;
  let i = (byteOffset + wordsStart) >>> 2;
  // Not cacheable, or the cached view no longer covers the span (a resizable ArrayBuffer): exact view.
  if (words === null || i + wordCount > words.length) {
    words = new Int32Array(buf.buffer, i << 2, wordCount);
    i = 0;
  }
  // A little-endian load puts the octet at the lowest address in the least significant position,
  // so the word to XOR is the key with its octets reversed.
  const word = littleEndianWord(key);
  const wordsEnd = i + wordCount;
  const wordsEnd4 = i + (wordCount & ~3);
  for (; i < wordsEnd4; i += 4) {
    words[i] ^= word;
    words[i + 1] ^= word;
    words[i + 2] ^= word;
    words[i + 3] ^= word;
  }
  for (; i < wordsEnd; i++) words[i] ^= word;
  // Whole words were consumed, so the key phase at the tail equals the phase at wordsStart.
  const tailStart = wordsStart + (wordCount << 2);
  if (tailStart < end) xorBytes(buf, tailStart, buf, tailStart, end - tailStart, key);
}

/**
 * XOR buf[start, end) in place with the masking key (RFC 6455 §5.3).
 * maskKey: the 4 key bytes as read from the wire with readUInt32BE (key byte 0 = most significant byte).
 * keyIndex: which key byte (0..3) applies to buf[start] — lets a payload split across chunks be
 * unmasked piece by piece.
 */
export function unmask(buf: Uint8Array, start: number, end: number, maskKey: number, keyIndex: number): void {
  if (end <= start) return;
  xorInPlace(buf, start, end, rotateKey(maskKey, keyIndex));
}

/**
 * Unmask src[srcStart, srcEnd) into dst at dstOffset (src untouched): a copy fused with the XOR, for a
 * payload that has to be copied anyway. `maskKey`/`keyIndex` as for unmask().
 */
export function unmaskInto(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  maskKey: number,
  keyIndex: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  maskInto(src, srcStart, srcEnd, rotateKey(maskKey, keyIndex), dst, dstOffset);
}

/**
 * Writes (src[srcStart, srcEnd) XOR key) into dst starting at dstOffset, key phase 0 at srcStart.
 * Never mutates src (a client must not change the caller's buffer). dst[dstOffset, +length) must not
 * overlap src[srcStart, srcEnd) unless it is exactly the same memory.
 */
export function maskInto(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  maskKey: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  const length = srcEnd - srcStart;
  if (length <= 0) return;
  if (length < NEW_ARRAY_WORD_LOOP_THRESHOLD || !LITTLE_ENDIAN) {
    xorBytes(src, srcStart, dst, dstOffset, length, maskKey | 0);
    return;
  }
  if (length >= SIMD_THRESHOLD && xorSimd(src, srcStart, dst, dstOffset, length, maskKey | 0)) return;
  // Copy (memmove speed), then XOR the copy in place with the word loop.
  dst.set(srcStart === 0 && srcEnd === src.length ? src : src.subarray(srcStart, srcEnd), dstOffset);
  xorInPlace(dst, dstOffset, dstOffset + length, maskKey | 0);
}
