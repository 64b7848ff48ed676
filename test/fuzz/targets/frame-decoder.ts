// Target "frame-decoder": the streaming FrameDecoder (RFC 6455 §5) in both roles, with and without
// RSV1 allowed, with random maxPayload and maxFragments, in random chunkings. Inputs are random bytes, mutations of
// valid frame streams, and the model: logical messages and control frames, encoded with the frame
// encoder (masked toward a server), fragmented at random with control frames between fragments,
// whose delivered events must be exactly what the model says. For every input:
//  - push() never throws; events are messages/pings/pongs then at most one close or one error, and
//    nothing once it is reported (also for input pushed afterwards);
//  - an error's close code is one of 1002/1007/1008/1009 (1008: maxFragments); a close has a sendable code (or 1005 and
//    no reason) and a UTF-8 reason; control payloads are at most 125 bytes;
//  - no message larger than maxPayload is delivered and the joined buffer never grows past it;
//  - a compressed message only with allowRsv1; an uncompressed text message is valid UTF-8 unless
//    skipUtf8Validation;
//  - one push and split pushes give the same events, and so do split pushes lent from one reused
//    buffer (push(chunk, true), the buffer scribbled after each push), whose delivered buffers must
//    not change afterwards (no view of a lent chunk escapes).
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { isValidCloseCode } from '../../../src/framing/close-payload.js';
import { FrameDecoder, type FrameDecoderOptions } from '../../../src/framing/frame-decoder.js';
import { encodeFrame } from '../../../src/framing/frame-encoder.js';
import { Opcode } from '../../../src/framing/opcodes.js';
import { type Chunking, chunkingArb, type Mutation, mutate, mutationArb, split } from './mutation.js';
import { check, type FuzzTarget } from './target.js';

export type Event =
  | ['message', string, boolean, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string]
  | ['error', number];

const ERROR_CODES = new Set([1002, 1007, 1008, 1009]);

// ---- The model ------------------------------------------------------------------------------------

interface Control {
  opcode: typeof Opcode.Ping | typeof Opcode.Pong;
  payload: Uint8Array;
}

export interface MessageItem {
  kind: 'message';
  isBinary: boolean;
  /** RSV1 on the first frame (only when the decoder allows it; the payload is then opaque bytes). */
  rsv1: boolean;
  payload: Buffer;
  /** Cut offsets (modulo length + 1) that split the payload into fragments; empty fragments allowed. */
  cuts: number[];
  /** Control frames between fragments: [after fragment index (modulo count), frame]. */
  between: Array<[number, Control]>;
}

type Item = MessageItem | { kind: 'control'; control: Control };

export interface Script {
  items: Item[];
  close: { code: number; reason: string } | null | 'empty';
  /** Bytes after the close frame, which must be ignored. */
  trailer: Uint8Array;
  maskKeys: number[];
}

const controlArb: fc.Arbitrary<Control> = fc.record({
  opcode: fc.constantFrom(Opcode.Ping, Opcode.Pong),
  // Small payloads, and payloads at the 125-byte limit (which fast-check's size bias rarely reaches).
  payload: fc.oneof(fc.uint8Array({ maxLength: 125 }), fc.integer({ min: 100, max: 125 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))),
});

const textArb = fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞', '\u0000', '\uffff', ' '), maxLength: 60 });

const messageItemArb: fc.Arbitrary<MessageItem> = fc.record({
  kind: fc.constant('message' as const),
  isBinary: fc.boolean(),
  rsv1: fc.nat({ max: 4 }).map((n) => n === 0),
  payload: fc.oneof(
    { weight: 6, arbitrary: textArb.map((t) => Buffer.from(t)) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
    // Extended lengths: 16-bit and, rarely, 64-bit.
    { weight: 1, arbitrary: fc.integer({ min: 126, max: 70_000 }).map((n) => Buffer.alloc(n, 0x61)) },
  ),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  between: fc.array(fc.tuple(fc.nat(), controlArb), { maxLength: 3 }),
});

export const scriptArb: fc.Arbitrary<Script> = fc.record({
  items: fc.array(
    fc.oneof({ weight: 3, arbitrary: messageItemArb }, { weight: 1, arbitrary: controlArb.map((control) => ({ kind: 'control' as const, control })) }),
    { maxLength: 6 },
  ),
  close: fc.oneof(
    fc.constant(null),
    fc.constant('empty' as const),
    fc.record({
      code: fc.oneof(fc.constantFrom(1000, 1001, 1003, 1011, 1014, 3000, 4999), fc.integer({ min: 3000, max: 4999 })),
      reason: fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞'), maxLength: 30 }),
    }),
  ),
  trailer: fc.uint8Array({ maxLength: 16 }),
  maskKeys: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 8 }),
});

interface Frame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Buffer;
}

