// Target "deflate-connection": a sans-I/O Connection with a negotiated permessage-deflate
// (RFC 7692) receiving streams from a peer codec: valid streams (the model: compressed and plain
// messages, fragmented, with control frames between fragments and an optional close), the same
// with a compressed payload mutated, and whole streams mutated, in random chunkings. Inflating is
// asynchronous (zlib), so this target is an async property with far fewer runs per second.
// For every input:
//  - receive() never throws; the connection settles (no decompression pending) within 5 s and does
//    not leave reading held;
//  - events are messages/pings/pongs, then at most one protocol error (1002/1007/1009, or 1008 for
//    a flood over a policy limit), then the end (or abort) of the transport, nothing after it;
//  - no message over maxPayload (inflated) is delivered; every text message is valid UTF-8;
//  - a valid stream delivers exactly the model's events, in order; a stream with one compressed
//    payload corrupted delivers the model's events up to that message unchanged;
//  - with `lend`, every chunk is lent from one reused buffer (receive(chunk, true)) that is scribbled
//    over right after, as the transport's shared reads do, while inflating runs later: same events.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import type { Extension } from '../../../src/extensions/extension.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../../../src/extensions/permessage-deflate.js';
import { encodeFrame } from '../../../src/framing/frame-encoder.js';
import { Opcode } from '../../../src/framing/opcodes.js';
import type { ProtocolError } from '../../../src/framing/protocol-error.js';
import { Connection, type ConnectionHandler, type Role } from '../../../src/protocol/connection.js';
import { chunkingArb, type Mutation, mutate, mutationArb, split } from './mutation.js';
import { check, type FuzzTarget } from './target.js';

type Event = ['message', string, boolean] | ['ping' | 'pong', string] | ['error', number] | ['end', number] | ['abort', number];

// 1008: a policy limit (held frames, pending automatic pongs), reachable by mutated floods of frames.
const ERROR_CODES = new Set([1002, 1007, 1008, 1009]);

/** The negotiated extension of each side: `local` for the Connection under test, `peer` to make its input. */
function negotiate(role: Role, options: PerMessageDeflateOptions): { local: Extension; peer: Extension } {
  const clientSide = new PerMessageDeflate({ ...options, threshold: 0 });
  const accepted = new PerMessageDeflate({ threshold: 0 }).negotiate([clientSide.offer()]);
  if (accepted === null) throw new Error('permessage-deflate negotiation failed');
  const client = clientSide.accept(accepted.response);
  if (client instanceof Error) throw client;
  return role === 'server' ? { local: accepted.extension, peer: client } : { local: client, peer: accepted.extension };
}

function compress(extension: Extension, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => extension.compress(data, true, (error, result) => (error ? reject(error) : resolve(result!))));
}

interface MessageItem {
  kind: 'message';
  isBinary: boolean;
  compressed: boolean;
  payload: Buffer;
  cuts: number[];
  between: Array<[number, boolean, Uint8Array]>;
}

const textArb = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '€', '𝄞'), maxLength: 200 });

const messageArb: fc.Arbitrary<MessageItem> = fc.record({
  kind: fc.constant('message' as const),
  isBinary: fc.boolean(),
  compressed: fc.nat({ max: 3 }).map((n) => n !== 0),
  payload: fc.oneof(
    { weight: 4, arbitrary: textArb.map((t) => Buffer.from(t)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    // Inflates far beyond its compressed size: exercises the maxPayload check while inflating.
    { weight: 1, arbitrary: fc.integer({ min: 500, max: 40_000 }).map((n) => Buffer.alloc(n, 0x62)) },
  ),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
  between: fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.uint8Array({ maxLength: 20 })), { maxLength: 2 }),
});

const scriptArb = fc.record({
  items: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: messageArb },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const), ping: fc.boolean(), payload: fc.uint8Array({ maxLength: 20 }) }) },
    ),
    { maxLength: 5 },
  ),
  close: fc.option(fc.constantFrom(1000, 1001, 3000, 4000), { nil: undefined }),
});

