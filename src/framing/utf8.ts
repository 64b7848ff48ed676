// RFC 6455 §5.6 / §8.1: text payloads must be valid UTF-8 (RFC 3629); an endpoint that receives
// invalid UTF-8 fails the connection with 1007, and may do so as soon as the bytes received so far
// can no longer be the prefix of a valid sequence.
import { isUtf8 } from 'node:buffer';

/** Pieces shorter than this are checked byte by byte (a native call plus a view costs more). */
const HAND_CHECK_LIMIT = 16;

/** Buffers shorter than this are scanned for ASCII in JS before the native call. */
const ASCII_SCAN_LIMIT = 32;

/** Whole-buffer check (uses node:buffer isUtf8; short ASCII buffers are checked in JS). */
export function isValidUtf8(buf: Uint8Array): boolean {
  const length = buf.length;
  if (length < ASCII_SCAN_LIMIT) {
    let i = 0;
    while (i < length && buf[i]! < 0x80) i++;
    if (i === length) return true;
  }
  return isUtf8(buf);
}

/**
 * Incremental validator for a text message arriving in pieces (chunks and fragments).
 *
 * feed() fails as soon as an invalid sequence is certain, including a truncated prefix that can
 * never complete (0xC0/0xC1, 0xF5.., 0xE0 then <0xA0, 0xED then >=0xA0, 0xF0 then <0x90,
 * 0xF4 then >=0x90). Whole spans go to the native isUtf8; only the at most 3 bytes of a code
 * point split across pieces are tracked here.
 */
export class Utf8Validator {
  /** Continuation bytes still missing for the current code point (0 = at a boundary). */
  private need = 0;
  /** Inclusive range allowed for the next continuation byte (RFC 3629 §4 table). */
  private lo = 0x80;
  private hi = 0xbf;

  /** Validate buf[start, end) as the continuation of what was fed before. false = invalid. */
  feed(buf: Uint8Array, start: number, end: number): boolean {
    let i = start;
    // Complete a code point left open by the previous piece.
    while (this.need !== 0) {
      if (i === end) return true;
      if (!this.step(buf[i]!)) return false;
      i++;
    }
    if (end - i < HAND_CHECK_LIMIT) {
      for (; i < end; i++) {
        const b = buf[i]!;
        if ((b < 0x80 && this.need === 0) || this.step(b)) continue;
        return false;
      }
      return true;
    }
    // Find a lead byte among the last 3 bytes whose sequence does not fit before `end`: only such
    // a truncated code point is left to the hand checker; everything before it is one native call.
    let split = end;
    const low = end - 3 > i ? end - 3 : i;
    for (let k = end - 1; k >= low; k--) {
      const b = buf[k]!;
      if ((b & 0xc0) === 0x80) continue;
      const length = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      if (end - k < length) split = k;
      break;
    }
    if (split > i) {
      const span = i === 0 && split === buf.length ? buf : buf.subarray(i, split);
      if (!isUtf8(span)) return false;
    }
    for (; split < end; split++) if (!this.step(buf[split]!)) return false;
    return true;
  }

  /** End of the message: true when no code point is left incomplete. Resets the validator. */
  finish(): boolean {
    const complete = this.need === 0;
    this.reset();
    return complete;
  }

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }

  /** Advance the hand checker by one byte; false when the byte makes the sequence invalid. */
  private step(b: number): boolean {
    if (this.need !== 0) {
      if (b < this.lo || b > this.hi) return false;
      this.need--;
      this.lo = 0x80;
      this.hi = 0xbf;
      return true;
    }
    if (b < 0x80) return true;
    if (b >= 0xc2 && b <= 0xdf) {
      this.need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      this.need = 2;
      if (b === 0xe0) this.lo = 0xa0; // overlong
      else if (b === 0xed) this.hi = 0x9f; // UTF-16 surrogates U+D800..U+DFFF
    } else if (b >= 0xf0 && b <= 0xf4) {
      this.need = 3;
      if (b === 0xf0) this.lo = 0x90; // overlong
      else if (b === 0xf4) this.hi = 0x8f; // above U+10FFFF
    } else {
      return false; // continuation without a lead, 0xC0/0xC1 (overlong), 0xF5..0xFF
    }
    return true;
  }
}
