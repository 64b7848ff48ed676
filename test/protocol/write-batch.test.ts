import { describe, expect, test } from 'vitest';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import type { ProtocolError } from '../../src/framing/protocol-error.js';
import { Connection, type ConnectionHandler, type WriteCallback } from '../../src/protocol/connection.js';
import {
  addBatchCallback,
  batchedBytes,
  batchScratch,
  dropBatch,
  reserveBatch,
  SCRATCH_SIZE,
  writeBatch,
  type BatchTarget,
} from '../../src/protocol/write-batch.js';
import { decodeFrames } from './wire.js';

/** A transport that logs, in one list, every write (a copy of its bytes) and every other request. */
class Log implements ConnectionHandler {
  log: string[] = [];
  writes: Buffer[] = [];
  callbacks: Array<WriteCallback | undefined> = [];
  onMessageHook: ((data: Buffer) => void) | null = null;
  write(data: Buffer, cb?: WriteCallback): void {
    this.writes.push(Buffer.from(data));
    this.callbacks.push(cb);
    this.log.push(`write:${data.length}`);
  }
  onMessage(data: Buffer): void {
    this.log.push(`message:${data.toString('latin1')}`);
    this.onMessageHook?.(data);
  }
  onPing(): void {}
  onPong(): void {}
  onProtocolError(error: ProtocolError): void {
    this.log.push(`error:${error.closeCode}`);
  }
  awaitPeerClose(): void {}
  endTransport(): void {
    this.log.push('end');
  }
  abort(): void {
    this.log.push('abort');
  }
  onWritesFlushed(): void {}
  holdReading(): void {}
  /** Complete every write so far, as the socket would once the bytes are out. */
  completeWrites(error?: Error): void {
    const cbs = this.callbacks.splice(0);
    for (const cb of cbs) cb?.(error ?? null);
  }
}

/** The server frames in `bytes`, payloads as latin1 text. */
function frames(bytes: Buffer): Array<{ opcode: number; payload: string }> {
  return decodeFrames(bytes).map((f) => ({ opcode: f.opcode, payload: f.payload.toString('latin1') }));
}

/** Masked client frames, concatenated. */
function clientFrames(...specs: Array<[number, string | Buffer]>): Buffer {
  const out: Buffer[] = [];
  for (const [opcode, payload] of specs) {
    encodeFrame(out, opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, true, false, 0x12345678);
  }
  return Buffer.concat(out);
}

function echoServer(): { log: Log; connection: Connection } {
  const log = new Log();
  const connection = new Connection('server', log);
  log.onMessageHook = (data) => connection.send(data, true);
  return { log, connection };
}

