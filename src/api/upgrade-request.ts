import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHead } from '../handshake/head-parser.js';

/**
 * The upgrade request as the server's hooks and events see it: the fields of `http.IncomingMessage`
 * that WebSocket applications read. With `server` it is node:http's IncomingMessage, with `noServer`
 * whatever the application hands to handleUpgrade (perhaps built by hand: see `requestHeadOf`);
 * the standalone listener parses the head itself and builds a `StandaloneRequest`, an
 * IncomingMessage too.
 */
export interface UpgradeRequest {
  /** 'GET' for a WebSocket handshake. */
  method?: string | undefined;
  /** The request target: path and query. */
  url?: string | undefined;
  /** '1.1'. */
  httpVersion: string;
  /** 1. */
  httpVersionMajor: number;
  /** 1. */
  httpVersionMinor: number;
  /** Lowercase names, folded as node:http does (see `foldHeaders`). */
  headers: IncomingHttpHeaders;
  /** Every field line's values under its lowercase name. */
  headersDistinct: NodeJS.Dict<string[]>;
  /** [name, value, name, value, ...] with the names as sent. */
  rawHeaders: string[];
  /** The connection the request came on. */
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
 * The request object of the standalone listener, built from our own parsed head: an
 * `http.IncomingMessage` (frameworks check `instanceof`), with the fields node:http sets for an
 * upgrade. `headers` and `headersDistinct` are built on first read, as node:http does, but on
 * null-prototype objects (see `foldHeaders`).
 */
export class StandaloneRequest extends IncomingMessage implements UpgradeRequest {
  /** @internal The parsed head, so the handshake need not rebuild it. */
  readonly [kHead]: RequestHead;
  /** @internal */
  [kHeaders]: IncomingHttpHeaders | undefined;
  /** @internal */
  [kDistinct]: NodeJS.Dict<string[]> | undefined;

  constructor(head: RequestHead, socket: Socket) {
    super(socket);
    this.method = head.method;
    this.url = head.target;
    this.httpVersion = head.version;
    // The head parser accepts only "1.x" with a single-digit minor version.
    this.httpVersionMajor = head.version.charCodeAt(0) - 0x30;
    this.httpVersionMinor = head.version.charCodeAt(2) - 0x30;
    this.rawHeaders = head.rawHeaders;
    this.complete = true;
    (this as unknown as { upgrade: boolean }).upgrade = true;
    this[kHead] = head;
  }

  /** @internal */
  static headOf(request: UpgradeRequest): RequestHead | undefined {
    return request instanceof StandaloneRequest ? request[kHead] : undefined;
  }

  static {
    // Accessors over IncomingMessage's own (which TypeScript declares as plain properties).
    Object.defineProperties(this.prototype, {
      headers: {
        configurable: true,
        get(this: StandaloneRequest): IncomingHttpHeaders {
          return (this[kHeaders] ??= foldHeaders(this[kHead].headers));
        },
        // Assignable, as on IncomingMessage (some middleware rewrites them).
        set(this: StandaloneRequest, headers: IncomingHttpHeaders) {
          this[kHeaders] = headers;
        },
      },
      headersDistinct: {
        configurable: true,
        get(this: StandaloneRequest): NodeJS.Dict<string[]> {
          if (this[kDistinct] === undefined) {
            const distinct: NodeJS.Dict<string[]> = Object.create(null);
            for (const [name, values] of this[kHead].headers) distinct[name] = values.slice();
            this[kDistinct] = distinct;
          }
          return this[kDistinct];
        },
      },
    });
  }
}

/**
 * The head the handshake validates: kept from the standalone parser, or rebuilt from the request
 * handed to handleUpgrade: an IncomingMessage (rawHeaders, which node:http keeps line by line), or an
 * object built by hand (a framework's, a test's) with only `headers` (a list value counts as several
 * lines, a number as its decimal text) and perhaps no version (then 1.1, as node:http would have
 * refused anything else it could not upgrade).
 */
export function requestHeadOf(request: UpgradeRequest): RequestHead {
  const kept = StandaloneRequest.headOf(request);
  if (kept !== undefined) return kept;
  const fields = new Map<string, string[]>();
  const add = (name: string, value: string): void => {
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [value]);
    else values.push(value);
  };
  const raw = request.rawHeaders;
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i].toLowerCase(), raw[i + 1]);
  } else if (request.headers != null) {
    const headers = request.headers as Record<string, unknown>;
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      if (Array.isArray(value)) for (const item of value) add(lower, String(item));
      else add(lower, String(value));
    }
  }
  return {
    method: request.method ?? '',
    target: request.url ?? '',
    version: versionOf(request),
    headers: fields,
    rawHeaders: Array.isArray(raw) ? raw : [],
  };
}

/** "major.minor" from the request's numeric fields, else its `httpVersion`, else "1.1". */
function versionOf(request: UpgradeRequest): string {
  const { httpVersionMajor: major, httpVersionMinor: minor } = request;
  if (typeof major === 'number' && typeof minor === 'number') return `${major}.${minor}`;
  return typeof request.httpVersion === 'string' && request.httpVersion !== '' ? request.httpVersion : '1.1';
}
