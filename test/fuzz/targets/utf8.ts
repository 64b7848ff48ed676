// Target "utf8": the incremental Utf8Validator fed in random splits must agree with node's
// buffer.isUtf8 on the whole input, and fail exactly in the piece where the input stops being the
// prefix of any valid string (fail-fast, RFC 6455 §8.1); isValidUtf8 must agree with isUtf8.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { Utf8Validator, isValidUtf8 } from '../../../src/framing/utf8.js';
import { chunkingArb, mutatedArb, split, viablePrefixLength } from './mutation.js';
import { check, type FuzzTarget } from './target.js';

/** Code points around every boundary of the UTF-8 table, as valid text. */
const edgyText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.constantFrom(0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0x10ffff),
      fc.integer({ min: 0x80, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0x10ffff }),
    ),
    { maxLength: 80 },
  )
  .map((cps) => Buffer.from(String.fromCodePoint(...cps), 'utf8'));

/** Long ASCII/valid runs so that the native span path (pieces of 16+ bytes) is taken. */
const longText = fc
  .tuple(edgyText, fc.nat({ max: 300 }), edgyText)
  .map(([a, n, b]) => Buffer.concat([a, Buffer.alloc(n, 0x61), b]));

const inputArb = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: edgyText },
  { weight: 3, arbitrary: mutatedArb(fc.oneof(edgyText, longText), 4) },
  { weight: 1, arbitrary: longText },
);

export const utf8Target: FuzzTarget = {
  name: 'utf8',
  weight: 1,
  kind: 'sync',
  property: () =>
    fc.property(inputArb, chunkingArb, (input, chunking) => {
      const whole = isUtf8(input);
      check(isValidUtf8(input) === whole, 'isValidUtf8 disagrees with buffer.isUtf8');
      const viable = viablePrefixLength(input);
      const validator = new Utf8Validator();
      let offset = 0;
      let failedAt = -1;
      for (const piece of split(input, chunking)) {
        // Validate a window inside a larger buffer, as the decoder does with its chunks.
        const host = Buffer.concat([Buffer.from([0xff]), piece, Buffer.from([0xff])]);
        if (!validator.feed(host, 1, 1 + piece.length)) {
          failedAt = offset;
          check(viable < offset + piece.length, () => `feed failed at piece [${offset}, ${offset + piece.length}) but the input is viable up to ${viable}`);
          check(viable >= offset, () => `feed failed at piece starting at ${offset}, later than the first invalid byte ${viable}`);
          break;
        }
        offset += piece.length;
        check(viable >= offset, () => `feed accepted up to ${offset} but the input stops being viable at ${viable}`);
      }
      if (failedAt === -1) {
        check(validator.finish() === whole, 'finish() disagrees with buffer.isUtf8 on the whole input');
      } else {
        check(!whole, 'feed failed on a valid input');
      }
      return true;
    }),
};
