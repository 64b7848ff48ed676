// RFC 6455 §5.5.1: the body of a close frame is empty, or a 2-byte status code (network byte
// order) followed by a UTF-8 reason.
import { isUtf8 } from 'node:buffer';
import { CloseCode } from './close-codes.js';
import { type ProtocolError, frameError, invalidUtf8Error } from './protocol-error.js';

/** RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

const EMPTY = Buffer.alloc(0);

/**
 * RFC 6455 §7.4: may this code appear in a close frame on the wire? 1000-1003 and 1007-1014
 * (1004-1006 and 1015 are reserved, 1016-2999 unassigned), 3000-4999.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Parse a received close payload: empty -> {code: 1005, reason: empty}; length 1 -> ProtocolError
 * 1002; invalid code -> 1002; reason not UTF-8 -> 1007 (`ws`'s errors). `reason` is a view into
 * `payload`.
 */
export function parseClosePayload(payload: Buffer): { code: number; reason: Buffer } | ProtocolError {
  // RFC 6455 §7.1.5: no status code in the frame -> 1005 is reported.
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: EMPTY };
  // RFC 6455 §5.5.1: a body starts with a 2-byte code; one byte is malformed.
  if (payload.length === 1) return frameError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'invalid payload length 1');
  const code = (payload[0]! << 8) | payload[1]!;
  // RFC 6455 §7.4.1/§7.4.2: reserved or unassigned codes must not be sent.
  if (!isValidCloseCode(code)) return frameError('WS_ERR_INVALID_CLOSE_CODE', `invalid status code ${code}`);
  const reason = payload.subarray(2);
  // RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails with 1007.
  if (!isUtf8(reason)) return invalidUtf8Error();
  return { code, reason };
}

/**
 * Build a close payload (code + UTF-8 reason, <= 123 bytes of reason). code undefined -> empty
 * payload (a reason without a code cannot be sent and is ignored).
 * Throws TypeError for a code that may not be sent (see isValidCloseCode) or a Buffer reason that
 * is not UTF-8, RangeError for a reason longer than 123 bytes: these are the caller's mistakes.
 */
export function encodeClosePayload(code: number | undefined, reason: string | Buffer | undefined): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  if (typeof code !== 'number' || !isValidCloseCode(code)) {
    throw new TypeError(`invalid close code: ${String(code)}`);
  }
  let reasonBytes: number;
  if (reason === undefined) {
    reasonBytes = 0;
  } else if (typeof reason === 'string') {
    reasonBytes = Buffer.byteLength(reason);
  } else {
    if (!isUtf8(reason)) throw new TypeError('close reason is not valid UTF-8');
    reasonBytes = reason.length;
  }
  if (reasonBytes > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason must not be longer than ${MAX_CLOSE_REASON_BYTES} bytes`);
  }
  const out = Buffer.allocUnsafe(2 + reasonBytes);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  if (typeof reason === 'string') out.write(reason, 2);
  else if (reason !== undefined) out.set(reason, 2);
  return out;
}
