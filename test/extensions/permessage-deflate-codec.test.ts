import fc from 'fast-check';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedLimiter } from '../../src/extensions/concurrency-limiter.js';
import type { Extension } from '../../src/extensions/extension.js';
import { PerMessageDeflateCodec } from '../../src/extensions/permessage-deflate-codec.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../../src/extensions/permessage-deflate.js';
import { CloseCode } from '../../src/framing/close-codes.js';
import { ProtocolError } from '../../src/framing/protocol-error.js';
import { formatExtensions, parseExtensions } from '../../src/handshake/token-list.js';

// ---- ws's own implementation, to cross-check (its package exports do not expose lib/, so load by path)

type WsCallback = (error: Error | null, result?: Buffer) => void;
interface WsPerMessageDeflate {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): Record<string, unknown>;
  compress(data: Buffer, fin: boolean, cb: WsCallback): void;
  decompress(data: Buffer, fin: boolean, cb: WsCallback): void;
  cleanup(): void;
}
const require = createRequire(import.meta.url);
const wsLib = path.join(path.dirname(require.resolve('ws')), 'lib');
const WsPerMessageDeflate = require(path.join(wsLib, 'permessage-deflate.js')) as new (
  options: Record<string, unknown>,
) => WsPerMessageDeflate;
const wsExtension = require(path.join(wsLib, 'extension.js')) as {
  parse(header: string): Record<string, unknown[]>;
  format(extensions: Record<string, unknown>): string;
};

// ---- helpers ------------------------------------------------------------------------------------

/** A codec operation as a promise. */
function run(op: (cb: WsCallback) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    op((error, result) => (error ? reject(error) : resolve(result!)));
  });
}

/** Our server and our client, negotiated with the same options on both sides. */
function ourPair(options: PerMessageDeflateOptions = {}, serverOptions = options): { client: Extension; server: Extension } {
  const client = new PerMessageDeflate(options);
  const negotiated = new PerMessageDeflate(serverOptions).negotiate([client.offer()]);
  if (negotiated === null) throw new Error('declined');
  const accepted = client.accept(negotiated.response);
  if (accepted instanceof Error) throw accepted;
  return { client: accepted, server: negotiated.extension };
}

/** Our client against a ws server, through real header strings. */
function ourClientWsServer(options: PerMessageDeflateOptions): { ours: Extension; theirs: WsPerMessageDeflate } {
  const negotiator = new PerMessageDeflate(options);
  const theirs = new WsPerMessageDeflate({ ...options, isServer: true, maxPayload: 0 });
  const offers = wsExtension.parse(formatExtensions([negotiator.offer()]));
  const params = theirs.accept(offers['permessage-deflate']!);
  const [response] = parseExtensions([wsExtension.format({ 'permessage-deflate': params })])!;
  const ours = negotiator.accept(response!);
  if (ours instanceof Error) throw ours;
  return { ours, theirs };
}

/** A ws client against our server, through real header strings. */
function wsClientOurServer(options: PerMessageDeflateOptions): { ours: Extension; theirs: WsPerMessageDeflate } {
  const theirs = new WsPerMessageDeflate({ ...options, isServer: false, maxPayload: 0 });
  const offers = parseExtensions([wsExtension.format({ 'permessage-deflate': theirs.offer() })])!;
  const negotiated = new PerMessageDeflate(options).negotiate(offers);
  if (negotiated === null) throw new Error('declined');
  theirs.accept(wsExtension.parse(formatExtensions([negotiated.response]))['permessage-deflate']!);
  return { ours: negotiated.extension, theirs };
}

/** Deterministic bytes. */
function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** Messages that exercise the window: repeats at distances 300 (> 256) and 40000 (> 32 KiB), and across messages. */
function sampleMessages(): Buffer[] {
  const random = prng(42);
  const block = random(300);
  const json = Buffer.from(JSON.stringify(Array.from({ length: 80 }, (_, i) => ({ id: i, name: `item-${i}`, ok: i % 3 === 0 }))));
  const far = random(1000);
  return [
    Buffer.from('Hello'),
    Buffer.alloc(0),
    json,
    Buffer.concat([block, block, block]),
    random(2000),
    block, // refers to the previous messages under context takeover
    Buffer.concat([far, random(40_000), far]),
    Buffer.alloc(100_000, 'a'),
    json,
  ];
}

