import { describe, expect, test } from 'vitest';
import type { Extension } from '../../src/extensions/extension.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { ProtocolError } from '../../src/framing/protocol-error.js';
import { Connection, ReadyState, type ConnectionHandler, type Role } from '../../src/protocol/connection.js';
import { decodeFrames, type WireFrame } from './wire.js';

/** Records everything the core asks of its environment. */
class Recorder implements ConnectionHandler {
  written: Buffer[] = [];
  events: string[] = [];
  messages: Array<[string, boolean]> = [];
  errors: ProtocolError[] = [];
  write(data: Buffer): void {
    this.written.push(Buffer.from(data));
  }
  onMessage(data: Buffer, isBinary: boolean): void {
    this.messages.push([data.toString('latin1'), isBinary]);
  }
  onPing(payload: Buffer): void {
    this.events.push(`ping:${payload.toString()}`);
  }
  onPong(payload: Buffer): void {
    this.events.push(`pong:${payload.toString()}`);
  }
  onProtocolError(error: ProtocolError): void {
    this.errors.push(error);
    this.events.push(`error:${error.closeCode}`);
  }
  awaitPeerClose(): void {
    this.events.push('awaitPeerClose');
  }
  endTransport(): void {
    this.events.push('endTransport');
  }
  abort(error: ProtocolError): void {
    this.events.push(`abort:${error.closeCode}`);
  }
  flushes = 0;
  onWritesFlushed(): void {
    this.flushes++;
  }
  holds: boolean[] = [];
  holdReading(hold: boolean): void {
    this.holds.push(hold);
  }
  /** The frames we wrote, decoded (server frames are unmasked). */
  frames(): WireFrame[] {
    return decodeFrames(Buffer.concat(this.written));
  }
}

const KEY = 0x01020304;

/** A frame as a client would send it to a server (masked). */
function clientFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const out: Buffer[] = [];
  encodeFrame(out, opcode, Buffer.from(payload), fin, false, KEY);
  return Buffer.concat(out);
}

function setup(role: Role = 'server', options = {}): { connection: Connection; handler: Recorder } {
  const handler = new Recorder();
  const connection = new Connection(role, handler, options);
  return { connection, handler };
}

