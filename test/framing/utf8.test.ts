import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Utf8Validator, isValidUtf8 } from '../../src/framing/utf8.js';

/**
 * Reference for fail-fast: the WHATWG streaming decoder in fatal mode rejects a byte as soon as the
 * bytes so far cannot start a valid sequence. Returns the index of the first byte that makes the
 * input invalid, bytes.length when only the end (a truncated code point) is invalid, -1 if valid.
 */
function firstInvalidIndex(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  try {
    decoder.decode();
  } catch {
    return bytes.length;
  }
  return -1;
}

/**
 * Feed `bytes` split at `cuts` (sorted positions); returns the index of the piece whose feed()
 * failed, pieces.length when only finish() failed, -1 when all was valid.
 */
function feedPieces(bytes: Uint8Array, cuts: number[]): { failedPiece: number; pieces: Array<[number, number]> } {
  const bounds = [0, ...cuts, bytes.length];
  const pieces: Array<[number, number]> = [];
  for (let i = 0; i + 1 < bounds.length; i++) pieces.push([bounds[i]!, bounds[i + 1]!]);
  const validator = new Utf8Validator();
  for (let i = 0; i < pieces.length; i++) {
    const [start, end] = pieces[i]!;
    if (!validator.feed(bytes, start, end)) return { failedPiece: i, pieces };
  }
  return { failedPiece: validator.finish() ? -1 : pieces.length, pieces };
}

/** The piece that must fail given the first invalid byte index (a piece may be empty). */
function expectedFailedPiece(pieces: Array<[number, number]>, bad: number, length: number): number {
  if (bad === -1) return -1;
  if (bad === length) return pieces.length;
  return pieces.findIndex(([start, end]) => bad >= start && bad < end);
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// [description, hex bytes, valid]
const TABLE: Array<[string, string, boolean]> = [
  ['empty', '', true],
  ['ASCII', '48656c6c6f2c20776f726c6421', true],
  ['Greek kosme (Autobahn 6.2)', 'cebae1bdb9cf83cebcceb5', true],
  ['U+0080 smallest 2-byte', 'c280', true],
  ['U+07FF largest 2-byte', 'dfbf', true],
  ['U+0800 smallest 3-byte', 'e0a080', true],
  ['U+D7FF before surrogates', 'ed9fbf', true],
  ['U+E000 after surrogates', 'ee8080', true],
  ['U+FFFD', 'efbfbd', true],
  ['U+FFFF noncharacter is valid', 'efbfbf', true],
  ['U+10000 smallest 4-byte', 'f0908080', true],
  ['U+10FFFF largest code point', 'f48fbfbf', true],
  ['mixed, 17+ bytes for the native path', '41c280e0a080f090808042434445464748494a4b4c4d', true],
  ['lone continuation', '80', false],
  ['continuation after ASCII', '4180', false],
  ['overlong 2-byte C0 80', 'c080', false],
  ['overlong 2-byte C1 BF', 'c1bf', false],
  ['overlong 3-byte E0 80 80', 'e08080', false],
  ['overlong 3-byte E0 9F BF', 'e09fbf', false],
  ['overlong 4-byte F0 80 80 80', 'f0808080', false],
  ['overlong 4-byte F0 8F BF BF', 'f08fbfbf', false],
  ['surrogate U+D800', 'eda080', false],
  ['surrogate U+DFFF', 'edbfbf', false],
  ['surrogate pair encoded as CESU-8', 'eda0bdedb2a9', false],
  ['above U+10FFFF (F4 90)', 'f4908080', false],
  ['F5 lead', 'f5808080', false],
  ['FE byte', 'fe', false],
  ['FF byte', 'ff', false],
  ['5-byte form', 'f888808080', false],
  ['truncated 2-byte', 'c2', false],
  ['truncated 3-byte', 'e2 82', false],
  ['truncated 4-byte', 'f0 9f 98', false],
  ['truncated after valid text', '48656c6c6ff09f98', false],
  ['Autobahn 6.4.1: kosme then F4 90 80 80 then text', 'cebae1bdb9cf83cebcceb5f4908080656469746564', false],
  ['Autobahn 6.4.3: kosme then ED A0 80 then text', 'cebae1bdb9cf83cebcceb5eda080656469746564', false],
  ['3-byte lead then ASCII', 'e241', false],
  ['4-byte lead then 2-byte lead', 'f09fc280', false],
  ['long valid then invalid in the middle', `${'61'.repeat(40)}c0${'61'.repeat(40)}`, false],
];

describe('Utf8Validator / isValidUtf8 table', () => {
  for (const [name, hexBytes, valid] of TABLE) {
    const bytes = hex(hexBytes);
    it(`${name}: whole and split at every position`, () => {
      expect(isUtf8(bytes)).toBe(valid); // the table itself agrees with the native check
      expect(isValidUtf8(bytes)).toBe(valid);
      const bad = firstInvalidIndex(bytes);
      expect(bad === -1).toBe(valid);

      // Whole.
      const whole = feedPieces(bytes, []);
      expect(whole.failedPiece).toBe(expectedFailedPiece(whole.pieces, bad, bytes.length));
      // Split once at every position, and byte by byte.
      for (let cut = 0; cut <= bytes.length; cut++) {
        const split = feedPieces(bytes, [cut]);
        expect(split.failedPiece).toBe(expectedFailedPiece(split.pieces, bad, bytes.length));
      }
      const cuts = Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1);
      const bytewise = feedPieces(bytes, cuts);
      expect(bytewise.failedPiece).toBe(expectedFailedPiece(bytewise.pieces, bad, bytes.length));
    });
  }

  it('fails fast on impossible prefixes, before the code point completes', () => {
    for (const prefix of ['f5', 'c0', 'c1', 'e0 9f', 'ed a0', 'f4 90', 'f0 8f', 'f8']) {
      const v = new Utf8Validator();
      expect(v.feed(hex(prefix), 0, hex(prefix).length), prefix).toBe(false);
    }
    for (const prefix of ['f4', 'f4 8f', 'ed', 'ed 9f', 'e0', 'e0 a0', 'f0', 'f0 90', 'f0 90 80', 'c2']) {
      const v = new Utf8Validator();
      expect(v.feed(hex(prefix), 0, hex(prefix).length), prefix).toBe(true);
      expect(v.finish(), prefix).toBe(false);
    }
  });

  it('validates a sub-range of a larger buffer without looking outside it', () => {
    const buf = hex(`ff ${'41'.repeat(20)} e2 82 ac ff`);
    const v = new Utf8Validator();
    expect(v.feed(buf, 1, buf.length - 1)).toBe(true);
    expect(v.finish()).toBe(true);
    // A code point split exactly at the range end continues in the next range.
    expect(v.feed(buf, 1, buf.length - 2)).toBe(true);
    expect(v.feed(buf, buf.length - 2, buf.length - 1)).toBe(true);
    expect(v.finish()).toBe(true);
  });

  it('finish() resets, reset() clears a pending code point', () => {
    const v = new Utf8Validator();
    expect(v.feed(hex('e2 82'), 0, 2)).toBe(true);
    expect(v.finish()).toBe(false);
    expect(v.finish()).toBe(true);
    expect(v.feed(hex('e2'), 0, 1)).toBe(true);
    v.reset();
    expect(v.feed(hex('41'), 0, 1)).toBe(true);
    expect(v.finish()).toBe(true);
  });
});

