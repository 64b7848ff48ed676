import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { WebSocket, WebSocketServer } from '../../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function echoServer(options: { maxPayload?: number; path?: string } = {}): Promise<{ server: WebSocketServer; port: number }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(server, 'listening');
  server.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  cleanups.push(() => {
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

/** Send raw bytes, collect everything until the server closes the connection. */
async function rawExchange(port: number, request: Buffer | string): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(request);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

const UPGRADE = [
  'GET /chat HTTP/1.1',
  'Host: 127.0.0.1',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
];
const upgradeRequest = (extra: string[] = [], drop: string[] = []): string =>
  [...UPGRADE.filter((line) => !drop.some((name) => line.startsWith(name))), ...extra, '', ''].join('\r\n');

function maskedFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const out: Buffer[] = [];
  encodeFrame(out, opcode, Buffer.from(payload), fin, false, 0x37fa213d);
  return Buffer.concat(out);
}

function statusOf(response: Buffer): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response.toString('latin1'))?.[1]);
}

describe('rfc6455 server and client over loopback', () => {
  test('our client and our server exchange text and binary messages and close cleanly', async () => {
    const { server, port } = await echoServer();
    const serverClosed = new Promise<number>((resolve) => {
      server.on('connection', (ws: WebSocket) => ws.on('close', (code: number) => resolve(code)));
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}/chat?room=1`);
    await once(client, 'open');
    expect(client.readyState).toBe(WebSocket.OPEN);
    const received: Array<[string, boolean]> = [];
    client.on('message', (data: Buffer, isBinary: boolean) => received.push([data.toString(), isBinary]));
    client.send('héllo wörld');
    client.send(Buffer.from('binary'));
    client.send(new Uint8Array([0x61, 0x62]));
    await new Promise<void>((resolve) => {
      const check = (): void => (received.length === 3 ? resolve() : void client.once('message', check));
      client.once('message', check);
    });
    expect(received).toEqual([
      ['héllo wörld', false],
      ['binary', true],
      ['ab', true],
    ]);
    client.close(1000, 'done');
    const [code, reason] = (await once(client, 'close')) as [number, Buffer];
    expect(code).toBe(1000);
    // The server echoed our code and reason (as ws does).
    expect(reason.toString()).toBe('done');
    expect(await serverClosed).toBe(1000);
    expect(client.readyState).toBe(WebSocket.CLOSED);
  });

  test('the close handshake ends our side of TCP once, also when the peer half-closes after it', async () => {
    const { server, port } = await echoServer();
    const ends: number[] = [];
    let serverSocketClosed!: Promise<unknown>;
    server.on('connection', (ws: WebSocket) => {
      const socket = ws._socket!;
      serverSocketClosed = once(socket, 'close');
      const end = socket.end;
      // A second end() would only build an Error to drop it (ERR_STREAM_ALREADY_FINISHED).
      socket.end = function (this: Socket, ...args: unknown[]) {
        ends.push(this.writableEnded ? 1 : 0);
        return (end as (...a: unknown[]) => Socket).apply(this, args);
      } as Socket['end'];
    });
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => {
      // Once the 101 is in, the close frame, as a client that waits for the handshake would send it.
      if (chunks.push(chunk) === 1) socket.write(maskedFrame(Opcode.Close, Buffer.from([0x03, 0xe8])));
    });
    socket.on('end', () => socket.end()); // the server closes TCP first (RFC 6455 §7.1.1), then us
    socket.write(upgradeRequest());
    await once(socket, 'close');
    await serverSocketClosed;
    const bytes = Buffer.concat(chunks);
    expect(statusOf(bytes)).toBe(101);
    expect([...bytes.subarray(bytes.length - 4)]).toEqual([0x88, 0x02, 0x03, 0xe8]);
    expect(ends).toEqual([0]);
  });

  test('a 4 MiB message round-trips intact', async () => {
    const { port } = await echoServer();
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(client, 'open');
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    client.send(payload);
    const [data] = (await once(client, 'message')) as [Buffer];
    expect(data.equals(payload)).toBe(true);
    client.terminate();
  });

  test('the ws client talks to our server', async () => {
    const { port } = await echoServer();
    const client = new WsWebSocket(`ws://127.0.0.1:${port}/`, ['chat', 'superchat']);
    await once(client, 'open');
    expect(client.protocol).toBe('chat');
    client.send('from ws');
    const [data, isBinary] = (await once(client, 'message')) as [Buffer, boolean];
    expect([data.toString(), isBinary]).toEqual(['from ws', false]);
    client.close(4000, 'bye');
    const [code] = (await once(client, 'close')) as [number];
    expect(code).toBe(4000);
  });

  test('our client talks to the ws server', async () => {
    const server = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const port = (server.address() as { port: number }).port;
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(client, 'open');
    client.send('to ws');
    const [data, isBinary] = (await once(client, 'message')) as [Buffer, boolean];
    expect([data.toString(), isBinary]).toEqual(['to ws', false]);
    client.close();
    const [code] = (await once(client, 'close')) as [number];
    expect(code).toBe(1005);
  });

  test('frames sent in the same packet as the handshake are not lost', async () => {
    const { port } = await echoServer();
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.write(Buffer.concat([Buffer.from(upgradeRequest()), maskedFrame(Opcode.Text, 'early')]));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (Buffer.concat(chunks).includes('early')) resolve();
        else socket.once('data', check);
      };
      socket.once('data', check);
    });
    const response = Buffer.concat(chunks).toString('latin1');
    expect(response).toContain('HTTP/1.1 101 Switching Protocols\r\n');
    expect(response).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    socket.destroy();
  });

  test('a protocol violation gets a close frame with 1002 and the connection ends, with no error listener', async () => {
    const { port } = await echoServer();
    const unmasked: Buffer[] = [];
    encodeFrame(unmasked, Opcode.Text, Buffer.from('x'), true, false, null);
    const response = await rawExchange(port, Buffer.concat([Buffer.from(upgradeRequest()), ...unmasked]));
    const head = response.indexOf('\r\n\r\n') + 4;
    const frame = response.subarray(head);
    expect(frame[0]).toBe(0x88);
    expect(frame[1]).toBe(2);
    expect(frame.readUInt16BE(2)).toBe(1002);
  });

  test('invalid UTF-8 gets 1007 and an oversized message 1009', async () => {
    const { port } = await echoServer({ maxPayload: 10 });
    const bad = await rawExchange(port, Buffer.concat([Buffer.from(upgradeRequest()), maskedFrame(Opcode.Text, Buffer.from([0xc0, 0xaf]))]));
    expect(bad.subarray(bad.indexOf('\r\n\r\n') + 4).readUInt16BE(2)).toBe(1007);
    const big = await rawExchange(port, Buffer.concat([Buffer.from(upgradeRequest()), maskedFrame(Opcode.Binary, Buffer.alloc(11))]));
    expect(big.subarray(big.indexOf('\r\n\r\n') + 4).readUInt16BE(2)).toBe(1009);
  });

  test.each([
    ['a plain HTTP request', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 426],
    ['a wrong version', upgradeRequest(['Sec-WebSocket-Version: 7'], ['Sec-WebSocket-Version']), 400],
    ['a missing key', upgradeRequest([], ['Sec-WebSocket-Key']), 400],
    ['a short key', upgradeRequest(['Sec-WebSocket-Key: AAAA'], ['Sec-WebSocket-Key']), 400],
    ['a missing Host', upgradeRequest([], ['Host']), 400],
    ['a POST', upgradeRequest().replace('GET', 'POST'), 405],
    ['a garbage request line', 'HELLO\r\n\r\n', 400],
    ['an oversized head', upgradeRequest([`X-Big: ${'a'.repeat(8000)}`, `X-Big2: ${'a'.repeat(8000)}`, `X-Big3: ${'a'.repeat(8000)}`]), 431],
  ])('%s gets its HTTP status and a closed socket', async (_name, request, status) => {
    const { port } = await echoServer();
    const response = await rawExchange(port, request);
    expect(statusOf(response)).toBe(status);
    expect(response.toString('latin1')).toMatch(/\r\nConnection: (Upgrade, )?close\r\n/i);
    if (request.includes('Version: 7')) {
      expect(response.toString('latin1')).toMatch(/\r\nSec-WebSocket-Version: 13, 8\r\n/i);
    }
  });

  test('a request for another path gets 400', async () => {
    const { port } = await echoServer({ path: '/ws' });
    const response = await rawExchange(port, upgradeRequest());
    expect(statusOf(response)).toBe(400);
  });

  test('a failed client handshake emits error then close 1006', async () => {
    const { port } = await echoServer({ path: '/only-here' });
    const client = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    const errors: Error[] = [];
    client.on('error', (error: Error) => errors.push(error));
    const code = await new Promise<number>((resolve) => client.on('close', resolve));
    expect(code).toBe(1006);
    expect(errors[0]?.message).toBe('Unexpected server response: 400');
  });

  test('close() validates its arguments', async () => {
    const { port } = await echoServer();
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(client, 'open');
    expect(() => client.close(1005)).toThrow(TypeError);
    expect(() => client.close(999)).toThrow(TypeError);
    expect(() => client.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    client.close(1000);
    await once(client, 'close');
  });

  test('invalid client URLs throw SyntaxError', () => {
    expect(() => new WebSocket('ftp://example.com')).toThrow(SyntaxError);
    expect(() => new WebSocket('not a url')).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://example.com/#frag')).toThrow(SyntaxError);
  });
});