/** Byte equality without vitest's slow element-wise diff of large buffers. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  if (!actual.equals(expected)) {
    expect.fail(`got ${actual.length} bytes (${actual.subarray(0, 32).toString('hex')}…), expected ${expected.length} (${expected.subarray(0, 32).toString('hex')}…)`);
  }
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const KiB = 1024;
const MiB = 1024 * KiB;

afterEach(() => {
  vi.restoreAllMocks();
});

// ---- RFC 7692 §7.2.3 examples and the trailer ---------------------------------------------------

describe('RFC 7692 §7.2.3 examples', () => {
  it('compresses "Hello" to f2 48 cd c9 c9 07 00 (the 00 00 ff ff trailer removed)', async () => {
    const { client } = ourPair({ clientNoContextTakeover: true });
    const out = await run((cb) => client.compress(Buffer.from('Hello'), true, cb));
    expect(out.toString('hex')).toBe('f248cdc9c90700');
    client.close();
  });

  it('decompresses the examples, appending the trailer', async () => {
    const { server } = ourPair();
    const hex = async (h: string) => (await run((cb) => server.decompress(Buffer.from(h, 'hex'), true, 0, cb))).toString();
    expect(await hex('f248cdc9c90700')).toBe('Hello'); // §7.2.3.1
    expect(await hex('f248cdc9c90700')).toBe('Hello'); // §7.2.3.2, first message again
    expect(await hex('f200110000')).toBe('Hello'); // §7.2.3.2: refers to the previous message
    expect(await hex('0005 00faff48656c6c6f00'.replace(' ', ''))).toBe('Hello'); // §7.2.3.3: stored block
    expect(await hex('f248050000 00ffffcac9c90700'.replace(' ', ''))).toBe('Hello'); // §7.2.3.5: two blocks
    server.close();
  });

  it('accepts a message ending its deflate stream with BFINAL (§7.2.3.4) and starts a fresh stream after it', async () => {
    const created = spyStreams();
    const { server } = ourPair();
    const hello = async (h: string) => (await run((cb) => server.decompress(Buffer.from(h, 'hex'), true, 0, cb))).toString();
    expect(await hello('f348cdc9c9070000')).toBe('Hello');
    expect(created.inflaters[0]!.destroyed).toBe(true);
    expect(await hello('f248cdc9c90700')).toBe('Hello');
    expect(created.inflaters).toHaveLength(2);
    server.close();
  });

  it('a final block that ends a non-final piece: the rest of the message is ignored', async () => {
    const created = spyStreams();
    const { server } = ourPair();
    const piece = async (h: string, fin: boolean) => (await run((cb) => server.decompress(Buffer.from(h, 'hex'), fin, 0, cb))).toString();
    expect(await piece('f348cdc9c90700', false)).toBe('Hello');
    expect(await piece('00', false)).toBe('');
    expect(await piece('f248cdc9c90700', true)).toBe('');
    expect(await piece('f248cdc9c90700', true)).toBe('Hello');
    expect(created.inflaters).toHaveLength(2);
    server.close();
  });

  it('an empty message compresses to 00, also after other messages (§7.2.3.6)', async () => {
    const { client, server } = ourPair();
    for (const message of ['', 'Hello', '', '', 'Hello']) {
      const out = await run((cb) => client.compress(Buffer.from(message), true, cb));
      if (message === '') expect(out.toString('hex')).toBe('00');
      expect((await run((cb) => server.decompress(out, true, 0, cb))).toString()).toBe(message);
    }
    client.close();
    server.close();
  });

  it('a message without any compressed byte inflates to nothing and leaves the stream intact', async () => {
    const created = spyStreams();
    const { client, server } = ourPair();
    expect((await run((cb) => server.decompress(Buffer.alloc(0), true, 0, cb))).length).toBe(0);
    expect(created.inflaters).toHaveLength(0);
    const hello = await run((cb) => client.compress(Buffer.from('Hello'), true, cb));
    expect((await run((cb) => server.decompress(hello, true, 0, cb))).toString()).toBe('Hello');
    expect((await run((cb) => server.decompress(Buffer.alloc(0), false, 0, cb))).length).toBe(0);
    expect((await run((cb) => server.decompress(Buffer.alloc(0), true, 0, cb))).length).toBe(0);
    const again = await run((cb) => client.compress(Buffer.from('Hello'), true, cb));
    expect((await run((cb) => server.decompress(again, true, 0, cb))).toString()).toBe('Hello');
    client.close();
    server.close();
  });

  it('keeps the sync-flush trailer on non-final pieces, removes it from the last', async () => {
    const { client } = ourPair();
    const first = await run((cb) => client.compress(Buffer.from('abc'), false, cb));
    expect(first.subarray(-4)).toEqual(TRAILER);
    const last = await run((cb) => client.compress(Buffer.from('def'), true, cb));
    expect(last.subarray(-4)).not.toEqual(TRAILER);
    expect(zlib.inflateRawSync(Buffer.concat([first, last, TRAILER]), SYNC).toString()).toBe('abcdef');
    client.close();
  });
});

// ---- cross-checks against ws --------------------------------------------------------------------

const combos: PerMessageDeflateOptions[] = [];
for (const serverNoContextTakeover of [undefined, true]) {
  for (const clientNoContextTakeover of [undefined, true]) {
    for (const serverMaxWindowBits of [undefined, 8, 11]) {
      for (const clientMaxWindowBits of [undefined, 8, 12]) {
        const o: PerMessageDeflateOptions = {};
        if (serverNoContextTakeover !== undefined) o.serverNoContextTakeover = serverNoContextTakeover;
        if (clientNoContextTakeover !== undefined) o.clientNoContextTakeover = clientNoContextTakeover;
        if (serverMaxWindowBits !== undefined) o.serverMaxWindowBits = serverMaxWindowBits;
        if (clientMaxWindowBits !== undefined) o.clientMaxWindowBits = clientMaxWindowBits;
        combos.push(o);
      }
    }
  }
}

/** Both directions, message after message (so context takeover carries over). */
async function exchange(ours: Extension, theirs: WsPerMessageDeflate): Promise<void> {
  for (const message of sampleMessages()) {
    const sent = await run((cb) => ours.compress(message, true, cb));
    expectBytes(await run((cb) => theirs.decompress(sent, true, cb)), message);
    const received = await run((cb) => theirs.compress(message, true, cb));
    expectBytes(await run((cb) => ours.decompress(received, true, 0, cb)), message);
  }
}