describe('Connection (server role)', () => {
  test('delivers text and binary messages', () => {
    const { connection, handler } = setup();
    connection.receive(Buffer.concat([clientFrame(Opcode.Text, 'héllo'), clientFrame(Opcode.Binary, 'ab')]));
    expect(handler.messages).toEqual([
      [Buffer.from('héllo').toString('latin1'), false],
      ['ab', true],
    ]);
  });

  test('answers a ping with a pong carrying the same payload, then reports it', () => {
    const { connection, handler } = setup();
    connection.receive(clientFrame(Opcode.Ping, 'abc'));
    expect(handler.frames()).toEqual([{ opcode: Opcode.Pong, fin: true, payload: Buffer.from('abc') }]);
    expect(handler.events).toEqual(['ping:abc']);
  });

  test('does not answer pings when autoPong is off', () => {
    const { connection, handler } = setup('server', { autoPong: false });
    connection.receive(clientFrame(Opcode.Ping, 'abc'));
    expect(handler.written).toEqual([]);
    expect(handler.events).toEqual(['ping:abc']);
  });

  test('never answers an unsolicited pong', () => {
    const { connection, handler } = setup();
    connection.receive(clientFrame(Opcode.Pong, 'x'));
    expect(handler.written).toEqual([]);
    expect(handler.events).toEqual(['pong:x']);
  });

  test('echoes the close code of a received close frame, then ends the transport', () => {
    const { connection, handler } = setup();
    connection.receive(clientFrame(Opcode.Close, Buffer.from([0x0b, 0xb8, 0x68, 0x69]))); // 3000 "hi"
    const frames = handler.frames();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.opcode).toBe(Opcode.Close);
    expect(frames[0]!.payload.readUInt16BE(0)).toBe(3000);
    expect(handler.events).toEqual(['endTransport']);
    expect(connection.closeCodeReceived).toBe(3000);
    expect(connection.closeReasonReceived.toString()).toBe('hi');
    expect(connection.readyState).toBe(ReadyState.CLOSING);
  });

  test('answers an empty close frame with an empty one (as ws) and reports 1005', () => {
    const { connection, handler } = setup();
    connection.receive(clientFrame(Opcode.Close, ''));
    expect(handler.frames()[0]!.opcode).toBe(Opcode.Close);
    expect(handler.frames()[0]!.payload.length).toBe(0);
    expect(connection.closeCodeReceived).toBe(1005);
  });

  test('ignores frames after the close frame', () => {
    const { connection, handler } = setup();
    connection.receive(Buffer.concat([clientFrame(Opcode.Close, ''), clientFrame(Opcode.Text, 'late')]));
    connection.receive(clientFrame(Opcode.Text, 'later'));
    expect(handler.messages).toEqual([]);
  });

  test('a local close waits for the peer, then ends the transport when its close arrives', () => {
    const { connection, handler } = setup();
    connection.close(1001, Buffer.from('bye'));
    expect(handler.events).toEqual(['awaitPeerClose']);
    const frame = handler.frames()[0]!;
    expect(frame.payload.readUInt16BE(0)).toBe(1001);
    expect(frame.payload.subarray(2).toString()).toBe('bye');
    // No ping answers once our close frame is out (RFC 6455 §5.5.1).
    connection.receive(clientFrame(Opcode.Ping, 'p'));
    expect(handler.frames()).toHaveLength(1);
    connection.receive(clientFrame(Opcode.Close, Buffer.from([0x03, 0xe9])));
    expect(handler.events).toEqual(['awaitPeerClose', 'ping:p', 'endTransport']);
    expect(handler.frames()).toHaveLength(1);
    connection.close(1000);
    expect(handler.frames()).toHaveLength(1);
  });

  test('a protocol error sends its close code and ends the transport', () => {
    const { connection, handler } = setup();
    const unmasked: Buffer[] = [];
    encodeFrame(unmasked, Opcode.Text, Buffer.from('x'), true, false, null);
    connection.receive(Buffer.concat(unmasked));
    expect(handler.events).toEqual(['error:1002', 'endTransport']);
    expect(handler.frames()[0]!.payload.readUInt16BE(0)).toBe(1002);
    expect(connection.closeCodeReceived).toBe(1006);
  });

  test('invalid UTF-8 fails with 1007', () => {
    const { connection, handler } = setup();
    connection.receive(clientFrame(Opcode.Text, Buffer.from([0xce, 0xba, 0xff])));
    expect(handler.events).toEqual(['error:1007', 'endTransport']);
    expect(handler.frames()[0]!.payload.readUInt16BE(0)).toBe(1007);
  });

  test('a message over maxPayload fails with 1009', () => {
    const { connection, handler } = setup('server', { maxPayload: 4 });
    connection.receive(clientFrame(Opcode.Binary, 'hello'));
    expect(handler.events).toEqual(['error:1009', 'endTransport']);
  });

  test('fragmented sends use one opcode then continuations', () => {
    const { connection, handler } = setup();
    connection.send(Buffer.from('ab'), false, false);
    connection.send(Buffer.from('cd'), false, false);
    connection.send(Buffer.from('ef'), false, true);
    connection.send(Buffer.from('gh'), true, true);
    expect(handler.frames().map((f) => [f.opcode, f.fin, f.payload.toString()])).toEqual([
      [Opcode.Text, false, 'ab'],
      [Opcode.Continuation, false, 'cd'],
      [Opcode.Continuation, true, 'ef'],
      [Opcode.Binary, true, 'gh'],
    ]);
  });
});

describe('Connection (client role)', () => {
  test('masks every frame it sends with keys from the injected source', () => {
    const keys = [0xdeadbeef, 0x00000000];
    const { connection, handler } = setup('client', { maskKeys: () => keys.shift()! });
    connection.send(Buffer.from('hi'), false);
    const raw = Buffer.concat(handler.written);
    expect(raw[1]! & 0x80).toBe(0x80);
    expect(raw.readUInt32BE(2)).toBe(0xdeadbeef);
    expect(handler.frames()[0]!.payload.toString()).toBe('hi');
  });

  test('rejects masked frames from the server with 1002', () => {
    const { connection, handler } = setup('client');
    connection.receive(clientFrame(Opcode.Text, 'x'));
    expect(handler.events).toEqual(['error:1002', 'endTransport']);
  });

  test('accepts unmasked frames from the server', () => {
    const { connection, handler } = setup('client');
    const out: Buffer[] = [];
    encodeFrame(out, Opcode.Text, Buffer.from('ok'), true, false, null);
    connection.receive(Buffer.concat(out));
    expect(handler.messages).toEqual([['ok', false]]);
  });
});

