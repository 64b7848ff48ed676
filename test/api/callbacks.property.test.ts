// Every send/ping/pong callback is called exactly once, asynchronously, with an Error iff its frame was
// not delivered: random interleavings of sends (compressed or not, small to large, Blobs), pings, pongs,
// close, terminate, the peer's close, reset or pause, the server closing or shutting down and the
// maxBufferedAmount limit, over real loopback connections (our server and client, and each of them
// against ws), with and without permessage-deflate.
import fc from 'fast-check';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocketServer } from '../../src/api/server.js';
import { WebSocket } from '../../src/api/websocket.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- our sockets and ws's behind one loose shape */
type AnySocket = any;
type AnyServer = any;

type Size = 'small' | 'medium' | 'large';
type Op =
  | { kind: 'send'; size: Size; binary: boolean; compress: boolean; blob: boolean }
  | { kind: 'burst'; count: number }
  | { kind: 'ping' | 'pong'; blob: boolean }
  | { kind: 'close' | 'terminate' | 'peerReset' | 'peerClose' | 'peerPause' | 'serverClose' | 'serverShutdown' }
  | { kind: 'tick'; ms: number };

interface Run {
  ops: Op[];
  /** A's maxBufferedAmount (0: none): large sends trip it. */
  maxBufferedAmount: number;
  /** The zlib concurrency limit of our sides (1: jobs wait in the shared limiter's queue). */
  concurrencyLimit: number;
  /** Whether A has an 'error' listener (a peer's misbehavior must not throw either way). */
  errorListener: boolean;
  /** How the run ends if A is still open after the ops. */
  finale: 'close' | 'terminate';
}

interface Pair {
  name: string;
  /** Which implementation runs the server, which the client, and which side is A (the one under test). */
  server: 'ours' | 'ws';
  client: 'ours' | 'ws';
  side: 'server' | 'client';
}

const PAIRS: Pair[] = [
  { name: 'our server + our client, callbacks of the server side', server: 'ours', client: 'ours', side: 'server' },
  { name: 'our server + our client, callbacks of the client side', server: 'ours', client: 'ours', side: 'client' },
  { name: 'our server + a ws client', server: 'ours', client: 'ws', side: 'server' },
  { name: 'our client + a ws server', server: 'ws', client: 'ours', side: 'client' },
];

// 6 runs x 8 cases by default (a few seconds); CALLBACK_RUNS=120 for a longer search by hand.
const RUNS_PER_CASE = Number(process.env.CALLBACK_RUNS ?? 6);
const MAX_OPS = 12;

// ---- generators ---------------------------------------------------------------------------------

function opArbitrary(serverIsOurs: boolean): fc.Arbitrary<Op> {
  const send = fc.record({
    kind: fc.constant('send' as const),
    size: fc.oneof({ arbitrary: fc.constant<Size>('small'), weight: 6 }, { arbitrary: fc.constant<Size>('medium'), weight: 3 }, { arbitrary: fc.constant<Size>('large'), weight: 1 }),
    binary: fc.boolean(),
    compress: fc.boolean(),
    blob: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  });
  const control = fc.record({ kind: fc.constantFrom('ping' as const, 'pong' as const), blob: fc.boolean() });
  const once = fc.record({
    kind: fc.constantFrom<'close' | 'terminate' | 'peerReset' | 'peerClose' | 'peerPause' | 'serverClose' | 'serverShutdown'>(
      'close',
      'terminate',
      'peerReset',
      'peerClose',
      'peerPause',
      'serverClose',
      ...(serverIsOurs ? (['serverShutdown'] as const) : []),
    ),
  });
  const tick = fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(0, 0, 1, 5) });
  const burst = fc.record({ kind: fc.constant('burst' as const), count: fc.integer({ min: 2, max: 6 }) });
  return fc.oneof(
    { arbitrary: send as fc.Arbitrary<Op>, weight: 8 },
    { arbitrary: burst as fc.Arbitrary<Op>, weight: 1 },
    { arbitrary: control as fc.Arbitrary<Op>, weight: 2 },
    { arbitrary: once as fc.Arbitrary<Op>, weight: 1 },
    { arbitrary: tick as fc.Arbitrary<Op>, weight: 3 },
  );
}

