import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeClosePayload } from '../../src/framing/close-payload.js';
import { FrameDecoder, type FrameDecoderOptions, type FrameSink } from '../../src/framing/frame-decoder.js';
import { encodeFragmented, encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import type { ProtocolError } from '../../src/framing/protocol-error.js';

type Event =
  | ['message', string, boolean, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string]
  | ['error', number];

function record(): { sink: FrameSink; events: Event[] } {
  const events: Event[] = [];
  const sink: FrameSink = {
    onMessage: (data, isBinary, compressed) => events.push(['message', data.toString('hex'), isBinary, compressed]),
    onPing: (payload) => events.push(['ping', payload.toString('hex')]),
    onPong: (payload) => events.push(['pong', payload.toString('hex')]),
    onClose: (code, reason) => events.push(['close', code, reason.toString('hex')]),
    onError: (error: ProtocolError) => events.push(['error', error.closeCode]),
  };
  return { sink, events };
}

/** Feed `bytes` in pieces cut at `cuts` (fresh copies: the decoder unmasks in place). */
function feed(bytes: Buffer, cuts: number[], options: Partial<FrameDecoderOptions>): Event[] {
  const { sink, events } = record();
  const decoder = new FrameDecoder(sink, options);
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    expect(() => decoder.push(Buffer.from(bytes.subarray(bounds[i]!, bounds[i + 1]!)))).not.toThrow();
  }
  return events;
}

const cutsArb = (maxLength: number) => fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength }).map((a) => a);

// A message: text or binary, sent whole, fragmented by the encoder, or fragmented by hand with
// pings and pongs between the fragments.
const messageArb = fc.record({
  isBinary: fc.boolean(),
  /** RSV1 on the first frame (as if compressed; the decoder hands the bytes on raw). */
  rsv1: fc.boolean(),
  text: fc.string({ unit: 'grapheme', maxLength: 300 }),
  bytes: fc.uint8Array({ maxLength: 300 }),
  big: fc.option(fc.integer({ min: 126, max: 70000 }), { freq: 12 }),
  mode: fc.constantFrom('whole', 'encoder-fragments', 'interleaved'),
  fragmentSize: fc.integer({ min: 1, max: 64 }),
  controls: fc.array(fc.record({ pong: fc.boolean(), payload: fc.uint8Array({ maxLength: 125 }) }), { maxLength: 3 }),
});

type MessageSpec = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

function payloadOf(m: MessageSpec): Buffer {
  if (m.big !== null) return Buffer.alloc(m.big, m.isBinary ? 0xa5 : 0x61);
  return m.isBinary ? Buffer.from(m.bytes) : Buffer.from(m.text);
}

