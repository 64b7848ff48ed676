import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAGMENTS, FrameDecoder, type FrameDecoderOptions, type FrameSink } from '../../src/framing/frame-decoder.js';
import { ProtocolError } from '../../src/framing/protocol-error.js';

// ---------------------------------------------------------------------------------------------
// Helpers: a raw frame builder (it also builds frames no encoder would produce) and a recording sink.

interface RawFrame {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Masking key; null = unmasked. Default: a fixed key (frames from a client). */
  maskKey?: number | null;
  /** Force the length encoding. */
  lengthField?: 7 | 16 | 64;
}

const KEY = 0x37fa213d;

function rawFrame(f: RawFrame): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const maskKey = f.maskKey === undefined ? KEY : f.maskKey;
  const length = payload.length;
  const field = f.lengthField ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const head: number[] = [
    ((f.fin ?? true) ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | f.opcode,
  ];
  const maskBit = maskKey === null ? 0 : 0x80;
  if (field === 7) head.push(maskBit | length);
  else if (field === 16) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const high = Math.floor(length / 0x100000000);
    for (const word of [high, length >>> 0]) head.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
  }
  const body = Buffer.from(payload);
  if (maskKey !== null) {
    const key = [maskKey >>> 24, (maskKey >>> 16) & 0xff, (maskKey >>> 8) & 0xff, maskKey & 0xff];
    head.push(...key);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3]!;
  }
  return Buffer.concat([Buffer.from(head), body]);
}

const text = (payload: Buffer | string, extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 1, payload, ...extra });
const binary = (payload: Buffer | string, extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 2, payload, ...extra });
const cont = (payload: Buffer | string, extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 0, payload, ...extra });
const ping = (payload: Buffer | string = '', extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 9, payload, ...extra });
const pong = (payload: Buffer | string = '', extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 10, payload, ...extra });
const close = (payload: Buffer | string = '', extra: Partial<RawFrame> = {}) => rawFrame({ opcode: 8, payload, ...extra });
const closeWith = (code: number, reason: Buffer | string = '') => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return close(Buffer.concat([head, Buffer.from(reason)]));
};
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

type Event =
  | ['message', string, boolean, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string]
  | ['error', number];

class Recorder implements FrameSink {
  events: Event[] = [];
  /** Every buffer handed out, with its hex at delivery time. */
  delivered: Array<[Buffer, string]> = [];
  errors: ProtocolError[] = [];
  /** Index of the push() during which each event fired. */
  pushIndex: number[] = [];
  currentPush = 0;
  private keep(buf: Buffer): string {
    const h = buf.toString('hex');
    this.delivered.push([buf, h]);
    return h;
  }
  private record(e: Event): void {
    this.events.push(e);
    this.pushIndex.push(this.currentPush);
  }
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    this.record(['message', this.keep(data), isBinary, compressed]);
  }
  onPing(payload: Buffer): void {
    this.record(['ping', this.keep(payload)]);
  }
  onPong(payload: Buffer): void {
    this.record(['pong', this.keep(payload)]);
  }
  onClose(code: number, reason: Buffer): void {
    this.record(['close', code, reason.toString()]);
  }
  onError(error: ProtocolError): void {
    expect(error).toBeInstanceOf(ProtocolError);
    this.errors.push(error);
    this.record(['error', error.closeCode]);
  }
}

/** The decoder's state for a message that spans frames or chunks (made when first needed), or nulls. */
function internalsOf(decoder: FrameDecoder): { joined: Buffer | null; tail: Buffer | null; pieces: Buffer[] | null } {
  const spill = (decoder as unknown as { spill: { joined: Buffer | null; tail: Buffer | null; pieces: Buffer[] | null } | null }).spill;
  return spill ?? { joined: null, tail: null, pieces: null };
}

/** Bytes of memory the decoder holds for the message it is joining (ArrayBuffers it keeps alive). */
function heldBytes(decoder: FrameDecoder): number {
  const internals = internalsOf(decoder);
  const buffers = new Set<ArrayBufferLike>();
  for (const b of [internals.joined, internals.tail, ...(internals.pieces ?? [])]) if (b) buffers.add(b.buffer);
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return total;
}

/** Feed `bytes` cut at `cuts` (each chunk a fresh copy: the decoder unmasks in place). */
function decode(bytes: Buffer, cuts: number[] = [], options?: Partial<FrameDecoderOptions>): Recorder {
  const sink = new Recorder();
  const decoder = new FrameDecoder(sink, options);
  const bounds = [0, ...cuts, bytes.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    sink.currentPush = i;
    decoder.push(Buffer.from(bytes.subarray(bounds[i]!, bounds[i + 1]!)));
  }
  // The decoder never writes into bytes it has handed out.
  for (const [buf, h] of sink.delivered) expect(buf.toString('hex')).toBe(h);
  return sink;
}

const msg = (s: string | Buffer, isBinary = false, compressed = false): Event => [
  'message',
  Buffer.from(s).toString('hex'),
  isBinary,
  compressed,
];

function errorCode(bytes: Buffer, options?: Partial<FrameDecoderOptions>): number | undefined {
  const sink = decode(bytes, [], options);
  const errors = sink.events.filter((e) => e[0] === 'error');
  expect(errors.length).toBeLessThanOrEqual(1);
  return errors.length === 0 ? undefined : (errors[0]![1] as number);
}

// ---------------------------------------------------------------------------------------------