describe('Connection with permessage-deflate', () => {
  /** A negotiated pair: the server's extension for the Connection, the client's to make test frames. */
  function negotiatedPair(): { server: Extension; client: Extension } {
    const clientSide = new PerMessageDeflate({ threshold: 0 });
    const accepted = new PerMessageDeflate({ threshold: 0 }).negotiate([clientSide.offer()]);
    if (accepted === null) throw new Error('negotiation failed');
    const client = clientSide.accept(accepted.response);
    if (client instanceof Error) throw client;
    return { server: accepted.extension, client };
  }

  function compress(extension: Extension, data: string): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      extension.compress(Buffer.from(data), true, (error, result) => (error ? reject(error) : resolve(result!))),
    );
  }

  function compressedClientFrame(payload: Buffer): Buffer {
    const out: Buffer[] = [];
    encodeFrame(out, Opcode.Text, payload, true, true, KEY);
    return Buffer.concat(out);
  }

  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

  test('a compressed message is inflated and the events behind it keep their order', async () => {
    const { server, client } = negotiatedPair();
    const { connection, handler } = setup('server', { extension: server });
    const deflated = await compress(client, 'squeeze me '.repeat(50));
    connection.receive(Buffer.concat([compressedClientFrame(deflated), clientFrame(Opcode.Text, 'plain'), clientFrame(Opcode.Ping, 'p')]));
    // Nothing is delivered before the inflate completes; reading is held meanwhile.
    expect(handler.messages).toEqual([]);
    expect(handler.events).toEqual([]);
    expect(handler.holds).toEqual([true]);
    for (let i = 0; i < 50 && handler.messages.length < 2; i++) await settle();
    expect(handler.messages).toEqual([
      ['squeeze me '.repeat(50), false],
      ['plain', false],
    ]);
    expect(handler.events).toEqual(['ping:p']);
    expect(handler.holds).toEqual([true, false]);
    client.close();
    connection.transportClosed();
  });

  test('corrupt compressed data fails with 1007', async () => {
    const { server } = negotiatedPair();
    const { connection, handler } = setup('server', { extension: server });
    connection.receive(compressedClientFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])));
    for (let i = 0; i < 50 && handler.errors.length === 0; i++) await settle();
    expect(handler.events).toEqual(['error:1007', 'endTransport']);
    connection.transportClosed();
  });

  test('a close behind a compressed send leaves after it, and TCP ends only then', async () => {
    const { server, client } = negotiatedPair();
    const { connection, handler } = setup('server', { extension: server });
    connection.send(Buffer.from('compress this please '.repeat(20)), false, true, undefined, true);
    connection.receive(clientFrame(Opcode.Close, Buffer.from([0x03, 0xe8])));
    expect(handler.written).toEqual([]);
    expect(handler.events).toEqual([]);
    for (let i = 0; i < 50 && handler.events.length === 0; i++) await settle();
    expect(handler.events).toEqual(['endTransport']);
    const frames = handler.frames();
    expect(frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    expect(Buffer.concat(handler.written)[0]! & 0x40).toBe(0x40); // RSV1 on the compressed message
    const inflated = await new Promise<Buffer>((resolve, reject) =>
      client.decompress(frames[0]!.payload, true, 0, (error, result) => (error ? reject(error) : resolve(result!))),
    );
    expect(inflated.toString()).toBe('compress this please '.repeat(20));
    client.close();
    connection.transportClosed();
  });

  test('a message sent before the peer\'s corrupt one still leaves, then the 1007 close, then TCP ends', async () => {
    const { server, client } = negotiatedPair();
    const { connection, handler } = setup('server', { extension: server });
    // As an echo server does: the reply is being compressed when the next message fails to inflate.
    connection.send(Buffer.from('the reply '.repeat(30)), false, true, undefined, true);
    connection.receive(compressedClientFrame(Buffer.from([0xff, 0xee])));
    for (let i = 0; i < 50 && !handler.events.includes('endTransport'); i++) await settle();
    expect(handler.events).toEqual(['error:1007', 'endTransport']);
    const frames = handler.frames();
    expect(frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
    expect(frames[1]!.payload.readUInt16BE(0)).toBe(1007);
    const inflated = await new Promise<Buffer>((resolve, reject) =>
      client.decompress(frames[0]!.payload, true, 0, (error, result) => (error ? reject(error) : resolve(result!))),
    );
    expect(inflated.toString()).toBe('the reply '.repeat(30));
    client.close();
    connection.transportClosed();
  });

  test('a compressor failure: its callback and the writes behind it get the error, the close goes out with 1011', async () => {
    const { server } = negotiatedPair();
    const broken: Extension = Object.assign(Object.create(server) as Extension, {
      compress(_data: Buffer, _fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void {
        setImmediate(() => cb(new Error('zlib ran out of memory')));
      },
    });
    const { connection, handler } = setup('server', { extension: broken });
    const results: string[] = [];
    connection.send(Buffer.from('a'.repeat(2000)), false, true, (e) => results.push(`first:${e?.message ?? 'ok'}`), true);
    connection.send(Buffer.from('behind'), false, true, (e) => results.push(`second:${e?.message ?? 'ok'}`), false);
    for (let i = 0; i < 50 && !handler.events.includes('endTransport'); i++) await settle();
    expect(results).toEqual(['first:zlib ran out of memory', 'second:zlib ran out of memory']);
    expect(handler.events).toEqual(['error:1011', 'endTransport']);
    const frames = handler.frames();
    expect(frames.map((f) => f.opcode)).toEqual([Opcode.Close]);
    expect(frames[0]!.payload.readUInt16BE(0)).toBe(1011);
    connection.transportClosed();
  });
});

describe('Connection: every callback once, when the transport goes', () => {
  function deflatePair(options = { threshold: 0 }): Extension {
    const clientSide = new PerMessageDeflate(options);
    const accepted = new PerMessageDeflate(options).negotiate([clientSide.offer()]);
    if (accepted === null) throw new Error('negotiation failed');
    return accepted.extension;
  }
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

  test('a message being compressed and the frames held behind it get ws’s error, in order, once', async () => {
    const { connection, handler } = setup('server', { extension: deflatePair() });
    const results: string[] = [];
    const record = (name: string) => (error?: Error | null) => results.push(`${name}:${error?.message ?? 'ok'}`);
    connection.send(Buffer.alloc(100_000, 'compress me '), false, true, record('compressed'), true);
    connection.send(Buffer.from('plain'), false, true, record('behind'), false);
    connection.ping(Buffer.from('p'), record('ping'));
    connection.transportClosed();
    connection.transportClosed(); // the transport says it twice: as it destroys the socket, and at 'close'
    expect(results).toEqual([]); // never inside the call
    for (let i = 0; i < 10 && results.length < 3; i++) await settle();
    const message = 'The socket was closed while data was being compressed';
    expect(results).toEqual([`compressed:${message}`, `behind:${message}`, `ping:${message}`]);
    // The compression finishing later writes nothing and calls nothing.
    for (let i = 0; i < 5; i++) await settle();
    expect(results).toHaveLength(3);
    expect(handler.written).toEqual([]);
  });

  test('a compression waiting in the limiter’s queue is failed too, and its slot does not leak', async () => {
    const options = { threshold: 0, concurrencyLimit: 1 };
    const busy = setup('server', { extension: deflatePair(options) });
    const waiting = setup('server', { extension: deflatePair(options) });
    const results: string[] = [];
    busy.connection.send(Buffer.alloc(200_000, 'slot holder '), false, true, (e) => results.push(`busy:${e?.message ?? 'ok'}`), true);
    waiting.connection.send(Buffer.from('queued for the slot'), false, true, (e) => results.push(`waiting:${e?.message ?? 'ok'}`), true);
    waiting.connection.transportClosed();
    for (let i = 0; i < 50 && busy.handler.written.length === 0; i++) await settle();
    await settle();
    // (The Recorder never completes a write: the busy connection's callback belongs to its transport.)
    expect(results).toEqual(['waiting:The socket was closed while data was being compressed']);
    // The busy connection's frame went out, so the slot was released; the closed one wrote nothing.
    expect(busy.handler.frames().map((f) => f.opcode)).toEqual([Opcode.Text]);
    expect(waiting.handler.written).toEqual([]);
    busy.connection.transportClosed();
  });

  test('a compressed send after the transport closed gets an error on the next tick', async () => {
    const { connection } = setup('server', { extension: deflatePair() });
    connection.transportClosed();
    const results: string[] = [];
    connection.send(Buffer.from('too late'), false, true, (e) => results.push(e?.message ?? 'ok'), true);
    expect(results).toEqual([]);
    await settle();
    expect(results).toEqual(['WebSocket is not open: the connection closed']);
  });

  test('frames in the write batch get an error when the transport goes while they are batched', async () => {
    const results: string[] = [];
    const { connection } = setup('server');
    // An application that answers a message and terminates in the same handler.
    const handler = (connection as unknown as { handler: Recorder }).handler;
    handler.onMessage = () => {
      connection.send(Buffer.from('reply'), false, true, (e) => results.push(`reply:${e?.message ?? 'ok'}`));
      connection.transportClosed();
    };
    connection.receive(clientFrame(Opcode.Text, 'hi'));
    expect(handler.written).toEqual([]);
    await settle();
    expect(results).toEqual(['reply:WebSocket is not open: the connection closed']);
  });

  test('a limit tripped by the write of a compressed message: the frames held behind it leave before the close frame', async () => {
    const { connection, handler } = setup('server', { extension: deflatePair() });
    const original = handler.write.bind(handler);
    let tripped = false;
    const ended: number[] = [];
    handler.endTransport = () => void ended.push(handler.written.length);
    handler.write = (data: Buffer) => {
      original(data);
      // A failure raised from inside the write of the compressed message (the re-entrant case).
      if (!tripped) {
        tripped = true;
        connection.fail(new ProtocolError(1008, 'over the limit'));
      }
    };
    connection.send(Buffer.alloc(5000, 'compressible '), false, true, undefined, true);
    connection.send(Buffer.from('held one'), false, true, undefined, false);
    connection.ping(Buffer.from('held two'));
    for (let i = 0; i < 50 && ended.length === 0; i++) await settle();
    const frames = handler.frames();
    expect(frames.map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Text, Opcode.Ping, Opcode.Close]);
    expect(frames[3]!.payload.readUInt16BE(0)).toBe(1008);
    // TCP ends after the close frame, not before the held frames.
    expect(ended).toEqual([handler.written.length]);
    connection.transportClosed();
  });

  test('close(cb) on a connection that already sent its close frame calls back with an error', async () => {
    const { connection } = setup('server');
    const results: string[] = [];
    connection.close(1000, undefined, (e) => results.push(`first:${e?.message ?? 'ok'}`));
    connection.close(1000, undefined, (e) => results.push(`second:${e?.message ?? 'ok'}`));
    connection.transportClosed();
    connection.close(1000, undefined, (e) => results.push(`third:${e?.message ?? 'ok'}`));
    await settle();
    // The Recorder never completes a write: the first close frame's callback belongs to the transport.
    expect(results).toEqual([
      'second:WebSocket is not open: a close frame was already sent',
      'third:WebSocket is not open: a close frame was already sent',
    ]);
  });
});