describe('interoperability with ws’s PerMessageDeflate', () => {
  it.each(combos.map((o) => [JSON.stringify(o), o] as const))('our client, ws server: %s', async (_title, options) => {
    const { ours, theirs } = ourClientWsServer(options);
    await exchange(ours, theirs);
    ours.close();
    theirs.cleanup();
  });

  it.each(combos.map((o) => [JSON.stringify(o), o] as const))('ws client, our server: %s', async (_title, options) => {
    const { ours, theirs } = wsClientOurServer(options);
    await exchange(ours, theirs);
    ours.close();
    theirs.cleanup();
  });

  it('fragmented messages both ways (pieces compressed with fin=false, then fin=true)', async () => {
    for (const options of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true }, { serverMaxWindowBits: 9 }]) {
      const { ours, theirs } = wsClientOurServer(options);
      for (const message of sampleMessages()) {
        const cuts = [0, Math.floor(message.length / 3), Math.floor((2 * message.length) / 3), message.length];
        // ours -> ws: compressed piece by piece, inflated by ws as one payload
        const pieces: Buffer[] = [];
        for (let i = 0; i < 3; i++) {
          pieces.push(await run((cb) => ours.compress(message.subarray(cuts[i], cuts[i + 1]), i === 2, cb)));
        }
        expectBytes(await run((cb) => theirs.decompress(Buffer.concat(pieces), true, cb)), message);
        // ws -> ours: compressed piece by piece, inflated by us piece by piece
        const theirPieces: Buffer[] = [];
        for (let i = 0; i < 3; i++) {
          theirPieces.push(await run((cb) => theirs.compress(message.subarray(cuts[i], cuts[i + 1]), i === 2, cb)));
        }
        const inflated: Buffer[] = [];
        for (let i = 0; i < 3; i++) {
          inflated.push(await run((cb) => ours.decompress(theirPieces[i]!, i === 2, 0, cb)));
        }
        expectBytes(Buffer.concat(inflated), message);
      }
      ours.close();
      theirs.cleanup();
    }
  });

  it('an empty last piece ends a fragmented message', async () => {
    const { ours, theirs } = wsClientOurServer({});
    const a = await run((cb) => ours.compress(Buffer.from('abc'), false, cb));
    const b = await run((cb) => ours.compress(Buffer.alloc(0), true, cb));
    expect((await run((cb) => theirs.decompress(Buffer.concat([a, b]), true, cb))).toString()).toBe('abc');
    ours.close();
    theirs.cleanup();
  });
});

