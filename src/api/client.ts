// The client side of the opening handshake (RFC 6455 §4.1) over node:net / node:tls, with our own
// request writer and response parser (no node:http): redirects, the handshake timeout, and the
// `ws`-shaped request/response objects of the 'redirect', 'upgrade' and 'unexpected-response' events.
import { EventEmitter } from 'node:events';
import { isIP, type Socket } from 'node:net';
import { unescape as percentDecode } from 'node:querystring';
import { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { acceptExtensions, type ClientExtensionNegotiator } from '../extensions/extension.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate.js';
import { REQUEST_RESERVED, buildClientRequest, generateKey, validateServerResponse } from '../handshake/client-handshake.js';
import { HandshakeError } from '../handshake/handshake-error.js';
import { ResponseHeadParser, type ResponseHead } from '../handshake/head-parser.js';
import { formatExtensions } from '../handshake/token-list.js';
import type { MaskKeySource } from '../protocol/random-source.js';
import type { TransportOptions } from '../transport/socket-transport.js';
import { connectWithSharedReads, readsShared, type ReadReceiver } from '../transport/shared-reads.js';
import type { WebSocketCoreOptions } from './websocket.js';
import { transportOptionsFrom } from './core-options.js';

type TlsOptionName =
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'rejectUnauthorized'
  | 'servername'
  | 'ciphers'
  | 'ecdhCurve'
  | 'minVersion'
  | 'maxVersion'
  | 'checkServerIdentity'
  | 'secureContext'
  | 'crl';

const TLS_OPTION_NAMES: readonly TlsOptionName[] = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'ciphers',
  'ecdhCurve',
  'minVersion',
  'maxVersion',
  'checkServerIdentity',
  'secureContext',
  'crl',
];

/** Header values as `http.OutgoingHttpHeaders` accepts them: a number is sent as its decimal form. */
export type ClientHeaders = Record<string, string | number | readonly string[]>;

/**
 * Options of `new WebSocket(url, protocols?, options)`. TLS options (ca, cert, key, rejectUnauthorized,
 * servername...) apply to wss: URLs; the server name defaults to the URL's host name (none for an IP).
 */
export interface ClientOptions extends WebSocketCoreOptions, Pick<TlsConnectionOptions, TlsOptionName> {
  /** Subprotocols, when the second constructor argument is the options object. */
  protocols?: string | readonly string[];
  /**
   * Extra request headers. The handshake's own fields (Upgrade, Connection, Sec-WebSocket-Key,
   * -Version, -Protocol, -Extensions) always carry the handshake's values, as in `ws`.
   */
  headers?: ClientHeaders;
  /** Value of the Origin header (Sec-WebSocket-Origin with protocolVersion 8). */
  origin?: string;
  /** Milliseconds for the TCP (and TLS) connect plus the opening handshake of each request. Default: no limit. */
  handshakeTimeout?: number;
  /** Sec-WebSocket-Version: 13 (RFC 6455) or 8 (hybi-08), else RangeError. Default 13. */
  protocolVersion?: number;
  /** Follow 3xx responses with a Location. Default false. */
  followRedirects?: boolean;
  /** Redirects followed before failing with 'Maximum redirects exceeded'. Default 10. */
  maxRedirects?: number;
  /** Offer permessage-deflate (RFC 7692) with these options; false = no offer. Default true (as in `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Fills the 4-byte masking key of each frame (as `ws`). Default: the system CSPRNG. */
  generateMask?: (mask: Buffer) => void;
}

