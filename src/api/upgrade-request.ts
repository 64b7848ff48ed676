import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHead } from '../handshake/head-parser.js';

/**
 * The upgrade request as the server's hooks and events see it: the fields of `http.IncomingMessage`
 * that WebSocket applications read. With `server` or `noServer` it is the real IncomingMessage;
 * the standalone listener parses the head itself and builds a {@link StandaloneRequest}.
 */
export interface UpgradeRequest {
  method?: string | undefined;
  url?: string | undefined;
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  /** Lowercase names, folded as node:http does (see {@link foldHeaders}). */
  headers: IncomingHttpHeaders;
  /** Every field line's values under its lowercase name. */
  headersDistinct: NodeJS.Dict<string[]>;
  /** [name, value, name, value, ...] with the names as sent. */
  rawHeaders: string[];
  socket: Socket;
  /** Alias of `socket` (as on IncomingMessage). */
  connection: Socket;
}

// node:http keeps only the first of these when a request repeats them.
const FIRST_ONLY: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * `headers` as node:http builds them from repeated field lines: set-cookie stays a list, cookie
 * values are joined with "; ", the fields of FIRST_ONLY keep their first value, every other field
 * is joined with ", ". The object has no prototype, so `__proto__` is an ordinary name.
 */
export function foldHeaders(fields: ReadonlyMap<string, readonly string[]>): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = Object.create(null);
  for (const [name, values] of fields) {
    if (name === 'set-cookie') headers[name] = values.slice();
    else if (values.length === 1 || FIRST_ONLY.has(name)) headers[name] = values[0];
    else headers[name] = values.join(name === 'cookie' ? '; ' : ', ');
  }
  return headers as IncomingHttpHeaders;
}

// Its own state sits under module-private symbols (not #private fields, which would put `#private`
// into the declarations and make them unusable for targets below ES2015).
const kHead = Symbol('kHead');
const kHeaders = Symbol('kHeaders');
const kDistinct = Symbol('kDistinct');

/**
 * The request object of the standalone listener, built from our own parsed head. `headers` and
 * `headersDistinct` are built on first read, as node:http's IncomingMessage does.
 */
export class StandaloneRequest implements UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** @internal The parsed head, so the handshake need not rebuild it. */
  readonly [kHead]: RequestHead;
  /** @internal */
  [kHeaders]: IncomingHttpHeaders | undefined = undefined;
  /** @internal */
  [kDistinct]: NodeJS.Dict<string[]> | undefined = undefined;

  constructor(head: RequestHead, socket: Socket) {
    this.method = head.method;
    this.url = head.target;
    this.httpVersion = head.version;
    // The head parser accepts only "1.x" with a single-digit minor version.
    this.httpVersionMajor = head.version.charCodeAt(0) - 0x30;
    this.httpVersionMinor = head.version.charCodeAt(2) - 0x30;
    this.rawHeaders = head.rawHeaders;
    this.socket = socket;
    this[kHead] = head;
  }

  /** @internal */
  static headOf(request: UpgradeRequest): RequestHead | undefined {
    return request instanceof StandaloneRequest ? request[kHead] : undefined;
  }

  get headers(): IncomingHttpHeaders {
    if (this[kHeaders] === undefined) this[kHeaders] = foldHeaders(this[kHead].headers);
    return this[kHeaders];
  }

  set headers(headers: IncomingHttpHeaders) {
    // Assignable, as on IncomingMessage (some middleware rewrites them).
    this[kHeaders] = headers;
  }

  get connection(): Socket {
    return this.socket;
  }

  get headersDistinct(): NodeJS.Dict<string[]> {
    if (this[kDistinct] === undefined) {
      const distinct: NodeJS.Dict<string[]> = Object.create(null);
      for (const [name, values] of this[kHead].headers) distinct[name] = values.slice();
      this[kDistinct] = distinct;
    }
    return this[kDistinct];
  }
}

/**
 * The head the handshake validates: kept from the standalone parser, or rebuilt from an
 * IncomingMessage (method, url, version and rawHeaders, which node:http keeps line by line).
 */
export function requestHeadOf(request: UpgradeRequest): RequestHead {
  const kept = StandaloneRequest.headOf(request);
  if (kept !== undefined) return kept;
  const fields = new Map<string, string[]>();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [raw[i + 1]]);
    else values.push(raw[i + 1]);
  }
  return {
    method: request.method ?? '',
    target: request.url ?? '',
    version: request.httpVersion,
    headers: fields,
    rawHeaders: raw,
  };
}