describe('round trips (property)', () => {
  it('any messages, any fragmentation, any parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          serverNoContextTakeover: fc.boolean(),
          clientNoContextTakeover: fc.boolean(),
          serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
          clientMaxWindowBits: fc.integer({ min: 8, max: 15 }),
        }),
        fc.array(
          fc.tuple(
            fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.string({ maxLength: 2000 }).map((s) => Buffer.from(s.repeat(3)))),
            fc.array(fc.nat(), { maxLength: 3 }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        async (options, messages) => {
          const { client, server } = ourPair(options);
          for (const [bytes, cutSeeds] of messages) {
            const message = Buffer.from(bytes);
            const cuts = [...new Set(cutSeeds.map((c) => (message.length === 0 ? 0 : c % message.length)))].sort((x, y) => x - y);
            const bounds = [0, ...cuts, message.length];
            const out: Buffer[] = [];
            for (let i = 0; i + 1 < bounds.length; i++) {
              const fin = i + 2 === bounds.length;
              const piece = await run((cb) => client.compress(message.subarray(bounds[i], bounds[i + 1]), fin, cb));
              out.push(await run((cb) => server.decompress(piece, fin, 0, cb)));
            }
            expectBytes(Buffer.concat(out), message);
          }
          client.close();
          server.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

// ---- hostile input ------------------------------------------------------------------------------

/** Records the zlib streams the codec creates, with the bytes each one output. */
function spyStreams() {
  const inflaters: zlib.InflateRaw[] = [];
  const deflaters: zlib.DeflateRaw[] = [];
  const inflated = new Map<zlib.InflateRaw, number>();
  const createInflateRaw = zlib.createInflateRaw;
  const createDeflateRaw = zlib.createDeflateRaw;
  vi.spyOn(zlib, 'createInflateRaw').mockImplementation((options) => {
    const stream = createInflateRaw(options);
    inflaters.push(stream);
    inflated.set(stream, 0);
    stream.on('data', (chunk: Buffer) => inflated.set(stream, inflated.get(stream)! + chunk.length));
    return stream;
  });
  vi.spyOn(zlib, 'createDeflateRaw').mockImplementation((options) => {
    const stream = createDeflateRaw(options);
    deflaters.push(stream);
    return stream;
  });
  return { inflaters, deflaters, inflated };
}

/** Deflate `data` on `stream` with a sync flush; the trailer removed. */
function syncFlush(stream: zlib.DeflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const onData = (chunk: Buffer) => out.push(chunk);
    stream.on('data', onData);
    stream.write(data);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      resolve(Buffer.concat(out).subarray(0, -4));
    });
  });
}

function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as ProtocolError,
  );
}

