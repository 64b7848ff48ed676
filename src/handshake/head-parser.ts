import { HandshakeError } from './handshake-error.js';
import { isFieldValueChar, isOws, isTokenChar } from './http-grammar.js';

/** Limits of one HTTP head; every one is checked at the byte where it is crossed. */
export interface HeadLimits {
  /** Bytes of the whole head, start line to the final CRLFCRLF included (default 16384; over -> 431). */
  maxHeadSize: number;
  /** Header field lines (default 100; over -> 431). */
  maxHeaders: number;
  /** Bytes of one line without its CRLF (default 8192; a request line over -> 414, a header line -> 431). */
  maxLineLength: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = Object.freeze({
  maxHeadSize: 16384,
  maxHeaders: 100,
  maxLineLength: 8192,
});

export interface RequestHead {
  method: string;
  target: string;
  /** "major.minor" as sent: "1.1" (or a higher 1.x, which RFC 9110 §2.5 says to treat as 1.1). */
  version: string;
  /** Lowercase field name -> values in order of arrival (one entry per field line). */
  headers: Map<string, string[]>;
  /** Node-style flat list [name, value, name, value, ...] with the names as sent. */
  rawHeaders: string[];
}

export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  rawHeaders: string[];
}

export type HeadParseResult<H> =
  | { kind: 'incomplete' }
  | {
      kind: 'complete';
      head: H;
      /** The bytes after the CRLFCRLF (a view into the last chunk pushed, may be empty): the frame stream. */
      rest: Buffer;
    }
  | { kind: 'error'; error: HandshakeError };

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const COLON = 0x3a;

// Scanner states.
const IN_LINE = 0;
const AFTER_CR = 1;
const FINISHED = 2;

const INCOMPLETE: { kind: 'incomplete' } = Object.freeze({ kind: 'incomplete' });

/** The line buffer of a parser that has not needed one (shared: it is only ever replaced, never written). */
const NO_LINE = Buffer.alloc(0);

/**
 * How Node's HTTP parser (llhttp) names a malformed response: its error code and reason. The client
 * reports a broken response as `ws` does on Node (`Parse Error: <reason>`, `code`), so each rule
 * below names the llhttp error of the same input; the request side only uses status and message.
 */
type ParseFailure = readonly [code: string, reason: string];
const HEADER_OVERFLOW: ParseFailure = ['HPE_HEADER_OVERFLOW', 'Header overflow'];
const INVALID_HEADER_TOKEN: ParseFailure = ['HPE_INVALID_HEADER_TOKEN', 'Invalid header token'];
const INVALID_STATUS: ParseFailure = ['HPE_INVALID_STATUS', 'Invalid status code'];
const INVALID_RESPONSE_STATUS: ParseFailure = ['HPE_INVALID_STATUS', 'Invalid response status'];
const INVALID_VERSION: ParseFailure = ['HPE_INVALID_VERSION', 'Invalid HTTP version'];
/** The versions llhttp accepts in a status line (the response's version is not checked further). */
const RESPONSE_VERSIONS: ReadonlySet<string> = new Set(['0.9', '1.0', '1.1', '2.0']);

/** The response defaults: close to Node's http client (16 KiB of head, no smaller per-line or count limit). */
const RESPONSE_HEAD_LIMITS: HeadLimits = Object.freeze({
  maxHeadSize: 16384,
  maxHeaders: 16384,
  maxLineLength: 16384,
});

function resolveLimits(limits: Partial<HeadLimits> | undefined, defaults: HeadLimits): HeadLimits {
  // The defaults themselves (frozen) when none are given: no object per parser.
  if (limits === undefined) return defaults;
  const resolved = { ...defaults, ...limits };
  for (const name of ['maxHeadSize', 'maxHeaders', 'maxLineLength'] as const) {
    const v = resolved[name];
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  }
  return resolved;
}

