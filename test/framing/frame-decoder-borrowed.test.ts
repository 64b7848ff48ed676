// FrameDecoder.push(chunk, true): the chunk is only lent (a shared socket read buffer the caller
// reuses as soon as push() returns). Nothing handed to the sink (message data, ping/pong payloads,
// close reason) and nothing the decoder keeps between pushes may be a view of it. The technique:
// after every borrowed push the chunk is overwritten, as the next socket read would, and only at the
// end is every delivered buffer compared with the bytes that were sent. A view anywhere shows up as
// overwritten bytes. (Unmasking in place inside the chunk is allowed and not checked here.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, type FrameSink } from '../../src/framing/frame-decoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import type { ProtocolError } from '../../src/framing/protocol-error.js';
import { clientFrame } from '../hardening/helpers.js';

// ---------------------------------------------------------------------------------------------
// Helpers

type Role = 'server' | 'client';
const ROLES: readonly Role[] = ['server', 'client'];

/** What a borrowed chunk is overwritten with after push() returns. */
const SCRIBBLE = 0xee;

/** A frame as the peer of a decoder in `role` sends it: masked toward a server, unmasked toward a client (RFC 6455 §5.1). */
function frameFor(role: Role, opcode: number, payload: Buffer | string, fin = true): Buffer {
  return clientFrame(opcode, payload, { fin, mask: role === 'server' });
}

function closePayload(code: number, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason);
  const payload = Buffer.alloc(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return payload;
}

/** n bytes of a pattern with no period of 4 (a wrong mask offset or a misplaced piece shows). */
function binaryPayload(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >> 9)) & 0xff;
  return out;
}

/**
 * Exactly n bytes of UTF-8: 'aé€𝄞' (1-, 2-, 3- and 4-byte characters, 10 bytes) repeated, then 'a's.
 * Inside the repeated part, offset % 10 in {2, 4, 5, 7, 8, 9} falls inside a character.
 */
function textPayload(n: number): Buffer {
  const out = Buffer.from('aé€𝄞'.repeat(Math.floor(n / 10)) + 'a'.repeat(n % 10));
  expect(out.length).toBe(n);
  return out;
}

/** True when bytes[offset] is a UTF-8 continuation byte: a cut there splits a character. */
function splitsCharacter(bytes: Buffer, offset: number): boolean {
  return (bytes[offset]! & 0xc0) === 0x80;
}

/** A copy of `bytes` in an ArrayBuffer of its own and of its exact size, as a socket read gives. */
function ownChunk(bytes: Uint8Array): Buffer {
  const chunk = Buffer.from(new ArrayBuffer(bytes.length));
  chunk.set(bytes);
  return chunk;
}

/** `stream` cut at the given positions into chunks, each with memory of its own. */
function cutAt(stream: Buffer, positions: readonly number[]): Buffer[] {
  const bounds = [0, ...positions, stream.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    expect(bounds[i + 1]!).toBeGreaterThan(bounds[i]!);
    chunks.push(ownChunk(stream.subarray(bounds[i]!, bounds[i + 1]!)));
  }
  return chunks;
}

/** `stream` cut into chunks of the given sizes, then one chunk with the rest. */
function cutBySizes(stream: Buffer, sizes: readonly number[]): Buffer[] {
  const positions: number[] = [];
  let at = 0;
  for (const size of sizes) positions.push((at += size));
  return cutAt(stream, positions);
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.buffer === b.buffer &&
    a.length > 0 &&
    b.length > 0 &&
    a.byteOffset < b.byteOffset + b.length &&
    b.byteOffset < a.byteOffset + a.length
  );
}

/**
 * How many buffers the decoder holds in its fields (directly, in an array field, or in the fields of an
 * object it holds, and their arrays) that share memory with `chunk`. Implementation-agnostic: any
 * field, whatever its name.
 */