describe('FrameDecoder: frames and messages', () => {
  it('decodes masked text and binary messages (server role, the default)', () => {
    const sink = decode(Buffer.concat([text('Hello'), binary(hex('00ff10'))]));
    expect(sink.events).toEqual([msg('Hello'), msg(hex('00ff10'), true)]);
  });

  it('decodes unmasked frames in the client role', () => {
    const sink = decode(Buffer.concat([text('hi', { maskKey: null }), ping('p', { maskKey: null })]), [], {
      role: 'client',
    });
    expect(sink.events).toEqual([msg('hi'), ['ping', Buffer.from('p').toString('hex')]]);
  });

  it.each([0, 1, 125, 126, 127, 65535, 65536, 200000])('payload length %i (7/16/64-bit lengths)', (length) => {
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = (i * 7) & 0xff;
    const sink = decode(binary(payload));
    expect(sink.events).toEqual([msg(payload, true)]);
  });

  it('accepts a length in a longer field than needed', () => {
    const sink = decode(Buffer.concat([text('a', { lengthField: 16 }), text('b', { lengthField: 64 })]));
    expect(sink.events).toEqual([msg('a'), msg('b')]);
  });

  it('delivers empty messages', () => {
    const sink = decode(
      Buffer.concat([text(''), binary(''), text('', { fin: false }), cont('', { fin: false }), cont('')]),
    );
    expect(sink.events).toEqual([msg(''), msg('', true), msg('')]);
  });

  it('joins fragments; control frames may arrive between fragments (RFC 6455 §5.4)', () => {
    const sink = decode(
      Buffer.concat([
        text('Hel', { fin: false }),
        ping('1'),
        cont('lo, ', { fin: false }),
        pong('2'),
        ping(''),
        cont('world'),
        binary(hex('01'), { fin: false }),
        ping('3'),
        cont(hex('02')),
      ]),
    );
    expect(sink.events).toEqual([
      ['ping', '31'],
      ['pong', '32'],
      ['ping', ''],
      msg('Hello, world'),
      ['ping', '33'],
      msg(hex('0102'), true),
    ]);
  });

  it('a text message may split a code point across fragments', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    const sink = decode(
      Buffer.concat([text(euro.subarray(0, 1), { fin: false }), cont(euro.subarray(1, 2), { fin: false }), cont(euro.subarray(2))]),
    );
    expect(sink.events).toEqual([msg('€')]);
  });

  it('control frames of 125 bytes are accepted', () => {
    const payload = Buffer.alloc(125, 0x61);
    const sink = decode(Buffer.concat([ping(payload), pong(payload)]));
    expect(sink.events).toEqual([
      ['ping', payload.toString('hex')],
      ['pong', payload.toString('hex')],
    ]);
  });

  it('close with code and reason; nothing after it is decoded', () => {
    const sink = decode(Buffer.concat([closeWith(1000, 'bye κόσμε'), text('ignored'), Buffer.from([0xff, 0xff])]));
    expect(sink.events).toEqual([['close', 1000, 'bye κόσμε']]);
  });

  it('empty close -> 1005', () => {
    expect(decode(close()).events).toEqual([['close', 1005, '']]);
  });

  it('close split across chunks, between fragments of a message', () => {
    const bytes = Buffer.concat([text('a', { fin: false }), closeWith(4001, 'x'.repeat(100))]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(decode(bytes, [cut]).events).toEqual([['close', 4001, 'x'.repeat(100)]]);
    }
  });

  it('compressed messages (RSV1 with allowRsv1) are delivered raw and not UTF-8 checked', () => {
    const bytes = Buffer.concat([text(hex('ff fe'), { rsv1: true }), text(hex('c0'), { rsv1: true, fin: false }), cont(hex('80'))]);
    const sink = decode(bytes, [], { allowRsv1: true });
    expect(sink.events).toEqual([msg(hex('fffe'), false, true), msg(hex('c080'), false, true)]);
  });

  it('allowRsv1 may change between pushes', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    decoder.push(text('plain'));
    decoder.allowRsv1 = true;
    decoder.push(binary('z', { rsv1: true }));
    decoder.allowRsv1 = false;
    decoder.push(binary('z', { rsv1: true }));
    expect(sink.events).toEqual([msg('plain'), msg('z', true, true), ['error', 1002]]);
  });

  it('skipUtf8Validation delivers invalid text', () => {
    const bytes = Buffer.concat([text(hex('eda080')), text(hex('e2'), { fin: false }), cont(hex('41'))]);
    const sink = decode(bytes, [2, 9], { skipUtf8Validation: true });
    expect(sink.events).toEqual([msg(hex('eda080')), msg(hex('e241'))]);
  });
});