/** "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3) at src[start, end) -> "major.minor", or null. */
function parseHttpVersion(src: Buffer, start: number, end: number): string | null {
  if (end - start !== 8) return null;
  if (src[start] !== 0x48 || src[start + 1] !== 0x54 || src[start + 2] !== 0x54 || src[start + 3] !== 0x50) return null;
  if (src[start + 4] !== 0x2f || src[start + 6] !== 0x2e) return null;
  const major = src[start + 5];
  const minor = src[start + 7];
  if (major < 0x30 || major > 0x39 || minor < 0x30 || minor > 0x39) return null;
  return String.fromCharCode(major, 0x2e, minor);
}

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];
/** 2^64 - 1: llhttp's largest Content-Length. */
const MAX_UINT64 = '18446744073709551615';

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A header line whose name is not a token followed by ':': llhttp's two wordings. */
function malformedName(src: Buffer, i: number, end: number): ParseFailure {
  // Whitespace between a name and its colon is "Invalid header field char"; anything else is "token".
  let k = i;
  while (k < end && isOws(src[k])) k++;
  return k > i && k < end && src[k] === COLON ? ['HPE_INVALID_HEADER_TOKEN', 'Invalid header field char'] : INVALID_HEADER_TOKEN;
}

/** RFC 6455 §4.1 needs HTTP/1.1; RFC 9110 §2.5: a higher 1.x minor version is processed as 1.1. */
function isHttp11(version: string): boolean {
  return version.charCodeAt(0) === 0x31 && version !== '1.0';
}

/**
 * The incremental scanner shared by both parsers: it splits the bytes into CRLF-terminated lines,
 * enforces the limits and the line-ending rules byte by byte, and hands each complete line to the
 * start-line or header-line parser. Each byte is looked at once; a line split across pushes is kept
 * in one growing buffer, a line inside one chunk is parsed in place.
 */
abstract class HeadParser<H> {
  private readonly limits: HeadLimits;
  private state = IN_LINE;
  /** Bytes of the head consumed so far, line endings included. */
  private size = 0;
  /** The start of a line that spans pushes, and its length. */
  private line: Buffer = NO_LINE;
  private lineLength = 0;
  private sawStartLine = false;
  private headerCount = 0;
  protected readonly headers = new Map<string, string[]>();
  protected readonly rawHeaders: string[] = [];

  constructor(limits: Partial<HeadLimits> | undefined, defaults: HeadLimits) {
    this.limits = resolveLimits(limits, defaults);
  }

  /** Parses src[start, end) as the start line; returns an error or undefined. */
  protected abstract parseStartLine(src: Buffer, start: number, end: number): HandshakeError | undefined;
  protected abstract buildHead(): H;
  /**
   * The error value of this parser's role: a server answers `status` with `message`; a client reports
   * `failure`, llhttp's name for the same fault.
   */
  protected abstract error(status: number, message: string, failure: ParseFailure): HandshakeError;
  /** The status for a start line longer than maxLineLength. */
  protected abstract readonly startLineTooLongStatus: number;

  /** A further check of one header field (`key` lowercase) as it arrives; none by default. */
  protected checkField(_key: string, _value: string): HandshakeError | undefined {
    return undefined;
  }