function keptViewsOf(decoder: object, chunk: Uint8Array, depth = 0): number {
  let count = 0;
  for (const value of Object.values(decoder) as unknown[]) {
    const candidates: unknown[] = Array.isArray(value) ? value : [value];
    for (const candidate of candidates) {
      if (candidate instanceof Uint8Array) {
        if (overlaps(candidate, chunk)) count++;
      } else if (depth === 0 && typeof candidate === 'object' && candidate !== null && candidate !== decoder) {
        count += keptViewsOf(candidate, chunk, depth + 1);
      }
    }
  }
  return count;
}

type Kind = 'text' | 'binary' | 'ping' | 'pong' | 'close';

/** One thing handed to the sink; for a close, data is the reason. */
interface Delivery {
  kind: Kind;
  data: Buffer;
  code?: number;
}

/** A sink that keeps every buffer it is handed, to compare them only after the chunks were reused. */
class Keeper implements FrameSink {
  readonly delivered: Delivery[] = [];
  readonly errors: ProtocolError[] = [];
  onMessage(data: Buffer, isBinary: boolean): void {
    this.delivered.push({ kind: isBinary ? 'binary' : 'text', data });
  }
  onPing(payload: Buffer): void {
    this.delivered.push({ kind: 'ping', data: payload });
  }
  onPong(payload: Buffer): void {
    this.delivered.push({ kind: 'pong', data: payload });
  }
  onClose(code: number, reason: Buffer): void {
    this.delivered.push({ kind: 'close', data: reason, code });
  }
  onError(error: ProtocolError): void {
    this.errors.push(error);
  }
}

/** Offset of the first byte where a and b differ (or the shorter length), -1 when equal. */
function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** The sink got exactly `expected`, byte for byte, checked now (after every chunk was overwritten). */
function expectDelivered(sink: Keeper, expected: readonly Delivery[]): void {
  expect(sink.errors.map((e) => `${e.closeCode} ${e.message}`)).toEqual([]);
  const shape = (d: Delivery) => [d.kind, d.code ?? null, d.data.length];
  expect(sink.delivered.map(shape)).toEqual(expected.map(shape));
  sink.delivered.forEach((d, i) => {
    expect(firstDifference(d.data, expected[i]!.data), `${d.kind} #${i}: offset of the first wrong byte`).toBe(-1);
  });
}

/** Lend the chunk: push(chunk, true), check the decoder kept no view of it, then overwrite it. */
function pushBorrowed(decoder: FrameDecoder, chunk: Buffer, scribble = SCRIBBLE): void {
  decoder.push(chunk, true);
  expect(keptViewsOf(decoder, chunk), 'buffers kept by the decoder that share memory with the lent chunk').toBe(0);
  chunk.fill(scribble);
}

/** Feed every chunk lent to a new decoder in `role`; returns the sink, checked to hold no view of any chunk. */
function feedBorrowed(role: Role, chunks: readonly Buffer[]): Keeper {
  const sink = new Keeper();
  const decoder = new FrameDecoder(sink, { role });
  for (const chunk of chunks) pushBorrowed(decoder, chunk);
  for (const d of sink.delivered) {
    for (const chunk of chunks) expect(overlaps(d.data, chunk), `${d.kind} shares memory with a chunk`).toBe(false);
  }
  return sink;
}

interface Plan {
  chunks: Buffer[];
  expected: Delivery[];
}

/** Chunk sizes for the 300 KiB frame: a split header, tiny pieces, and pieces >= 2 KiB that fill their chunk. */
const LARGE_CHUNK_SIZES = [3, 97, 2048, 1, 70_000, 31, 4096, 100_000, 3000, 5];

