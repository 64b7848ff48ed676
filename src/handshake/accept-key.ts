import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.2.2 (5.4): Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). */
export function acceptKeyFor(secWebSocketKey: string): string {
  return createHash('sha1').update(secWebSocketKey + WEBSOCKET_GUID, 'latin1').digest('base64');
}

/** Node's one-shot digest (20.12+, 21.7+): no Hash object per handshake. Hashes strings as UTF-8. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** acceptKeyFor() of a key already checked with isValidKey() (ASCII, so UTF-8 and latin1 agree). */
export function acceptKeyForValidKey(secWebSocketKey: string): string {
  return oneShotHash !== undefined ? oneShotHash('sha1', secWebSocketKey + WEBSOCKET_GUID, 'base64') : acceptKeyFor(secWebSocketKey);
}

const BASE64_ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * RFC 6455 §4.1 (7), §4.2.1 (5): a nonce that base64-decodes to exactly 16 bytes: 22 alphabet characters
 * and "==" (RFC 4648 §4). Non-zero pad bits in the last character are accepted, as ws does: the accept
 * key hashes the string as sent.
 */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) if (BASE64_ALPHABET[key.charCodeAt(i)] !== 1) return false;
  return true;
}
