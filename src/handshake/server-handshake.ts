import { acceptKeyForValidKey, isValidKey } from './accept-key.js';
import { HandshakeError } from './handshake-error.js';
import type { RequestHead } from './head-parser.js';
import { assertHeaderField, assertNotReserved, serializeHead } from './head-writer.js';
import { equalsIgnoreAsciiCase, isHostSyntax, isToken } from './http-grammar.js';
import { reasonPhrase } from './status-reasons.js';
import { type ExtensionOffer, parseExtensions, parseTokenList, parseUpgradeList } from './token-list.js';

/** A valid opening handshake (RFC 6455 §4.2.1), as the server needs it to answer. */
export interface UpgradeRequest {
  /** Sec-WebSocket-Key as sent. */
  key: string;
  /** 13 (RFC 6455) or 8 (hybi-08..12, the same protocol on the wire; `ws` accepts both). */
  version: 8 | 13;
  /** Offered subprotocols in the client's order (no duplicates: a duplicate is a 400). */
  protocols: string[];
  /** Offered extensions in order; empty when the header is absent or not asked for. */
  extensions: ExtensionOffer[];
  /** Origin (Sec-WebSocket-Origin for version 8, as `ws` reads it). */
  origin: string | undefined;
  /** The Host field; '' when absent and not required. */
  host: string;
}

/** What the caller of validateUpgradeRequest decides. */
export interface ValidationOptions {
  /**
   * A request without Host is refused (RFC 9112 §3.2). True where we are the HTTP server; a request
   * handed over by node:http had its Host checked there (a hand-built one may lack it, as `ws` allows).
   */
  hostRequired: boolean;
  /** Parse and check Sec-WebSocket-Extensions (only where an extension may be negotiated, as `ws`). */
  extensions: boolean;
}

const VERSION_HEADERS: ReadonlyArray<[string, string]> = Object.freeze([['Sec-WebSocket-Version', '13, 8']]);

/** The values of a field that may appear once: undefined when absent, null when on several lines. */
function single(head: RequestHead, name: string): string | undefined | null {
  const values = head.headers.get(name);
  if (values === undefined) return undefined;
  return values.length === 1 ? values[0] : null;
}

function bad(message: string): HandshakeError {
  return new HandshakeError(400, message);
}

/** Whether node:http would hand this request to 'upgrade': an Upgrade field and an "upgrade" Connection option. */
export function isUpgradeRequest(head: RequestHead): boolean {
  const connection = head.headers.get('connection');
  if (!head.headers.has('upgrade') || connection === undefined) return false;
  const options = parseTokenList(connection);
  return options !== null && options.some((o) => equalsIgnoreAsciiCase(o, 'upgrade'));
}

/**
 * RFC 6455 §4.2.1 checks, in `ws`'s order and with its messages where it has the check (the first
 * failure decides the status):
 *  - method GET, else 405 'Invalid HTTP method' with `Allow: GET` (RFC 9110 §15.5.6);
 *  - Upgrade with a "websocket" element (ASCII case-insensitive), else 400 'Invalid Upgrade header';
 *  - Sec-WebSocket-Key on one line, 24 base64 characters decoding to 16 bytes, else 400;
 *  - Sec-WebSocket-Version 13 or 8, else 400 with `Sec-WebSocket-Version: 13, 8` (RFC 6455 §4.4);
 *  - Connection with an "upgrade" token, else 400;
 *  - at most one Host, with authority syntax, and present when `hostRequired`, else 400 (RFC 9112 §3.2);
 *  - no request content: Transfer-Encoding, or a Content-Length other than 0 -> 400 (the bytes after
 *    the head are WebSocket frames; anything else would be a request-smuggling ambiguity);
 *  - Origin at most once, else 400;
 *  - Sec-WebSocket-Protocol a non-empty token list without duplicates, else 400;
 *  - with `extensions`, Sec-WebSocket-Extensions a non-empty RFC 6455 §9.1 list, else 400.
 */
