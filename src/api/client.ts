// The client side of the opening handshake (RFC 6455 §4.1) over node:net / node:tls, with our own
// request writer and response parser (no node:http): redirects, the handshake timeout, and the
// `ws`-shaped request/response objects of the 'redirect', 'upgrade' and 'unexpected-response' events.
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { NetConnectOpts, Socket } from 'node:net';
import { unescape as percentDecode } from 'node:querystring';
import { Readable } from 'node:stream';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { acceptExtensions, type ClientExtensionNegotiator } from '../extensions/extension.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate.js';
import { REQUEST_RESERVED, generateKey, isUpgradeResponse, validateServerResponse } from '../handshake/client-handshake.js';
import { HandshakeError } from '../handshake/handshake-error.js';
import { ResponseHeadParser, type ResponseHead } from '../handshake/head-parser.js';
import { assertHeaderField, serializeHead } from '../handshake/head-writer.js';
import { isToken } from '../handshake/http-grammar.js';
import { formatExtensions } from '../handshake/token-list.js';
import type { MaskKeySource } from '../protocol/random-source.js';
import type { TransportOptions } from '../transport/socket-transport.js';
import { connectWithSharedReads, readsShared, type ReadReceiver } from '../transport/shared-reads.js';
import type { WebSocketCoreOptions } from './websocket.js';
import { connectDirect, headOf, routeFor, sendThroughNode, type NodeRequestOptions, type RoutingOptions } from './client-request.js';
import { transportOptionsFrom } from './core-options.js';
import type { ReconnectOptions } from './reconnect.js';

/** TLS options, passed to tls.connect for wss: as `ws` passes them (the connection's own fields aside). */
type ForwardedTlsOptions = Omit<TlsConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'timeout' | 'lookup'>;

/** The `http.request` options `ws` forwards that shape the connection (honoured on both paths). */
type ForwardedRequestOptions = Pick<RequestOptions, 'auth' | 'localAddress' | 'localPort' | 'family' | 'lookup' | 'hints'>;

/** Header values as `http.OutgoingHttpHeaders` accepts them: a number is sent as its decimal form. */
export type ClientHeaders = Record<string, string | number | readonly string[]>;

/**
 * Options of `new WebSocket(url, protocols?, options)`. As in `ws`, they also reach the connection:
 * net.connect (localAddress, family, lookup...), tls.connect for wss: URLs (every TLS option; the
 * server name defaults to the URL's host name, none for an IP), and http.request when the
 * connection is routed (agent, createConnection, finishRequest, proxy).
 */
export interface ClientOptions extends WebSocketCoreOptions, RoutingOptions, NodeRequestOptions, ForwardedTlsOptions, ForwardedRequestOptions {
  /** Subprotocols, when the second constructor argument is the options object. */
  protocols?: string | readonly string[];
  /**
   * Extra request headers. The handshake's own fields (Upgrade, Connection, Sec-WebSocket-Key,
   * -Version, -Protocol, -Extensions) always carry the handshake's values, as in `ws`.
   */
  headers?: ClientHeaders;
  /** Value of the Origin header (Sec-WebSocket-Origin with protocolVersion 8). */
  origin?: string;
  /** Milliseconds the connection of each request may stay idle before the opening handshake completes (`ws`: the request's timeout). Default: no limit. */
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
  /**
   * rfc6455 only: reconnect after a lost connection or a failed attempt, with backoff, queueing
   * send()s meanwhile (see ReconnectOptions and README "Reconnecting client"). Default false.
   */
  reconnect?: boolean | ReconnectOptions;
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
  _upgradeResponse(response: HandshakeResponse | IncomingMessage): void;
  /** A non-101 answer; returns whether the application listens ('unexpected-response') and handles it. */
  _unexpectedResponse(request: HandshakeRequest | ClientRequest, response: HandshakeResponse | IncomingMessage): boolean;
  /** The handshake failed ('error' then 'close' 1006); `status`: the HTTP status of the answer that failed it. */
  _handshakeFailed(error: Error, status?: number): void;
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
  /** Always 'GET'. */
  readonly method = 'GET';
  /** 'http:' or 'https:', as node reports it. */
  readonly protocol: string;
  /** The host name connected to. */
  readonly host: string;
  /** The request target: path and query. */
  readonly path: string;
  /** The socket, once the request is sent. */
  socket: Socket | null = null;
  /** Whether the request head was sent (headers can no longer change). */
  headersSent = false;
  /** Whether `destroy()` was called. */
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