function runArbitrary(serverIsOurs: boolean): fc.Arbitrary<Run> {
  return fc.record({
    ops: fc.array(opArbitrary(serverIsOurs), { minLength: 1, maxLength: MAX_OPS }),
    maxBufferedAmount: fc.constantFrom(0, 0, 16 * 1024),
    concurrencyLimit: fc.constantFrom(1, 10),
    errorListener: fc.boolean(),
    finale: fc.constantFrom('close' as const, 'terminate' as const),
  });
}

// ---- payloads: each carries its id, so the peer can say what arrived ------------------------------

const SIZES: Record<Size, number> = { small: 40, medium: 12_000, large: 400_000 };

/** Text that deflate shrinks by about a quarter only, so that large messages stay large on the wire. */
const NOISE = noise(SIZES.large);

function noise(length: number): string {
  let x = 0x9e3779b9;
  let text = '';
  for (let i = 0; i < length; i++) {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    text += String.fromCharCode(97 + ((x >>> 0) % 26));
  }
  return text;
}

function payload(id: number, size: Size): string {
  const head = `#${id}#`;
  const length = Math.max(head.length, SIZES[size] - (id % 7));
  return head + NOISE.slice(0, length - head.length);
}

function idOf(data: Buffer | ArrayBuffer | Buffer[] | string): number {
  const text = Buffer.isBuffer(data) ? data.toString('latin1', 0, 24) : String(data).slice(0, 24);
  const match = /^#(\d+)#/.exec(text);
  return match === null ? -1 : Number(match[1]);
}

// ---- the harness --------------------------------------------------------------------------------

interface CallbackRecord {
  id: number;
  what: string;
  calls: Array<Error | null>;
  synchronous: boolean;
}

const processErrors: unknown[] = [];
const onProcessError = (error: unknown): void => void processErrors.push(error);
beforeAll(() => {
  process.on('uncaughtException', onProcessError);
  process.on('unhandledRejection', onProcessError);
});
afterAll(() => {
  process.off('uncaughtException', onProcessError);
  process.off('unhandledRejection', onProcessError);
});

function portOf(server: AnyServer): number {
  return (server.address() as { port: number }).port;
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));