describe('Connection limits', () => {
  test('maxPendingAutoPongs: pongs not yet written are counted; one ping more aborts (no error, as ws) and is still reported', () => {
    const { connection, handler } = setup('server', { maxPendingAutoPongs: 3 });
    // The Recorder never completes a write, like a socket whose peer does not read.
    connection.receive(Buffer.concat([clientFrame(Opcode.Ping, '1'), clientFrame(Opcode.Ping, '2'), clientFrame(Opcode.Ping, '3')]));
    expect(handler.frames().map((f) => f.payload.toString())).toEqual(['1', '2', '3']);
    expect(handler.events).toEqual(['ping:1', 'ping:2', 'ping:3']);
    connection.receive(Buffer.concat([clientFrame(Opcode.Ping, '4'), clientFrame(Opcode.Text, 'after')]));
    expect(handler.events).toEqual(['ping:1', 'ping:2', 'ping:3', 'abort:1008', 'ping:4']);
    expect(handler.messages).toEqual([]);
    expect(handler.frames()).toHaveLength(3);
  });

  test('maxPendingAutoPongs: written pongs free their place', () => {
    const written: Array<(() => void) | undefined> = [];
    const { connection, handler } = setup('server', { maxPendingAutoPongs: 2 });
    handler.write = (data: Buffer, cb?: () => void) => {
      handler.written.push(Buffer.from(data));
      written.push(cb);
    };
    for (let i = 0; i < 10; i++) {
      connection.receive(clientFrame(Opcode.Ping, String(i)));
      for (const cb of written.splice(0)) cb?.();
    }
    expect(handler.events.filter((e) => e.startsWith('abort') || e.startsWith('error'))).toEqual([]);
    expect(handler.frames()).toHaveLength(10);
  });

  test('maxFragments reaches the decoder: one frame over it fails with 1008', () => {
    const { connection, handler } = setup('server', { maxFragments: 2 });
    connection.receive(Buffer.concat([clientFrame(Opcode.Text, 'a', false), clientFrame(Opcode.Continuation, 'b', false), clientFrame(Opcode.Continuation, 'c')]));
    expect(handler.events).toEqual(['error:1008', 'endTransport']);
    expect(handler.frames().map((f) => [f.opcode, f.payload.readUInt16BE(0)])).toEqual([[Opcode.Close, 1008]]);
  });

  test('fail() from the layers above: a close frame with the code, then the transport ends', () => {
    const { connection, handler } = setup('server');
    connection.fail(new ProtocolError(1008, 'send buffer limit'));
    expect(handler.events).toEqual(['error:1008', 'endTransport']);
    expect(handler.frames().map((f) => f.payload.readUInt16BE(0))).toEqual([1008]);
    // Once only: a second failure sends nothing more.
    connection.fail(new ProtocolError(1011, 'again'));
    expect(handler.frames()).toHaveLength(1);
  });
});

