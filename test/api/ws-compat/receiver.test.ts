// The `Receiver` export side by side with `ws`'s: the same bytes written to both (whole, and one byte
// per write), the events they emit compared.
import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { PerMessageDeflate, Receiver } from '../../../src/index.js';

type AnyReceiver = NodeJS.WritableStream & { on(event: string, listener: (...args: unknown[]) => void): unknown };
type ReceiverClass = new (options?: object) => AnyReceiver;
const WsReceiver = (ws as unknown as { Receiver: ReceiverClass }).Receiver;
const WsDeflate = (ws as unknown as { PerMessageDeflate: new (options?: object) => { accept(c: object[]): object } }).PerMessageDeflate;

const MASK = [0x12, 0x34, 0x56, 0x78];

/** One frame: FIN per `fin`, masked when `mask` (as a client sends), RSV1 when `rsv1`. */
function frame(opcode: number, payload: Buffer | string, { fin = true, mask = true, rsv1 = false } = {}): Buffer {
  const data = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
  if (data.length < 126) head.push((mask ? 0x80 : 0) | data.length);
  else head.push((mask ? 0x80 : 0) | 126, data.length >> 8, data.length & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const masked = Buffer.from(data.map((byte, i) => byte ^ MASK[i % 4]!));
  return Buffer.concat([Buffer.from(head), Buffer.from(MASK), masked]);
}

function closePayload(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code);
  payload.write(reason, 2);
  return payload;
}

/** The close code an error carries: ours as `closeCode`, ws's under its status-code symbol. */
function closeCodeOf(error: object): unknown {
  if ('closeCode' in error) return error.closeCode;
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  return symbol === undefined ? undefined : (error as Record<symbol, unknown>)[symbol];
}

function describeData(data: unknown): string {
  if (Array.isArray(data)) return `fragments[${data.map((piece) => String(piece)).join('|')}]`;
  if (data instanceof ArrayBuffer) return `arraybuffer(${Buffer.from(data).toString()})`;
  return String(data);
}

/** Write `bytes` to a receiver (whole or a byte at a time); resolve with what it emitted once it is done. */
async function run(Class: ReceiverClass, options: object, bytes: Buffer, byteByByte: boolean): Promise<string[]> {
  const receiver = new Class(options);
  const events: string[] = [];
  receiver.on('message', (data, isBinary) => events.push(`message ${isBinary ? 'binary' : 'text'} ${describeData(data)}`));
  receiver.on('ping', (data) => events.push(`ping ${String(data)}`));
  receiver.on('pong', (data) => events.push(`pong ${String(data)}`));
  receiver.on('conclude', (code, reason) => events.push(`conclude ${String(code)} ${String(reason)}`));
  const ended = new Promise<void>((resolve) => {
    receiver.on('error', (error) => {
      events.push(`error ${String(closeCodeOf(error as object))}`);
      resolve();
    });
    receiver.on('finish', () => {
      events.push('finish');
      resolve();
    });
  });
  // A copy: both receivers unmask in place.
  const pieces = byteByByte ? [...bytes].map((byte) => Buffer.from([byte])) : [Buffer.from(bytes)];
  for (const piece of pieces) {
    if ((receiver as unknown as { writable: boolean }).writable) receiver.write(piece);
  }
  // A stream that neither errs nor concludes is ended here, after what was written is processed.
  if ((receiver as unknown as { writable: boolean }).writable) receiver.end();
  await ended;
  return events;
}

async function sideBySide(options: object, bytes: Buffer, expected: string[]): Promise<void> {
  for (const byteByByte of [false, true]) {
    const theirs = await run(WsReceiver, options, bytes, byteByByte);
    const ours = await run(Receiver as unknown as ReceiverClass, options, bytes, byteByByte);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual(expected);
  }
}

describe('Receiver', () => {
  test('messages, fragments, control frames and the close frame, as ws emits them', async () => {
    const bytes = Buffer.concat([
      frame(1, 'hello'),
      frame(2, 'bin'),
      frame(1, 'frag', { fin: false }),
      frame(9, 'ping in the middle'),
      frame(0, 'mented'),
      frame(10, 'pong'),
      frame(8, closePayload(1000, 'bye')),
      frame(1, 'after the close'),
    ]);
    await sideBySide({ isServer: true }, bytes, [
      'message text hello',
      'message binary bin',
      'ping ping in the middle',
      'message text fragmented',
      'pong pong',
      'conclude 1000 bye',
      'finish',
    ]);
  });

  test('binaryType arraybuffer and fragments, on the client side (unmasked frames)', async () => {
    const bytes = Buffer.concat([frame(2, 'ab', { fin: false, mask: false }), frame(0, 'cd', { mask: false }), frame(8, '', { mask: false })]);
    await sideBySide({ binaryType: 'fragments' }, bytes, ['message binary fragments[ab|cd]', 'conclude 1005 ', 'finish']);
    await sideBySide({ binaryType: 'arraybuffer' }, bytes, ['message binary arraybuffer(abcd)', 'conclude 1005 ', 'finish']);
  });

  test.each([
    ['an unmasked frame to a server', { isServer: true }, frame(1, 'x', { mask: false }), 1002],
    ['a masked frame to a client', {}, frame(1, 'x'), 1002],
    ['a reserved opcode', { isServer: true }, frame(3, 'x'), 1002],
    ['invalid UTF-8 in a text message', { isServer: true }, frame(1, Buffer.from([0xff])), 1007],
    ['a message over maxPayload', { isServer: true, maxPayload: 4 }, frame(2, 'too big'), 1009],
    ['RSV1 without an extension', { isServer: true }, frame(1, 'x', { rsv1: true }), 1002],
  ])('%s: the message before it is delivered, then an error with the close code', async (_name, options, bad, code) => {
    await sideBySide(options, Buffer.concat([frame(2, 'ok', { mask: 'isServer' in options }), bad]), ['message binary ok', `error ${code}`]);
  });

  test('a compressed message is inflated with the negotiated PerMessageDeflate, in order with the frames after it', async () => {
    const compressed = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // "Hello", raw deflate, as RFC 7692 §7.2.3.1
    const bytes = Buffer.concat([frame(1, compressed, { rsv1: true }), frame(9, 'after'), frame(8, closePayload(1001, ''))]);
    for (const byteByByte of [false, true]) {
      const events: Record<string, string[]> = {};
      for (const [name, Class, Deflate] of [
        ['ws', WsReceiver, WsDeflate],
        ['rfc6455', Receiver as unknown as ReceiverClass, PerMessageDeflate],
      ] as const) {
        const deflate = new Deflate({ isServer: true });
        deflate.accept([{}]);
        events[name] = await run(Class, { isServer: true, extensions: { 'permessage-deflate': deflate } }, bytes, byteByByte);
      }
      expect(events.rfc6455).toEqual(events.ws);
      expect(events.rfc6455).toEqual(['message text Hello', 'ping after', 'conclude 1001 ', 'finish']);
    }
  });
});