  /** A request header's value (case-insensitive name). */
  getHeader(name: string): HeaderValue | undefined {
    return this._headers.get(name.toLowerCase())?.[1];
  }

  /** Whether the request has the header (case-insensitive name). */
  hasHeader(name: string): boolean {
    return this._headers.has(name.toLowerCase());
  }

  /** The lowercase names of the request's headers. */
  getHeaderNames(): string[] {
    return [...this._headers.keys()];
  }

  /** Lowercase names -> values (a null-prototype object, as node's). */
  getHeaders(): Record<string, HeaderValue> {
    const out: Record<string, HeaderValue> = Object.create(null);
    for (const [key, [, value]] of this._headers) out[key] = value;
    return out;
  }

  /** Sets a header before the request is sent (throws after, as node does). */
  setHeader(name: string, value: HeaderValue): this {
    this._assertNotSent();
    this._headers.set(name.toLowerCase(), [name, value]);
    return this;
  }

  /** Removes a header before the request is sent. */
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

  /** @internal Every field in order (arrays as repeated fields), checked: TypeError for an invalid one. */
  _fields(): Array<[string, string]> {
    const fields: Array<[string, string]> = [];
    for (const [name, value] of this._headers.values()) {
      if (typeof value === 'object') for (const item of value) fields.push([name, checkedField(name, String(item))]);
      else fields.push([name, checkedField(name, String(value))]);
    }
    return fields;
  }

  /**
   * @internal The fields as `http.request` takes them: those before Host as the headers option (node
   * adds Host itself when it is the computed `host` value), and those after it, to set once the
   * request exists, so that the order on the wire is the same as on the direct path.
   */
  _nodeHeaders(host: string): { before: Record<string, HeaderValue>; after: Array<[string, HeaderValue]> } {
    const before: Record<string, HeaderValue> = {};
    const after: Array<[string, HeaderValue]> = [];
    let seenHost = false;
    for (const [key, [name, value]] of this._headers) {
      if (key === 'host') {
        seenHost = true;
        if (value !== host) after.push([name, value]);
      } else if (seenHost) after.push([name, value]);
      else before[name] = value;
    }
    return { before, after };
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
  /** The status code (101 for an upgrade). */
  readonly statusCode: number;
  /** The reason phrase. */
  readonly statusMessage: string;
  /** '1.1' (or '1.0'). */
  readonly httpVersion: string;
  /** The major HTTP version, 1. */
  readonly httpVersionMajor: number;
  /** The minor HTTP version. */
  readonly httpVersionMinor: number;
  /** Lowercase names -> values (repeated fields joined with ', ', set-cookie as an array). */
  readonly headers: Record<string, string | string[]>;
  /** Names and values as received, alternating. */
  readonly rawHeaders: string[];
  /** The connection the response came on. */
  readonly socket: Socket;
  /** Whether the whole body arrived. */
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

  /** @internal */
  override _read(): void {
    this._onRead();
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this._onDestroy();
    // As http.IncomingMessage: a body cut short is 'aborted', and its error is emitted only to listeners.
    if (!this.complete) {
      this.emit('aborted');
      callback(this.listenerCount('error') > 0 ? (error ?? connectionReset()) : null);
      return;
    }
    callback(error);
  }
}

function noop(): void {}

/** What an application listener threw, as an Error for the handshake's 'error' event. */
function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`a listener threw ${String(thrown)}`);
}

const EMPTY = Buffer.alloc(0);