describe('round trip: encoder -> random chunking -> decoder', () => {
  for (const role of ['server', 'client'] as const) {
    it(`${role} role: the same messages, pings and close come out`, () => {
      fc.assert(
        fc.property(
          fc.array(messageArb, { minLength: 1, maxLength: 6 }),
          fc.option(fc.record({ code: fc.constantFrom(1000, 1001, 1003, 1011, 3000, 4999), reason: fc.string({ maxLength: 30 }) })),
          fc.array(fc.integer(), { minLength: 64, maxLength: 64 }),
          cutsArb(30),
          (messages, closeSpec, keys, cuts) => {
            // The server receives masked frames (from a client); the client receives unmasked ones.
            let keyIndex = 0;
            const nextKey = role === 'server' ? () => keys[keyIndex++ % keys.length]! >>> 0 : null;
            const key = (): number | null => (nextKey === null ? null : nextKey());
            const out: Buffer[] = [];
            const expected: Event[] = [];
            for (const m of messages) {
              const payload = payloadOf(m);
              const opcode = m.isBinary ? Opcode.Binary : Opcode.Text;
              const controls = m.controls.map((c) => ({ ...c, payload: Buffer.from(c.payload) }));
              if (m.mode === 'whole' || payload.length === 0) {
                encodeFrame(out, opcode, payload, true, m.rsv1, key());
              } else if (m.mode === 'encoder-fragments') {
                encodeFragmented(out, opcode, payload, m.fragmentSize, m.rsv1, nextKey);
              } else {
                // Fragments by hand with the control frames between them.
                let c = 0;
                for (let start = 0; start < payload.length; start += m.fragmentSize) {
                  const end = Math.min(payload.length, start + m.fragmentSize);
                  const first = start === 0;
                  encodeFrame(out, first ? opcode : Opcode.Continuation, payload.subarray(start, end), end === payload.length, first && m.rsv1, key());
                  if (end < payload.length && c < controls.length) {
                    const control = controls[c++]!;
                    encodeFrame(out, control.pong ? Opcode.Pong : Opcode.Ping, control.payload, true, false, key());
                    expected.push([control.pong ? 'pong' : 'ping', control.payload.toString('hex')]);
                  }
                }
              }
              expected.push(['message', payload.toString('hex'), m.isBinary, m.rsv1]);
            }
            if (closeSpec !== null) {
              const body = encodeClosePayload(closeSpec.code, closeSpec.reason);
              encodeFrame(out, Opcode.Close, body, true, false, key());
              expected.push(['close', closeSpec.code, Buffer.from(closeSpec.reason).toString('hex')]);
            }
            const bytes = Buffer.concat(out);
            expect(feed(bytes, [], { role, allowRsv1: true })).toEqual(expected);
            expect(feed(bytes, cuts.map((c) => c % (bytes.length + 1)), { role, allowRsv1: true })).toEqual(expected);
          },
        ),
        { numRuns: 100, seed: 6455 },
      );
    });
  }

  it('one-byte chunks decode the same as one chunk', () => {
    fc.assert(
      fc.property(fc.array(messageArb.filter((m) => m.big === null), { minLength: 1, maxLength: 3 }), fc.integer(), (messages, seedKey) => {
        const out: Buffer[] = [];
        for (const m of messages) {
          const opcode = m.isBinary ? Opcode.Binary : Opcode.Text;
          encodeFragmented(out, opcode, payloadOf(m), m.fragmentSize, false, () => (seedKey ^ m.fragmentSize) >>> 0);
        }
        const bytes = Buffer.concat(out);
        const everyByte = Array.from({ length: bytes.length }, (_, i) => i);
        expect(feed(bytes, everyByte, { role: 'server' })).toEqual(feed(bytes, [], { role: 'server' }));
      }),
      { numRuns: 60, seed: 17 },
    );
  });
});

describe('garbage in: never throws, at most one error with a protocol code', () => {
  const optionsArb = fc.record({
    role: fc.constantFrom('server' as const, 'client' as const),
    maxPayload: fc.constantFrom(0, 64, 1000, 100 * 1024 * 1024),
    allowRsv1: fc.boolean(),
    skipUtf8Validation: fc.boolean(),
  });

  function checkOutcome(events: Event[]): void {
    const errors = events.filter((e) => e[0] === 'error');
    const closes = events.filter((e) => e[0] === 'close');
    expect(errors.length + closes.length).toBeLessThanOrEqual(1);
    if (errors.length === 1) {
      expect(events.at(-1)![0]).toBe('error');
      expect([1002, 1007, 1009]).toContain(errors[0]![1]);
    }
    if (closes.length === 1) expect(events.at(-1)![0]).toBe('close');
  }

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), cutsArb(20), optionsArb, (bytes, cuts, options) => {
        const whole = feed(Buffer.from(bytes), [], options);
        checkOutcome(whole);
        // The chunking never changes the outcome.
        expect(feed(Buffer.from(bytes), cuts.map((c) => c % (bytes.length + 1)), options)).toEqual(whole);
      }),
      { numRuns: 2000, seed: 99 },
    );
  });

  it('valid frames with random bytes flipped', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb.filter((m) => m.big === null), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        cutsArb(20),
        optionsArb,
        (messages, flips, cuts, options) => {
          const out: Buffer[] = [];
          const maskKey = options.role === 'server' ? 0x12345678 : null;
          for (const m of messages) {
            const opcode = m.isBinary ? Opcode.Binary : Opcode.Text;
            encodeFragmented(out, opcode, payloadOf(m), m.fragmentSize, false, maskKey === null ? null : () => maskKey);
          }
          const bytes = Buffer.concat(out);
          for (const [position, bits] of flips) bytes[position % bytes.length] ^= bits;
          const whole = feed(bytes, [], options);
          checkOutcome(whole);
          expect(feed(bytes, cuts.map((c) => c % (bytes.length + 1)), options)).toEqual(whole);
        },
      ),
      { numRuns: 1000, seed: 123 },
    );
  });
});