/** One 300 KiB frame (more than the 64 KiB joined directly) in chunks of various sizes, each its own memory. */
function largeFramePlan(role: Role, kind: 'binary' | 'text'): Plan {
  const payload = kind === 'binary' ? binaryPayload(300 * 1024) : textPayload(300 * 1024);
  const stream = frameFor(role, kind === 'binary' ? Opcode.Binary : Opcode.Text, payload);
  const chunks = cutBySizes(stream, LARGE_CHUNK_SIZES);
  // In non-borrowed mode a piece >= 2 KiB that is at least half of its chunk's memory is kept as a
  // view: several chunks here qualify (the control test below checks that views are then kept).
  expect(chunks.filter((c) => c.length >= 2048 && c.length * 2 >= c.buffer.byteLength).length).toBeGreaterThanOrEqual(4);
  return { chunks, expected: [{ kind, data: payload }] };
}

/**
 * A 30,000-byte text message in 7 frames, with a ping before the 3rd and a pong before the 5th
 * fragment. Frame boundaries and chunk boundaries fall inside multi-byte characters; one chunk
 * boundary splits a frame header. Fragments are large enough (>= 2 KiB, at least half their chunk)
 * that non-borrowed mode would keep views of the chunks.
 */
function fragmentedTextPlan(role: Role): Plan {
  const message = textPayload(30_000);
  const fragmentBounds = [7, 9_002, 9_004, 20_005, 29_988, 29_999];
  const chunkCutsInMessage = [4_002, 12_004, 25_009];
  for (const at of [...fragmentBounds, ...chunkCutsInMessage]) expect(splitsCharacter(message, at), `offset ${at}`).toBe(true);
  const controls = new Map<number, Delivery>([
    [2, { kind: 'ping', data: Buffer.from('ping between fragments') }],
    [4, { kind: 'pong', data: binaryPayload(125, 3) }],
  ]);

  const bounds = [0, ...fragmentBounds, message.length];
  const parts: Buffer[] = [];
  const expected: Delivery[] = [];
  /** Per fragment: where its frame starts, where its payload starts in the stream, its message offset. */
  const fragments: Array<{ frameStart: number; payloadStart: number; messageOffset: number; length: number }> = [];
  let streamLength = 0;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const control = controls.get(i);
    if (control) {
      const frame = frameFor(role, control.kind === 'ping' ? Opcode.Ping : Opcode.Pong, control.data);
      parts.push(frame);
      streamLength += frame.length;
      expected.push(control);
    }
    const payload = message.subarray(bounds[i]!, bounds[i + 1]!);
    const frame = frameFor(role, i === 0 ? Opcode.Text : Opcode.Continuation, payload, i + 2 === bounds.length);
    fragments.push({ frameStart: streamLength, payloadStart: streamLength + frame.length - payload.length, messageOffset: bounds[i]!, length: payload.length });
    parts.push(frame);
    streamLength += frame.length;
  }
  expected.push({ kind: 'text', data: message });
  const stream = Buffer.concat(parts);

  const streamOffset = (messageOffset: number): number => {
    const f = fragments.find((g) => messageOffset > g.messageOffset && messageOffset < g.messageOffset + g.length)!;
    return f.payloadStart + (messageOffset - f.messageOffset);
  };
  // Also split the header of the 3rd fragment (the continuation after the ping) after its first byte.
  const positions = [...chunkCutsInMessage.map(streamOffset), fragments[2]!.frameStart + 1].sort((a, b) => a - b);
  return { chunks: cutAt(stream, positions), expected };
}

// ---------------------------------------------------------------------------------------------

