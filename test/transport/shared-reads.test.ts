// Sockets we create read into one buffer shared by every connection of the process
// (src/transport/shared-reads.ts): what a socket keeps must never change when another read lands.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, Socket, type Socket as NetSocket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { readsShared, shareReads } from '../../src/transport/shared-reads.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type Mode = 'standalone' | 'http.Server' | 'https.Server';

/** A server on 127.0.0.1: our own listener, or attached to an http(s).Server (`{ server }`). */
async function listen(mode: Mode = 'standalone'): Promise<{ server: WebSocketServer; port: number; url: string }> {
  let server: WebSocketServer;
  if (mode === 'standalone') {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
  } else {
    const http =
      mode === 'http.Server'
        ? createHttpServer()
        : createHttpsServer({
            cert: readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url)),
            key: readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url)),
          });
    server = new WebSocketServer({ server: http });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
  }
  cleanups.push(() => {
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, url: `${mode === 'https.Server' ? 'wss' : 'ws'}://127.0.0.1:${address.port}` };
}
const standalone = (): ReturnType<typeof listen> => listen('standalone');
const MODES: readonly Mode[] = ['standalone', 'http.Server'];

async function openClient(url: string): Promise<WebSocket> {
  const client = new WebSocket(url);
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  return client;
}

/** Deterministic bytes: message `index` of client `owner`, `size` long. */
function payload(owner: number, index: number, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  let state = (owner * 7919 + index * 104729 + size) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const UPGRADE =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function maskedFrame(opcode: number, data: Buffer | string): Buffer {
  const out: Buffer[] = [];
  encodeFrame(out, opcode, Buffer.from(data), true, false, 0x5ac3e117);
  return Buffer.concat(out);
}

describe('shared reads', () => {
  test.each(MODES)('the %s server and the ws:// client read into the shared buffer, not through data events', async (mode) => {
    const { server, url } = await listen(mode);
    const accepted = once(server, 'connection');
    const client = await openClient(url);
    const [serverSide] = (await accepted) as [WebSocket];
    for (const ws of [client, serverSide]) {
      const socket = (ws as unknown as { _socket: NetSocket })._socket;
      expect(readsShared(socket)).toBe(true);
      expect(socket.listenerCount('data')).toBe(0);
    }
  });

  test.each(MODES)('%s: messages kept by many connections at once are never overwritten by later reads', async (mode) => {
    const { server, url } = await listen(mode);
    const kept: Buffer[][] = [];
    server.on('connection', (ws: WebSocket) => {
      const mine: Buffer[] = [];
      kept.push(mine);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        mine.push(data);
        ws.send(data, { binary: isBinary });
      });
    });
    const sizes = [1, 16, 125, 126, 1000, 4096, 20_000, 65_535, 65_536, 70_000, 300_000, 16, 1];
    const clients = await Promise.all(Array.from({ length: 6 }, () => openClient(url)));
    const echoes = await Promise.all(
      clients.map(async (client, owner) => {
        const got: Buffer[] = [];
        const done = new Promise<void>((resolve) => {
          client.on('message', (data: Buffer) => {
            got.push(data);
            if (got.length === sizes.length) resolve();
          });
        });
        sizes.forEach((size, index) => client.send(payload(owner, index, size)));
        await done;
        return got;
      }),
    );
    // Checked only now, after every connection's reads went through the same buffer.
    echoes.forEach((got, owner) => {
      got.forEach((data, index) => expect(data.equals(payload(owner, index, sizes[index]!))).toBe(true));
    });
    const all = kept.flat();
    expect(all).toHaveLength(sizes.length * clients.length);
    for (const owner of clients.keys()) {
      for (const [index, size] of sizes.entries()) {
        const expected = payload(owner, index, size);
        expect(all.some((data) => data.equals(expected))).toBe(true);
      }
    }
  });

  test.each(MODES)('%s: frames that came with the handshake wait for the connection listener, and for resume() when paused', async (mode) => {
    const { server, port } = await listen(mode);
    const messages: string[] = [];
    let paused: WebSocket | undefined;
    server.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer) => messages.push(data.toString()));
      ws.pause();
      paused = ws;
    });
    const raw = connect(port, '127.0.0.1');
    cleanups.push(() => void raw.destroy());
    raw.on('error', () => {});
    // The request head and a first frame in one write: the server reads them together.
    raw.write(Buffer.concat([Buffer.from(UPGRADE), maskedFrame(Opcode.Text, 'with the head')]));
    await once(server, 'connection');
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages).toEqual([]);
    const delivered = new Promise((resolve) => paused!.once('message', resolve));
    paused!.resume();
    await delivered;
    expect(messages).toEqual(['with the head']);
  });

  test('the server closes only after its last connection ends', async () => {
    const { server, url } = await standalone();
    const client = await openClient(url);
    let closed = false;
    const serverClosed = new Promise<void>((resolve) =>
      server.close(() => {
        closed = true;
        resolve();
      }),
    );
    // A round trip on the open connection: the server is still there, and not closed.
    client.ping();
    await once(client, 'pong');
    expect(closed).toBe(false);
    client.close();
    await serverClosed;
    expect(closed).toBe(true);
  });

  test('an upgraded socket that already holds unread bytes stays on the data path, and nothing is lost', async () => {
    const http = createHttpServer();
    const server = new WebSocketServer({ noServer: true });
    const messages: string[] = [];
    let upgraded: () => void = () => {};
    const sawUpgrade = new Promise<void>((resolve) => (upgraded = resolve));
    const connected = new Promise<WebSocket>((resolve) => {
      http.on('upgrade', async (req, socket: NetSocket, head: Buffer) => {
        upgraded();
        // Hand it over only once Node has read the frame the client sends next (an application that
        // checks something before handleUpgrade): the frame sits in the socket's own buffer.
        for (let turn = 0; turn < 10_000 && socket.readableLength === 0; turn++) await new Promise((r) => setImmediate(r));
        expect(socket.readableLength).toBeGreaterThan(0);
        server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          ws.on('message', (data: Buffer) => messages.push(data.toString()));
          resolve(ws);
        });
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const address = http.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const raw = connect(address.port, '127.0.0.1');
    cleanups.push(() => void raw.destroy());
    raw.on('error', () => {});
    raw.write(UPGRADE);
    await sawUpgrade;
    raw.write(maskedFrame(Opcode.Text, 'early'));
    const ws = await connected;
    cleanups.push(() => ws.terminate());
    expect(readsShared((ws as unknown as { _socket: NetSocket })._socket)).toBe(false);
    const both = new Promise<void>((resolve) => ws.on('message', () => messages.length === 2 && resolve()));
    raw.write(maskedFrame(Opcode.Text, 'later'));
    await both;
    expect(messages).toEqual(['early', 'later']);
  });

  test('a wss:// connection (TLS, from an https.Server) keeps reading through data events', async () => {
    const { server, url } = await listen('https.Server');
    const accepted = once(server, 'connection');
    const client = new WebSocket(url, { rejectUnauthorized: false });
    cleanups.push(() => client.terminate());
    await once(client, 'open');
    const [serverSide] = (await accepted) as [WebSocket];
    for (const ws of [client, serverSide]) {
      expect(readsShared((ws as unknown as { _socket: NetSocket })._socket)).toBe(false);
    }
    const echoed = new Promise<Buffer>((resolve) => client.once('message', resolve));
    serverSide.on('message', (data: Buffer) => serverSide.send(data));
    client.send(Buffer.alloc(100_000, 0x5a));
    expect((await echoed).equals(Buffer.alloc(100_000, 0x5a))).toBe(true);
  });

  test('shareReads leaves alone a socket it cannot switch: no handle, or one that is already reading', async () => {
    const receiver = { onSharedRead: (): void => {} };
    const unconnected = new Socket();
    expect(shareReads(unconnected, receiver)).toBe(false);
    expect(readsShared(unconnected)).toBe(false);

    // Accepted without pauseOnConnect: it reads at once, through 'data'.
    const accepted = new Promise<NetSocket>((resolve) => {
      const listener = createServer((socket) => resolve(socket));
      cleanups.push(() => new Promise<void>((resolve) => listener.close(() => resolve())));
      listener.listen(0, '127.0.0.1', () => {
        const address = listener.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        const client = connect(address.port, '127.0.0.1');
        client.on('error', () => {});
        cleanups.push(() => void client.destroy());
      });
    });
    const socket = await accepted;
    cleanups.push(() => void socket.destroy());
    expect(shareReads(socket, receiver)).toBe(false);
    expect(readsShared(socket)).toBe(false);
  });
});
