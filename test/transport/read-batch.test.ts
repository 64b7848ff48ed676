// The writes made while one read is processed are batched (corked) and leave together at the end of
// the read, except once they hold READ_BATCH_BYTES: then they leave at once, so that the echo of a large
// message does not wait for the rest of the read to be decoded.
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/index.js';

/** A masked client frame (FIN, binary) carrying `payload`. */
function clientFrame(payload: Buffer): Buffer {
  const key = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x82, 0x80 | length]) : length < 65536 ? Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff]) : null;
  if (header === null) throw new Error('test frames stay below 64 KiB');
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

/** A Duplex that logs every write call (one entry per _write/_writev) and lets the test push input. */
class RecordingSocket extends Duplex {
  readonly log: string[] = [];
  readonly bytesPerCall: number[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.log.push('write');
    this.bytesPerCall.push(chunk.length);
    callback();
  }
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.log.push('write');
    this.bytesPerCall.push(chunks.reduce((sum, { chunk }) => sum + chunk.length, 0));
    callback();
  }
}

function echoServer(): { socket: RecordingSocket; server: WebSocket } {
  const socket = new RecordingSocket();
  const server = new WebSocket(null as unknown as string);
  server.setSocket(socket, Buffer.alloc(0), {});
  server.on('message', (data: Buffer) => {
    socket.log.push(`message ${data.length}`);
    server.send(data);
  });
  return { socket, server };
}

/** Resolves once `done()` holds, checked after each turn of the loop (the pushed input is read on a later one). */
function settled(socket: RecordingSocket, done: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = (): void => {
      if (done() || socket.destroyed) resolve();
      else setImmediate(check);
    };
    check();
  });
}

describe('the write batch of one read', () => {
  test('the echo of a large message leaves before the next message of the same read is handled', () => {
    const { socket } = echoServer();
    const size = 20 * 1024;
    socket.push(Buffer.concat([clientFrame(randomBytes(size)), clientFrame(randomBytes(size)), clientFrame(randomBytes(size))]));
    // push() delivers on the next tick at the earliest; wait for the three messages.
    return settled(socket, () => socket.log.filter((entry) => entry.startsWith('message')).length === 3 && socket.log.at(-1) === 'write').then(() => {
      expect(socket.log).toEqual([`message ${size}`, 'write', `message ${size}`, 'write', `message ${size}`, 'write']);
      expect(socket.bytesPerCall).toEqual([size + 4, size + 4, size + 4]);
    });
  });

  test('the echoes of many small messages in one read leave in one write', () => {
    const { socket } = echoServer();
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++) frames.push(clientFrame(randomBytes(16)));
    socket.push(Buffer.concat(frames));
    return settled(socket, () => socket.log.includes('write')).then(() => {
      expect(socket.log.filter((entry) => entry === 'write')).toHaveLength(1);
      expect(socket.log.indexOf('write')).toBe(50);
      expect(socket.bytesPerCall).toEqual([50 * 18]);
    });
  });
});