/** The frames of a message: fragments at the cut offsets, control frames between them. */
export function messageFrames(item: MessageItem, options: FrameDecoderOptions): Frame[] {
  const rsv1 = item.rsv1 && options.allowRsv1;
  // A text message the decoder validates carries UTF-8 (invalid bytes become U+FFFD here).
  const payload = item.isBinary || rsv1 || options.skipUtf8Validation ? item.payload : Buffer.from(item.payload.toString('utf8'));
  const length = payload.length;
  const cuts = [...new Set(item.cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b);
  const bounds = [0, ...cuts, length];
  const fragments: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) fragments.push(payload.subarray(bounds[i]!, bounds[i + 1]!));
  const frames: Frame[] = [];
  fragments.forEach((payload, i) => {
    frames.push({
      opcode: i === 0 ? (item.isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation,
      fin: i === fragments.length - 1,
      rsv1: i === 0 && rsv1,
      payload,
    });
    if (i < fragments.length - 1) {
      for (const [at, control] of item.between) {
        if (at % (fragments.length - 1) === i) frames.push({ opcode: control.opcode, fin: true, rsv1: false, payload: Buffer.from(control.payload) });
      }
    }
  });
  return frames;
}

function closePayload(close: Script['close']): Buffer {
  if (close === null || close === 'empty') return Buffer.alloc(0);
  const reason = Buffer.from(close.reason);
  const out = Buffer.alloc(2 + reason.length);
  out.writeUInt16BE(close.code, 0);
  reason.copy(out, 2);
  return out;
}

/** The wire bytes of a script and the events a decoder with `options` must deliver for them. */
export function encodeScript(script: Script, options: FrameDecoderOptions): { bytes: Buffer; events: Event[] } {
  const frames: Frame[] = [];
  for (const item of script.items) {
    if (item.kind === 'message') frames.push(...messageFrames(item, options));
    else frames.push({ opcode: item.control.opcode, fin: true, rsv1: false, payload: Buffer.from(item.control.payload) });
  }
  if (script.close !== null) frames.push({ opcode: Opcode.Close, fin: true, rsv1: false, payload: closePayload(script.close) });
  const out: Buffer[] = [];
  frames.forEach((f, i) => {
    // RFC 6455 §5.1: frames toward a server are masked, frames toward a client are not.
    const key = options.role === 'server' ? script.maskKeys[i % script.maskKeys.length]! : null;
    encodeFrame(out, f.opcode, f.payload, f.fin, f.rsv1, key);
  });
  if (script.close !== null) out.push(Buffer.from(script.trailer));

  const limit = options.maxPayload > 0 ? options.maxPayload : Infinity;
  const events: Event[] = [];
  let declared = 0;
  let fragments = 0;
  let parts: Buffer[] = [];
  let first: Frame | null = null;
  for (const f of frames) {
    if (f.opcode === Opcode.Ping || f.opcode === Opcode.Pong) {
      events.push([f.opcode === Opcode.Ping ? 'ping' : 'pong', f.payload.toString('hex')]);
      continue;
    }
    if (f.opcode === Opcode.Close) {
      events.push(script.close === 'empty' ? ['close', 1005, ''] : ['close', f.payload.readUInt16BE(0), f.payload.subarray(2).toString('hex')]);
      break;
    }
    if (f.opcode !== Opcode.Continuation) {
      first = f;
      declared = 0;
      fragments = 0;
      parts = [];
    }
    // RFC 6455 §7.4.1: too big -> 1009, known from the header of the frame that crosses the limit;
    // then the policy on the count of fragments -> 1008.
    declared += f.payload.length;
    if (declared > limit) {
      events.push(['error', 1009]);
      break;
    }
    if (++fragments > options.maxFragments && options.maxFragments > 0) {
      events.push(['error', 1008]);
      break;
    }
    parts.push(f.payload);
    if (f.fin) events.push(['message', Buffer.concat(parts).toString('hex'), first!.opcode === Opcode.Binary, first!.rsv1]);
  }
  return { bytes: Buffer.concat(out), events };
}

// ---- Driving the decoder ----------------------------------------------------------------------

const optionsArb: fc.Arbitrary<FrameDecoderOptions> = fc.record({
  role: fc.constantFrom('server' as const, 'client' as const),
  maxFragments: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 }), fc.constant(131072)),
  maxPayload: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.constant(100 * 1024 * 1024)),
  allowRsv1: fc.boolean(),
  skipUtf8Validation: fc.nat({ max: 5 }).map((n) => n === 0),
});

/**
 * Feed `chunks` and check the invariants that hold for any input; returns the events. `lend`: each
 * chunk goes through one reused buffer, pushed as borrowed and scribbled over right after.
 */