/** Node's error for a response whose connection went away: message 'aborted', code ECONNRESET. */
function connectionReset(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

function checkedField(name: string, value: string): string {
  assertHeaderField(name, value);
  return value;
}

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

  /** The body runs to the close of the connection (so the close completes it). */
  get endsWithClose(): boolean {
    return this.mode === BODY_UNTIL_CLOSE;
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

/**
 * The subprotocols of `new WebSocket(url, protocols)` as `ws` reads them: undefined is none, an array
 * is the list, anything else one entry. Throws SyntaxError unless each is a token, given once
 * (RFC 6455 §4.1 (10)).
 */
export function subprotocolList(given: unknown): string[] {
  const list: unknown[] = given === undefined ? [] : Array.isArray(given) ? given : [given];
  const seen = new Set<string>();
  for (const protocol of list) {
    if (typeof protocol !== 'string' || !isToken(protocol) || seen.has(protocol)) {
      throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    }
    seen.add(protocol);
  }
  return list as string[];
}

/** Which part of the exchange the current attempt is in. */
const PHASE_HEAD = 0; // waiting for the response head
const PHASE_BODY = 1; // a non-101 answer the application handles: streaming its body
const PHASE_DONE = 2; // open, failed, or finished
// A non-101 answer the application handled is over; as in `ws` the WebSocket stays CONNECTING until
// the application closes or terminates it (then 'error' and 'close').
const PHASE_ANSWERED = 3;

/**
 * One client's opening handshake, across redirects: connect, send the request, read the answer;
 * then hand the socket to the owner, follow a redirect, report an unexpected response, or fail.
 * The request goes directly over net/tls (our writer and parser), or through node's http.request
 * when the application routes the connection (client-request.ts); the answer is judged by the same
 * code either way (answered()).
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
  /** The direct path's socket, or the routed path's once upgraded. */
  private socket: Socket | null = null;
  /** The routed path's request. */
  private nodeRequest: ClientRequest | null = null;
  private request: HandshakeRequest | null = null;
  private key = '';
  private offer = NO_EXTENSIONS;
  private parser: ResponseHeadParser | null = null;
  private body: BodyReader | null = null;
  private response: HandshakeResponse | null = null;
  private bodyEnded = false;
  /** The HTTP status of an answer that was not an upgrade (101 for one that failed the checks). */
  private status: number | undefined = undefined;
  private readonly transportOptions: Partial<TransportOptions>;

  /**
   * Throws (before any I/O) for an invalid version (RangeError), URL or subprotocol (SyntaxError) or
   * header (TypeError): the application's mistakes.
   */
  constructor(
    private readonly owner: ClientSocketOwner,
    address: string | URL,
    protocols: unknown,
    options: ClientOptions,
  ) {
    this.options = options;
    this.transportOptions = transportOptionsFrom(options);
    this.version = options.protocolVersion ?? 13;
    if (!SUPPORTED_VERSIONS.includes(this.version)) {
      throw new RangeError(`Unsupported protocol version: ${this.version} (supported versions: ${SUPPORTED_VERSIONS.join(', ')})`);
    }
    const target = parseTarget(address);
    this.protocols = subprotocolList(protocols);
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
    // As `ws`: the URL's credentials, else the `auth` option (as http.request takes it).
    const credentials = target.credentials ?? options.auth ?? undefined;
    if (credentials !== undefined && !this.carried.some(([lower]) => lower === 'authorization')) {
      this.carried.push(['authorization', 'Authorization', basicAuthorization(credentials)]);
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
   * The request for `target` with the headers of this hop, in `ws`'s order (RFC 9110 §15.4:
   * credentials stay with their origin).
   */
  private prepare(target: ClientTarget): HandshakeRequest {
    const request = new HandshakeRequest(target, this.onRequestDestroyed);
    this.key = generateKey();
    for (const [lower, name, value] of this.carried) {
      if (lower !== 'authorization' && lower !== 'origin' && lower !== 'sec-websocket-origin') request.setHeader(name, value);
    }
    request.setHeader('Sec-WebSocket-Version', this.version);
    request.setHeader('Sec-WebSocket-Key', this.key);
    request.setHeader('Connection', 'Upgrade');
    request.setHeader('Upgrade', 'websocket');
    // RFC 6455 §9.1: the extensions we offer (the handshake only knows the negotiator interface).
    this.offer = extensionOffer(this.options);
    if (this.offer.header !== '') request.setHeader('Sec-WebSocket-Extensions', this.offer.header);
    if (this.protocols.length > 0) request.setHeader('Sec-WebSocket-Protocol', this.protocols.join(','));
    for (const [lower, name, value] of this.carried) {
      if (lower === 'origin' || lower === 'sec-websocket-origin') request.setHeader(name, value);
    }
    if (!request.hasHeader('host')) request.setHeader('Host', target.hostHeader);
    for (const [lower, name, value] of this.carried) if (lower === 'authorization') request.setHeader(name, value);
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

  /** Sends `request` directly or through node (throws for invalid input before any I/O). */
  private start(request: HandshakeRequest): void {
    const route = routeFor(this.target, this.options, process.env);
    const fields = request._fields();
    this.request = request;
    this.phase = PHASE_HEAD;
    if (route === null) this.sendDirect(request, fields);
    else this.sendRouted(request, route.createConnection);
    request.headersSent = true;
  }

  private get timeout(): number | undefined {
    const timeout = this.options.handshakeTimeout;
    return timeout !== undefined && timeout > 0 ? timeout : undefined;
  }

  /** Our own request over net/tls: the options reach net.connect / tls.connect as `ws` passes them. */
  private sendDirect(request: HandshakeRequest, fields: Array<[string, string]>): void {
    const target = this.target;
    const bytes = serializeHead(`GET ${target.path} HTTP/1.1`, fields);
    const connectOptions = { ...(this.options as Record<string, unknown>), host: target.host, port: target.port, socketPath: target.socketPath, timeout: undefined };
    // Plain TCP reads into the shared buffer (transport/shared-reads.ts); TLS keeps 'data'.
    const socket = target.secure
      ? connectDirect(connectOptions, true)
      : connectWithSharedReads({ ...connectOptions, path: target.socketPath } as NetConnectOpts, this.sharedReceiver);
    socket.setNoDelay(true);
    this.socket = socket;
    this.parser = new ResponseHeadParser();
    request.socket = socket;
    if (!readsShared(socket)) socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // As `ws` (the request's timeout): the socket's idle time, from the connect on.
    const timeout = this.timeout;
    if (timeout !== undefined) {
      socket.setTimeout(timeout);
      socket.on('timeout', this.onTimeout);
    }
    socket.write(bytes);
  }

  /** The request through http.request (an agent, createConnection, finishRequest or a proxy). */
  private sendRouted(request: HandshakeRequest, createConnection: RequestOptions['createConnection'] | undefined): void {
    const headers = request._nodeHeaders(this.target.hostHeader);
    const nodeRequest = sendThroughNode(this.target, this.options as Record<string, unknown>, headers.before, createConnection, this.timeout);
    for (const [name, value] of headers.after) nodeRequest.setHeader(name, value);
    this.nodeRequest = nodeRequest;
    nodeRequest.on('upgrade', this.onNodeUpgrade);
    nodeRequest.on('response', this.onNodeResponse);
    nodeRequest.on('error', this.onNodeError);
    nodeRequest.on('timeout', this.onTimeout);
    const finish = this.options.finishRequest;
    if (finish === undefined) {
      nodeRequest.end();
      return;
    }
    try {
      finish(nodeRequest, this.owner as never);
    } catch (error) {
      // The application's callback failed: the request it did not end goes, and the error is its.
      this.discard();
      throw error;
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
    if (result.kind === 'error') {
      // As Node's HTTP parser reports it to `ws`: llhttp's reason and HPE_* code.
      const { message: reason, code } = result.error;
      this.fail(Object.assign(new Error(`Parse Error: ${reason}`), { code, reason }));
      return;
    }
    const head = result.head;
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      // An interim answer (RFC 9110 §15.2: 100 Continue, 103 Early Hints): as Node's HTTP client does
      // under `ws`, it is passed over and the final answer read from what follows it.
      this.parser = new ResponseHeadParser();
      if (result.rest.length > 0) this.onBytes(result.rest, borrowed);
      return;
    }
    // What came after the head is kept: a copy when the chunk is only lent.
    const rest = borrowed ? Buffer.from(result.rest) : result.rest;
    const response = new HandshakeResponse(head, this.socket!);
    if (isUpgradeResponse(head)) {
      response.complete = true;
      response.push(null);
    } else {
      this.response = response;
      this.body = new BodyReader(head);
      response._bind(this.onBodyRead, this.onResponseDestroyed);
    }
    if (!this.answered(head, rest, this.request!, response)) return;
    // The application handles the answer: its body streams into the response.
    if (this.body!.empty) this.endBody(true);
    else this.pushBody(rest);
  }

  private readonly onNodeUpgrade = (response: IncomingMessage, socket: Socket, rest: Buffer): void => {
    this.socket = socket;
    this.request!.socket = socket;
    this.answered(headOf(response), rest, this.nodeRequest!, response);
  };

  private readonly onNodeResponse = (response: IncomingMessage): void => {
    if (!this.answered(headOf(response), EMPTY, this.nodeRequest!, response)) return;
    response.on('close', this.onNodeResponseClosed);
  };

  /** The routed response the application handled is over. */
  private readonly onNodeResponseClosed = (): void => {
    if (this.phase !== PHASE_BODY) return;
    this.phase = PHASE_ANSWERED;
    this.detach();
  };

  private readonly onNodeError = (error: Error): void => {
    this.fail(error);
  };

  /**
   * The answer's head, on either path: open, follow a redirect, or offer a non-101 answer to the
   * application. True when the application took it (its body follows).
   */
  private answered(head: ResponseHead, rest: Buffer, request: HandshakeRequest | ClientRequest, response: HandshakeResponse | IncomingMessage): boolean {
    // A 101 without the upgrade fields is, as for Node's parser under `ws`, an answer like any other.
    if (isUpgradeResponse(head)) {
      this.upgrade(head, rest, response);
      return false;
    }
    this.status = head.status;
    const location = head.headers.get('location');
    if (this.options.followRedirects === true && head.status >= 300 && head.status < 400 && location !== undefined) {
      this.redirect(location[0]!);
      return false;
    }
    this.phase = PHASE_BODY;
    let handled: boolean;
    try {
      handled = this.owner._unexpectedResponse(request, response);
    } catch (error) {
      // A listener that throws, called on the server's answer: that handshake fails, nothing escapes.
      this.fail(asError(error));
      return false;
    }
    if (!handled) {
      this.fail(new Error(`Unexpected server response: ${head.status}`));
      return false;
    }
    return this.phase === PHASE_BODY; // else the listener closed the WebSocket
  }

  private upgrade(head: ResponseHead, rest: Buffer, response: HandshakeResponse | IncomingMessage): void {
    const socket = this.socket!;
    try {
      this.owner._upgradeResponse(response);
    } catch (error) {
      this.fail(asError(error));
      return;
    }
    if (this.phase !== PHASE_HEAD) return; // the listener closed the WebSocket
    const accepted = validateServerResponse(head, this.key, this.protocols, this.offer.names);
    this.status = head.status;
    if (accepted instanceof HandshakeError) {
      this.fail(new Error(accepted.message));
      return;
    }
    // RFC 7692 §5: an answer that is not valid for our offer fails the connection.
    const extensions = acceptExtensions(this.offer.negotiators, accepted.extensions);
    if (extensions instanceof Error) {
      this.fail(new Error('Invalid Sec-WebSocket-Extensions header', { cause: extensions }));
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
    this.status = undefined;
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
    try {
      this.owner._redirected(next.href, request);
    } catch (error) {
      this.fail(asError(error));
      return;
    }
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

  /** Ends the direct path's response: 'end' when complete, else 'aborted' and 'close' (as node's). */
  private endResponse(complete: boolean): void {
    const response = this.response;
    if (this.bodyEnded || response === null) return;
    this.bodyEnded = true;
    response.complete = complete;
    if (complete) response.push(null);
    else response.destroy();
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

  private readonly onTimeout = (): void => {
    this.fail(new Error('Opening handshake has timed out'));
  };

  private readonly onClose = (): void => {
    if (this.phase === PHASE_HEAD) {
      // As Node's HTTP client reports it to `ws`.
      this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return;
    }
    if (this.phase !== PHASE_BODY) return;
    this.phase = PHASE_ANSWERED;
    this.detach();
    this.endResponse(this.body!.endsWithClose);
  };

  private readonly onRequestDestroyed = (request: HandshakeRequest, error: Error | undefined): void => {
    if (request !== this.request || this.phase === PHASE_DONE || (this.phase === PHASE_ANSWERED && error === undefined)) return;
    if (error !== undefined || this.phase === PHASE_HEAD) {
      this.fail(error ?? new Error('The opening handshake request was destroyed'));
      return;
    }
    // A response the application handled: it is cut short ('aborted'), and the socket goes ('close').
    this.endResponse(false);
    this.socket?.destroy();
  };

  private fail(error: Error): void {
    if (this.phase === PHASE_DONE) return;
    const hadResponse = this.phase === PHASE_BODY;
    this.phase = PHASE_DONE;
    this.discard();
    if (hadResponse) this.endResponse(false);
    this.owner._handshakeFailed(error, this.status);
  }

  /** Stops listening to the socket (and request) of the current attempt. */
  private detach(): void {
    const nodeRequest = this.nodeRequest;
    if (nodeRequest !== null) {
      nodeRequest.removeListener('upgrade', this.onNodeUpgrade);
      nodeRequest.removeListener('response', this.onNodeResponse);
      nodeRequest.removeListener('error', this.onNodeError);
      nodeRequest.removeListener('timeout', this.onTimeout);
      // A late error of a request we are done with must not become an uncaught exception.
      nodeRequest.on('error', noop);
    }
    const socket = this.socket;
    if (socket === null) return;
    socket.setTimeout(0);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('data', this.onData);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
  }

  /** Drops the socket (and request) of the current attempt. */
  private discard(): void {
    this.detach();
    const nodeRequest = this.nodeRequest;
    this.nodeRequest = null;
    nodeRequest?.destroy();
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
export function maskKeysFrom(generateMask: (mask: Buffer) => void): MaskKeySource {
  const mask = Buffer.alloc(4);
  return () => {
    generateMask(mask);
    return mask.readUInt32BE(0);
  };
}