describe('FrameDecoder: protocol violations', () => {
  it('server role: an unmasked frame -> 1002 (RFC 6455 §5.1)', () => {
    expect(errorCode(text('x', { maskKey: null }))).toBe(1002);
    expect(errorCode(ping('', { maskKey: null }))).toBe(1002);
  });

  it('client role: a masked frame -> 1002 (RFC 6455 §5.1)', () => {
    expect(errorCode(text('x'), { role: 'client' })).toBe(1002);
  });

  it('RSV2 / RSV3 -> 1002, even with allowRsv1', () => {
    expect(errorCode(text('x', { rsv2: true }), { allowRsv1: true })).toBe(1002);
    expect(errorCode(text('x', { rsv3: true }), { allowRsv1: true })).toBe(1002);
    expect(errorCode(ping('x', { rsv2: true }))).toBe(1002);
  });

  it('RSV1 without allowRsv1 -> 1002', () => {
    expect(errorCode(text('x', { rsv1: true }))).toBe(1002);
  });

  it('RSV1 on a continuation or a control frame -> 1002, even with allowRsv1', () => {
    expect(errorCode(Buffer.concat([text('a', { fin: false }), cont('b', { rsv1: true })]), { allowRsv1: true })).toBe(1002);
    for (const f of [ping('x', { rsv1: true }), pong('x', { rsv1: true }), close('', { rsv1: true })]) {
      expect(errorCode(f, { allowRsv1: true })).toBe(1002);
    }
  });

  it.each([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])('reserved opcode 0x%s -> 1002', (opcode) => {
    expect(errorCode(rawFrame({ opcode }))).toBe(1002);
    expect(errorCode(Buffer.concat([text('a', { fin: false }), rawFrame({ opcode })]))).toBe(1002);
  });

  it('fragmented control frame -> 1002 (RFC 6455 §5.5)', () => {
    expect(errorCode(ping('x', { fin: false }))).toBe(1002);
    expect(errorCode(close('', { fin: false }))).toBe(1002);
  });

  it('control frame payload over 125 bytes -> 1002, before the payload arrives', () => {
    const sink = decode(ping(Buffer.alloc(126)).subarray(0, 4));
    expect(sink.events).toEqual([['error', 1002]]);
    expect(errorCode(pong(Buffer.alloc(126)))).toBe(1002);
  });

  it('continuation without a message -> 1002', () => {
    expect(errorCode(cont('x'))).toBe(1002);
    expect(errorCode(Buffer.concat([text('a'), cont('x')]))).toBe(1002);
  });

  it('a new data frame inside a fragmented message -> 1002', () => {
    expect(errorCode(Buffer.concat([text('a', { fin: false }), text('b')]))).toBe(1002);
    expect(errorCode(Buffer.concat([binary('a', { fin: false }), ping(), binary('b')]))).toBe(1002);
  });

  it('64-bit length with the most significant bit set -> 1002', () => {
    const header = hex('82 ff 80 00 00 00 00 00 00 01 00 00 00 00');
    expect(errorCode(header)).toBe(1002);
    expect(errorCode(header, { maxPayload: 0 })).toBe(1002);
  });

  it('message over maxPayload -> 1009 from the header alone', () => {
    expect(errorCode(binary(Buffer.alloc(101)), { maxPayload: 100 })).toBe(1009);
    expect(errorCode(binary(Buffer.alloc(100)), { maxPayload: 100 })).toBeUndefined();
    // Only the 4-byte header (2 + 16-bit length) and the key: no payload byte yet.
    const sink = decode(binary(Buffer.alloc(1000)).subarray(0, 8), [], { maxPayload: 999 });
    expect(sink.events).toEqual([['error', 1009]]);
  });

  it('fragments summing over maxPayload -> 1009 at the header of the fragment that exceeds it', () => {
    const bytes = Buffer.concat([
      text('a'.repeat(60), { fin: false }),
      ping('x'.repeat(100)), // control frames do not count
      cont('b'.repeat(40), { fin: false }),
      cont('c'.repeat(1)),
    ]);
    const sink = decode(bytes, [], { maxPayload: 100 });
    expect(sink.events).toEqual([['ping', Buffer.from('x'.repeat(100)).toString('hex')], ['error', 1009]]);
    const ok = decode(bytes, [], { maxPayload: 101 });
    expect(ok.events.at(-1)).toEqual(msg('a'.repeat(60) + 'b'.repeat(40) + 'c'));
  });

  it('default maxPayload is 100 MiB; 0 means unlimited up to the largest Buffer', () => {
    const announce = (length: number) => {
      const h = Buffer.alloc(14);
      h[0] = 0x82;
      h[1] = 0xff;
      h.writeUInt32BE(Math.floor(length / 0x100000000), 2);
      h.writeUInt32BE(length >>> 0, 6);
      return h;
    };
    expect(errorCode(announce(100 * 1024 * 1024))).toBeUndefined();
    expect(errorCode(announce(100 * 1024 * 1024 + 1))).toBe(1009);
    expect(errorCode(announce(100 * 1024 * 1024 + 1), { maxPayload: 0 })).toBeUndefined();
    expect(errorCode(announce(2 ** 53 + 10), { maxPayload: 0 })).toBe(1009);
    expect(errorCode(announce(2 ** 62), { maxPayload: 0 })).toBe(1009);
  });

  it('a hostile header announcing 100 MiB then trickling bytes does not allocate it up front', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    const header = hex('82 ff 00 00 00 00 06 40 00 00 00 00 00 00'); // 100 MiB, key 0
    decoder.push(header);
    for (let i = 0; i < 100; i++) decoder.push(Buffer.alloc(10));
    const held = heldBytes(decoder);
    expect(held).toBeGreaterThanOrEqual(1000);
    expect(held).toBeLessThanOrEqual(64 * 1024);
    expect(sink.events).toEqual([]);
  });

  it('invalid UTF-8 in a single-frame text message -> 1007', () => {
    expect(errorCode(text(hex('cebae1bdb9cf83cebcceb5eda080656469746564')))).toBe(1007);
  });

  it('a text message ending inside a code point -> 1007', () => {
    expect(errorCode(text(hex('41e282')))).toBe(1007);
    expect(errorCode(Buffer.concat([text(hex('41e2'), { fin: false }), cont(hex('82'))]))).toBe(1007);
  });

  it('close payload rules: 1 byte or an invalid code -> 1002, reason not UTF-8 -> 1007', () => {
    expect(errorCode(close(hex('03')))).toBe(1002);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) expect(errorCode(closeWith(code))).toBe(1002);
    expect(errorCode(closeWith(1000, hex('cebae1bdb9cf83cebcceb5eda080')))).toBe(1007);
  });

  it('reports exactly one error and ignores all later input', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    decoder.push(Buffer.concat([text('ok'), text('x', { maskKey: null }), text('never')]));
    decoder.push(text('later'));
    decoder.push(Buffer.from([0xff]));
    expect(sink.events).toEqual([msg('ok'), ['error', 1002]]);
  });
});