describe('write batch: the scratch', () => {
  function target(name: string, log: string[]): BatchTarget {
    return { write: (data) => log.push(`${name}:${data.toString('latin1')}`) };
  }
  function put(t: BatchTarget, text: string): void {
    batchScratch.write(text, reserveBatch(t, text.length), 'latin1');
  }

  test('the bytes of one target leave as one buffer, a copy, when written', () => {
    const log: string[] = [];
    const a = target('a', log);
    put(a, 'one');
    put(a, 'two');
    expect(batchedBytes(a)).toBe(6);
    expect(log).toEqual([]);
    expect(writeBatch(a)).toBe(true);
    expect(log).toEqual(['a:onetwo']);
    expect(batchedBytes(a)).toBe(0);
    expect(writeBatch(a)).toBe(false);
    expect(log).toEqual(['a:onetwo']);
  });

  test('another target taking the scratch writes out the first one before', () => {
    const log: string[] = [];
    const a = target('a', log);
    const b = target('b', log);
    put(a, 'a1');
    put(b, 'b1');
    expect(log).toEqual(['a:a1']);
    expect(batchedBytes(a)).toBe(0);
    expect(batchedBytes(b)).toBe(2);
    expect(writeBatch(a)).toBe(false);
    writeBatch(b);
    expect(log).toEqual(['a:a1', 'b:b1']);
  });

  test('a reservation that would overflow the scratch writes out the batch before it', () => {
    const sizes: number[] = [];
    const a: BatchTarget = { write: (data) => sizes.push(data.length) };
    // Earlier tests' batches used the start of the slab; this one begins where they ended.
    const base = reserveBatch(a, 0);
    reserveBatch(a, SCRATCH_SIZE - base - 10);
    expect(reserveBatch(a, 10)).toBe(SCRATCH_SIZE - 10);
    expect(sizes).toEqual([]);
    const full = batchScratch;
    expect(reserveBatch(a, 1)).toBe(0);
    expect(sizes).toEqual([SCRATCH_SIZE - base]);
    expect(batchScratch).not.toBe(full);
    writeBatch(a);
    expect(sizes).toEqual([SCRATCH_SIZE - base, 1]);
  });

  test('a written batch is a view of the slab that later batches never write over', () => {
    const written: Buffer[] = [];
    const a: BatchTarget = { write: (data) => written.push(data) };
    const b: BatchTarget = { write: (data) => written.push(data) };
    // Enough batches to fill several slabs: every one keeps its bytes.
    for (let i = 0; i < 200; i++) {
      const target = i % 2 === 0 ? a : b;
      const at = reserveBatch(target, 1000);
      batchScratch.fill(i & 0xff, at, at + 1000);
      writeBatch(target);
    }
    expect(written).toHaveLength(200);
    written.forEach((bytes, i) => {
      expect(bytes.length).toBe(1000);
      expect(bytes.every((byte) => byte === (i & 0xff))).toBe(true);
    });
    // Views, not copies: consecutive batches of one slab are neighbours in its memory.
    const slabs = new Set(written.map((bytes) => bytes.buffer));
    expect(slabs.size).toBeGreaterThanOrEqual(3);
    const next = written.findIndex((bytes, i) => i > 0 && bytes.buffer === written[i - 1]!.buffer);
    expect(next).toBeGreaterThan(0);
    expect(written[next]!.byteOffset).toBe(written[next - 1]!.byteOffset + 1000);
  });

  test('a target whose writes wait gets a copy, and its room in the slab is used again', () => {
    const written: Buffer[] = [];
    const slow: BatchTarget = { write: (data) => written.push(data), writesWaiting: () => true };
    const at = reserveBatch(slow, 100);
    batchScratch.fill(7, at, at + 100);
    writeBatch(slow);
    expect(written[0]!.buffer).not.toBe(batchScratch.buffer);
    expect(written[0]!.every((byte) => byte === 7)).toBe(true);
    expect(reserveBatch(slow, 1)).toBe(at);
    dropBatch(slow, () => new Error('gone'));
  });

  test('callbacks run in order once the batch is written, with its outcome', () => {
    let complete: WriteCallback = () => {};
    const a: BatchTarget = {
      write: (_data, cb) => {
        complete = cb!;
      },
    };
    const seen: string[] = [];
    put(a, 'x');
    addBatchCallback(a, (error) => seen.push(`first:${error?.message}`));
    put(a, 'y');
    addBatchCallback(a, (error) => seen.push(`second:${error?.message}`));
    writeBatch(a);
    expect(seen).toEqual([]);
    complete(new Error('boom'));
    expect(seen).toEqual(['first:boom', 'second:boom']);
  });

  test('a write that re-enters starts a new batch of its own', () => {
    const log: string[] = [];
    let reentered = false;
    const a: BatchTarget = {
      write: (data) => {
        log.push(data.toString('latin1'));
        if (!reentered) {
          reentered = true;
          put(a, 'close');
          writeBatch(a);
        }
      },
    };
    put(a, 'data');
    writeBatch(a);
    expect(log).toEqual(['data', 'close']);
  });

  test('a dropped batch is not written, and its callbacks get the error on a later tick', async () => {
    const log: string[] = [];
    const a = target('a', log);
    const seen: string[] = [];
    put(a, 'lost');
    addBatchCallback(a, (error) => seen.push(String(error?.message)));
    dropBatch(a, () => new Error('gone'));
    expect(seen).toEqual([]);
    expect(writeBatch(a)).toBe(false);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(seen).toEqual(['gone']);
    expect(log).toEqual([]);
  });

  test('adding a callback needs the target to own the batch', () => {
    const a = target('a', []);
    expect(() => addBatchCallback(a, () => {})).toThrow(/not the current batch/);
  });
});

