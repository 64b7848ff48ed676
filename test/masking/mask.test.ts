import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IN_KERNEL_SIMD_THRESHOLD,
  maskInto,
  NEW_ARRAY_WORD_LOOP_THRESHOLD,
  SIMD_THRESHOLD,
  unmask,
  unmaskInto,
  WORD_LOOP_THRESHOLD,
} from '../../src/masking/mask.js';
import { simdReadArea, simdXor } from '../../src/masking/simd.js';

/** RFC 6455 §5.3 byte by byte: octet i is XORed with key octet (keyIndex + i) mod 4 (octet 0 = MSB). */
function reference(bytes: Uint8Array, start: number, end: number, maskKey: number, keyIndex: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = start; i < end; i++) {
    const j = (keyIndex + i - start) & 3;
    out[i] = bytes[i]! ^ ((maskKey >>> (24 - 8 * j)) & 0xff);
  }
  return out;
}

/** Index of the first differing byte, or -1 when equal (fast; vitest's deep equality is slow on bytes). */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (a.length === b.length && a.equals(b)) return -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(firstDifference(actual, expected)).toBe(-1);
}

/** Deterministic pseudo-random bytes (xorshift32). */
function fill(bytes: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

/** A Uint8Array of `length` bytes at `byteOffset` inside its own ArrayBuffer, with guard bytes around. */
function viewAt(byteOffset: number, length: number, seed: number): Uint8Array {
  const backing = new Uint8Array(byteOffset + length + 8);
  fill(backing, seed);
  return new Uint8Array(backing.buffer, byteOffset, length);
}

function wholeBacking(view: Uint8Array): Uint8Array {
  return new Uint8Array(view.buffer, 0, view.buffer.byteLength);
}

const KEYS = [0x00000000, 0xffffffff, 0x12345678, 0x80000001, 0xa5c30f96, 0x37fa213d];

describe('unmask', () => {
  it('matches the byte-by-byte reference for every byteOffset 0..7, length 0..70, keyIndex, key', () => {
    let cases = 0;
    for (const key of KEYS) {
      for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
        for (let length = 0; length <= 70; length++) {
          for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
            const buf = viewAt(byteOffset, length, key ^ (length * 131 + byteOffset * 7 + keyIndex));
            const backing = wholeBacking(buf);
            const original = Uint8Array.from(backing);
            const expected = reference(backing, byteOffset, byteOffset + length, key, keyIndex);
            // Three calls on the same array take the first-sighting, view-building and cached paths;
            // XOR is an involution, so the bytes alternate between masked and original.
            unmask(buf, 0, length, key, keyIndex);
            expectBytes(backing, expected);
            unmask(buf, 0, length, key, keyIndex);
            expectBytes(backing, original);
            unmask(buf, 0, length, key, keyIndex);
            expectBytes(backing, expected);
            cases++;
          }
        }
      }
    }
    expect(cases).toBe(KEYS.length * 8 * 71 * 4);
  });

  it('matches the reference for spans at every start inside one chunk (cached view), lengths to 300', () => {
    const chunk = viewAt(3, 4096, 99);
    const backing = wholeBacking(chunk);
    for (const key of KEYS) {
      for (let length = 0; length <= 300; length += length < 140 ? 1 : 7) {
        for (let start = 0; start < 8; start++) {
          const keyIndex = (start + length) & 3;
          const expected = reference(backing, 3 + start, 3 + start + length, key, keyIndex);
          unmask(chunk, start, start + length, key, keyIndex);
          expectBytes(backing, expected);
        }
      }
    }
  });

  it('covers the thresholds and alternates between arrays (cache misses)', () => {
    expect(WORD_LOOP_THRESHOLD).toBeLessThanOrEqual(NEW_ARRAY_WORD_LOOP_THRESHOLD);
    const arrays = [viewAt(0, 600, 1), viewAt(1, 600, 2), viewAt(2, 600, 3), viewAt(7, 600, 4)];
    const lengths = [
      WORD_LOOP_THRESHOLD - 1, WORD_LOOP_THRESHOLD, WORD_LOOP_THRESHOLD + 1,
      NEW_ARRAY_WORD_LOOP_THRESHOLD - 1, NEW_ARRAY_WORD_LOOP_THRESHOLD, NEW_ARRAY_WORD_LOOP_THRESHOLD + 1, 513,
    ];
    for (let round = 0; round < 3; round++) {
      for (const length of lengths) {
        for (let a = 0; a < arrays.length; a++) {
          const buf = arrays[(a + round) % arrays.length]!;
          const backing = wholeBacking(buf);
          const start = (length + a) % 11;
          const expected = reference(backing, buf.byteOffset + start, buf.byteOffset + start + length, 0x9e3779b9, a & 3);
          unmask(buf, start, start + length, 0x9e3779b9, a & 3);
          expectBytes(backing, expected);
        }
      }
    }
  });

  it('handles spans in ArrayBuffers too large to cache', () => {
    const big = new Uint8Array(200 * 1024);
    fill(big, 5);
    for (const [start, length] of [[1, 40], [1, 40], [70001, 129], [70001, 129], [131074, 5000], [3, 200000]] as const) {
      const expected = reference(big, start, start + length, 0x01020304, start & 3);
      unmask(big, start, start + length, 0x01020304, start & 3);
      expectBytes(big, expected);
    }
  });

  it('unmasks 64 KiB and 1 MiB + odd payloads at every alignment', () => {
    for (const length of [64 * 1024, 1024 * 1024 + 3]) {
      for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
        const buf = viewAt(byteOffset, length, length + byteOffset);
        const backing = wholeBacking(buf);
        const expected = reference(backing, byteOffset, byteOffset + length, 0xdeadbeef, byteOffset);
        unmask(buf, 0, length, 0xdeadbeef, byteOffset);
        expectBytes(backing, expected);
      }
    }
  });

  it('unmasking a payload piece by piece equals unmasking it whole', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 700 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (payload, byteOffset, key, rawCuts) => {
          const whole = Buffer.from(payload);
          unmask(whole, 0, whole.length, key, 0);
          const backing = new Uint8Array(byteOffset + payload.length + 4);
          backing.set(payload, byteOffset);
          const cuts = [...new Set(rawCuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const cut of [...cuts, payload.length]) {
            unmask(backing, byteOffset + from, byteOffset + cut, key, from & 3);
            from = cut;
          }
          expect(Buffer.from(backing.subarray(byteOffset, byteOffset + payload.length)).equals(whole)).toBe(true);
        },
      ),
      { seed: 6455, numRuns: 400 },
    );
  });

  it('matches the reference for random spans, offsets and key phases (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 600 }),
        fc.integer({ min: 0, max: 15 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (bytes, byteOffset, a, b, key, keyIndex, repeats) => {
          const backing = new Uint8Array(byteOffset + bytes.length);
          backing.set(bytes, byteOffset);
          const buf = backing.subarray(byteOffset);
          const start = a % (bytes.length + 1);
          const end = start + (b % (bytes.length - start + 1));
          const expected = reference(buf, start, end, key, keyIndex);
          for (let r = 1; r <= repeats; r++) {
            unmask(buf, start, end, key, keyIndex);
            expectBytes(buf, r % 2 === 1 ? expected : bytes);
          }
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('works on pooled Buffers (non-zero byteOffset in a shared ArrayBuffer)', () => {
    const pooled = Array.from({ length: 40 }, (_, i) => Buffer.from(Uint8Array.from({ length: 3 + i * 5 }, (_, j) => j * 7 + i)));
    expect(pooled.some((b) => b.byteOffset !== 0)).toBe(true);
    for (const [i, buf] of pooled.entries()) {
      const before = Uint8Array.from(buf);
      for (let n = 0; n < 3; n++) {
        const expected = reference(buf, 1, buf.length, 0xc0ffee11, i & 3);
        unmask(buf, 1, buf.length, 0xc0ffee11, i & 3);
        expectBytes(Uint8Array.from(buf), expected);
      }
      unmask(buf, 1, buf.length, 0xc0ffee11, i & 3);
      expectBytes(Uint8Array.from(buf), before);
    }
    // Neighbours in the pool are untouched: each buffer is back to its original content.
    for (const [i, buf] of pooled.entries()) {
      expect(Array.from(buf)).toEqual(Array.from({ length: 3 + i * 5 }, (_, j) => (j * 7 + i) & 0xff));
    }
  });

  it('accepts a negative (int32) key the same as its unsigned value', () => {
    const a = viewAt(1, 100, 8);
    const b = Uint8Array.from(a);
    unmask(a, 0, 100, 0xfedcba98 | 0, 2);
    unmask(b, 0, 100, 0xfedcba98, 2);
    expectBytes(a, b);
  });

  it('stays correct when the ArrayBuffer behind a cached view is resized', () => {
    const ResizableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & {
      resize(length: number): void;
    };
    const ab = new ResizableArrayBuffer(1024, { maxByteLength: 8192 });
    const buf = new Uint8Array(ab); // length-tracking
    fill(buf, 11);
    let expected = reference(buf, 1, 600, 0x0badf00d, 0);
    unmask(buf, 1, 600, 0x0badf00d, 0);
    unmask(buf, 1, 600, 0x0badf00d, 0);
    unmask(buf, 1, 600, 0x0badf00d, 0);
    expectBytes(buf, expected);
    ab.resize(8192);
    fill(buf, 12);
    expected = reference(buf, 3000, 7000, 0x0badf00d, 1);
    unmask(buf, 3000, 7000, 0x0badf00d, 1);
    expectBytes(buf, expected);
    ab.resize(512);
    expected = reference(buf, 5, 500, 0x0badf00d, 3);
    unmask(buf, 5, 500, 0x0badf00d, 3);
    expectBytes(buf, expected);
  });
});

describe('maskInto', () => {
  it('equals the reference and leaves src untouched, for every src/dst alignment and length 0..300', () => {
    for (const key of [0x12345678, 0xffffffff, 0x80000001]) {
      for (let length = 0; length <= 300; length += length < 140 ? 1 : 13) {
        for (let srcOffset = 0; srcOffset < 4; srcOffset++) {
          for (let dstOffset = 0; dstOffset < 8; dstOffset++) {
            const src = viewAt(srcOffset, length + 3, length * 31 + srcOffset);
            const srcSnapshot = Uint8Array.from(wholeBacking(src));
            const dst = new Uint8Array(dstOffset + length + 5).fill(0xee);
            maskInto(src, 2, 2 + length, key, dst, dstOffset);
            expectBytes(wholeBacking(src), srcSnapshot);
            const expected = reference(src, 2, 2 + length, key, 0).subarray(2, 2 + length);
            expectBytes(dst.subarray(dstOffset, dstOffset + length), expected);
            expect(dst.subarray(0, dstOffset).every((x) => x === 0xee)).toBe(true);
            expect(dst.subarray(dstOffset + length).every((x) => x === 0xee)).toBe(true);
          }
        }
      }
    }
  });

  it('masks large payloads (64 KiB, 1 MiB + odd) into Buffers without touching src', () => {
    for (const length of [64 * 1024, 1024 * 1024 + 5]) {
      const src = Buffer.alloc(length);
      fill(src, length);
      const snapshot = Buffer.from(src);
      const dst = Buffer.allocUnsafe(length + 6);
      maskInto(src, 0, length, 0x37fa213d, dst, 6);
      expect(src.equals(snapshot)).toBe(true);
      const expected = reference(src, 0, length, 0x37fa213d, 0);
      expect(dst.subarray(6).equals(expected)).toBe(true);
    }
  });

  it('round-trips with unmask (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2000 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 14 }),
        (payload, key, headerLength) => {
          const src = Buffer.from(payload);
          const frame = Buffer.allocUnsafe(headerLength + src.length);
          maskInto(src, 0, src.length, key, frame, headerLength);
          expect(Buffer.from(payload).equals(src)).toBe(true);
          unmask(frame, headerLength, frame.length, key, 0);
          expect(frame.subarray(headerLength).equals(src)).toBe(true);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('masks in place when dst is exactly src', () => {
    for (const length of [5, 200]) {
      const buf = viewAt(1, length, 3);
      const expected = reference(buf, 0, length, 0xa1b2c3d4, 0);
      maskInto(buf, 0, length, 0xa1b2c3d4, buf, 0);
      expectBytes(buf, expected);
    }
  });
});

describe('the WebAssembly SIMD path (spans of SIMD_THRESHOLD bytes and more)', () => {
  it('runs on this Node (WebAssembly SIMD is available on Node 20, 22 and 24)', () => {
    expect(simdXor()).not.toBeNull();
  });

  const lengths = [SIMD_THRESHOLD - 1, SIMD_THRESHOLD, SIMD_THRESHOLD + 1, SIMD_THRESHOLD + 15, SIMD_THRESHOLD + 17, 65536, 65536 + 5, 3 * 65536 + 33];

  it('unmask equals the reference for every byteOffset 0..7 and keyIndex 0..3, across the 64 KiB window', () => {
    for (const length of lengths) {
      for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
        for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
          const buf = viewAt(byteOffset, length + 10, length + byteOffset);
          const expected = reference(buf, 3, 3 + length, 0x9a3c71e5, keyIndex);
          unmask(buf, 3, 3 + length, 0x9a3c71e5, keyIndex);
          expect(firstDifference(buf, expected), `length ${length}, byteOffset ${byteOffset}, keyIndex ${keyIndex}`).toBe(-1);
        }
      }
    }
  });

  it('maskInto equals the reference and leaves src untouched', () => {
    for (const length of lengths) {
      for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
        const src = viewAt(byteOffset, length + 4, 7 * length + byteOffset);
        const before = Uint8Array.from(src);
        const dst = new Uint8Array(length + 9);
        maskInto(src, 2, 2 + length, 0x01f2e3d4, dst, 5);
        const expected = reference(src, 2, 2 + length, 0x01f2e3d4, 0).subarray(2, 2 + length);
        expect(firstDifference(dst.subarray(5, 5 + length), expected), `length ${length}, byteOffset ${byteOffset}`).toBe(-1);
        expect(firstDifference(src, before)).toBe(-1);
        expect(dst[4]).toBe(0);
        expect(dst[5 + length]).toBe(0);
      }
    }
  });
});

describe("spans in the kernel's read area (XORed in place by the wasm kernel, no copy)", () => {
  const area = simdReadArea()!;

  it('exists on this Node and is 256 KiB', () => {
    expect(area).not.toBeNull();
    expect(area.length).toBe(256 * 1024);
  });

  it('unmask equals the reference at any offset, length and key phase, with the bytes around untouched', () => {
    const lengths = [1, 15, IN_KERNEL_SIMD_THRESHOLD - 1, IN_KERNEL_SIMD_THRESHOLD, IN_KERNEL_SIMD_THRESHOLD + 1, 47, 48, 100, 4095, 4096, 70_001, area.length - 64];
    let seed = 1;
    for (const length of lengths) {
      for (const start of [0, 1, 2, 3, 5, 17, 63]) {
        if (start + length > area.length) continue;
        for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
          // Many frames of one read share its chunk: a view over the start of the area, as the transport makes.
          const chunk = area.subarray(0, Math.min(area.length, start + length + 7));
          fill(chunk, seed++);
          const expected = reference(chunk, start, start + length, KEYS[seed % KEYS.length]!, keyIndex);
          unmask(chunk, start, start + length, KEYS[seed % KEYS.length]!, keyIndex);
          expect(firstDifference(chunk, expected), `length ${length}, start ${start}, keyIndex ${keyIndex}`).toBe(-1);
        }
      }
    }
  });

  it('alternating between a chunk in the area and one outside it gives the reference for both', () => {
    const outside = Buffer.alloc(4096);
    for (let round = 0; round < 20; round++) {
      for (const chunk of [area.subarray(0, 4096), outside]) {
        fill(chunk, round + 1);
        const expected = reference(chunk, round, round + 200, 0x0badf00d, round & 3);
        unmask(chunk, round, round + 200, 0x0badf00d, round & 3);
        expect(firstDifference(chunk, expected), `round ${round}`).toBe(-1);
      }
    }
  });
});

describe('unmaskInto', () => {
  it('equals unmask in place, for every keyIndex, below and above the SIMD threshold, and leaves src untouched', () => {
    for (const length of [0, 1, 5, 33, 200, SIMD_THRESHOLD + 7, 70_000]) {
      for (let keyIndex = 0; keyIndex < 4; keyIndex++) {
        const src = viewAt(keyIndex, length + 6, length * 3 + keyIndex);
        const before = Uint8Array.from(src);
        const expected = Uint8Array.from(src);
        unmask(expected, 2, 2 + length, 0x5b1d2c9e, keyIndex);
        const dst = new Uint8Array(length + 3);
        unmaskInto(src, 2, 2 + length, 0x5b1d2c9e, keyIndex, dst, 1);
        expect(firstDifference(dst.subarray(1, 1 + length), expected.subarray(2, 2 + length)), `length ${length}, keyIndex ${keyIndex}`).toBe(-1);
        expect(firstDifference(src, before)).toBe(-1);
      }
    }
  });
});
