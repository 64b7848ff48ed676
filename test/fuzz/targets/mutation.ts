// Arbitraries shared by the targets: random chunkings of a byte string and mutations of a valid
// input (the "mutated-valid" half of every campaign), plus a reference for UTF-8 prefixes.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';

/** How a byte string is cut into pushes: cut offsets (taken modulo the length), or one byte per push. */
export interface Chunking {
  bytewise: boolean;
  cuts: number[];
}

export const chunkingArb: fc.Arbitrary<Chunking> = fc.record({
  // One push per byte in about one case of sixteen.
  bytewise: fc.nat({ max: 15 }).map((n) => n === 0),
  cuts: fc.array(fc.nat(), { maxLength: 24 }),
});

/**
 * The pieces of `bytes` under `chunking`, each a fresh copy (decoders may unmask in place). Empty
 * pieces are kept: an empty push is an input too.
 */
export function split(bytes: Buffer, chunking: Chunking): Buffer[] {
  if (chunking.bytewise && bytes.length <= 4096) {
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(Buffer.from(bytes.subarray(i, i + 1)));
    return out;
  }
  const bounds = chunking.cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of bounds) {
    out.push(Buffer.from(bytes.subarray(start, cut)));
    start = cut;
  }
  out.push(Buffer.from(bytes.subarray(start)));
  return out;
}

/** One edit of a byte string; positions are taken modulo the current length. */
export type Mutation =
  | { op: 'set'; at: number; value: number }
  | { op: 'xor'; at: number; bit: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; from: number; length: number; to: number; times: number }
  | { op: 'truncate'; at: number };

/** Bytes that tend to sit on grammar boundaries: line ends, separators, NUL, high bits, length markers. */
const INTERESTING = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x3d, 0x5c, 0x7e, 0x7f, 0x80, 0xbf, 0xc0, 0xed, 0xf4, 0xff];

const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...INTERESTING));

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: byteArb }),
  fc.record({ op: fc.constant('xor' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      fc.array(byteArb, { minLength: 1, maxLength: 4 }).map((a) => Uint8Array.from(a)),
    ),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    op: fc.constant('duplicate' as const),
    from: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    to: fc.nat(),
    // Mostly a copy or two; sometimes a flood (huge values, many headers, many frames).
    times: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 400 }) }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = input;
  for (const m of mutations) {
    const n = b.length;
    switch (m.op) {
      case 'set':
        if (n === 0) break;
        b = Buffer.from(b);
        b[m.at % n] = m.value;
        break;
      case 'xor':
        if (n === 0) break;
        b = Buffer.from(b);
        b[m.at % n]! ^= 1 << m.bit;
        break;
      case 'insert': {
        const at = m.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = m.at % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      }
      case 'duplicate': {
        if (n === 0) break;
        const from = m.from % n;
        const slice = b.subarray(from, from + m.length);
        const to = m.to % (n + 1);
        const copies: Buffer[] = [];
        for (let i = 0; i < m.times; i++) copies.push(slice);
        b = Buffer.concat([b.subarray(0, to), ...copies, b.subarray(to)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, m.at % (n + 1));
        break;
    }
  }
  return b;
}

/** A valid input with 1 to `max` mutations applied. */
export function mutatedArb(valid: fc.Arbitrary<Buffer>, max = 6): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: max }))
    .map(([bytes, mutations]) => mutate(bytes, mutations));
}

/** Candidates for the first continuation byte: the ends of every range RFC 3629 allows there. */
const FIRST_CONTINUATIONS = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf];

/**
 * Reference: can `bytes` be the start of some valid UTF-8 string? Brute force over completions of
 * the last (at most 3-byte-short) code point, judged by the native whole-string validator.
 */
export function isViableUtf8Prefix(bytes: Uint8Array): boolean {
  if (isUtf8(bytes)) return true;
  for (let missing = 1; missing <= 3; missing++) {
    for (const first of FIRST_CONTINUATIONS) {
      const completed = new Uint8Array(bytes.length + missing);
      completed.set(bytes);
      completed[bytes.length] = first;
      for (let k = 1; k < missing; k++) completed[bytes.length + k] = 0x80;
      if (isUtf8(completed)) return true;
    }
  }
  return false;
}

/**
 * Reference: the length of the longest prefix of `bytes` that can still start a valid string
 * (bytes.length when the whole input is viable). Viability is monotone, so a binary search works.
 */
export function viablePrefixLength(bytes: Uint8Array): number {
  if (isViableUtf8Prefix(bytes)) return bytes.length;
  let lo = 0; // viable
  let hi = bytes.length; // not viable
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (isViableUtf8Prefix(bytes.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}
