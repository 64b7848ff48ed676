import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { acceptKeyFor } from './accept-key.js';
import { HandshakeError } from './handshake-error.js';
import type { ResponseHead } from './head-parser.js';
import { assertHeaderField, assertNotReserved, serializeHead } from './head-writer.js';
import { equalsIgnoreAsciiCase, isHostSyntax, isToken } from './http-grammar.js';
import { type ExtensionOffer, parseExtensions, parseTokenList, parseUpgradeList } from './token-list.js';

export interface ClientRequestOptions {
  /** Host name or IP literal; an IPv6 literal may come with or without its brackets. */
  host: string;
  port: number;
  /** wss: the default port is 443 instead of 80. */
  secure: boolean;
  /** Path and query (origin-form); '' -> "/". */
  path: string;
  /** Sec-WebSocket-Key, e.g. from generateKey(). */
  key: string;
  /** Subprotocols to offer, in preference order: tokens, each once (else SyntaxError). */
  protocols?: readonly string[];
  /** A pre-formatted Sec-WebSocket-Extensions offer. */
  extensions?: string;
  origin?: string;
  /**
   * Extra header fields, written after the handshake's own. A Host or Origin given here replaces the
   * computed one; Upgrade, Connection and the Sec-WebSocket-* fields cannot be given (TypeError).
   */
  headers?: ReadonlyArray<[string, string]> | Record<string, string>;
  /** Sec-WebSocket-Version, an integer 0..255 (RFC 6455 §4.1); default 13. */
  version?: number;
}

/** RFC 6455 §4.1 (7): a fresh base64 nonce of 16 random bytes. */
export function generateKey(randomBytes: (n: number) => Buffer = cryptoRandomBytes): string {
  const nonce = randomBytes(16);
  if (nonce.length !== 16) throw new RangeError('the random source must return 16 bytes');
  return nonce.toString('base64');
}

/** Header fields the client handshake writes itself: an application may not set them. */
export const REQUEST_RESERVED: ReadonlySet<string> = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-accept',
]);

function extraHeaderList(headers: ClientRequestOptions['headers']): Array<[string, string]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers.map(([name, value]) => [name, value]);
  const record = headers as Record<string, string>;
  return Object.keys(record).map((name) => [name, record[name]]);
}