describe('write batch: a connection', () => {
  test('the echoes of every message in one chunk leave in one write, in order', () => {
    const { log, connection } = echoServer();
    const messages = Array.from({ length: 64 }, (_, i) => `m${i}`);
    connection.receive(clientFrames(...messages.map((m): [number, string] => [Opcode.Binary, m])));
    expect(log.writes).toHaveLength(1);
    expect(frames(log.writes[0]!).map((f) => f.payload)).toEqual(messages);
  });

  test('each chunk is one batch; nothing waits for the next chunk', () => {
    const { log, connection } = echoServer();
    connection.receive(clientFrames([Opcode.Binary, 'a'], [Opcode.Binary, 'b']));
    expect(log.writes).toHaveLength(1);
    connection.receive(clientFrames([Opcode.Binary, 'c']));
    expect(log.writes).toHaveLength(2);
    expect(frames(Buffer.concat(log.writes)).map((f) => f.payload)).toEqual(['a', 'b', 'c']);
  });

  test('a large frame goes out after the small ones batched before it, its payload not copied', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    const big = Buffer.alloc(5000, 0x61);
    log.onMessageHook = (data) => {
      connection.send(Buffer.from(`small:${data.length}`), false);
      if (data.length === 3) connection.send(big, true);
    };
    connection.receive(clientFrames([Opcode.Binary, 'one'], [Opcode.Binary, 'four']));
    // batch (1 frame), large header, large payload (the caller's buffer), batch (1 frame)
    expect(log.writes.map((w) => w.length)).toEqual([9, 4, 5000, 9]);
    const sent = frames(Buffer.concat(log.writes));
    expect(sent.map((f) => f.payload.slice(0, 8))).toEqual(['small:3', 'aaaaaaaa', 'small:4']);
  });

  test('send callbacks run once the batch holding their frames is written', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    const done: string[] = [];
    log.onMessageHook = (data) => connection.send(data, true, true, (error) => done.push(`${data}:${error ?? 'ok'}`));
    connection.receive(clientFrames([Opcode.Binary, 'x'], [Opcode.Binary, 'y']));
    expect(log.writes).toHaveLength(1);
    expect(done).toEqual([]);
    log.completeWrites();
    expect(done).toEqual(['x:ok', 'y:ok']);
  });

  test('automatic pongs of many pings in one chunk leave in one write', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    connection.receive(clientFrames(...Array.from({ length: 20 }, (_, i): [number, string] => [Opcode.Ping, `p${i}`])));
    expect(log.writes).toHaveLength(1);
    const pongs = frames(log.writes[0]!);
    expect(pongs.map((f) => f.opcode)).toEqual(Array(20).fill(Opcode.Pong));
    expect(pongs.map((f) => f.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
    log.completeWrites();
    // The pending-pong count went back to zero: 60 more pings in one chunk are still within the limit.
    connection.receive(clientFrames(...Array.from({ length: 60 }, (): [number, string] => [Opcode.Ping, ''])));
    expect(log.log).not.toContain('abort');
  });

  test('a close inside the batch: the batched frames and the close frame are written before the end', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    log.onMessageHook = (data) => {
      connection.send(data, true);
      connection.close(1000, 'bye');
    };
    // The peer's message, then its close frame, in one chunk.
    connection.receive(clientFrames([Opcode.Binary, 'last'], [Opcode.Close, Buffer.from([0x03, 0xe8])]));
    expect(log.log.indexOf('end')).toBeGreaterThan(log.log.findIndex((e) => e.startsWith('write')));
    expect(log.log.filter((e) => e.startsWith('write'))).toHaveLength(1);
    const sent = frames(Buffer.concat(log.writes));
    expect(sent.map((f) => f.opcode)).toEqual([Opcode.Binary, Opcode.Close]);
  });

  test('a protocol violation after batched echoes: echoes, then the 1002 close, then the end', () => {
    const { log, connection } = echoServer();
    const unmasked = Buffer.from([0x82, 0x01, 0x7a]); // a client frame without a mask: 1002
    connection.receive(Buffer.concat([clientFrames([Opcode.Binary, 'ok']), unmasked]));
    const sent = frames(Buffer.concat(log.writes));
    expect(sent.map((f) => f.opcode)).toEqual([Opcode.Binary, Opcode.Close]);
    expect(sent[1]!.payload.charCodeAt(0) * 256 + sent[1]!.payload.charCodeAt(1)).toBe(1002);
    const end = log.log.indexOf('end');
    expect(end).toBeGreaterThan(-1);
    expect(log.log.slice(end + 1).some((e) => e.startsWith('write'))).toBe(false);
  });

  test('an exception from a message handler: the batch, then the 1011 close, still go out', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    log.onMessageHook = (data) => {
      connection.send(data, true);
      throw new Error('handler failed');
    };
    expect(() => connection.receive(clientFrames([Opcode.Binary, 'sent']))).toThrow('handler failed');
    const sent = frames(Buffer.concat(log.writes));
    expect(sent.map((f) => f.opcode)).toEqual([Opcode.Binary, Opcode.Close]);
    expect(sent[0]!.payload).toBe('sent');
    expect(sent[1]!.payload.charCodeAt(0) * 256 + sent[1]!.payload.charCodeAt(1)).toBe(1011);
    expect(batchedBytes(log)).toBe(0);
  });

  test('pendingBytes counts the batch until it is written', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    const seen: number[] = [];
    log.onMessageHook = (data) => {
      seen.push(connection.pendingBytes);
      connection.send(data, true);
      seen.push(connection.pendingBytes);
    };
    connection.receive(clientFrames([Opcode.Binary, 'abc']));
    expect(seen).toEqual([0, 5]);
    expect(connection.pendingBytes).toBe(0);
  });

  test('sending to another connection from a message handler keeps each connection in order', () => {
    const aLog = new Log();
    const bLog = new Log();
    const a = new Connection('server', aLog);
    const b = new Connection('server', bLog);
    aLog.onMessageHook = (data) => {
      a.send(Buffer.from(`a-${data}`), true);
      b.send(Buffer.from(`b-${data}`), true);
    };
    a.receive(clientFrames([Opcode.Binary, '1'], [Opcode.Binary, '2']));
    expect(frames(Buffer.concat(aLog.writes)).map((f) => f.payload)).toEqual(['a-1', 'a-2']);
    expect(frames(Buffer.concat(bLog.writes)).map((f) => f.payload)).toEqual(['b-1', 'b-2']);
    // b was not processing input: its frames were written at once, not batched.
    expect(bLog.writes).toHaveLength(2);
    expect(aLog.writes).toHaveLength(1);
  });

  test('sends outside of receive() are written at once', () => {
    const log = new Log();
    const connection = new Connection('server', log);
    connection.send(Buffer.from('now'), true);
    expect(log.writes).toHaveLength(1);
    expect(batchedBytes(log)).toBe(0);
  });

  test('a client batch is masked frame by frame', () => {
    const log = new Log();
    let key = 0x01020304;
    const connection = new Connection('client', log, { maskKeys: () => key++ });
    log.onMessageHook = (data) => connection.send(data, false);
    const server: Buffer[] = [];
    encodeFrame(server, Opcode.Text, Buffer.from('hello'), true, false, null);
    encodeFrame(server, Opcode.Text, Buffer.from('world'), true, false, null);
    connection.receive(Buffer.concat(server));
    expect(log.writes).toHaveLength(1);
    const bytes = log.writes[0]!;
    const expected: Buffer[] = [];
    encodeFrame(expected, Opcode.Text, Buffer.from('hello'), true, false, 0x01020304);
    encodeFrame(expected, Opcode.Text, Buffer.from('world'), true, false, 0x01020305);
    expect(bytes.equals(Buffer.concat(expected))).toBe(true);
  });

  test('replies to decompressed messages are batched too', async () => {
    const clientSide = new PerMessageDeflate({ threshold: 0 });
    const accepted = new PerMessageDeflate({ threshold: 0 }).negotiate([clientSide.offer()]);
    if (accepted === null) throw new Error('negotiation failed');
    const peer = clientSide.accept(accepted.response);
    if (peer instanceof Error) throw peer;
    const log = new Log();
    const connection = new Connection('server', log, { extension: accepted.extension });
    const replies: string[] = [];
    log.onMessageHook = (data) => {
      replies.push(data.toString());
      connection.send(Buffer.from(`re:${data}`), true);
      connection.send(Buffer.from(`re2:${data}`), true);
    };
    const compressed = await new Promise<Buffer>((resolve, reject) =>
      peer.compress(Buffer.from('zipped'), true, (error, result) => (error ? reject(error) : resolve(result!))),
    );
    const frame: Buffer[] = [];
    encodeFrame(frame, Opcode.Binary, compressed, true, true, 0x0badf00d);
    connection.receive(frame[0]!);
    await new Promise<void>((resolve) => {
      const check = (): void => (replies.length > 0 ? resolve() : void setImmediate(check));
      check();
    });
    expect(log.writes).toHaveLength(1);
    expect(frames(log.writes[0]!).map((f) => f.payload)).toEqual(['re:zipped', 're2:zipped']);
  });
});
