import { describe, expect, test } from 'vitest';
import { decodeEnvelope, encodeEnvelope, FLAG_BINARY, FLAG_COMPRESS } from '../../src/pubsub/envelope.js';

const origin = Buffer.from('0102030405060708', 'hex');

describe('envelope', () => {
  test('round-trips origin, topic, flags and payload byte for byte', () => {
    const payload = Buffer.from([0, 255, 1, 2, 3]);
    const bytes = encodeEnvelope(origin, 'room/é', FLAG_BINARY | FLAG_COMPRESS, payload);
    // version, flags, 8 origin bytes, 2 length bytes, 7 topic bytes, 5 payload bytes
    expect(bytes.length).toBe(2 + 8 + 2 + 7 + 5);
    expect(bytes.subarray(0, 12).toString('hex')).toBe('0103' + '0102030405060708' + '0007');
    const decoded = decodeEnvelope(bytes)!;
    expect(decoded.origin.equals(origin)).toBe(true);
    expect(decoded.topic).toBe('room/é');
    expect(decoded.flags).toBe(3);
    expect(decoded.payload.equals(payload)).toBe(true);
  });

  test('an empty topic and an empty payload', () => {
    const decoded = decodeEnvelope(encodeEnvelope(origin, '', 0, Buffer.alloc(0)))!;
    expect([decoded.topic, decoded.flags, decoded.payload.length]).toEqual(['', 0, 0]);
  });

  test('malformed envelopes decode to null', () => {
    const good = encodeEnvelope(origin, 'abc', 0, Buffer.from('x'));
    expect(decodeEnvelope(good.subarray(0, 11))).toBeNull(); // shorter than the fixed head
    expect(decodeEnvelope(Buffer.concat([Buffer.from([2]), good.subarray(1)]))).toBeNull(); // unknown version
    const badFlags = Buffer.from(good);
    badFlags[1] = 4;
    expect(decodeEnvelope(badFlags)).toBeNull();
    const longTopic = Buffer.from(good);
    longTopic.writeUInt16BE(100, 10);
    expect(decodeEnvelope(longTopic)).toBeNull();
  });

  test('an origin that is not 8 bytes and a topic over 65535 bytes are refused', () => {
    expect(() => encodeEnvelope(Buffer.alloc(4), 't', 0, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => encodeEnvelope(origin, 'x'.repeat(65536), 0, Buffer.alloc(0))).toThrow(RangeError);
    expect(decodeEnvelope(encodeEnvelope(origin, 'x'.repeat(65535), 0, Buffer.alloc(0)))!.topic.length).toBe(65535);
  });
});