describe('limits while inflating', () => {
  const zeros = 10 * MiB;
  const bomb = zlib.deflateRawSync(Buffer.alloc(zeros), SYNC).subarray(0, -4);

  it('a 10 MiB bomb against a 1 MiB limit fails with 1009 after inflating about 1 MiB', async () => {
    expect(bomb.length).toBeLessThan(20 * KiB);
    expect(zlib.inflateRawSync(Buffer.concat([bomb, TRAILER]), SYNC).length).toBe(zeros);
    const created = spyStreams();
    const { server } = ourPair();
    const error = await rejection(run((cb) => server.decompress(bomb, true, MiB, cb)));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.closeCode).toBe(CloseCode.MessageTooBig);
    const stream = created.inflaters[0]!;
    // Output stops at the first zlib chunk (16 KiB) past the limit; the rest of the input is never read.
    expect(created.inflated.get(stream)!).toBeGreaterThan(MiB);
    expect(created.inflated.get(stream)!).toBeLessThanOrEqual(MiB + 16 * KiB);
    expect(stream.bytesWritten).toBeLessThan(bomb.length / 4);
    expect(stream.destroyed).toBe(true);
  });

  it('the limit counts the inflated size over all pieces of a fragmented message', async () => {
    const { client, server } = ourPair();
    const piece = Buffer.alloc(600 * KiB, 'x');
    const a = await run((cb) => client.compress(piece, false, cb));
    const b = await run((cb) => client.compress(piece, true, cb));
    expect((await run((cb) => server.decompress(a, false, MiB, cb))).length).toBe(piece.length);
    const error = await rejection(run((cb) => server.decompress(b, true, MiB, cb)));
    expect(error.closeCode).toBe(CloseCode.MessageTooBig);
    client.close();
  });

  it('a message of exactly maxPayload bytes passes; the count restarts with each message', async () => {
    const { client, server } = ourPair();
    const message = Buffer.alloc(100_000, 'q');
    for (let i = 0; i < 3; i++) {
      const z = await run((cb) => client.compress(message, true, cb));
      expectBytes(await run((cb) => server.decompress(z, true, message.length, cb)), message);
    }
    const z = await run((cb) => client.compress(message, true, cb));
    const error = await rejection(run((cb) => server.decompress(z, true, message.length - 1, cb)));
    expect(error.closeCode).toBe(CloseCode.MessageTooBig);
    client.close();
  });

  it('after an inflate failure, every pending and later decompression gets the same error; compression goes on', async () => {
    const created = spyStreams();
    // One limiter slot: the compression queued after the bomb waits for it, so it is pending at the failure.
    const { client, server } = ourPair({ concurrencyLimit: 1 });
    const warmUp = await run((cb) => client.compress(Buffer.from('warm up'), true, cb));
    const serverWarmUp = await run((cb) => server.compress(Buffer.from('server warm up'), true, cb));
    const first = rejection(run((cb) => server.decompress(bomb, true, MiB, cb)));
    const queuedIn = rejection(run((cb) => server.decompress(warmUp, true, 0, cb)));
    const queuedOut = run((cb) => server.compress(Buffer.from('still sent'), true, cb));
    const error = await first;
    expect(error.closeCode).toBe(CloseCode.MessageTooBig);
    expect(await queuedIn).toBe(error);
    expect(await rejection(run((cb) => server.decompress(warmUp, true, 0, cb)))).toBe(error);
    expect(created.inflaters[0]!.destroyed).toBe(true);
    // The other direction is untouched: the server's messages, queued before and sent after the
    // failure, inflate on the client in order with their shared context.
    const later = await run((cb) => server.compress(Buffer.from('and later'), true, cb));
    const received = [];
    for (const z of [serverWarmUp, await queuedOut, later]) {
      received.push((await run((cb) => client.decompress(z, true, 0, cb))).toString());
    }
    expect(received).toEqual(['server warm up', 'still sent', 'and later']);
    expect(created.deflaters).toHaveLength(2); // the client's, the server's
    expect(created.deflaters[1]!.destroyed).toBe(false);
    server.close();
    expect(created.deflaters[1]!.destroyed).toBe(true);
    client.close();
  });
});

