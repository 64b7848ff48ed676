// The limits of issue #9, attacked for real over loopback: a million 1-byte fragments, a ping flood
// from a client that never reads, a slow reader on a broadcast server, too many connections, silent
// peers (heartbeat), and shutdown() with clients in every state. Memory is measured in a separate
// server process (peak RSS from /proc/self/status), not in the process that runs the attack.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import {
  Cleanups,
  clientFrame,
  closeFrame,
  echoServer,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  portOf,
  RawClient,
  waitFor,
} from './helpers.js';

const MiB = 1024 * 1024;
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** Our server in a child process, with the options given; see fixtures/limits-server.ts. */
class ChildServer {
  readonly lines: string[] = [];
  port = 0;
  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      this.lines.push(...parts);
    });
  }

  static async start(options: object): Promise<ChildServer> {
    const fixture = fileURLToPath(new URL('./fixtures/limits-server.ts', import.meta.url));
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new ChildServer(child);
    cleanups.add(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    await waitFor(() => server.lines.some((l) => l.startsWith('port ')) || child.exitCode !== null, 'the server process to listen', 30_000);
    server.port = Number(server.lines.find((l) => l.startsWith('port '))!.slice(5));
    return server;
  }

  private async ask(command: string, prefix: string): Promise<string> {
    const from = this.lines.length;
    this.child.stdin.write(`${command}\n`);
    await waitFor(() => this.lines.slice(from).some((l) => l.startsWith(prefix)), `"${command}" to be answered`);
    return this.lines.slice(from).find((l) => l.startsWith(prefix))!;
  }

  /** Restart the peak count; returns the current RSS. */
  async resetPeak(): Promise<number> {
    await this.ask('reset', 'reset');
    return Number((await this.ask('rss', 'rss ')).split(' ')[1]);
  }

  /** The peak RSS since the last reset. */
  async peak(): Promise<number> {
    return Number((await this.ask('rss', 'rss ')).split(' ')[2]);
  }
}

describe('limits against hostile clients (server in its own process)', () => {
  test('one million 1-byte fragments: 1008 once maxFragments (131072) is passed, peak RSS growth under 48 MiB', async () => {
    const server = await ChildServer.start({});
    const client = new RawClient(server.port, cleanups);
    await client.handshake();
    const before = await server.resetPeak();

    const BATCH = 10_000;
    const batch = Buffer.concat(Array.from({ length: BATCH }, () => clientFrame(OP_CONT, 'b', { fin: false })));
    client.write(clientFrame(OP_TEXT, 'a', { fin: false }));
    let sent = 1;
    let batches = 0;
    while (sent < 1_000_000 && !client.closed && client.closeCode() === undefined) {
      // Each batch is followed by a ping, and the next one waits for its pong (or the close): the attack
      // goes at the server's pace (a pong only comes once the frames before it were read), bounded in count.
      const tag = Buffer.from(`batch ${++batches}`);
      client.write(Buffer.concat([batch, clientFrame(OP_PING, tag)]));
      sent += BATCH;
      await waitFor(
        () => client.frames.some((f) => f.opcode === OP_PONG && f.payload.equals(tag)) || client.closed || client.closeCode() !== undefined,
        'the pong after the batch',
      );
    }
    await waitFor(() => client.closeCode() !== undefined || client.closed, 'the close frame');
    expect(client.closeCode()).toBe(1008);
    expect(sent).toBeLessThan(1_000_000);
    await client.waitClosed();
    const peak = await server.peak();
    expect(peak - before).toBeLessThan(48 * MiB);
    await waitFor(() => server.lines.includes('error 1008'), 'the server-side error');
  });

  test('a client that floods pings and never reads is terminated; peak RSS growth under 64 MiB', async () => {
    const server = await ChildServer.start({});
    const client = new RawClient(server.port, cleanups);
    await client.handshake();
    const before = await server.resetPeak();
    // Never read again: the server's pongs pile up in the kernel buffers, then in its write queue.
    client.socket.pause();
    const ping = clientFrame(OP_PING, Buffer.alloc(125, 0x70));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    let sent = 0;
    const deadline = Date.now() + 60_000;
    while (sent < 2_000_000 && !client.closed && client.error === null && Date.now() < deadline) {
      client.write(batch);
      sent += 1000;
      await waitFor(() => client.socket.writableLength < batch.length || client.closed || client.error !== null, 'the batch to leave', 30_000);
      if (server.lines.some((l) => l.startsWith('close '))) break;
    }
    // The server terminated it: no close handshake (1006 on its side), and our writes start failing.
    await waitFor(() => server.lines.some((l) => l.startsWith('close ')), 'the server to drop the connection', 30_000);
    expect(server.lines).toContain('close 1006');
    // As `ws`: terminated past maxPendingAutoPongs, without an 'error'.
    expect(server.lines.filter((l) => l.startsWith('error'))).toEqual([]);
    const peak = await server.peak();
    expect(peak - before).toBeLessThan(64 * MiB);
  });
});