describe('Connection limits with permessage-deflate', () => {
  test('maxBufferedChunks: frames waiting behind a decompression beyond the limit fail with 1008', async () => {
    const clientSide = new PerMessageDeflate({ threshold: 0 });
    const accepted = new PerMessageDeflate({ threshold: 0 }).negotiate([clientSide.offer()]);
    const client = clientSide.accept(accepted!.response);
    if (client instanceof Error) throw client;
    const { connection, handler } = setup('server', { extension: accepted!.extension, maxBufferedChunks: 2 });
    const deflated = await new Promise<Buffer>((resolve, reject) =>
      client.compress(Buffer.from('first'), true, (error, result) => (error ? reject(error) : resolve(result!))),
    );
    const out: Buffer[] = [];
    encodeFrame(out, Opcode.Text, deflated, true, true, KEY);
    connection.receive(Buffer.concat([...out, clientFrame(Opcode.Text, 'x'), clientFrame(Opcode.Text, 'y'), clientFrame(Opcode.Text, 'z')]));
    expect(handler.events).toEqual(['error:1008', 'endTransport']);
    for (let i = 0; i < 50 && handler.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    // The message received before the violation is still delivered; the held ones are not.
    expect(handler.messages).toEqual([['first', false]]);
    client.close();
    connection.transportClosed();
  });
});

describe('Connection write re-entrancy', () => {
  test('a write that fails the connection (a send limit) puts every frame on the wire once, in order', () => {
    const { connection, handler } = setup('server');
    const original = handler.write.bind(handler);
    let tripped = false;
    handler.write = (data: Buffer) => {
      original(data);
      // A failure raised from inside the write of the payload (the re-entrant case).
      if (!tripped && data.length === 2000) {
        tripped = true;
        connection.fail(new ProtocolError(1008, 'over the limit'));
      }
    };
    connection.send(Buffer.alloc(2000, 0x61), false);
    const frames = handler.frames();
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([
      [Opcode.Text, 2000],
      [Opcode.Close, 2],
    ]);
  });
});