describe('corrupt data', () => {
  it.each([
    ['an invalid block type', 'ffffff'],
    ['a distance too far back', 'f2006000'],
    ['a stored block with a bad length', '0005000000'],
  ])('%s fails with 1007', async (_title, hex) => {
    const created = spyStreams();
    const { server } = ourPair();
    const error = await rejection(run((cb) => server.decompress(Buffer.from(hex, 'hex'), true, 0, cb)));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.closeCode).toBe(CloseCode.InvalidPayload);
    expect(created.inflaters[0]!.destroyed).toBe(true);
    expect(await rejection(run((cb) => server.decompress(Buffer.from('x'), true, 0, cb)))).toBe(error);
    // Only the receiving direction failed: the server can still send.
    expect((await run((cb) => server.compress(Buffer.from('x'), true, cb))).length).toBeGreaterThan(0);
    server.close();
  });

  it('a reference into the previous message beyond the negotiated 8-bit window fails with 1007', async () => {
    // The server was told the client compresses with 256 bytes of window, but it refers 1000 bytes back.
    const { server } = ourPair({ clientMaxWindowBits: 8 });
    const random = prng(7)(1000);
    const deflate = zlib.createDeflateRaw({ windowBits: 15 });
    const first = await syncFlush(deflate, random);
    const second = await syncFlush(deflate, random);
    deflate.close();
    expect(second.length).toBeLessThan(100);
    expectBytes(await run((cb) => server.decompress(first, true, 0, cb)), random);
    const error = await rejection(run((cb) => server.decompress(second, true, 0, cb)));
    expect(error.closeCode).toBe(CloseCode.InvalidPayload);
  });
});

// ---- resources ----------------------------------------------------------------------------------

describe('zlib contexts', () => {
  it('are created lazily: a negotiated, idle connection holds none', () => {
    const created = spyStreams();
    const { client, server } = ourPair();
    expect(created.inflaters).toHaveLength(0);
    expect(created.deflaters).toHaveLength(0);
    client.close();
    server.close();
  });

  it('with context takeover: one per direction, kept between messages, released by close()', async () => {
    const created = spyStreams();
    const { client, server } = ourPair();
    for (let i = 0; i < 3; i++) {
      const z = await run((cb) => client.compress(Buffer.from(`message ${i}`), true, cb));
      await run((cb) => server.decompress(z, true, 0, cb));
    }
    expect(created.deflaters).toHaveLength(1);
    expect(created.inflaters).toHaveLength(1);
    expect(created.deflaters[0]!.destroyed).toBe(false);
    expect(created.inflaters[0]!.destroyed).toBe(false);
    client.close();
    server.close();
    expect(created.deflaters[0]!.destroyed).toBe(true);
    expect(created.inflaters[0]!.destroyed).toBe(true);
  });

  it('without context takeover: released after each message, reused (reset) while more are queued', async () => {
    const created = spyStreams();
    const { client, server } = ourPair({ serverNoContextTakeover: true, clientNoContextTakeover: true });
    const z = await run((cb) => client.compress(Buffer.from('one'), true, cb));
    expect(created.deflaters[0]!.destroyed).toBe(true);
    expect((await run((cb) => server.decompress(z, true, 0, cb))).toString()).toBe('one');
    expect(created.inflaters[0]!.destroyed).toBe(true);
    // Five messages queued at once share one compressor, reset between them.
    const messages = ['a', 'bb', 'a', 'bb', 'a'].map((s) => Buffer.from(s.repeat(50)));
    const outs = await Promise.all(messages.map((m) => run((cb) => client.compress(m, true, cb))));
    expect(created.deflaters).toHaveLength(2);
    expect(created.deflaters[1]!.destroyed).toBe(true);
    // Each one stands alone: a fresh raw inflate decodes it.
    outs.forEach((out, i) => expectBytes(zlib.inflateRawSync(Buffer.concat([out, TRAILER]), SYNC), messages[i]!));
    const back = await Promise.all(outs.map((out) => run((cb) => server.decompress(out, true, 0, cb))));
    expect(back).toEqual(messages);
    expect(created.inflaters).toHaveLength(2);
    client.close();
    server.close();
  });

  it('use the negotiated window bits (8 compresses with zlib’s 9)', async () => {
    const created = spyStreams();
    const spy = vi.mocked(zlib.createDeflateRaw);
    const { client, server } = ourPair({ serverMaxWindowBits: 10, clientMaxWindowBits: 8 });
    const z = await run((cb) => client.compress(Buffer.from('x'.repeat(100)), true, cb));
    await run((cb) => server.decompress(z, true, 0, cb));
    await run((cb) => server.compress(Buffer.from('y'), true, cb));
    expect(spy.mock.calls.map((c) => c[0]?.windowBits)).toEqual([9, 10]);
    expect(vi.mocked(zlib.createInflateRaw).mock.calls.map((c) => c[0]?.windowBits)).toEqual([8]);
    expect(created.deflaters).toHaveLength(2);
    client.close();
    server.close();
  });

  it('pass the tuning options through and ignore the ones that would break the protocol', async () => {
    spyStreams();
    const { client } = ourPair({
      zlibDeflateOptions: { level: 1, memLevel: 4, chunkSize: 1024, windowBits: 9, dictionary: Buffer.from('x') } as zlib.ZlibOptions,
    });
    await run((cb) => client.compress(Buffer.from('abc'), true, cb));
    const options = vi.mocked(zlib.createDeflateRaw).mock.calls[0]![0]!;
    expect(options.level).toBe(1);
    expect(options.memLevel).toBe(4);
    expect(options.chunkSize).toBe(1024);
    expect(options.windowBits).toBe(15);
    expect(options.dictionary).toBeUndefined();
    client.close();
  });
});