describe('FrameDecoder borrowed chunks: nothing handed out or kept is a view of the chunk', () => {
  describe.each(ROLES)('%s role', (role) => {
    it('binary and text messages whose single frame lies inside one chunk are delivered as copies', () => {
      const big = binaryPayload(1000);
      const text = Buffer.from('héllo wörld, € and 𝄞, long enough for a native copy');
      const short = Buffer.from('tiny ✓');
      const stream = Buffer.concat([
        frameFor(role, Opcode.Binary, big),
        frameFor(role, Opcode.Text, text),
        frameFor(role, Opcode.Text, short),
        frameFor(role, Opcode.Binary, Buffer.alloc(0)),
      ]);
      const sink = feedBorrowed(role, [ownChunk(stream)]);
      expectDelivered(sink, [
        { kind: 'binary', data: big },
        { kind: 'text', data: text },
        { kind: 'text', data: short },
        { kind: 'binary', data: Buffer.alloc(0) },
      ]);
    });

    it('hundreds of 256 B - 4 KiB messages copied out (they share slabs) keep their bytes, 8-byte aligned', () => {
      const payloads: Buffer[] = [];
      const chunks: Buffer[] = [];
      for (let i = 0; i < 300; i++) {
        const payload = binaryPayload(256 + ((i * 997) % (4096 - 256 + 1)), i);
        payloads.push(payload);
        // A few messages per chunk, as a read holds them.
        if (i % 3 === 0) chunks.push(frameFor(role, Opcode.Binary, payload));
        else chunks[chunks.length - 1] = Buffer.concat([chunks.at(-1)!, frameFor(role, Opcode.Binary, payload)]);
      }
      const sink = feedBorrowed(role, chunks.map(ownChunk));
      expectDelivered(
        sink,
        payloads.map((data) => ({ kind: 'binary' as const, data })),
      );
      for (const d of sink.delivered) expect(d.data.byteOffset % 8).toBe(0);
    });

    it('ping, pong with a payload and a close with a code and a reason, each inside one chunk, are copies', () => {
      const smallPing = Buffer.from('ping!');
      const fullPing = binaryPayload(125, 2);
      const pong = Buffer.from('pong payload, more than 32 bytes long');
      const reason = 'going away ✓ é';
      const chunks = [
        ownChunk(frameFor(role, Opcode.Ping, smallPing)),
        ownChunk(frameFor(role, Opcode.Ping, fullPing)),
        ownChunk(frameFor(role, Opcode.Pong, pong)),
        ownChunk(frameFor(role, Opcode.Close, closePayload(4001, reason))),
      ];
      const sink = feedBorrowed(role, chunks);
      expectDelivered(sink, [
        { kind: 'ping', data: smallPing },
        { kind: 'ping', data: fullPing },
        { kind: 'pong', data: pong },
        { kind: 'close', data: Buffer.from(reason), code: 4001 },
      ]);
    });

    it('a ping split across two chunks (in its payload, and in its header), and a split close, are copies', () => {
      const first = binaryPayload(100, 4);
      const second = Buffer.from('second ping');
      const reason = 'bye ✓';
      const a = frameFor(role, Opcode.Ping, first);
      const b = frameFor(role, Opcode.Ping, second);
      const c = frameFor(role, Opcode.Close, closePayload(1000, reason));
      const stream = Buffer.concat([a, b, c]);
      // Cut inside a's payload, inside b's header, inside c's payload (in the middle of '✓').
      const chunks = cutAt(stream, [a.length - 40, a.length + 1, a.length + b.length + c.length - 2]);
      const sink = feedBorrowed(role, chunks);
      expectDelivered(sink, [
        { kind: 'ping', data: first },
        { kind: 'ping', data: second },
        { kind: 'close', data: Buffer.from(reason), code: 1000 },
      ]);
    });

    it('a single-frame message of at most 64 KiB spanning 3 chunks is a copy (binary 40 KiB, text of exactly 64 KiB)', () => {
      const bin = binaryPayload(40 * 1024, 5);
      const binFrame = frameFor(role, Opcode.Binary, bin);
      const text = textPayload(64 * 1024);
      const textFrame = frameFor(role, Opcode.Text, text);
      const header = textFrame.length - text.length;
      // Text chunk boundaries inside characters.
      for (const at of [20_002, 40_007]) expect(splitsCharacter(text, at)).toBe(true);
      const chunks = [
        ...cutAt(binFrame, [10_000, 30_000]),
        ...cutAt(textFrame, [header + 20_002, header + 40_007]),
      ];
      const sink = feedBorrowed(role, chunks);
      expectDelivered(sink, [
        { kind: 'binary', data: bin },
        { kind: 'text', data: text },
      ]);
    });

    it.each(['binary', 'text'] as const)(
      'a 300 KiB %s message in chunks of various sizes, many at least half of their memory, is a copy',
      (kind) => {
        const { chunks, expected } = largeFramePlan(role, kind);
        const sink = feedBorrowed(role, chunks);
        expectDelivered(sink, expected);
      },
    );

    it('a fragmented text message, characters split across frame and chunk boundaries, controls between fragments, is a copy', () => {
      const { chunks, expected } = fragmentedTextPlan(role);
      expect(chunks.length).toBe(5);
      const sink = feedBorrowed(role, chunks);
      expectDelivered(sink, expected);
    });
  });

  it('random messages, fragmentations and cuts through ONE reused read buffer arrive intact', () => {
    const SHARED_SIZE = 64 * 1024;
    const controlArb = fc.record({ pong: fc.boolean(), at: fc.nat(), length: fc.integer({ min: 0, max: 125 }), seed: fc.nat(255) });
    const messageArb = fc.record({
      binary: fc.boolean(),
      size: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 200 }) },
        { weight: 2, arbitrary: fc.integer({ min: 201, max: 64 * 1024 }) },
        { weight: 2, arbitrary: fc.integer({ min: 64 * 1024 + 1, max: 200 * 1024 }) },
      ),
      seed: fc.nat(255),
      /** Fragment cuts (offsets modulo size + 1; empty fragments allowed). */
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      /** Controls before fragment `at` modulo the fragment count (before the 1st: between messages). */
      controls: fc.array(controlArb, { maxLength: 2 }),
    });
    const scenarioArb = fc.record({
      role: fc.constantFrom<Role>('server', 'client'),
      messages: fc.array(messageArb, { minLength: 1, maxLength: 5 }),
      close: fc.option(fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞'), maxLength: 20 })),
      /** Stream cut positions (modulo its length), each optionally followed by cuts 1..4 bytes later. */
      cuts: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 })), { maxLength: 30 }),
      /** Where in the shared buffer each piece is copied (modulo the room left). */
      offsets: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
    });

    fc.assert(
      fc.property(scenarioArb, (s) => {
        const parts: Buffer[] = [];
        const expected: Delivery[] = [];
        for (const m of s.messages) {
          const payload = m.binary ? binaryPayload(m.size, m.seed) : textPayload(m.size);
          const bounds = [...new Set([0, ...m.cuts.map((c) => c % (m.size + 1)), m.size])].sort((a, b) => a - b);
          if (bounds.length === 1) bounds.push(m.size); // an empty message: one empty frame
          const count = bounds.length - 1;
          for (let i = 0; i < count; i++) {
            for (const c of m.controls) {
              if (c.at % count !== i) continue;
              const data = binaryPayload(c.length, c.seed);
              parts.push(frameFor(s.role, c.pong ? Opcode.Pong : Opcode.Ping, data));
              expected.push({ kind: c.pong ? 'pong' : 'ping', data });
            }
            const opcode = i > 0 ? Opcode.Continuation : m.binary ? Opcode.Binary : Opcode.Text;
            parts.push(frameFor(s.role, opcode, payload.subarray(bounds[i]!, bounds[i + 1]!), i === count - 1));
          }
          expected.push({ kind: m.binary ? 'binary' : 'text', data: payload });
        }
        if (s.close !== null) {
          parts.push(frameFor(s.role, Opcode.Close, closePayload(3000, s.close)));
          expected.push({ kind: 'close', data: Buffer.from(s.close), code: 3000 });
        }
        const stream = Buffer.concat(parts);

        // Cut positions; pieces longer than the shared buffer are cut again into pieces of 32..64 KiB
        // (at least half of the shared buffer: what non-borrowed mode would keep as views).
        const cutSet = new Set<number>();
        for (const [c, extra] of s.cuts) for (let d = 0; d <= extra; d++) cutSet.add((c % stream.length) + d);
        const sorted = [...cutSet].filter((c) => c > 0 && c < stream.length).sort((a, b) => a - b);
        const bounds = [0];
        for (const cut of [...sorted, stream.length]) {
          let at = bounds[bounds.length - 1]!;
          while (cut - at > SHARED_SIZE) bounds.push((at += SHARED_SIZE - ((bounds.length * 7919) % (SHARED_SIZE / 2))));
          bounds.push(cut);
        }

        const shared = Buffer.from(new ArrayBuffer(SHARED_SIZE));
        const sink = new Keeper();
        const decoder = new FrameDecoder(sink, { role: s.role });
        for (let i = 0; i + 1 < bounds.length; i++) {
          const n = bounds[i + 1]! - bounds[i]!;
          const offset = s.offsets[i % s.offsets.length]! % (SHARED_SIZE - n + 1);
          stream.copy(shared, offset, bounds[i]!, bounds[i + 1]!);
          const piece = shared.subarray(offset, offset + n);
          pushBorrowed(decoder, piece, (SCRIBBLE + i) & 0xff);
          expect(keptViewsOf(decoder, shared), 'buffers kept by the decoder that share memory with the read buffer').toBe(0);
        }
        expectDelivered(sink, expected);
        for (const d of sink.delivered) expect(overlaps(d.data, shared), `${d.kind} shares memory with the read buffer`).toBe(false);
      }),
      { numRuns: 100, seed: 6455 },
    );
  });
});