describe("FrameDecoder: error values as ws's receiver builds them", () => {
  /** The one error of decoding `bytes`, as [class, code, message, closeCode]. */
  function errorValue(bytes: Buffer, options?: Partial<FrameDecoderOptions>): [string, string, string, number] {
    const sink = decode(bytes, [], options);
    expect(sink.errors).toHaveLength(1);
    const error = sink.errors[0]!;
    // Still a ProtocolError for code written against rfc6455, whatever its own class.
    expect(error).toBeInstanceOf(ProtocolError);
    return [error.constructor.name, error.code, error.message, error.closeCode];
  }
  const frame = (message: string): string => `Invalid WebSocket frame: ${message}`;
  const long = (high: number): Buffer => Buffer.from([0x82, 0xff, high >>> 24, (high >>> 16) & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

  it.each<[string, Buffer, Partial<FrameDecoderOptions>, [string, string, string, number]]>([
    ['RSV2', text('x', { rsv2: true }), {}, ['RangeError', 'WS_ERR_UNEXPECTED_RSV_2_3', frame('RSV2 and RSV3 must be clear'), 1002]],
    ['RSV1 without an extension', text('x', { rsv1: true }), {}, ['RangeError', 'WS_ERR_UNEXPECTED_RSV_1', frame('RSV1 must be clear'), 1002]],
    ['RSV1 before the opcode check', rawFrame({ opcode: 3, rsv1: true }), {}, ['RangeError', 'WS_ERR_UNEXPECTED_RSV_1', frame('RSV1 must be clear'), 1002]],
    ['RSV1 on a continuation', Buffer.concat([text('a', { fin: false }), cont('b', { rsv1: true })]), { allowRsv1: true }, ['RangeError', 'WS_ERR_UNEXPECTED_RSV_1', frame('RSV1 must be clear'), 1002]],
    ['RSV1 on a ping', ping('', { rsv1: true }), { allowRsv1: true }, ['RangeError', 'WS_ERR_UNEXPECTED_RSV_1', frame('RSV1 must be clear'), 1002]],
    ['opcode 3', rawFrame({ opcode: 3 }), {}, ['RangeError', 'WS_ERR_INVALID_OPCODE', frame('invalid opcode 3'), 1002]],
    ['opcode 15', rawFrame({ opcode: 15 }), {}, ['RangeError', 'WS_ERR_INVALID_OPCODE', frame('invalid opcode 15'), 1002]],
    ['a lone continuation', cont('x'), {}, ['RangeError', 'WS_ERR_INVALID_OPCODE', frame('invalid opcode 0'), 1002]],
    ['interleaved messages', Buffer.concat([text('a', { fin: false }), binary('b')]), {}, ['RangeError', 'WS_ERR_INVALID_OPCODE', frame('invalid opcode 2'), 1002]],
    ['a fragmented close', close('', { fin: false }), {}, ['RangeError', 'WS_ERR_EXPECTED_FIN', frame('FIN must be set'), 1002]],
    ['a ping of 126 bytes', ping('x'.repeat(126)), {}, ['RangeError', 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', frame('invalid payload length 126'), 1002]],
    ['a close of 1 byte', close(Buffer.from([3])), {}, ['RangeError', 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', frame('invalid payload length 1'), 1002]],
    ['unmasked from a client', text('x', { maskKey: null }), {}, ['RangeError', 'WS_ERR_EXPECTED_MASK', frame('MASK must be set'), 1002]],
    ['masked from a server', text('x'), { role: 'client' }, ['RangeError', 'WS_ERR_UNEXPECTED_MASK', frame('MASK must be clear'), 1002]],
    ['close code 1004', closeWith(1004), {}, ['RangeError', 'WS_ERR_INVALID_CLOSE_CODE', frame('invalid status code 1004'), 1002]],
    ['a close reason not UTF-8', closeWith(1000, hex('ff')), {}, ['Error', 'WS_ERR_INVALID_UTF8', frame('invalid UTF-8 sequence'), 1007]],
    ['text not UTF-8', text(hex('c328')), {}, ['Error', 'WS_ERR_INVALID_UTF8', frame('invalid UTF-8 sequence'), 1007]],
    ['text not UTF-8 across frames', Buffer.concat([text(hex('e2'), { fin: false }), cont(hex('28a1'))]), {}, ['Error', 'WS_ERR_INVALID_UTF8', frame('invalid UTF-8 sequence'), 1007]],
    ['text ending inside a code point', text(hex('61e282')), {}, ['Error', 'WS_ERR_INVALID_UTF8', frame('invalid UTF-8 sequence'), 1007]],
    ['over maxPayload', binary('x'.repeat(11)), { maxPayload: 10 }, ['RangeError', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded', 1009]],
    ['over maxFragments', Buffer.concat([binary('a', { fin: false }), cont('b', { fin: false })]), { maxFragments: 1 }, ['RangeError', 'WS_ERR_TOO_MANY_BUFFERED_PARTS', 'Too many message fragments', 1008]],
    ['a length of 2^53', long(0x00200000), {}, ['RangeError', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'Unsupported WebSocket frame: payload length > 2^53 - 1', 1009]],
    // RFC 6455 §5.2: the most significant bit must be 0, a framing error (ws sends 1009 here too).
    ['a length with the top bit set', long(0x80000000), {}, ['RangeError', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'Unsupported WebSocket frame: payload length > 2^53 - 1', 1002]],
  ])('%s', (_name, bytes, options, expected) => {
    expect(errorValue(bytes, options)).toEqual(expected);
  });

  it('a close of 1 byte fails at its header, before its payload arrives', () => {
    expect(errorValue(close(Buffer.from([3])).subarray(0, 2))[1]).toBe('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
  });

  it('instanceof ProtocolError: the decoder\'s errors, new ProtocolError(...), not other errors; a subclass checks its prototype', () => {
    const own = new ProtocolError(1008, 'policy');
    expect(own).toBeInstanceOf(ProtocolError);
    expect([own.name, own.code, own.closeCode]).toEqual(['ProtocolError', 'WS_ERR_PROTOCOL_VIOLATION', 1008]);
    expect(new RangeError('x')).not.toBeInstanceOf(ProtocolError);
    expect((null as unknown) instanceof ProtocolError).toBe(false);
    class Sub extends ProtocolError {}
    expect(new Sub(1002, 'x')).toBeInstanceOf(Sub);
    expect(new Sub(1002, 'x')).toBeInstanceOf(ProtocolError);
    expect(own).not.toBeInstanceOf(Sub);
  });
});

describe('FrameDecoder: fail-fast UTF-8 (Autobahn 6.4.x)', () => {
  const kosme = hex('cebae1bdb9cf83cebcceb5');
  const edited = Buffer.from('edited');

  function pushAll(chunks: Buffer[]): Recorder {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    chunks.forEach((chunk, i) => {
      sink.currentPush = i;
      decoder.push(chunk);
    });
    return sink;
  }

  it('6.4.1: invalid 2nd fragment fails before the 3rd arrives', () => {
    const sink = pushAll([text(kosme, { fin: false }), cont(hex('f4908080'), { fin: false }), cont(edited)]);
    expect(sink.events).toEqual([['error', 1007]]);
    expect(sink.pushIndex).toEqual([1]);
  });

  it('6.4.2: a fragment completing an impossible sequence fails at once', () => {
    const sink = pushAll([
      text(Buffer.concat([kosme, hex('f4')]), { fin: false }),
      cont(hex('908080'), { fin: false }),
      cont(edited),
    ]);
    expect(sink.events).toEqual([['error', 1007]]);
    expect(sink.pushIndex).toEqual([1]);
  });

  it('6.4.3: invalid bytes in the 2nd chunk of one frame fail before the rest arrives', () => {
    const frame = text(Buffer.concat([kosme, hex('f4908080'), edited]));
    const headerLength = 6;
    const cut1 = headerLength + kosme.length;
    const cut2 = cut1 + 4;
    const sink = pushAll([frame.subarray(0, cut1), frame.subarray(cut1, cut2), frame.subarray(cut2)].map((b) => Buffer.from(b)));
    expect(sink.events).toEqual([['error', 1007]]);
    expect(sink.pushIndex).toEqual([1]);
  });

  it('6.4.4: the first impossible byte fails in its own chunk', () => {
    const frame = text(Buffer.concat([kosme, hex('f4908080'), edited]));
    const headerLength = 6;
    const cut1 = headerLength + kosme.length + 1; // ends with F4, still a valid prefix
    const cut2 = cut1 + 1; // 0x90: impossible after F4
    const sink = pushAll([frame.subarray(0, cut1), frame.subarray(cut1, cut2), frame.subarray(cut2)].map((b) => Buffer.from(b)));
    expect(sink.events).toEqual([['error', 1007]]);
    expect(sink.pushIndex).toEqual([1]);
  });

  it('fails inside a chunk that also holds the header of the frame', () => {
    const frame = text(Buffer.concat([hex('ff'), Buffer.alloc(1000, 0x41)]));
    const sink = pushAll([Buffer.from(frame.subarray(0, 20)), Buffer.from(frame.subarray(20))]);
    expect(sink.events).toEqual([['error', 1007]]);
    expect(sink.pushIndex).toEqual([0]);
  });
});

describe('FrameDecoder: chunking', () => {
  // Every header shape (7/16/64-bit length, masked), fragments with control frames between them,
  // a code point split across fragments, and a close at the end.
  const small = Buffer.concat([
    text('Hello'),
    binary(Buffer.alloc(300, 0xab)),
    text('κόσμε ', { fin: false }),
    ping('are you there?'),
    cont('😀 split', { fin: false }),
    pong(''),
    cont(' end'),
    text(''),
    binary('64-bit length field', { lengthField: 64, fin: false }),
    ping(Buffer.alloc(125, 0x70)),
    cont(hex('01020304')),
    text('tiny', { maskKey: 0 }),
    closeWith(1001, 'going away'),
  ]);
  const expected = decode(small).events;
  // The same with a large fragmented message, for random chunkings.
  const large = Buffer.concat([
    small.subarray(0, small.length - closeWith(1001, 'going away').length),
    binary(Buffer.alloc(70000, 0x5a), { fin: false }),
    ping('x'),
    cont(Buffer.alloc(5000, 0x5b)),
    closeWith(1001, 'going away'),
  ]);
  const expectedLarge = decode(large).events;

  it('the unsplit stream gives the expected events', () => {
    expect(expected.map((e) => e[0])).toEqual([
      'message',
      'message',
      'ping',
      'pong',
      'message',
      'message',
      'ping',
      'message',
      'message',
      'close',
    ]);
    expect(expected[4]).toEqual(msg('κόσμε 😀 split end'));
    expect(expected[7]).toEqual(msg('64-bit length field' + '\x01\x02\x03\x04', true));
    expect(expectedLarge.slice(-3)).toEqual([
      ['ping', '78'],
      msg(Buffer.concat([Buffer.alloc(70000, 0x5a), Buffer.alloc(5000, 0x5b)]), true),
      ['close', 1001, 'going away'],
    ]);
  });

  it('split at every byte position gives the same events', () => {
    for (let cut = 0; cut <= small.length; cut++) expect(decode(small, [cut]).events).toEqual(expected);
    for (let cut = 0; cut <= small.length; cut += 7) {
      for (let cut2 = cut; cut2 <= small.length; cut2 += 5) expect(decode(small, [cut, cut2]).events).toEqual(expected);
    }
  });

  it('byte by byte gives the same events', () => {
    const cuts = Array.from({ length: small.length - 1 }, (_, i) => i + 1);
    expect(decode(small, cuts).events).toEqual(expected);
    const largeCuts = Array.from({ length: large.length - 1 }, (_, i) => i + 1);
    expect(decode(large, largeCuts).events).toEqual(expectedLarge);
  });

  it('random chunkings give the same events', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: small.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(decode(small, cuts.sort((a, b) => a - b)).events).toEqual(expected);
      }),
      { numRuns: 300, seed: 42 },
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: large.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(decode(large, cuts.sort((a, b) => a - b)).events).toEqual(expectedLarge);
      }),
      { numRuns: 40, seed: 43 },
    );
  });

  it('errors fire at the same point for every split', () => {
    const bad = Buffer.concat([text('a'), ping('b'), text('c', { fin: false }), cont(hex('c0'), { fin: false }), cont('d')]);
    for (let cut = 0; cut <= bad.length; cut++) {
      expect(decode(bad, [cut]).events).toEqual([msg('a'), ['ping', '62'], ['error', 1007]]);
    }
  });

  it('split control payloads are handed out as separate copies', () => {
    const bytes = Buffer.concat([ping('first ping'), ping('second!!!!')]);
    const sink = decode(bytes, [4, 10, 20, 24]);
    expect(sink.events).toEqual([
      ['ping', Buffer.from('first ping').toString('hex')],
      ['ping', Buffer.from('second!!!!').toString('hex')],
    ]);
    // Both still hold their own bytes after everything was decoded (not views of one scratch).
    expect(sink.delivered.map(([b]) => b.toString())).toEqual(['first ping', 'second!!!!']);
  });
});

describe('FrameDecoder: zero copy and memory', () => {
  it('a message inside one chunk is a view of that chunk, unmasked in place', () => {
    const chunk = Buffer.concat([text('first'), binary(Buffer.alloc(1000, 7)), ping('p'), text('last')]);
    const delivered: Buffer[] = [];
    const decoder = new FrameDecoder({
      onMessage: (data) => delivered.push(data),
      onPing: (payload) => delivered.push(payload),
      onPong: () => {},
      onClose: () => {},
      onError: (e) => {
        throw e;
      },
    });
    decoder.push(chunk);
    expect(delivered.map((b) => b.toString('latin1').slice(0, 5))).toEqual(['first', '\x07'.repeat(5), 'p', 'last']);
    for (const data of delivered) {
      expect(data.buffer).toBe(chunk.buffer);
      expect(data.byteOffset).toBeGreaterThanOrEqual(chunk.byteOffset);
      expect(data.byteOffset + data.length).toBeLessThanOrEqual(chunk.byteOffset + chunk.length);
    }
  });

  it('100,000 one-byte fragments in few chunks: the right bytes, memory bounded by bytes', () => {
    const count = 100_000;
    const parts: Buffer[] = [text('a', { fin: false })];
    const oneByte = cont('b', { fin: false }); // every fragment the same (same key and payload)
    for (let i = 1; i < count - 1; i++) parts.push(oneByte);
    parts.push(cont('c'));
    const stream = Buffer.concat(parts);
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    const chunkSize = 65536;
    for (let pos = 0; pos < stream.length; pos += chunkSize) decoder.push(stream.subarray(pos, pos + chunkSize));
    expect(sink.events.length).toBe(1);
    const data = sink.delivered[0]![0];
    expect(data.length).toBe(count);
    expect(data[0]).toBe(0x61);
    expect(data[count - 1]).toBe(0x63);
    expect(data.subarray(1, count - 1).every((b) => b === 0x62)).toBe(true);
    // Joined once from 16 KiB tail buffers: exactly the message.
    expect(data.buffer.byteLength).toBeLessThanOrEqual(2 * count);
  });

  it('a small joined message is copied out of the tail buffer: it neither holds nor shows the rest of it', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    decoder.push(Buffer.concat([binary(Buffer.alloc(3, 0xee), { fin: false }), cont(Buffer.alloc(1, 0xee), { fin: false })]));
    const tail = internalsOf(decoder).tail;
    expect(tail).not.toBeNull();
    decoder.push(cont(''));
    const data = sink.delivered[0]![0];
    expect([...data]).toEqual([0xee, 0xee, 0xee, 0xee]);
    const insideTail = data.buffer === tail!.buffer && data.byteOffset >= tail!.byteOffset && data.byteOffset < tail!.byteOffset + tail!.length;
    expect(insideTail).toBe(false);
  });

  it('a large frame in socket-sized chunks is joined intact, into exactly its length', () => {
    const payload = Buffer.alloc(1024 * 1024 + 5);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 11)) & 0xff;
    const frame = binary(payload);
    const cuts: number[] = [];
    for (let at = 65536; at < frame.length; at += 65536) cuts.push(at);
    const sink = decode(frame, cuts);
    expect(sink.events).toEqual([msg(payload, true)]);
    expect(sink.delivered[0]![0].buffer.byteLength).toBe(payload.length);
  });

  it('a one-frame message over 64 KiB gets its exact buffer once half of it is here, never from its declared length alone', () => {
    for (const borrowed of [false, true]) {
      const sink = new Recorder();
      const decoder = new FrameDecoder(sink);
      const payload = Buffer.alloc(400_000);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 10)) & 0xff;
      const frame = binary(payload);
      let at = 0;
      let received = 0;
      while (at < frame.length) {
        const chunk = Buffer.from(frame.subarray(at, at + 50_000));
        at += chunk.length;
        decoder.push(chunk, borrowed);
        received = Math.min(at - 14, payload.length);
        if (received < payload.length) {
          // Before half: gathered as pieces (memory follows the bytes); from half on: the exact buffer.
          if (received * 2 < payload.length) expect(internalsOf(decoder).joined, `borrowed ${borrowed}, ${received} bytes in`).toBeNull();
          else expect(internalsOf(decoder).joined?.length).toBe(payload.length);
          expect(heldBytes(decoder)).toBeLessThanOrEqual(Math.max(2 * received, 2 * 65536));
        }
        if (borrowed) chunk.fill(0xee);
      }
      expect(sink.events).toEqual([msg(payload, true)]);
    }
  });

  it('a piece under half of its chunk is copied, a larger one kept as a view (a kept chunk is at most twice its bytes)', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    const a = Buffer.alloc(3000, 0x61);
    const b = Buffer.alloc(4000, 0x62);
    const bytes = Buffer.concat([binary(a, { fin: false }), cont(b, { fin: false })]);
    // A chunk with memory of its own, as a socket read is (Buffer.concat may take Node's pool).
    const chunk = Buffer.from(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    decoder.push(chunk);
    const pieces = internalsOf(decoder).pieces!;
    expect(pieces.map((p) => p.length)).toEqual([3000, 4000]);
    expect(pieces[0]!.buffer).not.toBe(chunk.buffer);
    expect(pieces[1]!.buffer).toBe(chunk.buffer);
    decoder.push(cont('c'));
    expect(sink.events).toEqual([msg(Buffer.concat([a, b, Buffer.from('c')]), true)]);
  });

  it('no view of a chunk that shares its memory with more than twice the piece (a pooled Buffer)', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    const pool = Buffer.alloc(64 * 1024);
    const frame = binary(Buffer.alloc(4000, 0x62), { fin: false });
    frame.copy(pool, 100);
    decoder.push(pool.subarray(100, 100 + frame.length));
    // Copied, not kept: the pool's memory may be reused at once without touching the message.
    pool.fill(0);
    decoder.push(cont('c'));
    expect(sink.events).toEqual([msg(Buffer.concat([Buffer.alloc(4000, 0x62), Buffer.from('c')]), true)]);
  });

  it('fragments of every size in random chunkings: the text arrives whole, in order, UTF-8 checked across pieces', () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1500, max: 9000 }), fc.integer({ min: 9000, max: 70000 }));
    fc.assert(
      fc.property(fc.array(sizes, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (lengths, cutSeeds, breakIt) => {
        // Text of 1- to 4-byte code points, cut into fragments at byte positions (code points split too).
        const unit = Buffer.from('aé€𝄞');
        const total = lengths.reduce((sum, n) => sum + n, 0);
        const bytes = Buffer.alloc(total);
        for (let i = 0; i < total; i++) bytes[i] = unit[i % unit.length]!;
        // Whole code points only at the end (10 bytes per unit).
        const whole = total - (total % unit.length);
        const message = bytes.subarray(0, whole);
        if (breakIt && whole > 0) message[Math.floor(whole / 2)] = 0xff;
        const frames: Buffer[] = [];
        let at = 0;
        lengths.forEach((n, i) => {
          const part = message.subarray(Math.min(at, whole), Math.min(at + n, whole));
          at += n;
          const fin = i === lengths.length - 1;
          frames.push(i === 0 ? text(part, { fin }) : cont(part, { fin }));
        });
        const stream = Buffer.concat(frames);
        const cuts = [...new Set(cutSeeds.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
        const sink = decode(stream, cuts);
        if (breakIt && whole > 0) expect(sink.events).toEqual([['error', 1007]]);
        else expect(sink.events).toEqual([msg(message)]);
      }),
      { numRuns: 150, seed: 6455 },
    );
  });

  it('a single frame split across chunks is joined into exactly its length', () => {
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
    const frame = binary(payload);
    const sink = decode(frame, [1000, 70_000, 150_000]);
    expect(sink.events).toEqual([msg(payload, true)]);
    const data = sink.delivered[0]![0];
    expect(data.length).toBe(200_000);
    expect(data.buffer.byteLength).toBe(200_000);
  });
});