describe('maxBufferedAmount: a slow reader on a broadcast server', () => {
  test('the slow reader is dropped at once (1008 error, close 1006) when its queue passes the limit; the fast reader gets everything', async () => {
    // closeTimeout far beyond the test's time: the slow reader must not wait for it.
    const { server, port } = await echoServer(cleanups, { maxBufferedAmount: MiB, closeTimeout: 600_000 });
    const fast = new RawClient(port, cleanups);
    await fast.handshake();
    const slow = new RawClient(port, cleanups);
    await slow.handshake();
    slow.socket.pause(); // reads nothing from now on
    await waitFor(() => server.clients.size === 2, 'both connections');
    const [fastWs, slowWs] = [...server.clients];
    const slowErrors: Array<Error & { closeCode?: number; code?: string }> = [];
    slowWs!.on('error', (error: Error) => slowErrors.push(error));
    // (Not events.once: it would reject on the 'error' that comes first.)
    const slowClosed = new Promise<number>((resolve) => slowWs!.on('close', (code: number) => resolve(code)));

    const message = Buffer.alloc(64 * 1024, 0x42);
    const COUNT = 300; // 19 MiB for each reader
    let maxQueued = 0;
    for (let i = 0; i < COUNT; i++) {
      for (const ws of server.clients) if (ws.readyState === WebSocket.OPEN) ws.send(message);
      if (slowErrors.length === 0) maxQueued = Math.max(maxQueued, slowWs!._socket?.writableLength ?? 0);
      // Broadcast at the fast reader's pace.
      await waitFor(() => fast.frames.length >= i - 8 || fast.closed, 'the fast reader');
    }
    await fast.waitFrames(COUNT);
    expect(fast.frames.filter((f) => f.payload.length === message.length)).toHaveLength(COUNT);
    expect(fastWs!.readyState).toBe(WebSocket.OPEN);

    expect(slowErrors.map((e) => [e.closeCode, e.code])).toEqual([[1008, 'WS_ERR_PROTOCOL_VIOLATION']]);
    expect(slowErrors[0]!.message).toMatch(/maxBufferedAmount/);
    // Before the trip: the limit, plus the largest frame queued (let through whatever its size), plus
    // the frame that crossed the limit.
    expect(maxQueued).toBeLessThanOrEqual(MiB + 2 * (message.length + 10));
    // After it: the socket destroyed, its queue released, without waiting for closeTimeout.
    expect(await slowClosed).toBe(1006);
    expect(slowWs!._socket?.destroyed).toBe(true);
    expect(slowWs!._socket?.writableLength).toBe(0);
    expect(slowWs!.bufferedAmount).toBe(0);
  });
});

describe('maxConnections', () => {
  test('a handshake beyond maxConnections gets 503 and a closed socket; a freed place is reused', async () => {
    const { server, port } = await echoServer(cleanups, { maxConnections: 2 });
    const a = new RawClient(port, cleanups);
    await a.handshake();
    const b = new RawClient(port, cleanups);
    await b.handshake();
    const c = new RawClient(port, cleanups);
    c.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    expect((await c.waitHead()).status).toBe(503);
    await c.waitClosed();
    a.write(closeFrame(1000));
    await a.waitClosed();
    await waitFor(() => server.clients.size === 1, 'the freed place');
    const d = new RawClient(port, cleanups);
    await d.handshake();
    expect(server.clients.size).toBe(2);
  });

  test('an invalid value is refused at construction', () => {
    expect(() => new WebSocketServer({ noServer: true, maxConnections: -1 })).toThrow(TypeError);
    expect(() => new WebSocketServer({ noServer: true, maxBufferedAmount: Number.NaN })).toThrow(TypeError);
    expect(() => new WebSocketServer({ noServer: true, heartbeat: { interval: 0, timeout: 10 } })).toThrow(TypeError);
  });
});

