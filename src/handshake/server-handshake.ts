import { acceptKeyFor, isValidKey } from './accept-key.js';
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
  version: 13;
  /** Offered subprotocols in the client's order (no duplicates: a duplicate is a 400). */
  protocols: string[];
  /** Offered extensions in order; empty when the header is absent. */
  extensions: ExtensionOffer[];
  origin: string | undefined;
  host: string;
}

const UPGRADE_REQUIRED_HEADERS: ReadonlyArray<[string, string]> = Object.freeze([['Upgrade', 'websocket']]);
const VERSION_HEADERS: ReadonlyArray<[string, string]> = Object.freeze([
  ['Upgrade', 'websocket'],
  ['Sec-WebSocket-Version', '13'],
]);

/** The values of a field that may appear once: undefined when absent, null when on several lines. */
function single(head: RequestHead, name: string): string | undefined | null {
  const values = head.headers.get(name);
  if (values === undefined) return undefined;
  return values.length === 1 ? values[0] : null;
}

function bad(message: string): HandshakeError {
  return new HandshakeError(400, message);
}

/**
 * RFC 6455 §4.2.1 checks, in this order (the first failure decides the status):
 *  - method GET, else 405 with `Allow: GET`;
 *  - exactly one Host with authority syntax, else 400 (RFC 9112 §3.2);
 *  - no request content: Transfer-Encoding, or a Content-Length other than 0 -> 400 (the bytes after
 *    the head are WebSocket frames; anything else would be a request-smuggling ambiguity);
 *  - Upgrade absent -> 426 with `Upgrade: websocket` (a plain HTTP request); present without a
 *    "websocket" element (ASCII case-insensitive) or malformed -> 400;
 *  - Connection with an "upgrade" token, else 400;
 *  - Sec-WebSocket-Version exactly "13": absent or another single value -> 426 with
 *    `Upgrade: websocket` and `Sec-WebSocket-Version: 13` (RFC 6455 §4.4); on several lines -> 400;
 *  - Sec-WebSocket-Key on one line, 24 base64 characters decoding to 16 bytes, else 400;
 *  - Origin at most once, else 400;
 *  - Sec-WebSocket-Protocol a non-empty token list without duplicates, else 400;
 *  - Sec-WebSocket-Extensions a non-empty RFC 6455 §9.1 list, else 400.
 */
export function validateUpgradeRequest(head: RequestHead): UpgradeRequest | HandshakeError {
  // §4.2.1 (1): the method is GET.
  if (head.method !== 'GET') {
    return new HandshakeError(405, 'a WebSocket handshake is a GET request', [['Allow', 'GET']]);
  }

  // §4.2.1 (2), RFC 9112 §3.2: exactly one valid Host.
  const host = single(head, 'host');
  if (host === undefined) return bad('missing Host header');
  if (host === null) return bad('more than one Host header');
  if (!isHostSyntax(host)) return bad('invalid Host header');

  // RFC 9112 §6.1, §6.2: an upgrade request carries no content; the following bytes are frames.
  if (head.headers.has('transfer-encoding')) return bad('a WebSocket handshake has no content: Transfer-Encoding');
  const contentLength = head.headers.get('content-length');
  if (contentLength !== undefined && contentLength.some((v) => v !== '0')) {
    return bad('a WebSocket handshake has no content: Content-Length');
  }

  // §4.2.1 (3): Upgrade contains "websocket"; RFC 9110 §15.5.22: 426 names the protocol to upgrade to.
  const upgrade = head.headers.get('upgrade');
  if (upgrade === undefined) return new HandshakeError(426, 'this endpoint speaks WebSocket only', UPGRADE_REQUIRED_HEADERS);
  const upgradeProtocols = parseUpgradeList(upgrade);
  if (upgradeProtocols === null || !upgradeProtocols.some((p) => equalsIgnoreAsciiCase(p, 'websocket'))) {
    return bad('invalid Upgrade header: "websocket" expected');
  }

  // §4.2.1 (4): Connection contains "Upgrade".
  const connection = head.headers.get('connection');
  const connectionOptions = connection === undefined ? null : parseTokenList(connection);
  if (connectionOptions === null || !connectionOptions.some((o) => equalsIgnoreAsciiCase(o, 'upgrade'))) {
    return bad('invalid Connection header: "Upgrade" expected');
  }

  // §4.2.1 (6), §4.2.2, §4.4: version 13, else tell the client which version is spoken.
  const version = single(head, 'sec-websocket-version');
  if (version === null) return bad('more than one Sec-WebSocket-Version header');
  if (version !== '13') {
    return new HandshakeError(426, 'unsupported or missing Sec-WebSocket-Version: 13 expected', VERSION_HEADERS);
  }

  // §4.2.1 (5): a base64 16-byte nonce.
  const key = single(head, 'sec-websocket-key');
  if (key === undefined || key === null || !isValidKey(key)) return bad('missing or invalid Sec-WebSocket-Key header');

  // RFC 6454 §7: one Origin.
  const origin = single(head, 'origin');
  if (origin === null) return bad('more than one Origin header');

  // §4.2.1 (8), §4.1 (10): 1#token, each subprotocol once.
  let protocols: string[] = [];
  const protocolValues = head.headers.get('sec-websocket-protocol');
  if (protocolValues !== undefined) {
    const parsed = parseTokenList(protocolValues);
    if (parsed === null || parsed.length === 0 || new Set(parsed).size !== parsed.length) {
      return bad('invalid Sec-WebSocket-Protocol header');
    }
    protocols = parsed;
  }

  // §4.2.1 (9), §9.1: extension-list = 1#extension.
  let extensions: ExtensionOffer[] = [];
  const extensionValues = head.headers.get('sec-websocket-extensions');
  if (extensionValues !== undefined) {
    const parsed = parseExtensions(extensionValues);
    if (parsed === null || parsed.length === 0) return bad('invalid Sec-WebSocket-Extensions header');
    extensions = parsed;
  }

  return { key, version: 13, protocols, extensions, origin, host };
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
  const fields: Array<[string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKeyFor(key)],
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