export function decode(chunks: readonly Buffer[], options: FrameDecoderOptions, lend = false): Event[] {
  const events: Event[] = [];
  /** With `lend`: every delivered buffer and its bytes when it was delivered. */
  const delivered: Array<[Buffer, string]> = [];
  const hexOf = (bytes: Buffer): string => {
    const hex = bytes.toString('hex');
    if (lend) delivered.push([bytes, hex]);
    return hex;
  };
  let ended = false;
  const limit = options.maxPayload > 0 ? options.maxPayload : Infinity;
  const terminal = (): void => {
    check(!ended, 'an event after the close or error');
    ended = true;
  };
  const decoder = new FrameDecoder(
    {
      onMessage(data, isBinary, compressed) {
        check(!ended, 'a message after the close or error');
        check(data.length <= limit, () => `a message of ${data.length} bytes delivered with maxPayload ${options.maxPayload}`);
        check(!compressed || options.allowRsv1, 'a compressed message without allowRsv1');
        if (!isBinary && !compressed && !options.skipUtf8Validation) check(isUtf8(data), 'a text message that is not UTF-8');
        events.push(['message', hexOf(data), isBinary, compressed]);
      },
      onPing(payload) {
        check(!ended && payload.length <= 125, 'a bad ping event');
        events.push(['ping', hexOf(payload)]);
      },
      onPong(payload) {
        check(!ended && payload.length <= 125, 'a bad pong event');
        events.push(['pong', hexOf(payload)]);
      },
      onClose(code, reason) {
        terminal();
        check(code === 1005 ? reason.length === 0 : isValidCloseCode(code), () => `close code ${code}`);
        check(reason.length <= 123 && isUtf8(reason), 'a close reason that is too long or not UTF-8');
        events.push(['close', code, hexOf(reason)]);
      },
      onError(error) {
        terminal();
        check(ERROR_CODES.has(error.closeCode), () => `error close code ${error.closeCode}: ${error.message}`);
        events.push(['error', error.closeCode]);
      },
    },
    options,
  );
  const scratch = lend ? Buffer.allocUnsafe(chunks.reduce((max, c) => Math.max(max, c.length), 10)) : null;
  const push = (chunk: Buffer): void => {
    try {
      if (scratch === null) {
        decoder.push(chunk);
      } else {
        chunk.copy(scratch);
        decoder.push(scratch.subarray(0, chunk.length), true);
        scratch.fill(0xa5);
      }
    } catch (err) {
      throw new Error(`push() threw: ${String(err)}`);
    }
    const joined = (decoder as unknown as { spill: { joined: Buffer | null } | null }).spill?.joined ?? null;
    check(joined === null || joined.length <= limit, () => `the joined buffer grew to ${joined!.length} bytes past maxPayload ${options.maxPayload}`);
  };
  for (const chunk of chunks) push(chunk);
  if (ended) {
    // Once closed or failed, the decoder ignores everything (the sink checks report any event).
    push(Buffer.from([0x81, 0x80, 0, 0, 0, 0, 0x82, 0x00, 0x88, 0x00]));
  }
  for (const [bytes, hex] of delivered) {
    check(bytes.toString('hex') === hex, 'a delivered buffer changed after a later push: a view of a lent chunk escaped');
  }
  return events;
}

const show = (events: readonly Event[]): string => JSON.stringify(events).slice(0, 2000);

function agree(bytes: Buffer, chunking: Chunking, options: FrameDecoderOptions): Event[] {
  const whole = decode([Buffer.from(bytes)], options);
  const pieces = decode(split(bytes, chunking), options);
  check(show(whole) === show(pieces), () => `one push: ${show(whole)}\nsplit pushes: ${show(pieces)}`);
  const lent = decode(split(bytes, chunking), options, true);
  check(show(lent) === show(pieces), () => `split pushes: ${show(pieces)}\nlent pushes: ${show(lent)}`);
  return pieces;
}

interface Input {
  /** The model, or null for random bytes. */
  script: Script | null;
  random: Buffer;
  /** Applied to the encoded script; none = the model must be delivered exactly. */
  mutations: Mutation[];
}

const inputArb: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a): Input => ({ script: null, random: Buffer.from(a), mutations: [] })) },
  { weight: 2, arbitrary: scriptArb.map((script): Input => ({ script, random: Buffer.alloc(0), mutations: [] })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(scriptArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
      .map(([script, mutations]): Input => ({ script, random: Buffer.alloc(0), mutations })),
  },
);

export const frameDecoderTarget: FuzzTarget = {
  name: 'frame-decoder',
  weight: 2,
  kind: 'sync',
  property: () =>
    fc.property(optionsArb, inputArb, chunkingArb, (options, input, chunking) => {
      if (input.script === null) {
        agree(input.random, chunking, options);
        return true;
      }
      const expected = encodeScript(input.script, options);
      if (input.mutations.length > 0) {
        agree(mutate(expected.bytes, input.mutations), chunking, options);
        return true;
      }
      const events = agree(expected.bytes, chunking, options);
      check(show(events) === show(expected.events), () => `the model says ${show(expected.events)}\nthe decoder delivered ${show(events)}`);
      return true;
    }),
};