  push(chunk: Buffer): HeadParseResult<H> {
    if (this.state === FINISHED) throw new Error('the head is already parsed: push() must not be called again');
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.state === AFTER_CR) {
        // The CR ended the previous push; this byte must be its LF.
        const outcome = this.lineEnd(chunk[i], this.line, 0, this.lineLength);
        i++;
        if (outcome !== undefined) return this.finish(outcome, chunk, i);
        this.state = IN_LINE;
        continue;
      }
      // Content bytes up to the next CR or LF.
      let j = i;
      while (j < n) {
        const c = chunk[j];
        if (c === CR || c === LF) break;
        j++;
      }
      const run = j - i;
      const headRoom = this.limits.maxHeadSize - this.size;
      const lineRoom = this.limits.maxLineLength - this.lineLength;
      if (run > headRoom || run > lineRoom) {
        // Report the limit crossed at the earlier byte (the head size first at the same byte).
        return this.finish(headRoom <= lineRoom ? this.headTooLarge() : this.lineTooLong(), chunk, n);
      }
      this.size += run;
      if (j === n) {
        this.appendToLine(chunk, i, j);
        break;
      }
      if (++this.size > this.limits.maxHeadSize) return this.finish(this.headTooLarge(), chunk, n);
      // RFC 9112 §2.2: lines end with CRLF; a bare LF is rejected.
      if (chunk[j] === LF) {
        const failure: ParseFailure = ['HPE_CR_EXPECTED', `Missing expected CR after ${this.sawStartLine ? 'header value' : 'response line'}`];
        return this.finish(this.error(400, 'bare LF in the HTTP head', failure), chunk, n);
      }
      if (j + 1 === n) {
        this.appendToLine(chunk, i, j);
        this.state = AFTER_CR;
        break;
      }
      const outcome =
        this.lineLength === 0
          ? this.lineEnd(chunk[j + 1], chunk, i, j)
          : (this.appendToLine(chunk, i, j), this.lineEnd(chunk[j + 1], this.line, 0, this.lineLength));
      i = j + 2;
      if (outcome !== undefined) return this.finish(outcome, chunk, i);
    }
    return INCOMPLETE;
  }

  private appendToLine(chunk: Buffer, start: number, end: number): void {
    const needed = this.lineLength + end - start;
    if (needed > this.line.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(needed, this.line.length * 2, 256), this.limits.maxLineLength));
      this.line.copy(grown, 0, 0, this.lineLength);
      this.line = grown;
    }
    chunk.copy(this.line, this.lineLength, start, end);
    this.lineLength = needed;
  }

  /**
   * `next` is the byte after a CR. Returns undefined to go on, true when the head is complete, or the
   * error; the line is src[start, end).
   */
  private lineEnd(next: number, src: Buffer, start: number, end: number): HandshakeError | true | undefined {
    // RFC 9112 §2.2: a bare CR is rejected.
    if (next !== LF) {
      const failure: ParseFailure = this.sawStartLine ? ['HPE_LF_EXPECTED', 'Missing expected LF after header value'] : ['HPE_STRICT', 'Expected LF after CR'];
      return this.error(400, 'bare CR in the HTTP head', failure);
    }
    if (++this.size > this.limits.maxHeadSize) return this.headTooLarge();
    this.lineLength = 0;
    if (!this.sawStartLine) {
      if (start === end) {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line (and
        // Node's client does so before a status line).
        return undefined;
      }
      this.sawStartLine = true;
      return this.parseStartLine(src, start, end);
    }
    if (start === end) return true;
    return this.parseHeaderLine(src, start, end);
  }

  /** RFC 9112 §5: field-line = field-name ":" OWS field-value OWS */
  private parseHeaderLine(src: Buffer, start: number, end: number): HandshakeError | undefined {
    // RFC 9112 §5.2: obs-fold (a line starting with SP/HTAB) is rejected.
    if (isOws(src[start])) {
      return this.error(400, 'obsolete line folding in a header field', ['HPE_INVALID_HEADER_TOKEN', 'Unexpected whitespace after header value']);
    }
    let i = start;
    while (i < end && isTokenChar(src[i])) i++;
    // RFC 9112 §5.1: the name is a token immediately followed by ":" (no whitespace before it).
    if (i === start || i === end || src[i] !== COLON) return this.error(400, 'malformed header field name', malformedName(src, i, end));
    let valueStart = i + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && isOws(src[valueStart])) valueStart++;
    while (valueEnd > valueStart && isOws(src[valueEnd - 1])) valueEnd--;
    // RFC 9110 §5.5: no CTL other than HTAB (no NUL, CR, LF) and no DEL in a field value.
    for (let k = valueStart; k < valueEnd; k++) {
      if (!isFieldValueChar(src[k])) {
        return this.error(400, 'invalid character in a header field value', ['HPE_INVALID_HEADER_TOKEN', 'Invalid header value char']);
      }
    }
    if (++this.headerCount > this.limits.maxHeaders) return this.error(431, 'too many header fields', HEADER_OVERFLOW);
    // One decoding per line; name and value are slices of it.
    const line = src.toString('latin1', start, valueEnd);
    const name = line.slice(0, i - start);
    const value = line.slice(valueStart - start);
    const key = name.toLowerCase();
    const invalid = this.checkField(key, value);
    if (invalid !== undefined) return invalid;
    this.rawHeaders.push(name, value);
    const values = this.headers.get(key);
    if (values === undefined) this.headers.set(key, [value]);
    else values.push(value);
    return undefined;
  }

  private headTooLarge(): HandshakeError {
    return this.error(431, 'the HTTP head is too large', HEADER_OVERFLOW);
  }

  private lineTooLong(): HandshakeError {
    return this.sawStartLine
      ? this.error(431, 'a header field line is too long', HEADER_OVERFLOW)
      : this.error(this.startLineTooLongStatus, 'the start line is too long', HEADER_OVERFLOW);
  }

  private finish(outcome: HandshakeError | true, chunk: Buffer, restStart: number): HeadParseResult<H> {
    this.state = FINISHED;
    this.line = NO_LINE;
    if (outcome !== true) return { kind: 'error', error: outcome };
    return { kind: 'complete', head: this.buildHead(), rest: chunk.subarray(restStart) };
  }
}