async function playRun(pair: Pair, deflate: boolean, run: Run): Promise<void> {
  const ourDeflate = deflate ? { threshold: 0, concurrencyLimit: run.concurrencyLimit } : false;
  const wsDeflate = deflate ? { threshold: 0 } : false;
  const aLimit = { maxBufferedAmount: run.maxBufferedAmount };
  const server: AnyServer =
    pair.server === 'ours'
      ? new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: ourDeflate, ...(pair.side === 'server' ? aLimit : {}) })
      : new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsDeflate });
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[AnySocket]>;
  const url = `ws://127.0.0.1:${portOf(server)}`;
  const client: AnySocket =
    pair.client === 'ours'
      ? new WebSocket(url, { perMessageDeflate: ourDeflate, ...(pair.side === 'client' ? aLimit : {}) })
      : new WsWebSocket(url, { perMessageDeflate: wsDeflate });
  client.on('error', () => {});
  await once(client, 'open');
  const [serverSide] = await accepted;
  const a: AnySocket = pair.side === 'server' ? serverSide : client;
  const b: AnySocket = pair.side === 'server' ? client : serverSide;
  if (run.errorListener) a.on('error', () => {});
  b.on('error', () => {});

  // What B received, by id; B echoes small messages, so A also reads (and inflates) while it sends.
  const received = new Set<number>();
  const pings = new Set<number>();
  const pongs = new Set<number>();
  b.on('message', (data: Buffer, isBinary: boolean) => {
    received.add(idOf(data));
    if (data.length < 100 && b.readyState === 1) b.send(data, { binary: isBinary });
  });
  b.on('ping', (data: Buffer) => pings.add(idOf(data)));
  b.on('pong', (data: Buffer) => pongs.add(idOf(data)));
  let aClosed = 0;
  let aCode = -1;
  let bCode = -1;
  a.on('close', (code: number) => {
    aClosed++;
    aCode = code;
  });
  b.on('close', (code: number) => (bCode = code));

  const records: CallbackRecord[] = [];
  let nextId = 1;
  function callback(what: string): { id: number; cb: (error?: Error | null) => void; done: () => void } {
    const record: CallbackRecord = { id: nextId++, what, calls: [], synchronous: false };
    records.push(record);
    let inCall = true;
    return {
      id: record.id,
      cb: (error) => {
        if (inCall) record.synchronous = true;
        record.calls.push(error ?? null);
      },
      done: () => (inCall = false),
    };
  }

  for (const op of run.ops) {
    switch (op.kind) {
      case 'send': {
        const { id, cb, done } = callback('send');
        const text = payload(id, op.size);
        const data = op.blob ? new Blob([text]) : op.binary ? Buffer.from(text) : text;
        a.send(data, { binary: op.binary || op.blob, compress: op.compress }, cb);
        done();
        break;
      }
      case 'burst':
        // Medium messages in one go: with deflate, all but the first wait behind a compression.
        for (let i = 0; i < op.count; i++) {
          const { id, cb, done } = callback('send');
          a.send(payload(id, 'medium'), cb);
          done();
        }
        break;
      case 'ping':
      case 'pong': {
        const { id, cb, done } = callback(op.kind);
        const data = op.blob ? new Blob([`#${id}#`]) : `#${id}#`;
        a[op.kind](data, undefined, cb);
        done();
        break;
      }
      case 'close':
        a.close(1000);
        break;
      case 'terminate':
        a.terminate();
        break;
      case 'peerReset':
        b._socket?.destroy();
        break;
      case 'peerClose':
        b.close(1000);
        break;
      case 'peerPause':
        // The peer stops reading (until the ops are over): A's writes pile up, maxBufferedAmount trips.
        b.pause();
        break;
      case 'serverClose':
        server.close();
        break;
      case 'serverShutdown':
        void server.shutdown({ timeout: 50 });
        break;
      case 'tick':
        await pause(op.ms);
        break;
    }
  }

  b.resume();
  if (a.readyState === 1) {
    if (run.finale === 'close') a.close(1000);
    else a.terminate();
  }
  await until(() => aClosed > 0 && bCode !== -1, 3000);
  if (aClosed === 0) a.terminate();
  if (bCode === -1) b.terminate();
  await until(() => aClosed > 0 && bCode !== -1 && records.every((r) => r.calls.length > 0), 3000);
  // Long enough for a second call to show.
  await pause(20);
  for (const client of server.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const context = JSON.stringify({ run, aCode, bCode, records: records.map((r) => [r.id, r.what, r.calls.map((c) => c?.message ?? null)]) });
  expect(processErrors, context).toEqual([]);
  expect(aClosed, context).toBe(1);
  for (const record of records) {
    expect(record.calls.length, `callback ${record.id} (${record.what}) calls: ${context}`).toBe(1);
    expect(record.synchronous, `callback ${record.id} ran inside its call: ${context}`).toBe(false);
    const error = record.calls[0];
    const arrived = (record.what === 'send' ? received : record.what === 'ping' ? pings : pongs).has(record.id);
    if (error !== null) {
      expect(error, context).toBeInstanceOf(Error);
      // A write that failed never reached the peer (with a peer reset, a write the kernel took in part
      // fails as a whole, frames the peer read included: only then may an error go with an arrival).
      if (!run.ops.some((op) => op.kind === 'peerReset')) expect(arrived, `callback ${record.id} failed but arrived: ${context}`).toBe(false);
    } else if (aCode !== 1006 && bCode !== 1006) {
      // Both close frames exchanged: everything written before ours was read before it.
      expect(arrived, `callback ${record.id} succeeded but never arrived: ${context}`).toBe(true);
    }
  }
}

describe.each(PAIRS)('$name', (pair) => {
  test.each([
    ['without permessage-deflate', false],
    ['with permessage-deflate', true],
  ])('%s: every callback exactly once, with an Error iff not delivered', async (_name, deflate) => {
    await fc.assert(
      fc.asyncProperty(runArbitrary(pair.server === 'ours'), (run) => playRun(pair, deflate as boolean, run)),
      { numRuns: RUNS_PER_CASE },
    );
  }, 60_000);
});
