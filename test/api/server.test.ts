// WebSocketServer behavior of our own (beyond what ws defines), and the safety rules of the upgrade path.
import { once } from 'node:events';
import { createServer as createHttpServer, IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { HandshakeError } from '../../src/handshake/handshake-error.js';
import { WebSocketServer, type WebSocketServerOptions } from '../../src/api/server.js';
import { foldHeaders, requestHeadOf, StandaloneRequest } from '../../src/api/upgrade-request.js';
import { WebSocket } from '../../src/api/websocket.js';
import { Cleanups, closeSocket, portOf, rawRequest, upgradeRequest } from './server-helpers.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function standalone(options: Omit<WebSocketServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.add(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { wss, port: portOf(wss.address()) };
}

/**
 * A noServer WebSocketServer behind a real http server; what handleUpgrade throws (application
 * misuse) is collected instead of crashing the test.
 */
async function behindHttp(options: Omit<WebSocketServerOptions, 'noServer'> = {}) {
  const wss = new WebSocketServer({ noServer: true, ...options });
  const http: HttpServer = createHttpServer((_req, res) => res.end('plain'));
  const thrown: Error[] = [];
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      wss.handleUpgrade(req, socket, head, (ws, request) => wss.emit('connection', ws, request));
    } catch (error) {
      thrown.push(error as Error);
    }
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.add(async () => {
    for (const ws of wss.clients) ws.terminate();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { wss, http, port: portOf(http.address()), thrown };
}

async function rawUpgrade(port: number, path = '/', extra: string[] = [], drop: string[] = []) {
  const response = await rawRequest(port, upgradeRequest(path, extra, drop));
  cleanups.add(() => closeSocket(response.socket));
  return response;
}

function maskedText(text: string): Buffer {
  const out: Buffer[] = [];
  encodeFrame(out, Opcode.Text, Buffer.from(text), true, false, 0x12345678);
  return Buffer.concat(out);
}

describe('upgrade-request: IncomingMessage-shaped requests', () => {
  test('foldHeaders folds like node:http, on a null-prototype object', () => {
    const headers = foldHeaders(
      new Map([
        ['x-list', ['a', 'b']],
        ['cookie', ['a=1', 'b=2']],
        ['set-cookie', ['q=1']],
        ['host', ['first', 'second']],
        ['__proto__', ['p']],
        ['constructor', ['c']],
      ]),
    );
    expect(Object.getPrototypeOf(headers)).toBeNull();
    expect({ ...headers }).toEqual({
      'x-list': 'a, b',
      cookie: 'a=1; b=2',
      'set-cookie': ['q=1'],
      host: 'first',
      ['__proto__']: 'p',
      constructor: 'c',
    });
    expect(Object.keys(headers)).toContain('__proto__');
  });

  test('requestHeadOf rebuilds the head of an IncomingMessage-like object from rawHeaders', () => {
    const head = requestHeadOf({
      method: 'GET',
      url: '/x',
      httpVersion: '1.1',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      headers: {},
      headersDistinct: {},
      rawHeaders: ['Host', 'h', 'X-A', '1', 'x-a', '2'],
      socket: undefined as unknown as Socket,
      connection: undefined as unknown as Socket,
    });
    expect(head).toEqual({
      method: 'GET',
      target: '/x',
      version: '1.1',
      headers: new Map([
        ['host', ['h']],
        ['x-a', ['1', '2']],
      ]),
      rawHeaders: ['Host', 'h', 'X-A', '1', 'x-a', '2'],
    });
  });

  test('a StandaloneRequest keeps the parsed head and builds headersDistinct lazily', () => {
    const parsed = {
      method: 'GET',
      target: '/t',
      version: '1.1',
      headers: new Map([['set-cookie', ['a', 'b']]]),
      rawHeaders: ['Set-Cookie', 'a', 'Set-Cookie', 'b'],
    };
    const socket = {} as Socket;
    const req = new StandaloneRequest(parsed, socket);
    expect(requestHeadOf(req)).toBe(parsed);
    expect(req.headers['set-cookie']).toEqual(['a', 'b']);
    expect(Object.getPrototypeOf(req.headersDistinct)).toBeNull();
    expect(req.headersDistinct['set-cookie']).toEqual(['a', 'b']);
    expect(req.headersDistinct).toBe(req.headersDistinct);
    expect(req.connection).toBe(socket);
    // headers: built once on first read, and assignable as on IncomingMessage.
    expect(req.headers).toBe(req.headers);
    req.headers = { host: 'replaced' };
    expect(req.headers).toEqual({ host: 'replaced' });
    expect(requestHeadOf(req)).toBe(parsed);
    // The kept head is private: no key of its own beyond what node:http's IncomingMessage has.
    const plain = Object.keys(new IncomingMessage(socket));
    expect(Object.keys(req).filter((key) => !plain.includes(key))).toEqual([]);
    expect(req).toBeInstanceOf(IncomingMessage);
  });
});

describe('WebSocketServer (rfc6455)', () => {
  test('standalone: a header named __proto__ is an ordinary key of req.headers', async () => {
    const { wss, port } = await standalone();
    const connected = once(wss, 'connection');
    await rawUpgrade(port, '/', ['__proto__: p', 'Set-Cookie: a', 'Set-Cookie: b']);
    const [, req] = await connected;
    expect(Object.getPrototypeOf(req.headers)).toBeNull();
    expect(req.headers['__proto__']).toBe('p');
    expect(req.headers['set-cookie']).toEqual(['a', 'b']);
  });

  test('standalone: a connection that never completes its request is destroyed after handshakeTimeout', async () => {
    const { wss, port } = await standalone({ handshakeTimeout: 20 });
    let connections = 0;
    wss.on('connection', () => connections++);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await once(socket, 'close');
    expect(connections).toBe(0);
  });

  test('standalone: a reset in the middle of the request head throws nothing and the server goes on', async () => {
    const { wss, port } = await standalone();
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    for (let i = 0; i < 3; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgr');
      socket.resetAndDestroy();
      await once(socket, 'close');
    }
    expect((await rawUpgrade(port)).status).toBe(101);
    expect(errors).toEqual([]);
  });

  test('a socket gone while an async verifyClient decides gets no connection, and nothing throws', async () => {
    let verifying: (value: { done: (ok: boolean) => void; socket: Socket }) => void = () => {};
    const asked = new Promise<{ done: (ok: boolean) => void; socket: Socket }>((resolve) => (verifying = resolve));
    const { wss, port } = await standalone({ verifyClient: (info, done) => verifying({ done, socket: info.req.socket }) });
    let connections = 0;
    wss.on('connection', () => connections++);
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    cleanups.add(() => closeSocket(client));
    client.write(upgradeRequest());
    const { done, socket } = await asked;
    socket.destroy();
    expect(() => done(true)).not.toThrow();
    expect(connections).toBe(0);
    await once(client, 'close');
  });

  test('bytes sent right behind the request (while verifyClient decides) are the first frames', async () => {
    const { wss, port } = await standalone({ verifyClient: (_info, done) => setImmediate(() => done(true)) });
    const message = new Promise<string>((resolve) => {
      wss.on('connection', (ws) => ws.on('message', (data: Buffer) => resolve(String(data))));
    });
    const response = await rawRequest(port, Buffer.concat([Buffer.from(upgradeRequest()), maskedText('pipelined')]));
    cleanups.add(() => closeSocket(response.socket));
    expect(response.status).toBe(101);
    expect(await message).toBe('pipelined');
  });

  test.each([
    ['standalone', false],
    ['behind node:http', true],
  ])('%s: frames sent while an async verifyClient decides (more than it buffers) all arrive, in order', async (_name, viaHttp) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const verifyClient = (_info: unknown, done: (ok: boolean) => void): void => void released.then(() => done(true));
    const { wss, port } = viaHttp ? await behindHttp({ verifyClient }) : await standalone({ verifyClient });
    const COUNT = 40;
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      wss.on('connection', (ws) =>
        ws.on('message', (data: Buffer) => {
          received.push(String(data).slice(0, 8));
          if (received.length === COUNT) resolve();
        }),
      );
    });
    const frames = Array.from({ length: COUNT }, (_, i) => maskedText(String(i).padStart(8, '0') + 'x'.repeat(4096)));
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    cleanups.add(() => closeSocket(client));
    client.write(Buffer.concat([Buffer.from(upgradeRequest()), ...frames]), () => release());
    await all;
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => String(i).padStart(8, '0')));
  });

  test.each([
    ['standalone', false],
    ['behind node:http', true],
  ])('%s: an HTTP/1.0 upgrade gets 505', async (_name, viaHttp) => {
    const port = viaHttp ? (await behindHttp()).port : (await standalone()).port;
    const response = await rawRequest(port, upgradeRequest().replace('HTTP/1.1', 'HTTP/1.0'));
    expect(response.status).toBe(505);
  });

  test.each([
    ['standalone', false],
    ['behind node:http', true],
  ])('%s: an unknown version gets 400 with Sec-WebSocket-Version: 13, 8', async (_name, viaHttp) => {
    const port = viaHttp ? (await behindHttp()).port : (await standalone()).port;
    const response = await rawRequest(port, upgradeRequest('/', ['Sec-WebSocket-Version: 7'], ['Sec-WebSocket-Version']));
    expect(response.status).toBe(400);
    expect(response.headers.get('sec-websocket-version')).toEqual(['13, 8']);
    expect(response.body).toBe('Missing or invalid Sec-WebSocket-Version header');
  });

  test('behind node:http: a POST upgrade gets 405 with Allow: GET', async () => {
    const { port } = await behindHttp();
    const response = await rawRequest(port, upgradeRequest().replace('GET', 'POST'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toEqual(['GET']);
  });

  test('wsClientError receives the HandshakeError with its status', async () => {
    const { wss, port } = await behindHttp();
    const errors: HandshakeError[] = [];
    wss.on('wsClientError', (error, socket) => {
      errors.push(error);
      socket.destroy();
    });
    await rawRequest(port, upgradeRequest().replace('GET', 'PUT')).catch(() => undefined);
    expect(errors[0]).toBeInstanceOf(HandshakeError);
    expect(errors[0].status).toBe(405);
  });

  test('standalone: a malformed head is answered by the server even with a wsClientError listener', async () => {
    const { wss, port } = await standalone();
    let events = 0;
    wss.on('wsClientError', () => events++);
    const response = await rawRequest(port, 'GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    expect(response.status).toBe(400);
    expect(events).toBe(0);
  });

  test('handleProtocols answering a protocol the client did not offer: 500, a TypeError to the error event, nothing thrown', async () => {
    const { wss, port, thrown } = await behindHttp({ handleProtocols: () => 'invented' });
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    expect((await rawRequest(port, upgradeRequest('/', ['Sec-WebSocket-Protocol: chat']))).status).toBe(500);
    expect(thrown).toEqual([]);
    expect(errors[0]).toBeInstanceOf(TypeError);
  });

  test.each([
    ['a changed handshake line', (headers: string[]) => (headers[1] = 'Upgrade: h2c')],
    ['a line without a colon', (headers: string[]) => headers.push('NoColon')],
    ['CRLF injection', (headers: string[]) => headers.push('X-A: 1\r\nX-Injected: 2')],
    ['a second Sec-WebSocket-Accept', (headers: string[]) => headers.push('Sec-WebSocket-Accept: forged')],
    ['a name that is not a token', (headers: string[]) => headers.push('Bad Name: x')],
  ])('a headers listener adding %s: 500 and a TypeError to the error event', async (_name, edit) => {
    const { wss, port, thrown } = await behindHttp();
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    wss.on('headers', (headers) => {
      edit(headers);
    });
    expect((await rawRequest(port, upgradeRequest())).status).toBe(500);
    expect(thrown).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
  });

  test('a headers listener line is trimmed of optional whitespace', async () => {
    const { wss, port } = await standalone();
    wss.on('headers', (headers) => headers.push('X-Spaced:   padded value \t'));
    const response = await rawUpgrade(port);
    expect(response.headers.get('x-spaced')).toEqual(['padded value']);
  });

  test('verifyClient: an invalid status is the application misuse and throws RangeError (the peer gets 500)', async () => {
    const errors: Error[] = [];
    const { port } = await standalone({
      verifyClient: (_info, done) => {
        try {
          done(false, 42);
        } catch (error) {
          errors.push(error as Error);
        }
      },
    });
    await rawRequest(port, upgradeRequest()).catch(() => undefined);
    expect(errors[0]).toBeInstanceOf(RangeError);
  });

  test('verifyClient: headers that frame the response are ours, a list gives one line per value', async () => {
    const { port } = await standalone({
      verifyClient: (_info, done) =>
        done(false, 429, 'slow down', { 'Content-Length': 99999, Connection: 'keep-alive', 'Set-Cookie': ['a=1', 'b=2'] }),
    });
    const response = await rawUpgrade(port);
    expect(response.status).toBe(429);
    expect(response.headers.get('content-length')).toEqual(['9']);
    expect(response.headers.get('connection')).toEqual(['close']);
    expect(response.headers.get('set-cookie')).toEqual(['a=1', 'b=2']);
    expect(response.body).toBe('slow down');
  });

  test('verifyClient: info.req is the IncomingMessage behind node:http; the callback is honored once', async () => {
    const infos: unknown[] = [];
    let again: (() => void) | undefined;
    const { wss, port } = await behindHttp({
      verifyClient: (info, done) => {
        infos.push(info.req);
        done(true);
        again = () => done(false, 500);
      },
    });
    const connected = once(wss, 'connection');
    const ws = new WsWebSocket(`ws://127.0.0.1:${port}/v`);
    cleanups.add(() => ws.terminate());
    await once(ws, 'open');
    const [, req] = await connected;
    expect(infos[0]).toBe(req);
    expect(infos[0]).toHaveProperty('complete');
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    again!();
    expect(wss.clients.size).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['verifyClient answered more than once: the later answer is ignored']);
  });

  test('perMessageDeflate is stored (true: defaults), negotiated when enabled, off by default', async () => {
    expect(new WebSocketServer({ noServer: true, perMessageDeflate: true }).options.perMessageDeflate).toEqual({});
    expect(new WebSocketServer({ noServer: true }).options.perMessageDeflate).toBe(false);
    const offer = ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'];
    const on = await standalone({ perMessageDeflate: { threshold: 0 } });
    const accepted = await rawUpgrade(on.port, '/', offer);
    expect(accepted.status).toBe(101);
    expect(String(accepted.headers.get('sec-websocket-extensions'))).toMatch(/^permessage-deflate/);
    const off = await standalone({});
    const declined = await rawUpgrade(off.port, '/', offer);
    expect(declined.status).toBe(101);
    expect(declined.headers.has('sec-websocket-extensions')).toBe(false);
  });

  test('odd permessage-deflate offers are declined (101 without the extension), nothing is reported or thrown', async () => {
    const { wss, port } = await standalone({ perMessageDeflate: true });
    const errors: Error[] = [];
    wss.on('error', (error) => errors.push(error));
    const offers = [
      'permessage-deflate; client_max_window_bits=abc',
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; __proto__=1',
      'permessage-deflate; constructor',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; client_max_window_bits; client_max_window_bits',
    ];
    for (const offer of offers) {
      const response = await rawUpgrade(port, '/', [`Sec-WebSocket-Extensions: ${offer}`]);
      expect(response.status, offer).toBe(101);
      expect(response.headers.has('sec-websocket-extensions'), offer).toBe(false);
    }
    expect(errors).toEqual([]);
  });

  test('server options reach the sockets: maxPayload fails an oversized message with 1009', async () => {
    const { port } = await standalone({ maxPayload: 4 });
    const response = await rawUpgrade(port);
    const frame = once(response.socket, 'data');
    response.socket.write(maskedText('too long'));
    const [bytes] = (await frame) as [Buffer];
    expect(bytes[0]).toBe(0x88);
    expect(bytes.readUInt16BE(2)).toBe(1009);
  });

  test('our client against our server in server mode, with a subprotocol', async () => {
    const http = createHttpServer((_req, res) => res.end('page'));
    const wss = new WebSocketServer({ server: http, path: '/chat', handleProtocols: (protocols) => (protocols.has('v2') ? 'v2' : false) });
    http.listen(0, '127.0.0.1');
    await once(wss, 'listening');
    cleanups.add(async () => {
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`${ws.protocol}:${data}`)));
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(http.address())}/chat`, ['v1', 'v2']);
    cleanups.add(() => ws.terminate());
    await once(ws, 'open');
    expect(ws.protocol).toBe('v2');
    ws.send('hi');
    const [data] = await once(ws, 'message');
    expect(String(data)).toBe('v2:hi');
  });
});
