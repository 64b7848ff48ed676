import { describe, expect, it } from 'vitest';
import {
  MAX_CLOSE_REASON_BYTES,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
} from '../../src/framing/close-payload.js';
import { ProtocolError } from '../../src/framing/protocol-error.js';

const payload = (code: number, reason: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, reason]);
};

describe('isValidCloseCode', () => {
  it('accepts exactly 1000-1003, 1007-1014, 3000-4999 (Autobahn 7.7 / 7.9)', () => {
    const valid: number[] = [];
    for (let code = 0; code <= 65535; code++) if (isValidCloseCode(code)) valid.push(code);
    const expected: number[] = [];
    for (let code = 1000; code <= 1003; code++) expected.push(code);
    for (let code = 1007; code <= 1014; code++) expected.push(code);
    for (let code = 3000; code <= 4999; code++) expected.push(code);
    expect(valid).toEqual(expected);
  });

  it('rejects non-integers', () => {
    expect(isValidCloseCode(1000.5)).toBe(false);
    expect(isValidCloseCode(Number.NaN)).toBe(false);
    expect(isValidCloseCode(Infinity)).toBe(false);
  });
});

describe('parseClosePayload', () => {
  it('empty payload -> 1005 with an empty reason', () => {
    expect(parseClosePayload(Buffer.alloc(0))).toEqual({ code: 1005, reason: Buffer.alloc(0) });
  });

  it('one byte -> 1002', () => {
    const result = parseClosePayload(Buffer.from([0x03]));
    expect(result).toBeInstanceOf(ProtocolError);
    expect(result).toBeInstanceOf(RangeError);
    expect((result as ProtocolError).closeCode).toBe(1002);
    expect((result as ProtocolError).code).toBe('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
  });

  it('code only', () => {
    expect(parseClosePayload(payload(1000))).toEqual({ code: 1000, reason: Buffer.alloc(0) });
  });

  it('code with a UTF-8 reason, returned as a view of the payload', () => {
    const bytes = payload(4000, Buffer.from('bye κόσμε'));
    const result = parseClosePayload(bytes);
    expect(result).not.toBeInstanceOf(ProtocolError);
    const { code, reason } = result as { code: number; reason: Buffer };
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('bye κόσμε');
    expect(reason.buffer).toBe(bytes.buffer);
  });

  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])('code %i -> 1002', (code) => {
    const result = parseClosePayload(payload(code, Buffer.from('x')));
    expect(result).toBeInstanceOf(ProtocolError);
    expect((result as ProtocolError).closeCode).toBe(1002);
    expect((result as ProtocolError).code).toBe('WS_ERR_INVALID_CLOSE_CODE');
    expect((result as ProtocolError).message).toBe(`Invalid WebSocket frame: invalid status code ${code}`);
  });

  it.each([
    ['surrogate', 'eda080'],
    ['truncated', 'e282'],
    ['overlong', 'c0af'],
    ['kosme then F4 90 80 80', 'cebae1bdb9cf83cebcceb5f4908080'],
  ])('reason with invalid UTF-8 (%s) -> 1007', (_name, hexReason) => {
    const result = parseClosePayload(payload(1000, Buffer.from(hexReason, 'hex')));
    expect(result).toBeInstanceOf(ProtocolError);
    expect((result as ProtocolError).closeCode).toBe(1007);
    expect((result as ProtocolError).code).toBe('WS_ERR_INVALID_UTF8');
  });

  it('an invalid code wins over an invalid reason (1002)', () => {
    const result = parseClosePayload(payload(1005, Buffer.from('ff', 'hex')));
    expect((result as ProtocolError).closeCode).toBe(1002);
  });
});

describe('encodeClosePayload', () => {
  it('undefined code -> empty payload (a reason alone is ignored)', () => {
    expect(encodeClosePayload(undefined, undefined)).toEqual(Buffer.alloc(0));
    expect(encodeClosePayload(undefined, 'ignored')).toEqual(Buffer.alloc(0));
  });

  it('code without reason', () => {
    expect(encodeClosePayload(1000, undefined)).toEqual(Buffer.from([0x03, 0xe8]));
    expect(encodeClosePayload(4999, '')).toEqual(Buffer.from([0x13, 0x87]));
  });

  it('code with string and Buffer reasons round-trips through parseClosePayload', () => {
    for (const reason of ['bye', 'κόσμε', '😀', Buffer.from('raw bytes')]) {
      const encoded = encodeClosePayload(3001, reason);
      const parsed = parseClosePayload(encoded) as { code: number; reason: Buffer };
      expect(parsed.code).toBe(3001);
      expect(parsed.reason.toString()).toBe(reason.toString());
    }
  });

  it('a lone surrogate in a string reason is sent as U+FFFD (still valid UTF-8)', () => {
    const encoded = encodeClosePayload(1000, 'a\ud800b');
    expect(encoded.subarray(2)).toEqual(Buffer.from('a\ufffdb'));
    expect(parseClosePayload(encoded)).not.toBeInstanceOf(ProtocolError);
  });

  it('a reason of 123 bytes is accepted, 124 bytes is a RangeError', () => {
    expect(encodeClosePayload(1000, 'a'.repeat(MAX_CLOSE_REASON_BYTES)).length).toBe(125);
    expect(() => encodeClosePayload(1000, 'a'.repeat(124))).toThrow(RangeError);
    // Counted in bytes, not characters: 62 two-byte characters are 124 bytes.
    expect(() => encodeClosePayload(1000, 'κ'.repeat(62))).toThrow(RangeError);
    expect(() => encodeClosePayload(1000, Buffer.alloc(124, 0x61))).toThrow(RangeError);
  });

  it.each([1004, 1005, 1006, 1015, 2000, 999, 5000, 1000.5, Number.NaN])('code %s is a TypeError', (code) => {
    expect(() => encodeClosePayload(code, undefined)).toThrow(TypeError);
  });

  it('a Buffer reason that is not UTF-8 is a TypeError', () => {
    expect(() => encodeClosePayload(1000, Buffer.from([0xff]))).toThrow(TypeError);
  });

  it('writes every byte (no stale memory)', () => {
    for (let i = 0; i < 50; i++) {
      const encoded = encodeClosePayload(1001, 'xy');
      expect([...encoded]).toEqual([0x03, 0xe9, 0x78, 0x79]);
    }
  });
});