/**
 * Incremental HTTP/1.1 request head parser (RFC 9112 §2-§5): feed chunks split at any byte. After
 * 'complete' or 'error' it must not be fed again. Empty lines before the request line are skipped
 * (RFC 9112 §2.2), within maxHeadSize. Any version other than HTTP/1.x with x >= 1 -> 505 (so also
 * HTTP/1.0: RFC 6455 §4.1 requires HTTP/1.1); a malformed version -> 400.
 */
export class RequestHeadParser extends HeadParser<RequestHead> {
  protected readonly startLineTooLongStatus = 414;
  private method = '';
  private target = '';
  private version = '';

  constructor(limits?: Partial<HeadLimits>) {
    super(limits, DEFAULT_HEAD_LIMITS);
  }

  /** RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
  protected parseStartLine(src: Buffer, start: number, end: number): HandshakeError | undefined {
    let i = start;
    while (i < end && isTokenChar(src[i])) i++;
    if (i === start || i === end || src[i] !== SP) return this.error(400, 'malformed request line');
    const methodEnd = i++;
    const targetStart = i;
    // RFC 9112 §3.2: the request-target is visible ASCII (RFC 3986 characters), no whitespace.
    while (i < end && src[i] > SP && src[i] < 0x7f) i++;
    if (i === targetStart || i === end || src[i] !== SP) return this.error(400, 'malformed request line');
    const version = parseHttpVersion(src, i + 1, end);
    if (version === null) return this.error(400, 'malformed request line');
    if (!isHttp11(version)) return this.error(505, `HTTP/${version} is not supported: a WebSocket handshake needs HTTP/1.1`);
    const line = src.toString('latin1', start, i);
    this.method = line.slice(0, methodEnd - start);
    this.target = line.slice(targetStart - start);
    this.version = version;
    return undefined;
  }

  protected buildHead(): RequestHead {
    return {
      method: this.method,
      target: this.target,
      version: this.version,
      headers: this.headers,
      rawHeaders: this.rawHeaders,
    };
  }

  protected error(status: number, message: string): HandshakeError {
    return new HandshakeError(status, message);
  }
}

/**
 * Incremental HTTP/1.1 response head parser, the client's side. Every error carries status 502
 * (an invalid response from the server: RFC 9110 §15.6.3), whatever rule or limit was broken.
 */
export class ResponseHeadParser extends HeadParser<ResponseHead> {
  protected readonly startLineTooLongStatus = 502;
  private version = '';
  private status = 0;
  private reason = '';
  private sawContentLength = false;
  private sawTransferEncoding = false;