const inputArb = fc.record({
  role: fc.constantFrom<Role>('server', 'client'),
  maxPayload: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2000 }), fc.constant(100 * 1024 * 1024)),
  deflate: fc.constantFrom<PerMessageDeflateOptions>(
    {},
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  ),
  script: scriptArb,
  /** 0: valid; 1: one compressed payload mutated; 2: the whole stream mutated. */
  corruption: fc.constantFrom(0, 0, 1, 2),
  target: fc.nat(),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
  chunking: chunkingArb,
  lend: fc.boolean(),
});

interface Frame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Buffer;
  /** Index of the message this frame belongs to, -1 for a control frame between messages. */
  message: number;
}

/** Build the wire bytes and the model's events; `corrupt` mutates the compressed payload of message `at`. */
async function build(
  script: (typeof scriptArb) extends fc.Arbitrary<infer T> ? T : never,
  peer: Extension,
  role: Role,
  maxPayload: number,
  corrupt: { at: number; mutations: Mutation[] } | null,
): Promise<{ bytes: Buffer; events: Event[]; firstEvent: number[] }> {
  const frames: Frame[] = [];
  const inflated: Buffer[] = [];
  const binary: boolean[] = [];
  let index = 0;
  for (const item of script.items) {
    if (item.kind === 'control') {
      frames.push({ opcode: item.ping ? Opcode.Ping : Opcode.Pong, fin: true, rsv1: false, payload: Buffer.from(item.payload), message: -1 });
      continue;
    }
    const m = index++;
    // A text message carries UTF-8 (invalid bytes become U+FFFD here).
    const payload = item.isBinary ? item.payload : Buffer.from(item.payload.toString('utf8'));
    let wire = item.compressed ? await compress(peer, payload) : payload;
    if (corrupt !== null && corrupt.at === m && item.compressed) wire = mutate(wire, corrupt.mutations);
    inflated.push(payload);
    binary.push(item.isBinary);
    const cuts = [...new Set(item.cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
    const bounds = [0, ...cuts, wire.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const last = i + 2 === bounds.length;
      frames.push({
        opcode: i === 0 ? (item.isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation,
        fin: last,
        rsv1: i === 0 && item.compressed,
        payload: wire.subarray(bounds[i]!, bounds[i + 1]!),
        message: m,
      });
      if (!last) {
        for (const [at, ping, payload] of item.between) {
          if (at % (bounds.length - 2) === i) frames.push({ opcode: ping ? Opcode.Ping : Opcode.Pong, fin: true, rsv1: false, payload: Buffer.from(payload), message: m });
        }
      }
    }
  }
  if (script.close !== undefined) {
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(script.close, 0);
    frames.push({ opcode: Opcode.Close, fin: true, rsv1: false, payload, message: -1 });
  }
  const out: Buffer[] = [];
  frames.forEach((f, i) => encodeFrame(out, f.opcode, f.payload, f.fin, f.rsv1, role === 'server' ? Math.imul(i + 1, 0x9e3779b1) >>> 0 : null));

  // The model: events in frame order; too big on the wire or once inflated -> 1009.
  const limit = maxPayload > 0 ? maxPayload : Infinity;
  const events: Event[] = [];
  const firstEvent: number[] = [];
  let declared = 0;
  for (const f of frames) {
    if (f.message >= 0 && firstEvent[f.message] === undefined) firstEvent[f.message] = events.length;
    if (f.opcode === Opcode.Ping || f.opcode === Opcode.Pong) {
      events.push([f.opcode === Opcode.Ping ? 'ping' : 'pong', f.payload.toString('hex')]);
      continue;
    }
    if (f.opcode === Opcode.Close) {
      events.push(['end', script.close!]);
      break;
    }
    declared = f.opcode === Opcode.Continuation ? declared + f.payload.length : f.payload.length;
    const data = inflated[f.message]!;
    if (declared > limit || (f.fin && data.length > limit)) {
      events.push(['error', 1009], ['end', 1006]);
      break;
    }
    if (f.fin) events.push(['message', data.toString('hex'), binary[f.message]!]);
  }
  return { bytes: Buffer.concat(out), events, firstEvent };
}

class Recorder implements ConnectionHandler {
  readonly events: Event[] = [];
  readonly holds: boolean[] = [];
  ended = false;
  constructor(
    private readonly maxPayload: number,
    private readonly closeCode: () => number,
  ) {}
  private live(what: string): void {
    check(!this.ended, () => `${what} after the transport ended`);
  }
  write(_data: Buffer, cb?: (error?: Error | null) => void): void {
    // Written at once, as a transport with an empty socket buffer would report it.
    if (cb !== undefined) queueMicrotask(() => cb());
  }
  onMessage(data: Buffer, isBinary: boolean): void {
    this.live('a message');
    check(this.maxPayload === 0 || data.length <= this.maxPayload, () => `a message of ${data.length} bytes with maxPayload ${this.maxPayload}`);
    check(isBinary || isUtf8(data), 'a text message that is not UTF-8');
    this.events.push(['message', data.toString('hex'), isBinary]);
  }
  onPing(payload: Buffer): void {
    this.live('a ping');
    this.events.push(['ping', payload.toString('hex')]);
  }
  onPong(payload: Buffer): void {
    this.live('a pong');
    this.events.push(['pong', payload.toString('hex')]);
  }
  onProtocolError(error: ProtocolError): void {
    this.live('an error');
    check(!this.events.some((e) => e[0] === 'error'), 'a second protocol error');
    check(ERROR_CODES.has(error.closeCode), () => `error close code ${error.closeCode}: ${error.message}`);
    this.events.push(['error', error.closeCode]);
  }
  awaitPeerClose(): void {}
  endTransport(): void {
    this.live('endTransport');
    this.ended = true;
    this.events.push(['end', this.closeCode()]);
  }
  holdReading(hold: boolean): void {
    this.holds.push(hold);
  }
  abort(error: ProtocolError): void {
    this.live('abort');
    this.ended = true;
    this.events.push(['abort', error.closeCode]);
  }
  onWritesFlushed(): void {}
}

const show = (events: readonly Event[]): string => JSON.stringify(events).slice(0, 1500);

async function settle(connection: Connection): Promise<void> {
  const state = connection as unknown as { decompressing: boolean; holds: { heldEvents: unknown[] | null } | null };
  const deadline = performance.now() + 5000;
  while (state.decompressing || (state.holds?.heldEvents?.length ?? 0) > 0) {
    check(performance.now() < deadline, 'the connection did not settle within 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export const deflateConnectionTarget: FuzzTarget = {
  name: 'deflate-connection',
  weight: 2,
  kind: 'async',
  property: () =>
    fc.asyncProperty(inputArb, async (input) => {
      const { local, peer } = negotiate(input.role, input.deflate);
      const messages = input.script.items.filter((i) => i.kind === 'message' && i.compressed).length;
      const corrupt = input.corruption === 1 && messages > 0 ? { at: input.target % input.script.items.filter((i) => i.kind === 'message').length, mutations: input.mutations } : null;
      let connection: Connection | null = null;
      try {
        const model = await build(input.script, peer, input.role, input.maxPayload, corrupt);
        const bytes = input.corruption === 2 ? mutate(model.bytes, input.mutations) : model.bytes;
        const recorder: Recorder = new Recorder(input.maxPayload, () => connection!.closeCodeReceived);
        connection = new Connection(input.role, recorder, { maxPayload: input.maxPayload, extension: local, maskKeys: () => 0x01020304 });
        const chunks = split(bytes, input.chunking);
        const scratch = Buffer.allocUnsafe(chunks.reduce((max, c) => Math.max(max, c.length), 1));
        for (const chunk of chunks) {
          try {
            if (input.lend) {
              chunk.copy(scratch);
              connection.receive(scratch.subarray(0, chunk.length), true);
              scratch.fill(0xa5);
            } else {
              connection.receive(chunk);
            }
          } catch (err) {
            throw new Error(`receive() threw: ${String(err)}`);
          }
        }
        await settle(connection);
        check(recorder.holds.length === 0 || recorder.holds[recorder.holds.length - 1] === false, 'reading is left held');
        const events = recorder.events;
        if (input.corruption === 0) {
          check(show(events) === show(model.events), () => `the model says ${show(model.events)}\nthe connection delivered ${show(events)}`);
        } else if (corrupt !== null) {
          const keep = model.firstEvent[corrupt.at] ?? model.events.length;
          check(show(events.slice(0, keep)) === show(model.events.slice(0, keep)), () => `before the corrupted message the model says ${show(model.events.slice(0, keep))}\nthe connection delivered ${show(events)}`);
        }
        return true;
      } finally {
        connection?.transportClosed();
        local.close();
        peer.close();
      }
    }),
};
