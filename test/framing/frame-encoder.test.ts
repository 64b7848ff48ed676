import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COPY_THRESHOLD, encodeFragmented, encodeFrame, encodeFrameInto, frameByte0, frameLength } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';

interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  maskKey: number | null;
  payload: Buffer;
  /** Bytes the frame occupied on the wire. */
  size: number;
}

/** A straightforward reference parser (RFC 6455 §5.2), unmasking byte by byte (§5.3). */
function parseFrame(wire: Buffer, at = 0): ParsedFrame {
  const b0 = wire[at]!;
  const b1 = wire[at + 1]!;
  let length = b1 & 0x7f;
  let pos = at + 2;
  if (length === 126) {
    length = wire.readUInt16BE(pos);
    pos += 2;
  } else if (length === 127) {
    expect(wire[pos]! & 0x80).toBe(0);
    length = Number(wire.readBigUInt64BE(pos));
    pos += 8;
  }
  const masked = (b1 & 0x80) !== 0;
  let maskKey: number | null = null;
  if (masked) {
    maskKey = wire.readUInt32BE(pos);
    pos += 4;
  }
  const payload = Buffer.from(wire.subarray(pos, pos + length));
  expect(payload.length).toBe(length);
  if (maskKey !== null) {
    for (let i = 0; i < length; i++) payload[i]! ^= wire[pos - 4 + (i & 3)]!;
  }
  return {
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    masked,
    maskKey,
    payload,
    size: pos + length - at,
  };
}

function parseAll(wire: Buffer): ParsedFrame[] {
  const frames: ParsedFrame[] = [];
  for (let at = 0; at < wire.length; ) {
    const frame = parseFrame(wire, at);
    frames.push(frame);
    at += frame.size;
  }
  return frames;
}

function patterned(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return buf;
}

