import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptKeyFor, isValidKey, WEBSOCKET_GUID } from '../../src/handshake/accept-key.js';

describe('acceptKeyFor', () => {
  it('gives the RFC 6455 §1.3 example value', () => {
    expect(WEBSOCKET_GUID).toBe('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    expect(acceptKeyFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('is base64(sha1(key + GUID))', () => {
    const key = 'AQIDBAUGBwgJCgsMDQ4PEA==';
    const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    expect(acceptKeyFor(key)).toBe(expected);
  });
});

describe('isValidKey', () => {
  it('accepts 16-byte base64 nonces', () => {
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(isValidKey('AAAAAAAAAAAAAAAAAAAAAA==')).toBe(true);
    expect(isValidKey('++++//////++++++++++++==')).toBe(true);
    // Non-zero pad bits still decode to 16 bytes (accepted, as ws does).
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZR==')).toBe(true);
  });

  it('rejects anything else', () => {
    for (const key of [
      '',
      'dGhlIHNhbXBsZSBub25jZQ=',
      'dGhlIHNhbXBsZSBub25jZQ===',
      'dGhlIHNhbXBsZSBub25jZQ',
      'dGhlIHNhbXBsZSBub25jZQAA',
      'dGhlIHNhbXBsZSBub25jZ===',
      'dGhlIHNhbXBsZSBub25j-Q==',
      'dGhlIHNhbXBsZSBub25j_Q==',
      'dGhlIHNhbXBsZSBub25j Q==',
      'dGhlIHNhbXBsZSBub25jZQ=\u0000',
      'AAAAAAAAAAAAAAAAAAAAAAA=',
      'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]) {
      expect(isValidKey(key), JSON.stringify(key)).toBe(false);
    }
  });
});