describe('close()', () => {
  it('drops pending work: no callback runs afterwards, and the limiter slot is freed', async () => {
    const options = { concurrencyLimit: 1 };
    const a = ourPair(options);
    const b = ourPair(options);
    let called = 0;
    a.client.compress(Buffer.alloc(50_000, 'z'), true, () => called++);
    a.client.compress(Buffer.from('queued'), true, () => called++);
    a.client.close();
    a.client.close(); // idempotent
    a.client.compress(Buffer.from('after close'), true, () => called++);
    a.client.decompress(Buffer.from('00', 'hex'), true, 0, () => called++);
    // b's work runs through the same single slot, so it completes only if a released it.
    const z = await run((cb) => b.client.compress(Buffer.from('still works'), true, cb));
    expect((await run((cb) => b.server.decompress(z, true, 0, cb))).toString()).toBe('still works');
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).toBe(0);
    expect(sharedLimiter(1).active).toBe(0);
    for (const e of [a.server, b.client, b.server]) e.close();
  });

  it('a callback already scheduled when close() is called does not run', async () => {
    const { client, server } = ourPair();
    // A failed inflate direction answers every later call with its error, on the next tick.
    await rejection(run((cb) => server.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), true, 0, cb)));
    let called = 0;
    server.decompress(Buffer.from('00', 'hex'), true, 0, () => called++);
    server.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).toBe(0);
    client.close();
  });
});

describe('a zlib stream that cannot be created', () => {
  /** A codec whose zlib options zlib itself refuses (as it would refuse to allocate a stream). */
  function brokenCodec(deflateOptions: zlib.ZlibOptions, inflateOptions: zlib.ZlibOptions): PerMessageDeflateCodec {
    const direction = { windowBits: 15, noContextTakeover: false };
    return new PerMessageDeflateCodec({
      params: { name: 'permessage-deflate', params: [] },
      send: direction,
      receive: direction,
      threshold: 0,
      limiter: sharedLimiter(1),
      deflateOptions,
      inflateOptions,
    });
  }

  it('fails its direction through the callbacks (compression: an Error), and frees the limiter slot', async () => {
    const codec = brokenCodec({ level: 42 }, {});
    const results: string[] = [];
    const first = new Promise<void>((resolve) => codec.compress(Buffer.from('a'), true, (error) => resolve(void results.push(String(error?.message)))));
    const second = new Promise<void>((resolve) => codec.compress(Buffer.from('b'), true, (error) => resolve(void results.push(String(error?.message)))));
    await Promise.all([first, second]);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatch(/^compression failed: /);
    expect(results[1]).toBe(results[0]);
    expect(sharedLimiter(1).active).toBe(0);
    codec.close();
  });

  it('decompression: a 1011 ProtocolError (a local failure, not the peer’s)', async () => {
    const codec = brokenCodec({}, { chunkSize: 1 });
    const error = await rejection(run((cb) => codec.decompress(Buffer.from('4a0400', 'hex'), true, 0, cb)));
    expect(error.closeCode).toBe(CloseCode.InternalError);
    expect(error.message).toMatch(/^decompression failed: /);
    expect(sharedLimiter(1).active).toBe(0);
    codec.close();
  });
});