describe('send() backpressure', () => {
  test('send() returns true while the socket keeps up, false above the high-water mark, then "drain" follows', async () => {
    const { server, port } = await echoServer(cleanups);
    const client = new RawClient(port, cleanups);
    await client.handshake();
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    expect(ws!.send('small')).toBe(true);
    await client.waitFrames(1);
    client.socket.pause();
    const chunk = Buffer.alloc(256 * 1024);
    let results: boolean[] = [];
    for (let i = 0; i < 400 && !results.includes(false); i++) results.push(ws!.send(chunk));
    expect(results.at(-1)).toBe(false);
    expect(ws!.bufferedAmount).toBeGreaterThanOrEqual(ws!._socket!.writableHighWaterMark);
    const drained = once(ws!, 'drain');
    client.socket.resume();
    await drained;
    expect(ws!.bufferedAmount).toBeLessThan(ws!._socket!.writableHighWaterMark);
    results = [];
  });
});

describe('heartbeat', () => {
  test('a peer that answers pings stays; one that stops answering is terminated (close 1006)', async () => {
    const { server, port } = await echoServer(cleanups, { heartbeat: { interval: 100, timeout: 150 } });
    const alive = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.add(() => alive.terminate());
    let pings = 0;
    alive.on('ping', () => pings++);
    await once(alive, 'open');

    const silent = new RawClient(port, cleanups);
    await silent.handshake();
    await waitFor(() => server.clients.size === 2, 'both connections');
    const serverSide = [...server.clients].at(-1)!;
    const closed = once(serverSide, 'close');
    await silent.waitClosed(30_000);
    // It was pinged first, and never sent a close frame of its own.
    expect(silent.frames.some((f) => f.opcode === OP_PING)).toBe(true);
    const [code] = await closed;
    expect(code).toBe(1006);

    await waitFor(() => pings >= 3, 'three pings answered by the live client', 30_000);
    expect(alive.readyState).toBe(WebSocket.OPEN);
    expect(server.clients.size).toBe(1);
  });

  test('the client side: a server that goes silent is detected and the client closes with 1006', async () => {
    // A raw server: completes the handshake, then never sends or answers anything.
    const raw = createServer((socket) => {
      socket.once('data', (head: Buffer) => {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1'))![1]!;
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      });
      socket.on('error', () => {});
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    cleanups.add(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(raw)}/`, { perMessageDeflate: false, heartbeat: { interval: 100, timeout: 100 } });
    cleanups.add(() => ws.terminate());
    ws.on('error', () => {});
    await once(ws, 'open');
    const [code] = await once(ws, 'close');
    expect(code).toBe(1006);
  });
});

describe('shutdown()', () => {
  test('clients that answer close with 1001 and the reason; a mid-message one too; one that never answers is terminated', async () => {
    const { server, port } = await echoServer(cleanups);
    const polite = new WebSocket(`ws://127.0.0.1:${port}/`);
    const midMessage = new WebSocket(`ws://127.0.0.1:${port}/`);
    await Promise.all([once(polite, 'open'), once(midMessage, 'open')]);
    midMessage.send('the first half of a message', { fin: false });
    const deaf = new RawClient(port, cleanups);
    await deaf.handshake();
    await waitFor(() => server.clients.size === 3, 'three connections');

    const politeClose = once(polite, 'close');
    const midClose = once(midMessage, 'close');
    const serverClosed = once(server, 'close');
    await server.shutdown({ reason: 'maintenance', timeout: 500 });

    const [politeCode, politeReason] = await politeClose;
    expect([politeCode, String(politeReason)]).toEqual([1001, 'maintenance']);
    const [midCode] = await midClose;
    expect(midCode).toBe(1001);
    // The deaf client got the close frame, never answered, and was cut off at the timeout.
    expect(deaf.closeCode()).toBe(1001);
    expect(deaf.closed).toBe(true);
    await serverClosed;
    expect(server.clients.size).toBe(0);
    // The listener is gone.
    const refused = connect(port, '127.0.0.1');
    const [error] = await once(refused, 'error');
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  test('invalid arguments throw before anything happens', async () => {
    const { server } = await echoServer(cleanups);
    expect(() => server.shutdown({ code: 1005 })).toThrow(TypeError);
    expect(() => server.shutdown({ reason: 'x'.repeat(124) })).toThrow(RangeError);
    expect(server.address()).not.toBeNull();
  });
});