/** What the handshake needs from the WebSocket it opens (implemented by websocket.ts). */
export interface ClientSocketOwner {
  _attach(
    socket: Socket,
    role: 'client',
    head: Buffer,
    negotiated: { url: string; protocol: string; extensions: string },
    options: Partial<TransportOptions>,
  ): void;
  /** The connection is open: emit 'open'. */
  _opened(): void;
  /** A redirect is being followed to `url`: emit 'redirect' (the request can still be changed). */
  _redirected(url: string, request: HandshakeRequest): void;
  /** A 101 arrived: emit 'upgrade' before it is checked. */
  _upgradeResponse(response: HandshakeResponse): void;
  /** A non-101 answer; returns whether the application listens ('unexpected-response') and handles it. */
  _unexpectedResponse(request: HandshakeRequest, response: HandshakeResponse): boolean;
  /** The handshake failed: 'error' then 'close' (1006). */
  _handshakeFailed(error: Error): void;
  /** The socket of a response the application handled is gone: 'close' (1006). */
  _handshakeClosed(): void;
}

/** A parsed and checked client URL. */
export interface ClientTarget {
  /** The URL as reported by `ws.url` (http: and https: become ws: and wss:). */
  href: string;
  secure: boolean;
  /** Host name to connect to (an IPv6 literal without brackets); 'localhost' for ws+unix:. */
  host: string;
  port: number;
  /** Request target: path and query, '/' at least. */
  path: string;
  /** ws+unix: the socket path. */
  socketPath: string | undefined;
  /** The Host header value. */
  hostHeader: string;
  /** host:port, or the socket path: what "same origin" compares for redirects. */
  authority: string;
  /** "user:password" from the URL, percent-decoded, or undefined. */
  credentials: string | undefined;
}

const PROTOCOL_ERROR = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';