describe('FrameDecoder: stop() and sink failures', () => {
  it('stop() inside a callback ends the loop right after it returns', () => {
    const events: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onMessage: (data) => {
        events.push(data.toString());
        if (data.toString() === 'two') decoder.stop();
      },
      onPing: () => events.push('ping'),
      onPong: () => events.push('pong'),
      onClose: () => events.push('close'),
      onError: () => events.push('error'),
    });
    decoder.push(Buffer.concat([text('one'), text('two'), ping(), text('three')]));
    decoder.push(text('four'));
    expect(events).toEqual(['one', 'two']);
  });

  it('stop() inside a ping between fragments; stop() before any input', () => {
    const events: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onMessage: (data) => events.push(data.toString()),
      onPing: () => {
        events.push('ping');
        decoder.stop();
      },
      onPong: () => events.push('pong'),
      onClose: () => events.push('close'),
      onError: () => events.push('error'),
    });
    decoder.push(Buffer.concat([text('a', { fin: false }), ping(), cont('b')]));
    expect(events).toEqual(['ping']);

    const sink = new Recorder();
    const stopped = new FrameDecoder(sink);
    stopped.stop();
    stopped.push(text('x'));
    expect(sink.events).toEqual([]);
  });

  it('input after onClose is ignored, even a protocol violation', () => {
    const sink = new Recorder();
    const decoder = new FrameDecoder(sink);
    decoder.push(Buffer.concat([closeWith(1000), hex('ffff')]));
    decoder.push(text('x', { maskKey: null }));
    expect(sink.events).toEqual([['close', 1000, '']]);
  });

  it('a sink callback that throws stops the decoder with onError(1011) and is rethrown', () => {
    const boom = new Error('boom');
    const errors: ProtocolError[] = [];
    let messages = 0;
    const decoder = new FrameDecoder({
      onMessage: () => {
        messages++;
        throw boom;
      },
      onPing: () => {},
      onPong: () => {},
      onClose: () => {},
      onError: (e) => errors.push(e),
    });
    expect(() => decoder.push(Buffer.concat([text('a'), text('b')]))).toThrow(boom);
    decoder.push(text('c'));
    expect(messages).toBe(1);
    expect(errors.length).toBe(1);
    expect(errors[0]!.closeCode).toBe(1011);
    expect(errors[0]!.cause).toBe(boom);
  });

  it('invalid options are the caller’s mistake', () => {
    const sink = new Recorder();
    expect(() => new FrameDecoder(sink, { maxPayload: -1 })).toThrow(RangeError);
    expect(() => new FrameDecoder(sink, { role: 'peer' as 'server' })).toThrow(TypeError);
  });
});