describe('encodeFrame: headers (RFC 6455 §5.2)', () => {
  const cases: [number, number[]][] = [
    [0, [0x82, 0x00]],
    [1, [0x82, 0x01]],
    [125, [0x82, 125]],
    [126, [0x82, 126, 0x00, 126]],
    [65535, [0x82, 126, 0xff, 0xff]],
    [65536, [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]],
    [3 * 1024 * 1024 + 7, [0x82, 127, 0, 0, 0, 0, 0, 0x30, 0x00, 0x07]],
  ];
  for (const [length, header] of cases) {
    it(`unmasked, length ${length}`, () => {
      const payload = patterned(length);
      const out: Buffer[] = [];
      const bytes = encodeFrame(out, Opcode.Binary, payload, true, false, null);
      expect(bytes).toBe(header.length + length);
      expect([...out[0]!.subarray(0, header.length)]).toEqual(header);
      const wire = Buffer.concat(out);
      expect(wire.length).toBe(bytes);
      expect(wire.subarray(header.length).equals(payload)).toBe(true);
    });

    it(`masked, length ${length}`, () => {
      const payload = patterned(length);
      const out: Buffer[] = [];
      const bytes = encodeFrame(out, Opcode.Binary, payload, true, false, 0xa1b2c3d4);
      const maskedHeader = [header[0]!, header[1]! | 0x80, ...header.slice(2), 0xa1, 0xb2, 0xc3, 0xd4];
      expect(bytes).toBe(maskedHeader.length + length);
      expect(out.length).toBe(1);
      expect(out[0]!.length).toBe(bytes);
      expect([...out[0]!.subarray(0, maskedHeader.length)]).toEqual(maskedHeader);
      const frame = parseFrame(out[0]!);
      expect(frame.payload.equals(payload)).toBe(true);
    });
  }

  it('sets FIN, RSV1 and the opcode bits; RSV2/RSV3 stay clear', () => {
    for (const opcode of [0x0, 0x1, 0x2, 0x8, 0x9, 0xa]) {
      for (const fin of [false, true]) {
        for (const rsv1 of [false, true]) {
          const out: Buffer[] = [];
          encodeFrame(out, opcode, Buffer.from('hi'), fin, rsv1, null);
          expect(out[0]![0]).toBe((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
          const frame = parseFrame(out[0]!);
          expect([frame.fin, frame.rsv1, frame.rsv2, frame.rsv3, frame.opcode]).toEqual([fin, rsv1, false, false, opcode]);
        }
      }
    }
  });

  it('writes the masking key big-endian, including keys with the top bit set and int32 keys', () => {
    for (const key of [0, 1, 0x80000000, 0xffffffff, 0xdeadbeef | 0]) {
      const out: Buffer[] = [];
      encodeFrame(out, Opcode.Text, Buffer.from('abcdefgh'), true, false, key);
      const frame = parseFrame(out[0]!);
      expect(frame.maskKey).toBe(key >>> 0);
      expect(frame.payload.toString()).toBe('abcdefgh');
    }
  });

  it('appends to out and returns the bytes appended', () => {
    const out: Buffer[] = [Buffer.from('existing')];
    const a = encodeFrame(out, Opcode.Text, Buffer.from('one'), true, false, null);
    const b = encodeFrame(out, Opcode.Ping, Buffer.alloc(0), true, false, 0x01020304);
    expect(a).toBe(5);
    expect(b).toBe(6);
    expect(out[0]!.toString()).toBe('existing');
    const frames = parseAll(Buffer.concat(out.slice(1)));
    expect(frames.map((f) => [f.opcode, f.payload.toString()])).toEqual([[Opcode.Text, 'one'], [Opcode.Ping, '']]);
  });
});

describe('encodeFrame: copying and masking', () => {
  it('never mutates the caller buffer when masking (small and large)', () => {
    for (const length of [0, 3, 125, 126, 200, COPY_THRESHOLD + 1, 70000]) {
      const payload = patterned(length, length);
      const snapshot = Buffer.from(payload);
      const out: Buffer[] = [];
      encodeFrame(out, Opcode.Binary, payload, true, false, 0x5a5a5a5a);
      expect(payload.equals(snapshot)).toBe(true);
      expect(out.length).toBe(1);
      expect(out[0]).not.toBe(payload);
      expect(parseFrame(out[0]!).payload.equals(snapshot)).toBe(true);
    }
  });

  it('copies unmasked payloads up to COPY_THRESHOLD into one buffer', () => {
    for (const length of [0, 1, 125, COPY_THRESHOLD]) {
      const payload = patterned(length);
      const out: Buffer[] = [];
      encodeFrame(out, Opcode.Binary, payload, true, false, null);
      expect(out.length).toBe(1);
      payload.fill(0); // the frame holds its own copy
      expect(parseFrame(out[0]!).payload.equals(patterned(length))).toBe(true);
    }
  });

  it('sends larger unmasked payloads as [header, the caller buffer itself] (zero copy)', () => {
    for (const length of [COPY_THRESHOLD + 1, 65535, 65536, 200000]) {
      const payload = patterned(length);
      const out: Buffer[] = [];
      const bytes = encodeFrame(out, Opcode.Binary, payload, true, false, null);
      expect(out.length).toBe(2);
      expect(out[1]).toBe(payload);
      expect(bytes).toBe(out[0]!.length + length);
      expect(parseFrame(Buffer.concat(out)).payload.equals(payload)).toBe(true);
    }
  });

  it('encodes payloads that are views into pooled or offset memory', () => {
    const pool = patterned(4000, 9);
    for (const [start, end] of [[1, 2], [3, 130], [5, 3000]] as const) {
      const view = pool.subarray(start, end);
      for (const key of [null, 0x0f1e2d3c]) {
        const out: Buffer[] = [];
        encodeFrame(out, Opcode.Binary, view, true, false, key);
        expect(parseFrame(Buffer.concat(out)).payload.equals(view)).toBe(true);
      }
    }
    expect(pool.equals(patterned(4000, 9))).toBe(true);
  });

  it('round-trips any payload, masked or not (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: null }),
        fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa),
        fc.boolean(),
        fc.boolean(),
        (bytes, key, opcode, fin, rsv1) => {
          const payload = Buffer.from(bytes);
          const out: Buffer[] = [];
          const n = encodeFrame(out, opcode, payload, fin, rsv1, key);
          const wire = Buffer.concat(out);
          expect(wire.length).toBe(n);
          const frame = parseFrame(wire);
          expect(frame.size).toBe(n);
          expect([frame.fin, frame.rsv1, frame.opcode, frame.masked, frame.maskKey]).toEqual([fin, rsv1, opcode, key !== null, key]);
          expect(frame.payload.equals(Buffer.from(bytes))).toBe(true);
          expect(payload.equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { seed: 6455, numRuns: 300 },
    );
  });
});

describe('encodeFragmented', () => {
  it('sends a payload that fits as one frame with FIN', () => {
    const out: Buffer[] = [];
    const payload = Buffer.from('hello');
    const bytes = encodeFragmented(out, Opcode.Text, payload, 5, true, null);
    const frames = parseAll(Buffer.concat(out));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ fin: true, rsv1: true, opcode: Opcode.Text, masked: false });
    expect(frames[0]!.payload.toString()).toBe('hello');
    expect(bytes).toBe(7);
  });

  it('sends an empty payload as one frame', () => {
    for (const key of [null, () => 0x11223344]) {
      const out: Buffer[] = [];
      const bytes = encodeFragmented(out, Opcode.Binary, Buffer.alloc(0), 10, false, key);
      const frames = parseAll(Buffer.concat(out));
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ fin: true, opcode: Opcode.Binary, masked: key !== null });
      expect(frames[0]!.payload.length).toBe(0);
      expect(bytes).toBe(key === null ? 2 : 6);
    }
  });

  it('splits at fragmentSize: opcode and RSV1 on the first, continuations after, FIN on the last', () => {
    const payload = patterned(10);
    const out: Buffer[] = [];
    const bytes = encodeFragmented(out, Opcode.Binary, payload, 4, true, null);
    const frames = parseAll(Buffer.concat(out));
    expect(frames.map((f) => [f.opcode, f.fin, f.rsv1, f.payload.length])).toEqual([
      [Opcode.Binary, false, true, 4],
      [Opcode.Continuation, false, false, 4],
      [Opcode.Continuation, true, false, 2],
    ]);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
    expect(bytes).toBe(3 * 2 + 10);
  });

  it('makes an exact multiple into full fragments with no empty trailer', () => {
    const out: Buffer[] = [];
    encodeFragmented(out, Opcode.Text, Buffer.from('abcdef'), 3, false, null);
    const frames = parseAll(Buffer.concat(out));
    expect(frames.map((f) => [f.opcode, f.fin, f.payload.toString()])).toEqual([
      [Opcode.Text, false, 'abc'],
      [Opcode.Continuation, true, 'def'],
    ]);
  });

  it('calls nextMaskKey once per frame and masks each frame with its own key', () => {
    const keys = [0x01010101, 0x02020202, 0x80ff00aa, 0x7f7f7f7f];
    let calls = 0;
    const payload = patterned(14);
    const snapshot = Buffer.from(payload);
    const out: Buffer[] = [];
    const bytes = encodeFragmented(out, Opcode.Binary, payload, 4, false, () => keys[calls++]!);
    expect(calls).toBe(4);
    const frames = parseAll(Buffer.concat(out));
    expect(frames.map((f) => f.maskKey)).toEqual(keys);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(snapshot)).toBe(true);
    expect(payload.equals(snapshot)).toBe(true);
    expect(bytes).toBe(4 * 6 + 14);
  });

  it('keeps large unmasked fragments zero-copy (views of the caller buffer)', () => {
    const fragment = COPY_THRESHOLD + 100;
    const payload = patterned(3 * fragment + 5);
    const out: Buffer[] = [];
    const bytes = encodeFragmented(out, Opcode.Binary, payload, fragment, false, null);
    expect(out).toHaveLength(7); // three [header, view] pairs + one small copied frame
    for (const k of [1, 3, 5]) {
      expect(out[k]!.buffer).toBe(payload.buffer);
      expect(out[k]!.length).toBe(fragment);
    }
    expect(Buffer.concat(out).length).toBe(bytes);
    expect(Buffer.concat(parseAll(Buffer.concat(out)).map((f) => f.payload)).equals(payload)).toBe(true);
  });

  it('passes the whole caller buffer when it fits in one large unmasked frame', () => {
    const payload = patterned(COPY_THRESHOLD * 2);
    const out: Buffer[] = [];
    encodeFragmented(out, Opcode.Binary, payload, payload.length, false, null);
    expect(out[1]).toBe(payload);
  });

  it('rejects a fragmentSize that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => encodeFragmented([], Opcode.Text, Buffer.from('x'), size, false, null)).toThrow(RangeError);
    }
  });

  it('reassembles to the original for any payload and fragment size (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2500 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.boolean(),
        fc.boolean(),
        (bytes, fragmentSize, masked, rsv1) => {
          const payload = Buffer.from(bytes);
          let key = 0x9e3779b9;
          let calls = 0;
          const out: Buffer[] = [];
          const n = encodeFragmented(out, Opcode.Text, payload, fragmentSize, rsv1, masked ? () => ((calls++, (key = (key * 1664525 + 1013904223) >>> 0))) : null);
          const wire = Buffer.concat(out);
          expect(wire.length).toBe(n);
          const frames = parseAll(wire);
          const expectedCount = Math.max(1, Math.ceil(bytes.length / fragmentSize));
          expect(frames).toHaveLength(expectedCount);
          if (masked) expect(calls).toBe(expectedCount);
          frames.forEach((f, i) => {
            expect(f.opcode).toBe(i === 0 ? Opcode.Text : Opcode.Continuation);
            expect(f.fin).toBe(i === frames.length - 1);
            expect(f.rsv1).toBe(i === 0 && rsv1);
            expect(f.masked).toBe(masked);
            expect(f.payload.length).toBe(i < frames.length - 1 ? fragmentSize : bytes.length - i * fragmentSize);
          });
          expect(Buffer.concat(frames.map((f) => f.payload)).equals(Buffer.from(bytes))).toBe(true);
          expect(payload.equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { seed: 17, numRuns: 300 },
    );
  });
});