/** Random bytes biased towards UTF-8 structure so that valid and invalid inputs both occur. */
const utf8ishBytes = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }).map((s) => Array.from(Buffer.from(s))),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 3 }),
      fc.constantFrom([0xed, 0xa0], [0xf4, 0x90], [0xe0, 0x9f], [0xf0, 0x8f], [0xc0], [0xf5], [0x80], [0xf4, 0x8f]),
    ),
    { maxLength: 48 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

function cutsFor(bytes: Uint8Array): fc.Arbitrary<number[]> {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 8 })
    .map((cuts) => cuts.sort((a, b) => a - b));
}

describe('Utf8Validator properties', () => {
  it('final verdict on random pieces equals isUtf8 on the whole, failing in the right piece', () => {
    fc.assert(
      fc.property(
        utf8ishBytes.chain((bytes) => fc.tuple(fc.constant(bytes), cutsFor(bytes))),
        ([bytes, cuts]) => {
          const { failedPiece, pieces } = feedPieces(bytes, cuts);
          expect(failedPiece === -1).toBe(isUtf8(bytes));
          expect(failedPiece).toBe(expectedFailedPiece(pieces, firstInvalidIndex(bytes), bytes.length));
        },
      ),
      { numRuns: 3000, seed: 0x6455 },
    );
  });

  it('uniformly random bytes: verdict equals isUtf8', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).chain((bytes) => fc.tuple(fc.constant(bytes), cutsFor(bytes))),
        ([bytes, cuts]) => {
          expect(feedPieces(bytes, cuts).failedPiece === -1).toBe(isUtf8(bytes));
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('never reports invalid on a prefix of a valid string', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }).chain((s) => {
          const bytes = Uint8Array.from(Buffer.from(s));
          return fc.tuple(fc.constant(bytes), fc.integer({ min: 0, max: bytes.length }), cutsFor(bytes));
        }),
        ([bytes, prefixLength, cuts]) => {
          const v = new Utf8Validator();
          let start = 0;
          for (const cut of [...cuts.filter((c) => c < prefixLength), prefixLength]) {
            expect(v.feed(bytes, start, cut)).toBe(true);
            start = cut;
          }
          // finish() agrees with whether the prefix ends on a code point boundary.
          expect(v.finish()).toBe(isUtf8(bytes.subarray(0, prefixLength)));
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });
});