describe('FrameDecoder borrowed chunks: the technique detects views (why borrowed mode matters)', () => {
  it('without borrowed, a message inside one chunk is a view of it: overwriting the chunk changes it; borrowed, it does not', () => {
    const payload = Buffer.from('a message inside one chunk');
    const frame = frameFor('server', Opcode.Binary, payload);

    const owned = ownChunk(frame);
    const viewSink = new Keeper();
    new FrameDecoder(viewSink).push(owned);
    expect(viewSink.delivered).toHaveLength(1);
    const view = viewSink.delivered[0]!.data;
    expect(view.buffer).toBe(owned.buffer);
    expect(view.equals(payload)).toBe(true);
    owned.fill(SCRIBBLE);
    expect(view.equals(Buffer.alloc(payload.length, SCRIBBLE))).toBe(true);

    const borrowedChunk = ownChunk(frame);
    const sink = new Keeper();
    new FrameDecoder(sink).push(borrowedChunk, true);
    borrowedChunk.fill(SCRIBBLE);
    expect(sink.delivered[0]!.data.buffer).not.toBe(borrowedChunk.buffer);
    expectDelivered(sink, [{ kind: 'binary', data: payload }]);
  });

  it.each([
    ['a 300 KiB binary frame', (role: Role) => largeFramePlan(role, 'binary')],
    ['a 300 KiB text frame', (role: Role) => largeFramePlan(role, 'text')],
    ['a fragmented text message', fragmentedTextPlan],
  ])('without borrowed, the chunking used above for %s keeps views of chunks between pushes, so overwriting them corrupts the message', (_name, plan) => {
    for (const role of ROLES) {
      const { chunks, expected } = plan(role);
      const sink = new Keeper();
      const decoder = new FrameDecoder(sink, { role });
      let kept = 0;
      for (const chunk of chunks) {
        decoder.push(chunk);
        kept += keptViewsOf(decoder, chunk);
        chunk.fill(SCRIBBLE);
      }
      expect(kept).toBeGreaterThan(0);
      const message = sink.delivered.find((d) => d.kind === 'text' || d.kind === 'binary')!;
      expect(message.data.length).toBe(expected[expected.length - 1]!.data.length);
      expect(message.data.equals(expected[expected.length - 1]!.data)).toBe(false);
    }
  });
});