/** Parse and check a WebSocket URL; throws SyntaxError like `ws` for an unusable one. */
export function parseTarget(address: string | URL): ClientTarget {
  let url: URL;
  try {
    url = new URL(address instanceof URL ? address.href : address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(address)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  const secure = url.protocol === 'wss:';
  const ipc = url.protocol === 'ws+unix:';
  if (!secure && !ipc && url.protocol !== 'ws:') throw new SyntaxError(PROTOCOL_ERROR);
  if (ipc && url.pathname === '') throw new SyntaxError("The URL's pathname is empty");
  if (url.hash !== '') throw new SyntaxError('The URL contains a fragment identifier');
  const credentials =
    url.username !== '' || url.password !== '' ? `${percentDecode(url.username)}:${percentDecode(url.password)}` : undefined;
  const pathAndQuery = url.pathname + url.search;
  if (ipc) {
    // ws+unix:/path/to/socket:/request/path — the socket path ends at the first ':'.
    const colon = pathAndQuery.indexOf(':');
    const socketPath = colon === -1 ? pathAndQuery : pathAndQuery.slice(0, colon);
    const path = colon === -1 ? '/' : pathAndQuery.slice(colon + 1) || '/';
    return { href: url.href, secure: false, host: 'localhost', port: 80, path, socketPath, hostHeader: 'localhost', authority: socketPath, credentials };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return {
    href: url.href,
    secure,
    host,
    port,
    path: pathAndQuery === '' ? '/' : pathAndQuery,
    socketPath: undefined,
    hostHeader: url.host,
    authority: url.host,
    credentials,
  };
}

// ---- the request and response objects given to the application --------------------------------

type HeaderValue = string | number | readonly string[];

/**
 * The handshake request, shaped like the parts of `http.ClientRequest` applications use: headers
 * can be read, and changed until the request is sent (in a 'redirect' listener); `destroy()` ends
 * the attempt.
 */
export class HandshakeRequest extends EventEmitter {
  readonly method = 'GET';
  /** 'http:' or 'https:', as node reports it. */
  readonly protocol: string;
  readonly host: string;
  readonly path: string;
  /** The socket, once the request is sent. */
  socket: Socket | null = null;
  headersSent = false;
  destroyed = false;
  /** @internal Lowercase name -> [name as given, value], in the order the fields are sent. */
  private readonly _headers = new Map<string, [string, HeaderValue]>();
  /** @internal */
  private readonly _onDestroy: (request: HandshakeRequest, error: Error | undefined) => void;

  /** @internal */
  constructor(target: ClientTarget, onDestroy: (request: HandshakeRequest, error: Error | undefined) => void) {
    super();
    this.protocol = target.secure ? 'https:' : 'http:';
    this.host = target.host;
    this.path = target.path;
    this._onDestroy = onDestroy;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this._headers.get(name.toLowerCase())?.[1];
  }

  hasHeader(name: string): boolean {
    return this._headers.has(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this._headers.keys()];
  }

  /** Lowercase names -> values (a null-prototype object, as node's). */
  getHeaders(): Record<string, HeaderValue> {
    const out: Record<string, HeaderValue> = Object.create(null);
    for (const [key, [, value]] of this._headers) out[key] = value;
    return out;
  }

  setHeader(name: string, value: HeaderValue): this {
    this._assertNotSent();
    this._headers.set(name.toLowerCase(), [name, value]);
    return this;
  }

  removeHeader(name: string): void {
    this._assertNotSent();
    this._headers.delete(name.toLowerCase());
  }

  /** Abandon the handshake; with an error, the WebSocket emits it before 'close'. */
  destroy(error?: Error): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this._onDestroy(this, error);
    }
    return this;
  }

  /** Deprecated in node; same as destroy(). */
  abort(): void {
    this.destroy();
  }

  /** @internal The application's header fields in order (arrays as repeated fields), without the handshake's own. */
  _fields(): Array<[string, string]> {
    const fields: Array<[string, string]> = [];
    for (const [key, [name, value]] of this._headers) {
      if (REQUEST_RESERVED.has(key)) continue;
      if (typeof value === 'object') for (const item of value) fields.push([name, String(item)]);
      else fields.push([name, String(value)]);
    }
    return fields;
  }

  private _assertNotSent(): void {
    if (this.headersSent) throw new Error('Cannot change the headers of a request that was sent');
  }
}

/**
 * The server's answer, shaped like `http.IncomingMessage`: status, headers (lowercase names,
 * repeated fields joined with ", ", set-cookie as an array) and, for a non-101 answer, a readable
 * body (Content-Length, chunked, or up to the close). `complete` is false when the connection
 * ended before the whole body arrived.
 */
export class HandshakeResponse extends Readable {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  complete = false;
  /** @internal */
  private _onRead: () => void = noop;
  /** @internal */
  private _onDestroy: () => void = noop;

  /** @internal */
  constructor(head: ResponseHead, socket: Socket) {
    super();
    this.statusCode = head.status;
    this.statusMessage = head.reason;
    this.httpVersion = head.version;
    this.httpVersionMajor = Number(head.version.charAt(0));
    this.httpVersionMinor = Number(head.version.charAt(2));
    this.rawHeaders = head.rawHeaders;
    this.socket = socket;
    const headers: Record<string, string | string[]> = Object.create(null);
    for (const [name, values] of head.headers) headers[name] = name === 'set-cookie' ? values : values.join(', ');
    this.headers = headers;
  }

  /** @internal `onRead`: the consumer wants more body bytes; `onDestroy`: it destroyed the response. */
  _bind(onRead: () => void, onDestroy: () => void): void {
    this._onRead = onRead;
    this._onDestroy = onDestroy;
  }

  override _read(): void {
    this._onRead();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this._onDestroy();
    callback(error);
  }
}

function noop(): void {}

// ---- the message body of a non-101 response (RFC 9112 §6) ---------------------------------------

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_UNTIL_CLOSE = 3;

// Chunked decoder states (RFC 9112 §7.1).
const CH_SIZE = 0;
const CH_EXTENSION = 1;
const CH_SIZE_LF = 2;
const CH_DATA = 3;
const CH_DATA_CR = 4;
const CH_DATA_LF = 5;
const CH_TRAILER_START = 6;
const CH_TRAILER = 7;
const CH_TRAILER_LF = 8;
const CH_FINAL_LF = 9;

/** Longest chunk-size line (extensions included) and trailer line accepted. */
const MAX_CHUNK_LINE = 4096;
/** Hex digits of a chunk size: 13 keep it below 2^53. */
const MAX_SIZE_DIGITS = 13;

type BodyStep = 'more' | 'done' | 'invalid';

/** Splits the bytes after a response head into body bytes, framed as RFC 9112 §6.3 says. */
class BodyReader {
  private readonly mode: number;
  private remaining = 0;
  private state = CH_SIZE;
  private digits = 0;
  private lineBytes = 0;

  constructor(head: ResponseHead) {
    const status = head.status;
    const transferEncoding = head.headers.get('transfer-encoding');
    const contentLength = head.headers.get('content-length');
    if ((status >= 100 && status < 200) || status === 204 || status === 304) {
      this.mode = BODY_NONE;
    } else if (transferEncoding !== undefined) {
      // §6.3 (4): chunked as the final coding frames the body; any other coding runs to the close.
      const codings = transferEncoding.join(',').split(',');
      const last = codings[codings.length - 1]!.trim().toLowerCase();
      this.mode = last === 'chunked' ? BODY_CHUNKED : BODY_UNTIL_CLOSE;
    } else if (contentLength !== undefined) {
      const length = parseContentLength(contentLength);
      this.mode = length === 0 ? BODY_NONE : BODY_LENGTH;
      this.remaining = length;
    } else {
      this.mode = BODY_UNTIL_CLOSE;
    }
  }

  /** No body follows the head. */
  get empty(): boolean {
    return this.mode === BODY_NONE;
  }

  /** Hands each body piece to `emit`; 'done' when the body is complete, 'invalid' for broken framing. */
  push(chunk: Buffer, emit: (piece: Buffer) => void): BodyStep {
    switch (this.mode) {
      case BODY_NONE:
        return 'done';
      case BODY_UNTIL_CLOSE:
        if (chunk.length > 0) emit(chunk);
        return 'more';
      case BODY_LENGTH:
        if (this.remaining < 0) return 'invalid';
        if (chunk.length >= this.remaining) {
          if (this.remaining > 0) emit(chunk.subarray(0, this.remaining));
          this.remaining = 0;
          return 'done';
        }
        if (chunk.length > 0) emit(chunk);
        this.remaining -= chunk.length;
        return 'more';
      default:
        return this.pushChunked(chunk, emit);
    }
  }

  private pushChunked(chunk: Buffer, emit: (piece: Buffer) => void): BodyStep {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const c = chunk[i]!;
      switch (this.state) {
        case CH_SIZE: {
          const value = hexValue(c);
          if (value !== -1) {
            if (++this.digits > MAX_SIZE_DIGITS) return 'invalid';
            this.remaining = this.remaining * 16 + value;
          } else if (this.digits === 0) {
            return 'invalid';
          } else if (c === 0x0d) {
            this.state = CH_SIZE_LF;
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.state = CH_EXTENSION;
          } else {
            return 'invalid';
          }
          i++;
          break;
        }
        case CH_EXTENSION:
          // chunk-ext is ignored (§7.1.1), up to a bounded length.
          if (c === 0x0d) this.state = CH_SIZE_LF;
          else if (++this.lineBytes > MAX_CHUNK_LINE) return 'invalid';
          i++;
          break;
        case CH_SIZE_LF:
          if (c !== 0x0a) return 'invalid';
          this.digits = 0;
          this.lineBytes = 0;
          this.state = this.remaining === 0 ? CH_TRAILER_START : CH_DATA;
          i++;
          break;
        case CH_DATA: {
          const take = Math.min(this.remaining, n - i);
          emit(chunk.subarray(i, i + take));
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = CH_DATA_CR;
          break;
        }
        case CH_DATA_CR:
          if (c !== 0x0d) return 'invalid';
          this.state = CH_DATA_LF;
          i++;
          break;
        case CH_DATA_LF:
          if (c !== 0x0a) return 'invalid';
          this.state = CH_SIZE;
          i++;
          break;
        case CH_TRAILER_START:
          this.state = c === 0x0d ? CH_FINAL_LF : CH_TRAILER;
          this.lineBytes = 0;
          i++;
          break;
        case CH_TRAILER:
          // Trailer fields (§7.1.2) are skipped, each line bounded.
          if (c === 0x0d) this.state = CH_TRAILER_LF;
          else if (++this.lineBytes > MAX_CHUNK_LINE) return 'invalid';
          i++;
          break;
        case CH_TRAILER_LF:
          if (c !== 0x0a) return 'invalid';
          this.state = CH_TRAILER_START;
          i++;
          break;
        default:
          // CH_FINAL_LF: the CRLF that ends the message.
          return c === 0x0a ? 'done' : 'invalid';
      }
    }
    return 'more';
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** RFC 9110 §8.6: 1*DIGIT; repeated fields must agree. -1 when invalid. */
function parseContentLength(values: readonly string[]): number {
  let length = -1;
  for (const value of values.join(',').split(',')) {
    const text = value.trim();
    if (text === '' || text.length > 15) return -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return -1;
    }
    const n = Number(text);
    if (length !== -1 && n !== length) return -1;
    length = n;
  }
  return length;
}

// ---- the handshake -----------------------------------------------------------------------------

const SUPPORTED_VERSIONS: readonly number[] = [8, 13];


/** Which part of the exchange the current attempt is in. */
const PHASE_HEAD = 0; // waiting for the response head
const PHASE_BODY = 1; // a non-101 answer the application handles: streaming its body
const PHASE_DONE = 2; // open, failed, or finished

/**
 * One client's opening handshake, across redirects: connect, send the request, read the answer;
 * then hand the socket to the owner, follow a redirect, report an unexpected response, or fail.
 */
export class ClientHandshake {
  private readonly options: ClientOptions;
  private readonly protocols: readonly string[];
  private readonly version: number;
  /** The first URL: redirects elsewhere drop its credentials. */
  private readonly origin: ClientTarget;
  /** Headers sent with every request: the application's, Origin, and Authorization from the first URL. */
  private readonly carried: Array<[string, string, HeaderValue]> = [];
  private redirects = 0;
  private phase = PHASE_HEAD;
  private target: ClientTarget;
  private socket: Socket | null = null;
  private request: HandshakeRequest | null = null;
  private timer: NodeJS.Timeout | undefined;
  private key = '';
  private offer = NO_EXTENSIONS;
  private parser: ResponseHeadParser | null = null;
  private body: BodyReader | null = null;
  private response: HandshakeResponse | null = null;
  private bodyEnded = false;

  /**
   * Throws (before any I/O) for an invalid version (RangeError), URL or subprotocol (SyntaxError) or
   * header (TypeError): the application's mistakes.
   */
  private readonly transportOptions: Partial<TransportOptions>;

  constructor(
    private readonly owner: ClientSocketOwner,
    address: string | URL,
    protocols: readonly string[],
    options: ClientOptions,
  ) {
    this.options = options;
    this.protocols = protocols;
    this.transportOptions = transportOptionsFrom(options);
    this.version = options.protocolVersion ?? 13;
    if (!SUPPORTED_VERSIONS.includes(this.version)) {
      throw new RangeError(`Unsupported protocol version: ${this.version} (supported versions: ${SUPPORTED_VERSIONS.join(', ')})`);
    }
    const target = parseTarget(address);
    this.origin = target;
    this.target = target;
    const headers = options.headers;
    if (headers !== undefined) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        const value = headers[name];
        if (value !== undefined && !REQUEST_RESERVED.has(lower)) this.carried.push([lower, name, value]);
      }
    }
    if (options.origin !== undefined) {
      // hybi-08 named the field Sec-WebSocket-Origin; RFC 6455 §4.1 (8) names it Origin.
      const name = this.version < 13 ? 'Sec-WebSocket-Origin' : 'Origin';
      this.carried.push([name.toLowerCase(), name, options.origin]);
    }
    if (target.credentials !== undefined && !this.carried.some(([lower]) => lower === 'authorization')) {
      this.carried.push(['authorization', 'Authorization', basicAuthorization(target.credentials)]);
    }
    this.start(this.prepare(target));
  }

  /** The URL of the current request (the last redirect's). */
  get url(): string {
    return this.target.href;
  }

  /** The application closed or terminated the socket before it opened. */
  abort(message: string): void {
    this.fail(new Error(message));
  }

  /**
   * The request for `target` with the headers of this hop (RFC 9110 §15.4: credentials stay with their
   * origin). The handshake's own fields are listed for the application to read; the request writer
   * sends its own values for them.
   */
  private prepare(target: ClientTarget): HandshakeRequest {
    const request = new HandshakeRequest(target, this.onRequestDestroyed);
    this.key = generateKey();
    request.setHeader('Host', target.hostHeader);
    request.setHeader('Sec-WebSocket-Version', this.version);
    request.setHeader('Sec-WebSocket-Key', this.key);
    request.setHeader('Connection', 'Upgrade');
    request.setHeader('Upgrade', 'websocket');
    if (this.protocols.length > 0) request.setHeader('Sec-WebSocket-Protocol', this.protocols.join(','));
    // RFC 6455 §9.1: the extensions we offer (the handshake only knows the negotiator interface).
    this.offer = extensionOffer(this.options);
    if (this.offer.header !== '') request.setHeader('Sec-WebSocket-Extensions', this.offer.header);
    for (const [, name, value] of this.carried) request.setHeader(name, value);
    if (target.credentials !== undefined && !request.hasHeader('authorization')) {
      request.setHeader('Authorization', basicAuthorization(target.credentials));
    }
    const origin = this.origin;
    const sameAuthority = target.socketPath === undefined ? origin.socketPath === undefined && target.authority === origin.authority : target.socketPath === origin.socketPath;
    if (!sameAuthority || (origin.secure && !target.secure)) {
      // Another origin (or a downgrade from TLS): what was given for the first one is not sent.
      request.removeHeader('authorization');
      request.removeHeader('cookie');
      if (!sameAuthority) request.setHeader('Host', target.hostHeader);
    }
    return request;
  }

  /** Builds the request bytes (throws for invalid input), connects and sends. */
  private start(request: HandshakeRequest): void {
    const target = this.target;
    const bytes = buildClientRequest({
      host: target.host,
      port: target.port,
      secure: target.secure,
      path: target.path,
      key: this.key,
      protocols: this.protocols,
      extensions: this.offer.header,
      headers: request._fields(),
      version: this.version,
    });

    let socket: Socket;
    if (target.socketPath !== undefined) {
      socket = connectWithSharedReads({ path: target.socketPath }, this.sharedReceiver);
    } else if (target.secure) {
      const tlsOptions: TlsConnectionOptions = {};
      const options = this.options as Record<string, unknown>;
      for (const name of TLS_OPTION_NAMES) {
        if (options[name] !== undefined) (tlsOptions as Record<string, unknown>)[name] = options[name];
      }
      // RFC 6066 §3: no SNI for an IP literal.
      tlsOptions.servername ??= isIP(target.host) === 0 ? target.host : '';
      socket = tlsConnect({ ...tlsOptions, host: target.host, port: target.port });
    } else {
      // Plain TCP reads into the shared buffer (transport/shared-reads.ts); TLS keeps 'data'.
      socket = connectWithSharedReads({ host: target.host, port: target.port }, this.sharedReceiver);
    }
    socket.setNoDelay(true);
    this.socket = socket;
    this.request = request;
    this.parser = new ResponseHeadParser();
    this.phase = PHASE_HEAD;
    request.socket = socket;
    request.headersSent = true;
    if (!readsShared(socket)) socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.write(bytes);
    const timeout = this.options.handshakeTimeout;
    if (timeout !== undefined && timeout > 0) {
      this.timer = setTimeout(() => this.fail(new Error('Opening handshake has timed out')), timeout);
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    this.onBytes(chunk, false);
  };

  /** Reads of a socket that reads into the shared buffer: `chunk` is only lent for the call. */
  private readonly sharedReceiver: ReadReceiver = {
    onSharedRead: (chunk) => this.onBytes(chunk, true),
  };

  private onBytes(chunk: Buffer, borrowed: boolean): void {
    if (this.phase === PHASE_BODY) {
      this.pushBody(borrowed ? Buffer.from(chunk) : chunk);
      return;
    }
    const result = this.parser!.push(chunk);
    if (result.kind === 'incomplete') return;
    this.parser = null;
    clearTimeout(this.timer);
    if (result.kind === 'error') {
      this.fail(new Error(`Invalid HTTP response: ${result.error.message}`));
      return;
    }
    const head = result.head;
    // What came after the head is kept: a copy when the chunk is only lent.
    const rest = borrowed ? Buffer.from(result.rest) : result.rest;
    if (head.status === 101) {
      this.upgrade(head, rest);
      return;
    }
    const location = head.headers.get('location');
    if (this.options.followRedirects === true && head.status >= 300 && head.status < 400 && location !== undefined) {
      this.redirect(location[0]!);
      return;
    }
    const response = new HandshakeResponse(head, this.socket!);
    this.response = response;
    this.body = new BodyReader(head);
    this.phase = PHASE_BODY;
    response._bind(this.onBodyRead, this.onResponseDestroyed);
    if (!this.owner._unexpectedResponse(this.request!, response)) {
      this.fail(new Error(`Unexpected server response: ${head.status}`));
      return;
    }
    if (this.phase !== PHASE_BODY) return; // the listener closed the WebSocket
    if (this.body.empty) this.endBody(true);
    else this.pushBody(rest);
  }

  private upgrade(head: ResponseHead, rest: Buffer): void {
    const socket = this.socket!;
    const response = new HandshakeResponse(head, socket);
    response.complete = true;
    response.push(null);
    this.owner._upgradeResponse(response);
    if (this.phase !== PHASE_HEAD) return; // the listener closed the WebSocket
    const accepted = validateServerResponse(head, this.key, this.protocols, this.offer.names);
    if (accepted instanceof HandshakeError) {
      this.fail(new Error(accepted.message));
      return;
    }
    // RFC 7692 §5: an answer that is not valid for our offer fails the connection.
    const extensions = acceptExtensions(this.offer.negotiators, accepted.extensions);
    if (extensions instanceof Error) {
      this.fail(new Error(`Invalid Sec-WebSocket-Extensions header: ${extensions.message}`));
      return;
    }
    // As `ws`: a client that offered subprotocols requires the server to pick one of them.
    if (this.protocols.length > 0 && accepted.protocol === undefined) {
      this.fail(new Error('Server sent no subprotocol'));
      return;
    }
    this.phase = PHASE_DONE;
    this.detach();
    socket.pause();
    const options = this.options;
    this.owner._attach(
      socket,
      'client',
      rest,
      { url: this.target.href, protocol: accepted.protocol ?? '', extensions: extensions.map((e) => e.name).join(',') },
      {
        ...this.transportOptions,
        extension: extensions[0] ?? null,
        maskKeys: options.generateMask === undefined ? undefined : maskKeysFrom(options.generateMask),
      },
    );
    this.owner._opened();
  }

  private redirect(location: string): void {
    if (++this.redirects > (this.options.maxRedirects ?? 10)) {
      this.fail(new Error('Maximum redirects exceeded'));
      return;
    }
    this.discard();
    let next: ClientTarget;
    try {
      let url: URL;
      try {
        url = new URL(location, this.target.href);
      } catch {
        throw new SyntaxError(`Invalid URL: ${location}`);
      }
      next = parseTarget(url);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.target = next;
    const request = this.prepare(next);
    this.request = request;
    this.owner._redirected(next.href, request);
    if (this.phase === PHASE_DONE || request.destroyed) return; // the listener closed or destroyed it
    try {
      this.start(request);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private pushBody(chunk: Buffer): void {
    if (this.bodyEnded) return;
    const socket = this.socket!;
    const response = this.response!;
    const step = this.body!.push(chunk, (piece) => {
      if (!response.push(piece)) socket.pause();
    });
    if (step !== 'more') this.endBody(step === 'done');
  }

  /** The whole body arrived (or its framing broke): end the stream and let the socket go. */
  private endBody(complete: boolean): void {
    this.endResponse(complete);
    this.socket?.destroy();
  }

  private endResponse(complete: boolean): void {
    if (this.bodyEnded) return;
    this.bodyEnded = true;
    const response = this.response!;
    response.complete = complete;
    response.push(null);
  }

  private readonly onBodyRead = (): void => {
    if (this.phase === PHASE_BODY) this.socket?.resume();
  };

  /** The application destroyed the response: the socket goes too (then 'close'). */
  private readonly onResponseDestroyed = (): void => {
    if (this.phase === PHASE_BODY) this.socket?.destroy();
  };

  private readonly onError = (error: Error): void => {
    if (this.phase === PHASE_HEAD) this.fail(error);
    // In the body phase, 'close' follows and ends the response.
  };

  private readonly onClose = (): void => {
    if (this.phase === PHASE_HEAD) {
      this.fail(new Error('Socket closed before the opening handshake completed'));
      return;
    }
    if (this.phase !== PHASE_BODY) return;
    this.phase = PHASE_DONE;
    this.detach();
    this.endResponse(false);
    this.owner._handshakeClosed();
  };

  private readonly onRequestDestroyed = (request: HandshakeRequest, error: Error | undefined): void => {
    if (request !== this.request || this.phase === PHASE_DONE) return;
    if (error !== undefined || this.phase === PHASE_HEAD) {
      this.fail(error ?? new Error('The opening handshake request was destroyed'));
      return;
    }
    // A response the application handled: dropping the socket ends it with 'close'.
    this.socket?.destroy();
  };

  private fail(error: Error): void {
    if (this.phase === PHASE_DONE) return;
    const hadResponse = this.phase === PHASE_BODY;
    this.phase = PHASE_DONE;
    this.discard();
    if (hadResponse) this.endResponse(false);
    this.owner._handshakeFailed(error);
  }

  /** Stops listening to the socket of the current attempt. */
  private detach(): void {
    clearTimeout(this.timer);
    const socket = this.socket;
    if (socket === null) return;
    socket.removeListener('data', this.onData);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
  }

  /** Drops the socket of the current attempt. */
  private discard(): void {
    this.detach();
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    // A late socket error must not become an uncaught exception.
    socket.on('error', noop);
    socket.destroy();
  }
}

// ---- the extension offer (permessage-deflate, RFC 7692) ---------------------------------------
interface ExtensionOfferSet {
  /** Sec-WebSocket-Extensions value to send ('' for none). */
  header: string;
  /** Extension names the server may accept. */
  names: string[];
  /** The negotiators that check the server's answer. */
  negotiators: ClientExtensionNegotiator[];
}

const NO_EXTENSIONS: ExtensionOfferSet = { header: '', names: [], negotiators: [] };

function extensionOffer(options: ClientOptions): ExtensionOfferSet {
  const deflate = options.perMessageDeflate ?? true;
  if (deflate === false) return NO_EXTENSIONS;
  const negotiator = new PerMessageDeflate(deflate);
  return { header: formatExtensions([negotiator.offer()]), names: [negotiator.name], negotiators: [negotiator] };
}

function basicAuthorization(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

/** `ws`'s generateMask(buffer) as a source of 32-bit masking keys. */
function maskKeysFrom(generateMask: (mask: Buffer) => void): MaskKeySource {
  const mask = Buffer.alloc(4);
  return () => {
    generateMask(mask);
    return mask.readUInt32BE(0);
  };
}