  constructor(limits?: Partial<HeadLimits>) {
    super(limits, RESPONSE_HEAD_LIMITS);
  }

  /**
   * RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. What llhttp accepts is
   * accepted (HTTP/1.0 and its other versions, any 3-digit status from 100, any reason bytes: RFC 9112
   * §4 has the client ignore the reason), and each fault gets llhttp's error.
   */
  protected parseStartLine(src: Buffer, start: number, end: number): HandshakeError | undefined {
    const at = (offset: number): number => (start + offset < end ? src[start + offset] : -1);
    for (let k = 0; k < 5; k++) {
      if (at(k) !== HTTP_SLASH[k]) return this.error(502, 'malformed status line', ['HPE_INVALID_CONSTANT', 'Expected HTTP/, RTSP/ or ICE/']);
    }
    if (!isDigit(at(5))) return this.error(502, 'malformed status line', ['HPE_INVALID_VERSION', 'Invalid major version']);
    if (at(6) !== 0x2e) return this.error(502, 'malformed status line', ['HPE_INVALID_VERSION', 'Expected dot']);
    if (!isDigit(at(7))) return this.error(502, 'malformed status line', ['HPE_INVALID_VERSION', 'Invalid minor version']);
    const version = String.fromCharCode(at(5), 0x2e, at(7));
    if (!RESPONSE_VERSIONS.has(version)) return this.error(502, 'malformed status line', INVALID_VERSION);
    if (at(8) !== SP) return this.error(502, 'malformed status line', ['HPE_INVALID_VERSION', 'Expected space after version']);
    let status = 0;
    for (let k = 9; k < 12; k++) {
      const c = at(k);
      if (!isDigit(c)) return this.error(502, 'malformed status code', INVALID_STATUS);
      status = status * 10 + c - 0x30;
    }
    if (status < 100) return this.error(502, 'malformed status code', INVALID_STATUS);
    // The SP before an empty reason phrase is tolerated when missing.
    if (end > start + 12) {
      if (src[start + 12] !== SP) return this.error(502, 'malformed status line', INVALID_RESPONSE_STATUS);
      this.reason = src.toString('latin1', start + 13, end);
    }
    this.version = version;
    this.status = status;
    return undefined;
  }

  protected buildHead(): ResponseHead {
    return {
      version: this.version,
      status: this.status,
      reason: this.reason,
      headers: this.headers,
      rawHeaders: this.rawHeaders,
    };
  }

  /**
   * RFC 9112 §6.3: the body's framing, checked where llhttp checks it (at the field), with its errors:
   * one Content-Length of digits only that fits 64 bits, never together with Transfer-Encoding.
   */
  protected override checkField(key: string, value: string): HandshakeError | undefined {
    if (key === 'content-length') {
      if (this.sawContentLength) return this.parseError(['HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length']);
      if (this.sawTransferEncoding) return this.parseError(['HPE_INVALID_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding"]);
      if (value === '') return this.parseError(['HPE_INVALID_CONTENT_LENGTH', 'Empty Content-Length']);
      for (let k = 0; k < value.length; k++) {
        if (!isDigit(value.charCodeAt(k))) return this.parseError(['HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length']);
      }
      const digits = value.replace(/^0+/, '');
      if (digits.length > 20 || (digits.length === 20 && digits > MAX_UINT64)) {
        return this.parseError(['HPE_INVALID_CONTENT_LENGTH', 'Content-Length overflow']);
      }
      this.sawContentLength = true;
    } else if (key === 'transfer-encoding') {
      if (this.sawContentLength) return this.parseError(['HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length"]);
      this.sawTransferEncoding = true;
    }
    return undefined;
  }

  protected error(_status: number, _message: string, failure: ParseFailure): HandshakeError {
    return this.parseError(failure);
  }

  /** The message is llhttp's reason, `code` its error code (a client reports `Parse Error: <reason>`). */
  private parseError([code, reason]: ParseFailure): HandshakeError {
    return new HandshakeError(502, reason, [], code);
  }
}
