// What `ws`'s header parsers (extension, subprotocol) reject, and how they word it.
import { isOws } from '../../handshake/http-grammar.js';
import type { Scanner } from '../../handshake/token-list.js';

/** A malformed header: the index of the first unexpected character, or the end of the value. */
export function unexpected(sc: Scanner): SyntaxError {
  return new SyntaxError(sc.atEnd() ? 'Unexpected end of input' : `Unexpected character at index ${sc.i}`);
}

/** `ws` refuses whitespace at the start of a value (an unexpected character at index 0). */
export function checkStart(header: string, sc: Scanner): void {
  if (header.length > 0 && isOws(header.charCodeAt(0))) throw unexpected(sc);
}

/** The value ends in whitespace (reached once the scanner is at the end): `ws` calls that an unexpected end. */
export function endsInWhitespace(header: string): boolean {
  return header.length > 0 && isOws(header.charCodeAt(header.length - 1));
}