describe('FrameDecoder: maxFragments', () => {
  const fragmented = (count: number): Buffer =>
    Buffer.concat([text('a', { fin: count === 1 }), ...Array.from({ length: count - 1 }, (_, i) => cont('b', { fin: i === count - 2 }))]);

  it('a message of exactly maxFragments frames is delivered; one more frame gets 1008', () => {
    expect(decode(fragmented(3), [], { maxFragments: 3 }).events).toEqual([msg('abb')]);
    expect(errorCode(fragmented(4), { maxFragments: 3 })).toBe(1008);
  });

  it('the count is per message: it starts again after each fin', () => {
    const events = decode(Buffer.concat([fragmented(3), fragmented(3), fragmented(2)]), [], { maxFragments: 3 }).events;
    expect(events).toEqual([msg('abb'), msg('abb'), msg('ab')]);
  });

  it('control frames between fragments do not count', () => {
    const bytes = Buffer.concat([text('a', { fin: false }), ping('x'), ping('y'), cont('b', { fin: false }), ping('z'), cont('c')]);
    const events = decode(bytes, [], { maxFragments: 3 }).events;
    expect(events.filter((e) => e[0] === 'message')).toEqual([msg('abc')]);
  });

  it('the default (131072) accepts Autobahn 9.3.1 (4 MiB in 64-byte frames) and stops a million 1-byte frames', () => {
    expect(DEFAULT_MAX_FRAGMENTS).toBe(131072);
    expect((4 * 1024 * 1024) / 64).toBeLessThanOrEqual(DEFAULT_MAX_FRAGMENTS);
    const oneByteFrames = Buffer.concat([text('a', { fin: false }), ...Array.from({ length: DEFAULT_MAX_FRAGMENTS }, () => cont('b', { fin: false }))]);
    expect(errorCode(oneByteFrames)).toBe(1008);
  });

  it('0 means unlimited; a negative value is refused', () => {
    expect(decode(fragmented(50), [], { maxFragments: 0 }).events).toEqual([msg('a' + 'b'.repeat(49))]);
    expect(() => new FrameDecoder({ onMessage() {}, onPing() {}, onPong() {}, onClose() {}, onError() {} }, { maxFragments: -1 })).toThrow(RangeError);
  });
});