// ---- ordering -----------------------------------------------------------------------------------

describe('ordering', () => {
  it('with concurrencyLimit 1, each direction of each connection calls back in call order', async () => {
    const limiter = sharedLimiter(1);
    const pairs = [0, 1, 2].map(() => ourPair({ concurrencyLimit: 1 }));
    const random = prng(3);
    const messages = Array.from({ length: 15 }, (_, i) => Buffer.concat([Buffer.from(`#${i} `), random(i * 997), Buffer.alloc(i * 3000, i)]));
    let maxActive = 0;
    let sawQueue = false;
    const observe = () => {
      maxActive = Math.max(maxActive, limiter.active);
      if (limiter.pending > 0) sawQueue = true;
    };
    // All compress calls at once, interleaved over the connections.
    const compressed = pairs.map(() => [] as Buffer[]);
    const order = pairs.map(() => [] as number[]);
    const sends: Array<Promise<void>> = [];
    messages.forEach((message, i) => {
      pairs.forEach((pair, p) => {
        sends.push(
          run((cb) => pair.client.compress(message, true, cb)).then((out) => {
            observe();
            order[p]!.push(i);
            compressed[p]![i] = out;
          }),
        );
      });
    });
    observe();
    await Promise.all(sends);
    for (const o of order) expect(o).toEqual(messages.map((_, i) => i));
    // All decompress calls at once too: under context takeover any reordering would corrupt the data.
    const received = await Promise.all(
      pairs.flatMap((pair, p) => compressed[p]!.map((out) => run((cb) => pair.server.decompress(out, true, 0, cb)))),
    );
    const expected = pairs.flatMap(() => messages);
    received.forEach((r, i) => expectBytes(r, expected[i]!));
    expect(maxActive).toBeLessThanOrEqual(1);
    expect(sawQueue).toBe(true);
    for (const pair of pairs) {
      pair.client.close();
      pair.server.close();
    }
  });

  it('both directions of one connection run independently and each stays in order', async () => {
    const { client, server } = ourPair();
    const messages = Array.from({ length: 10 }, (_, i) => Buffer.from(`message ${i} `.repeat(i * 50 + 1)));
    const fromClient = await Promise.all(messages.map((m) => run((cb) => client.compress(m, true, cb))));
    const both = await Promise.all([
      Promise.all(fromClient.map((z) => run((cb) => server.decompress(z, true, 0, cb)))),
      Promise.all(messages.map((m) => run((cb) => server.compress(m, true, cb)))),
    ]);
    expect(both[0]).toEqual(messages);
    const back = await Promise.all(both[1].map((z) => run((cb) => client.decompress(z, true, 0, cb))));
    expect(back).toEqual(messages);
    client.close();
    server.close();
  });

  it('callbacks never run inside the call that queued them', async () => {
    const { client, server } = ourPair();
    let inside = true;
    let ranInside = false;
    const done = run((cb) =>
      client.compress(Buffer.from('x'), true, (error, result) => {
        if (inside) ranInside = true;
        cb(error, result);
      }),
    );
    inside = false;
    await done;
    expect(ranInside).toBe(false);
    client.close();
    server.close();
  });
});

// ---- threshold ----------------------------------------------------------------------------------

describe('shouldCompress (threshold, as in ws)', () => {
  it('with context takeover every message is compressed', () => {
    const { client, server } = ourPair();
    expect(client.shouldCompress(0)).toBe(true);
    expect(server.shouldCompress(1)).toBe(true);
  });

  it('without context takeover, only messages of at least `threshold` bytes', () => {
    const { client, server } = ourPair({ serverNoContextTakeover: true });
    expect(server.shouldCompress(1023)).toBe(false);
    expect(server.shouldCompress(1024)).toBe(true);
    expect(client.shouldCompress(10)).toBe(true); // the client keeps its context
    const custom = ourPair({ clientNoContextTakeover: true, threshold: 10 });
    expect(custom.client.shouldCompress(9)).toBe(false);
    expect(custom.client.shouldCompress(10)).toBe(true);
    const zero = ourPair({ serverNoContextTakeover: true, threshold: 0 });
    expect(zero.server.shouldCompress(0)).toBe(true);
  });
});