export function validateUpgradeRequest(
  head: RequestHead,
  options: ValidationOptions = { hostRequired: true, extensions: true },
): UpgradeRequest | HandshakeError {
  // §4.2.1 (1): the method is GET.
  if (head.method !== 'GET') return new HandshakeError(405, 'Invalid HTTP method', [['Allow', 'GET']]);

  // §4.2.1 (3): Upgrade contains "websocket".
  const upgrade = head.headers.get('upgrade');
  const upgradeProtocols = upgrade === undefined ? null : parseUpgradeList(upgrade);
  if (upgradeProtocols === null || !upgradeProtocols.some((p) => equalsIgnoreAsciiCase(p, 'websocket'))) {
    return bad('Invalid Upgrade header');
  }

  // §4.2.1 (5): a base64 16-byte nonce.
  const key = single(head, 'sec-websocket-key');
  if (key === undefined || key === null || !isValidKey(key)) return bad('Missing or invalid Sec-WebSocket-Key header');

  // §4.2.1 (6), §4.4: a version we speak, else say which ones.
  const versionValue = single(head, 'sec-websocket-version');
  const version = versionValue === '13' ? 13 : versionValue === '8' ? 8 : 0;
  if (version === 0) return new HandshakeError(400, 'Missing or invalid Sec-WebSocket-Version header', VERSION_HEADERS);

  // §4.2.1 (4): Connection contains "Upgrade".
  const connection = head.headers.get('connection');
  const connectionOptions = connection === undefined ? null : parseTokenList(connection);
  if (connectionOptions === null || !connectionOptions.some((o) => equalsIgnoreAsciiCase(o, 'upgrade'))) {
    return bad('Invalid Connection header: "Upgrade" expected');
  }

  // §4.2.1 (2), RFC 9112 §3.2: one valid Host.
  const host = single(head, 'host');
  if (host === null) return bad('More than one Host header');
  if (host === undefined ? options.hostRequired : !isHostSyntax(host)) return bad('Missing or invalid Host header');

  // RFC 9112 §6.1, §6.2: an upgrade request carries no content; the following bytes are frames.
  if (head.headers.has('transfer-encoding')) return bad('A WebSocket handshake has no content: Transfer-Encoding');
  const contentLength = head.headers.get('content-length');
  if (contentLength !== undefined && contentLength.some((v) => v !== '0')) {
    return bad('A WebSocket handshake has no content: Content-Length');
  }

  // RFC 6454 §7: one Origin (hybi-08 calls it Sec-WebSocket-Origin).
  const origin = single(head, version === 8 ? 'sec-websocket-origin' : 'origin');
  if (origin === null) return bad('More than one Origin header');

  // §4.2.1 (8), §4.1 (10): 1#token, each subprotocol once.
  let protocols: string[] = [];
  const protocolValues = head.headers.get('sec-websocket-protocol');
  if (protocolValues !== undefined) {
    const parsed = parseTokenList(protocolValues);
    if (parsed === null || parsed.length === 0 || new Set(parsed).size !== parsed.length) {
      return bad('Invalid Sec-WebSocket-Protocol header');
    }
    protocols = parsed;
  }

  // §4.2.1 (9), §9.1: extension-list = 1#extension.
  let extensions: ExtensionOffer[] = [];
  const extensionValues = head.headers.get('sec-websocket-extensions');
  if (options.extensions && extensionValues !== undefined) {
    const parsed = parseExtensions(extensionValues);
    if (parsed === null || parsed.length === 0) return bad('Invalid or unacceptable Sec-WebSocket-Extensions header');
    extensions = parsed;
  }

  return { key, version, protocols, extensions, origin, host: host ?? '' };
}

const ACCEPT_RESERVED: ReadonlySet<string> = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * RFC 6455 §4.2.2 (5): the exact 101 response bytes. `protocol` and `extensions` are omitted when
 * undefined or ''. Throws TypeError on application misuse: an invalid key, a protocol that is not a
 * token, an invalid field value, an extra header with an invalid name/value or one the handshake sets.
 */
export function buildAcceptResponse(
  key: string,
  protocol: string | undefined,
  extensions: string | undefined,
  extraHeaders: ReadonlyArray<[string, string]> = [],
): Buffer {
  if (!isValidKey(key)) throw new TypeError('invalid Sec-WebSocket-Key');
  const accept = acceptKeyForValidKey(key);
  // The common answer (no subprotocol, extension or extra field) in one string: serializeHead's bytes.
  if (!protocol && !extensions && extraHeaders.length === 0) {
    return Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, 'latin1');
  }
  const fields: Array<[string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', accept],
  ];
  if (protocol !== undefined && protocol !== '') {
    if (!isToken(protocol)) throw new TypeError(`invalid subprotocol: ${JSON.stringify(protocol)}`);
    fields.push(['Sec-WebSocket-Protocol', protocol]);
  }
  if (extensions !== undefined && extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', extensions);
    fields.push(['Sec-WebSocket-Extensions', extensions]);
  }
  for (const [name, value] of extraHeaders) {
    assertHeaderField(name, value);
    assertNotReserved(name, ACCEPT_RESERVED);
    fields.push([name, value]);
  }
  return serializeHead('HTTP/1.1 101 Switching Protocols', fields);
}

const ERROR_RESERVED: ReadonlySet<string> = new Set(['connection', 'content-type', 'content-length']);

/**
 * A complete HTTP error response that ends the connection: the status line with the standard reason
 * phrase, `Connection: close` (`Connection: Upgrade, close` when `headers` has an Upgrade field, as
 * RFC 9110 §7.8 asks), `Content-Type: text/plain; charset=utf-8`, Content-Length, then `headers`, and
 * a body of `message` (default: the reason phrase). Throws RangeError for a status outside 100..599
 * and TypeError for an invalid or reserved header.
 */
export function buildErrorResponse(status: number, message?: string, headers: ReadonlyArray<[string, string]> = []): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new RangeError(`invalid HTTP status: ${status}`);
  const reason = reasonPhrase(status);
  const body = Buffer.from(message || reason || String(status), 'utf8');
  let upgrade = false;
  for (const [name, value] of headers) {
    assertHeaderField(name, value);
    assertNotReserved(name, ERROR_RESERVED);
    if (equalsIgnoreAsciiCase(name, 'upgrade')) upgrade = true;
  }
  const fields: Array<readonly [string, string]> = [
    ['Connection', upgrade ? 'Upgrade, close' : 'close'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
    ...headers,
  ];
  const head = serializeHead(`HTTP/1.1 ${status} ${reason}`, fields);
  return Buffer.concat([head, body], head.length + body.length);
}

/**
 * RFC 6455 §4.2.2 (5.3): the subprotocol to answer with: the first one in the client's order that the
 * server supports (the order ws uses), or undefined when none matches (then no header is sent).
 */
export function selectProtocol(offered: readonly string[], supported: readonly string[]): string | undefined {
  for (const p of offered) if (supported.includes(p)) return p;
  return undefined;
}
