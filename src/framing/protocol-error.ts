import { CloseCode } from './close-codes.js';

/**
 * A violation of the WebSocket protocol by the peer (or a limit it exceeded). Raised as a value
 * inside the core and turned into a close frame with `closeCode` plus a teardown by the connection;
 * it never escapes a `data` handler.
 *
 * The violations `ws` also detects are not built with this constructor but by `protocolError()`: a
 * plain `RangeError` (or `Error`) with `ws`'s message and `code`, as a `ws` user expects them in
 * 'error'. `instanceof ProtocolError` holds for those too (see Symbol.hasInstance), so code written
 * against either library keeps working.
 */
export class ProtocolError extends Error {
  /** Always 'ProtocolError'. */
  override readonly name = 'ProtocolError';
  /** The close code sent to the peer for this violation (1002, 1007, 1008, 1009...). */
  readonly closeCode: number;
  /** A `WS_ERR_*` code (`ws`'s where it has one), or zlib's code for corrupt compressed data. */
  readonly code: string;

  constructor(closeCode: number, message: string, code = 'WS_ERR_PROTOCOL_VIOLATION') {
    super(message);
    this.closeCode = closeCode;
    this.code = code;
    violations.add(this);
  }

  /** True for every error that stands for a peer's violation, whatever its own class. */
  static override [Symbol.hasInstance](value: unknown): value is ProtocolError {
    // A subclass keeps the ordinary prototype check.
    if (this !== ProtocolError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && violations.has(value);
  }
}

/** The errors that are protocol violations (a WeakSet: no mark shows on the error objects). */
const violations = new WeakSet<object>();

/**
 * A violation as `ws` reports it: `new Kind(message)` with `code` and `closeCode` set. `frame`
 * prefixes the message with "Invalid WebSocket frame: " as `ws` does for framing errors. Built on
 * the violation path only.
 */
export function protocolError(
  Kind: ErrorConstructor | RangeErrorConstructor,
  closeCode: number,
  code: string,
  message: string,
  frame = true,
): ProtocolError {
  const error = new Kind(frame ? `Invalid WebSocket frame: ${message}` : message) as Error & { code: string; closeCode: number };
  error.code = code;
  error.closeCode = closeCode;
  violations.add(error);
  return error as ProtocolError;
}

/**
 * An error of another origin (zlib's, for corrupt compressed data) made a protocol violation in
 * place, as `ws` passes it on: its message, `code` and `errno` are kept, `closeCode` is added.
 */
export function asProtocolError(error: Error, closeCode: number): ProtocolError {
  (error as Error & { closeCode: number }).closeCode = closeCode;
  violations.add(error);
  return error as ProtocolError;
}

/** A framing violation (1002) as `ws` reports it: a RangeError "Invalid WebSocket frame: ...". */
export function frameError(code: string, message: string): ProtocolError {
  return protocolError(RangeError, CloseCode.ProtocolError, code, message);
}

/** RFC 6455 §8.1: invalid UTF-8 in a text message or a close reason (1007), as `ws` words it. */
export function invalidUtf8Error(): ProtocolError {
  return protocolError(Error, CloseCode.InvalidPayload, 'WS_ERR_INVALID_UTF8', 'invalid UTF-8 sequence');
}

/** A message over maxPayload (1009), as `ws` words it (from the frame header or while inflating). */
export function maxPayloadError(): ProtocolError {
  return protocolError(RangeError, CloseCode.MessageTooBig, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded', false);
}
