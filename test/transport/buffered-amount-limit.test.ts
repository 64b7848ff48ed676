// maxBufferedAmount against peers that stop reading, over real loopback connections: when it trips the
// connection ends at once and what was queued for it is released (not kept for closeTimeout), every
// send callback gets its error once; and its default lets a message of any size go to a peer that reads.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { DEFAULT_MAX_BUFFERED_AMOUNT } from '../../src/transport/socket-transport.js';
import { Cleanups, echoServer, RawClient, waitFor } from '../hardening/helpers.js';

const MiB = 1024 * 1024;
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** ArrayBuffer memory of this process after a full collection. */
function arrayBuffers(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** What the application saw on one server-side socket. */
interface Seen {
  errors: Array<Error & { closeCode?: number; code?: string }>;
  closeCode: number | null;
  callbacks: Array<Error | null | undefined>;
}

function watch(ws: WebSocket): Seen {
  const seen: Seen = { errors: [], closeCode: null, callbacks: [] };
  ws.on('error', (error: Error) => seen.errors.push(error));
  ws.on('close', (code: number) => {
    seen.closeCode = code;
  });
  return seen;
}

describe('maxBufferedAmount: peers that stop reading', () => {
  test('50 stalled readers are dropped at once when their queues pass 1 MiB: queues released, memory back, callbacks failed once', async () => {
    const CLIENTS = 50;
    // closeTimeout far beyond the test: nothing may wait for a closing handshake.
    const { server, port } = await echoServer(cleanups, { maxBufferedAmount: MiB, closeTimeout: 600_000 });
    const clients: RawClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const client = new RawClient(port, cleanups);
      await client.handshake();
      client.socket.pause(); // never reads again: only the handshake completed
      clients.push(client);
    }
    await waitFor(() => server.clients.size === CLIENTS, 'every connection');
    const sockets = [...server.clients];
    const seen = sockets.map(watch);
    const before = arrayBuffers();

    // Each send gets its own 64 KiB buffer (a shared one would be queued by reference and cost nothing).
    let maxQueued = 0;
    let sends = 0;
    for (let round = 0; round < 2000 && sockets.some((ws) => ws.readyState === WebSocket.OPEN); round++) {
      sockets.forEach((ws, i) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        sends++;
        ws.send(Buffer.alloc(64 * 1024, round), (error) => seen[i]!.callbacks.push(error));
      });
      maxQueued = Math.max(maxQueued, sockets.reduce((sum, ws) => sum + ws.bufferedAmount, 0));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => seen.every((s) => s.closeCode !== null), 'every connection to close');
    // Callbacks arrive on later ticks: wait until each send has had its one.
    await waitFor(() => seen.reduce((n, s) => n + s.callbacks.length, 0) >= sends, 'every send callback');
    await new Promise((resolve) => setTimeout(resolve, 50));

    for (const s of seen) {
      expect(s.errors.map((e) => [e.closeCode, e.code])).toEqual([[1008, 'WS_ERR_PROTOCOL_VIOLATION']]);
      expect(s.closeCode).toBe(1006);
      // The sends that could not go out failed (at least the one left in the queue at the trip).
      expect(s.callbacks.filter((e) => e instanceof Error).length).toBeGreaterThan(0);
    }
    expect(seen.reduce((n, s) => n + s.callbacks.length, 0)).toBe(sends);
    for (const ws of sockets) {
      expect(ws._socket?.destroyed).toBe(true);
      expect(ws.bufferedAmount).toBe(0);
    }
    // The queues did hold memory (more than half the 50 limits at once, outside the kernel's buffers)...
    expect(maxQueued).toBeGreaterThan((CLIENTS * MiB) / 2);
    // ...and it is back: less than a quarter of those 50 MiB remain (closeTimeout has not run).
    const after = arrayBuffers();
    expect(after - before).toBeLessThan((CLIENTS * MiB) / 4);
    // The peers, reading again, see their connections end (after what the kernel held, no close frame).
    for (const client of clients) client.socket.resume();
    await waitFor(() => clients.every((c) => c.closed || c.error !== null), 'the peers to see the end');
  });

  test('the default (16 MiB) lets one larger message go to a stalled reader, then trips past 16 MiB more', async () => {
    expect(DEFAULT_MAX_BUFFERED_AMOUNT).toBe(16 * MiB);
    const { server, port } = await echoServer(cleanups, { closeTimeout: 600_000 });
    const client = new RawClient(port, cleanups);
    await client.handshake();
    client.socket.pause();
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    const seen = watch(ws!);
    ws!.send(Buffer.alloc(24 * MiB, 1));
    expect(ws!.readyState).toBe(WebSocket.OPEN);
    const chunk = Buffer.alloc(MiB, 2);
    let sent = 0;
    while (ws!.readyState === WebSocket.OPEN && sent < 64) {
      ws!.send(chunk);
      sent++;
    }
    expect(seen.errors.map((e) => e.closeCode)).toEqual([1008]);
    // 16 MiB beyond the 24 MiB message (the kernel took some of it): never more than 17 further sends.
    expect(sent).toBeGreaterThan(8);
    expect(sent).toBeLessThanOrEqual(17);
    await waitFor(() => seen.closeCode !== null, 'the close');
    expect(seen.closeCode).toBe(1006);
  });

  test('a 100 MiB message, then more, go to a peer that reads, under the default limit', async () => {
    const { server, port } = await echoServer(cleanups);
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 0 });
    cleanups.add(() => client.terminate());
    const received: number[] = [];
    client.on('message', (data: Buffer) => received.push(data.length));
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    const seen = watch(ws!);
    const errors: Array<Error | null | undefined> = [];
    ws!.send(Buffer.alloc(100 * MiB, 3), (error) => errors.push(error));
    for (let i = 0; i < 4; i++) ws!.send(Buffer.alloc(MiB, 4), (error) => errors.push(error));
    await waitFor(() => received.length === 5 || seen.closeCode !== null, 'the messages', 60_000);
    expect(received).toEqual([100 * MiB, MiB, MiB, MiB, MiB]);
    await waitFor(() => errors.length === 5, 'the callbacks');
    expect(errors.every((e) => e === undefined || e === null)).toBe(true);
    expect(seen.errors).toEqual([]);
    expect(ws!.readyState).toBe(WebSocket.OPEN);
  }, 60_000);

  test('0 turns the limit off, as in ws: a stalled reader keeps its queue', async () => {
    const { server, port } = await echoServer(cleanups, { maxBufferedAmount: 0 });
    const client = new RawClient(port, cleanups);
    await client.handshake();
    client.socket.pause();
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    const seen = watch(ws!);
    const chunk = Buffer.alloc(MiB, 5);
    for (let i = 0; i < 40; i++) ws!.send(chunk);
    expect(seen.errors).toEqual([]);
    expect(ws!.readyState).toBe(WebSocket.OPEN);
    expect(ws!.bufferedAmount).toBeGreaterThan(16 * MiB);
  });

  test("a client's default is unlimited, as in ws: 40 MiB pushed in a loop to a server that is not reading all arrive", async () => {
    const { server, port } = await echoServer(cleanups);
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    cleanups.add(() => client.terminate());
    const clientErrors: Error[] = [];
    client.on('error', (error: Error) => clientErrors.push(error));
    await new Promise((resolve) => client.once('open', resolve));
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    ws!.pause(); // the server stops reading for a while
    ws!.removeAllListeners('message');
    let received = 0;
    ws!.on('message', () => received++);
    const chunk = Buffer.alloc(MiB, 6);
    for (let i = 0; i < 40; i++) client.send(chunk);
    expect(client.bufferedAmount).toBeGreaterThan(DEFAULT_MAX_BUFFERED_AMOUNT);
    expect(client.readyState).toBe(WebSocket.OPEN);
    ws!.resume();
    await waitFor(() => received === 40, 'the 40 messages', 60_000);
    expect(clientErrors).toEqual([]);
    expect(client.readyState).toBe(WebSocket.OPEN);
  }, 60_000);

  test("published messages to a stalled subscriber are skipped (maxBackpressure, 1 MiB) before the default maxBufferedAmount would drop it", async () => {
    const { server, port } = await echoServer(cleanups);
    const client = new RawClient(port, cleanups);
    await client.handshake();
    client.socket.pause();
    await waitFor(() => server.clients.size === 1, 'the connection');
    const [ws] = [...server.clients];
    const seen = watch(ws!);
    ws!.subscribe('t');
    let dropped = 0;
    ws!.on('dropped', () => dropped++);
    const chunk = Buffer.alloc(256 * 1024, 6);
    for (let i = 0; i < 200; i++) {
      server.publish('t', chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // 50 MiB published: most of it skipped, the queue within 1 MiB plus one message, the connection kept.
    expect(dropped).toBeGreaterThan(100);
    expect(ws!.bufferedAmount).toBeLessThanOrEqual(MiB + chunk.length + 10);
    expect(seen.errors).toEqual([]);
    expect(ws!.readyState).toBe(WebSocket.OPEN);
  });

  test('an invalid value is refused when given', () => {
    expect(() => new WebSocketServer({ noServer: true, maxBufferedAmount: -1 })).toThrow(TypeError);
  });
});