describe('encodeFrameInto: a frame written at an offset of a larger buffer', () => {
  it.each([0, 1, 31, 32, 125, 126, 1024, 65535, 65536])('%i payload bytes, masked and not: the bytes encodeFrame makes, nothing around them touched', (size) => {
    const payload = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff));
    const original = Buffer.from(payload);
    for (const key of [null, 0xdeadbeef]) {
      const out: Buffer[] = [];
      encodeFrame(out, Opcode.Binary, payload, false, true, key);
      const expected = Buffer.concat(out);
      const length = frameLength(size, key !== null);
      expect(length).toBe(expected.length);
      const target = Buffer.alloc(length + 20, 0xee);
      expect(encodeFrameInto(target, 9, frameByte0(Opcode.Binary, false, true), payload, key)).toBe(length);
      expect(target.subarray(9, 9 + length).equals(expected)).toBe(true);
      expect(target.subarray(0, 9).every((b) => b === 0xee)).toBe(true);
      expect(target.subarray(9 + length).every((b) => b === 0xee)).toBe(true);
      expect(payload.equals(original)).toBe(true);
    }
  });

  it('the first byte: FIN, RSV1 and the opcode', () => {
    expect(frameByte0(Opcode.Text, true, false)).toBe(0x81);
    expect(frameByte0(Opcode.Binary, true, true)).toBe(0xc2);
    expect(frameByte0(Opcode.Continuation, false, false)).toBe(0x00);
    expect(frameByte0(Opcode.Ping, true, false)).toBe(0x89);
  });
});