/** RFC 9112 §3.2, RFC 3986 §3.2.2: the Host value; the port only when not the scheme's default. */
function hostValue(host: string, port: number, secure: boolean): string {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port: ${port}`);
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  if (!isHostSyntax(bracketed)) throw new TypeError(`invalid host: ${JSON.stringify(host)}`);
  return port === (secure ? 443 : 80) ? bracketed : `${bracketed}:${port}`;
}

/**
 * RFC 6455 §4.1: the opening handshake request bytes. Throws TypeError for an invalid host, path,
 * key, origin, extensions value or extra header; SyntaxError for a subprotocol that is not a token or
 * is offered twice; RangeError for an invalid port or version.
 */
export function buildClientRequest(opts: ClientRequestOptions): Buffer {
  const path = opts.path === '' ? '/' : opts.path;
  // RFC 9112 §3.2: the request-target is visible ASCII without whitespace.
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw new TypeError('the request path contains an invalid character');
  }
  const version = opts.version ?? 13;
  if (!Number.isInteger(version) || version < 0 || version > 255) throw new RangeError(`invalid version: ${version}`);
  assertHeaderField('Sec-WebSocket-Key', opts.key);

  const extra = extraHeaderList(opts.headers);
  let host = hostValue(opts.host, opts.port, opts.secure);
  let origin = opts.origin;
  const rest: Array<[string, string]> = [];
  for (const [name, value] of extra) {
    assertHeaderField(name, value);
    assertNotReserved(name, REQUEST_RESERVED);
    if (equalsIgnoreAsciiCase(name, 'host')) host = value;
    else if (equalsIgnoreAsciiCase(name, 'origin')) origin = value;
    else rest.push([name, value]);
  }

  const fields: Array<[string, string]> = [
    ['Host', host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', opts.key],
    ['Sec-WebSocket-Version', String(version)],
  ];
  const protocols = opts.protocols ?? [];
  if (protocols.length > 0) {
    const seen = new Set<string>();
    for (const p of protocols) {
      // §4.1 (10): each element a token, no duplicates.
      if (typeof p !== 'string' || !isToken(p) || seen.has(p)) {
        throw new SyntaxError(`an invalid or duplicated subprotocol was specified: ${JSON.stringify(p)}`);
      }
      seen.add(p);
    }
    fields.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  }
  if (opts.extensions !== undefined && opts.extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', opts.extensions);
    fields.push(['Sec-WebSocket-Extensions', opts.extensions]);
  }
  if (origin !== undefined) {
    assertHeaderField('Origin', origin);
    fields.push(['Origin', origin]);
  }
  fields.push(...rest);
  return serializeHead(`GET ${path} HTTP/1.1`, fields);
}

export interface AcceptedResponse {
  /** The subprotocol the server selected, undefined when it selected none. */
  protocol: string | undefined;
  /** The extensions the server accepted, with their parameters, in order. */
  extensions: ExtensionOffer[];
}

function responsePairs(head: ResponseHead): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < head.rawHeaders.length; i += 2) pairs.push([head.rawHeaders[i], head.rawHeaders[i + 1]]);
  return pairs;
}

function invalid(message: string): HandshakeError {
  return new HandshakeError(502, message);
}

/**
 * Whether Node's HTTP parser takes this answer as an upgrade: a 101 with an Upgrade field and an
 * "upgrade" Connection option (RFC 6455 §4.1 (2), (3)). Any other 101 is, for it and so for `ws`,
 * an ordinary response without a body ('unexpected-response').
 */
export function isUpgradeResponse(head: ResponseHead): boolean {
  if (head.status !== 101 || !head.headers.has('upgrade')) return false;
  const connection = head.headers.get('connection');
  const options = connection === undefined ? null : parseTokenList(connection);
  return options !== null && options.some((o) => equalsIgnoreAsciiCase(o, 'upgrade'));
}

/**
 * RFC 6455 §4.1 (the client's checks of the server's handshake), in `ws`'s order and with its
 * messages. A status other than 101 gives a HandshakeError with that status and the response's header
 * fields (for redirects: Location). A 101 response that breaks a rule gives status 502 (an invalid
 * response, RFC 9110 §15.6.3): so a caller that checked `head.status === 101` knows a 502 error means
 * "invalid handshake response".
 */
export function validateServerResponse(
  head: ResponseHead,
  key: string,
  offeredProtocols: readonly string[],
  offeredExtensionNames: readonly string[],
): AcceptedResponse | HandshakeError {
  // §4.1 (1): 101, anything else is handled per HTTP by the caller.
  if (head.status !== 101) return new HandshakeError(head.status, `Unexpected server response: ${head.status}`, responsePairs(head));

  // §4.1 (2), (3): an Upgrade field, and Connection containing "Upgrade".
  if (!isUpgradeResponse(head)) return new HandshakeError(502, `Unexpected server response: ${head.status}`, responsePairs(head));
  // §4.1 (2): Upgrade is "websocket", ASCII case-insensitive.
  const upgradeProtocols = parseUpgradeList(head.headers.get('upgrade')!);
  if (upgradeProtocols === null || upgradeProtocols.length !== 1 || !equalsIgnoreAsciiCase(upgradeProtocols[0], 'websocket')) {
    return invalid('Invalid Upgrade header');
  }

  // §4.1 (4): Sec-WebSocket-Accept, once, equal to the expected value.
  const accept = head.headers.get('sec-websocket-accept');
  if (accept === undefined || accept.length !== 1 || accept[0] !== acceptKeyFor(key)) {
    return invalid('Invalid Sec-WebSocket-Accept header');
  }

  // §4.1 (6): no subprotocol, or one of those offered.
  let protocol: string | undefined;
  const protocolValues = head.headers.get('sec-websocket-protocol');
  if (protocolValues !== undefined) {
    if (offeredProtocols.length === 0) return invalid('Server sent a subprotocol but none was requested');
    if (protocolValues.length !== 1 || !offeredProtocols.includes(protocolValues[0])) {
      return invalid('Server sent an invalid subprotocol');
    }
    protocol = protocolValues[0];
  } else if (offeredProtocols.length > 0) {
    // As `ws` (and browsers): a client that offered subprotocols needs the server to pick one.
    return invalid('Server sent no subprotocol');
  }

  // §4.1 (5), §9.1: only extensions that were offered, each once.
  let extensions: ExtensionOffer[] = [];
  const extensionValues = head.headers.get('sec-websocket-extensions');
  if (extensionValues !== undefined) {
    if (offeredExtensionNames.length === 0) return invalid('Server sent a Sec-WebSocket-Extensions header but no extension was requested');
    const parsed = parseExtensions(extensionValues);
    if (parsed === null || parsed.length === 0) return invalid('Invalid Sec-WebSocket-Extensions header');
    const seen = new Set<string>();
    for (const ext of parsed) {
      if (!offeredExtensionNames.includes(ext.name)) return invalid('Server indicated an extension that was not requested');
      // Two answers to one offered extension cannot both apply (`ws` takes the first of them).
      if (seen.has(ext.name)) return invalid('Invalid Sec-WebSocket-Extensions header');
      seen.add(ext.name);
    }
    extensions = parsed;
  }

  return { protocol, extensions };
}