describe('FrameDecoder: recordFragments', () => {
  function endsOf(bytes: Buffer, record: boolean, cuts: number[] = []): Array<readonly number[] | null | undefined> {
    const ends: Array<readonly number[] | null | undefined> = [];
    const decoder = new FrameDecoder(
      { onMessage: (_d, _b, _c, e) => ends.push(e), onPing() {}, onPong() {}, onClose() {}, onError() {} },
      { role: 'server' },
    );
    decoder.recordFragments = record;
    const bounds = [0, ...cuts, bytes.length];
    for (let i = 0; i + 1 < bounds.length; i++) decoder.push(Buffer.from(bytes.subarray(bounds[i]!, bounds[i + 1]!)));
    return ends;
  }
  const fragmentedBinary = Buffer.concat([binary('ab', { fin: false }), cont('', { fin: false }), cont('cde', { fin: false }), cont('f')]);

  it('gives the end of each frame that carried bytes (but the last), in any chunking', () => {
    expect(endsOf(fragmentedBinary, true)).toEqual([[2, 5]]);
    expect(endsOf(fragmentedBinary, true, [1, 7, 9, 13, 20])).toEqual([[2, 5]]);
  });

  it('nothing for single-frame or text messages, or when not asked', () => {
    expect(endsOf(binary('whole'), true)).toEqual([undefined]);
    expect(endsOf(Buffer.concat([text('ab', { fin: false }), cont('c')]), true)).toEqual([undefined]);
    expect(endsOf(fragmentedBinary, false)).toEqual([undefined]);
  });
});
