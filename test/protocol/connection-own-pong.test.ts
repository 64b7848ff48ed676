// The ownPong hook of ConnectionHandler: the layer above may send an automatic pong itself (as `ws`
// lets an application replace a socket's pong()); the core then writes none, and still counts it.
import { describe, expect, test } from 'vitest';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import type { ProtocolError } from '../../src/framing/protocol-error.js';
import { Connection, type ConnectionHandler, type WriteCallback } from '../../src/protocol/connection.js';
import { decodeFrames } from './wire.js';

/** A handler whose ownPong answer is set by the test; records writes, pings and the pongs it took. */
class PongTaker implements ConnectionHandler {
  written: Buffer[] = [];
  events: string[] = [];
  taken: Array<{ payload: string; cb: WriteCallback }> = [];
  constructor(private readonly take: boolean) {}
  write(data: Buffer, cb?: WriteCallback): void {
    this.written.push(Buffer.from(data));
    cb?.();
  }
  ownPong(payload: Buffer, cb: WriteCallback): boolean {
    if (this.take) this.taken.push({ payload: payload.toString(), cb });
    return this.take;
  }
  onMessage(): void {}
  onPing(payload: Buffer): void {
    this.events.push(`ping:${payload.toString()}`);
  }
  onPong(): void {}
  onProtocolError(error: ProtocolError): void {
    this.events.push(`error:${error.closeCode}`);
  }
  awaitPeerClose(): void {}
  endTransport(): void {}
  holdReading(): void {}
  abort(error: ProtocolError): void {
    this.events.push(`abort:${error.closeCode}`);
  }
  onWritesFlushed(): void {}
}

function ping(payload: string): Buffer {
  const out: Buffer[] = [];
  encodeFrame(out, Opcode.Ping, Buffer.from(payload), true, false, 0x01020304);
  return Buffer.concat(out);
}

describe('ConnectionHandler.ownPong', () => {
  test('false: the core writes the pong itself, before the ping is reported', () => {
    const handler = new PongTaker(false);
    new Connection('server', handler).receive(ping('a'));
    expect(decodeFrames(Buffer.concat(handler.written)).map((f) => [f.opcode, f.payload.toString()])).toEqual([[Opcode.Pong, 'a']]);
    expect(handler.events).toEqual(['ping:a']);
  });

  test('true: no pong is written by the core; the handler gets the payload and a callback', () => {
    const handler = new PongTaker(true);
    new Connection('server', handler).receive(ping('b'));
    expect(handler.written).toEqual([]);
    expect(handler.taken.map((t) => t.payload)).toEqual(['b']);
    expect(handler.events).toEqual(['ping:b']);
  });

  test('pongs taken and never completed count against maxPendingAutoPongs; completed ones do not', () => {
    const completing = new PongTaker(true);
    const connection = new Connection('server', completing, { maxPendingAutoPongs: 2 });
    for (let i = 0; i < 5; i++) {
      connection.receive(ping(String(i)));
      completing.taken.at(-1)!.cb();
    }
    expect(completing.events).toEqual(['ping:0', 'ping:1', 'ping:2', 'ping:3', 'ping:4']);

    const silent = new PongTaker(true);
    const limited = new Connection('server', silent, { maxPendingAutoPongs: 2 });
    for (let i = 0; i < 3; i++) limited.receive(ping(String(i)));
    expect(silent.events).toEqual(['ping:0', 'ping:1', 'abort:1008', 'ping:2']);
  });
});
