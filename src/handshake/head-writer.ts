import { isFieldValueChar, isToken } from './http-grammar.js';

/** An application-given header field; throws TypeError unless the name is a token and the value a valid field value. */
export function assertHeaderField(name: string, value: string): void {
  if (typeof name !== 'string' || !isToken(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  if (typeof value !== 'string') throw new TypeError(`the value of header ${name} must be a string`);
  // RFC 9110 §5.5: no CR, LF, NUL or other CTL (HTAB aside); one byte per character (latin1).
  for (let i = 0; i < value.length; i++) {
    if (!isFieldValueChar(value.charCodeAt(i))) throw new TypeError(`invalid character in the value of header ${name}`);
  }
}

/**
 * Throws TypeError when an application-given header `name` is one of `reserved` (lowercase names the
 * handshake writes itself, so a second copy would make the head ambiguous).
 */
export function assertNotReserved(name: string, reserved: ReadonlySet<string>): void {
  if (reserved.has(name.toLowerCase())) {
    throw new TypeError(`the ${name} header is set by the WebSocket handshake and cannot be given`);
  }
}

/** `startLine` CRLF, each field as "name: value" CRLF, then CRLF; fields must be validated already. */
export function serializeHead(startLine: string, fields: ReadonlyArray<readonly [string, string]>): Buffer {
  let head = `${startLine}\r\n`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  return Buffer.from(`${head}\r\n`, 'latin1');
}
