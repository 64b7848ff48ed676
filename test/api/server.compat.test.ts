// The same scenarios against ws's WebSocketServer and ours: where ws v8 defines the behavior,
// ours must match it.
import { once } from 'node:events';
import { createServer as createHttpServer, IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { Duplex as DuplexStream } from 'node:stream';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocketServer } from '../../src/api/server.js';
import { WebSocket } from '../../src/api/websocket.js';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { ACCEPT, Cleanups, closeSocket, KEY, portOf, rawRequest, upgradeRequest } from './server-helpers.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- both implementations behind one loose shape */
interface Impl {
  name: string;
  Server: new (options?: any, callback?: () => void) => any;
  WebSocket: new (...args: any[]) => any;
}
const impls: Impl[] = [
  { name: 'ws', Server: WsServer, WebSocket: WsWebSocket },
  { name: 'rfc6455', Server: WebSocketServer, WebSocket },
];

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** A standalone server on 127.0.0.1, port 0; its clients are terminated and it is closed after the test. */
async function standalone(impl: Impl, options: Record<string, unknown> = {}): Promise<{ wss: any; port: number }> {
  const wss = new impl.Server({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.add(() => shutDown(wss));
  return { wss, port: portOf(wss.address()) };
}

async function shutDown(wss: any): Promise<void> {
  for (const client of wss.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

async function httpServer(handler?: (req: IncomingMessage, res: any) => void): Promise<{ http: HttpServer; port: number }> {
  const http = createHttpServer(handler ?? ((_req, res) => res.end('plain http')));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.add(async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { http, port: portOf(http.address()) };
}

/** Open a ws client (ws's client: the reference) and wait for 'open'. */
async function client(port: number, path = '/', protocols?: string[]): Promise<WsWebSocket> {
  const ws = new WsWebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
  cleanups.add(() => {
    ws.terminate();
  });
  await once(ws, 'open');
  return ws;
}

async function echoOnce(ws: WsWebSocket, text: string): Promise<string> {
  ws.send(text);
  const [data] = await once(ws, 'message');
  return String(data);
}

async function rawUpgrade(port: number, path = '/', extra: string[] = [], drop: string[] = []) {
  const response = await rawRequest(port, upgradeRequest(path, extra, drop));
  cleanups.add(() => closeSocket(response.socket));
  return response;
}

describe.each(impls)('WebSocketServer compatibility: $name', (impl) => {
  test.each([
    ['no mode', {}],
    ['port and server', { port: 0, server: createHttpServer() }],
    ['port and noServer', { port: 0, noServer: true }],
    ['server and noServer', { server: createHttpServer(), noServer: true }],
  ])('options with %s throw TypeError', (_name, options) => {
    expect(() => new impl.Server(options)).toThrow(
      new TypeError('One and only one of the "port", "server", or "noServer" options must be specified'),
    );
  });

  test('no options at all: the same TypeError', () => {
    expect(() => new impl.Server()).toThrow(new TypeError('One and only one of the "port", "server", or "noServer" options must be specified'));
  });

  test('options show the defaults', () => {
    const wss = new impl.Server({ noServer: true });
    expect(wss.options).toMatchObject({
      noServer: true,
      maxPayload: 100 * 1024 * 1024,
      skipUTF8Validation: false,
      autoPong: true,
      closeTimeout: 30_000,
      clientTracking: true,
      perMessageDeflate: false,
      WebSocket: impl.WebSocket,
    });
  });

  test('standalone: the callback and listening event, address(), an echo round trip', async () => {
    let called = false;
    const wss = new impl.Server({ port: 0, host: '127.0.0.1' }, () => {
      called = true;
    });
    cleanups.add(() => shutDown(wss));
    await once(wss, 'listening');
    expect(called).toBe(true);
    const address = wss.address();
    expect(address.address).toBe('127.0.0.1');
    wss.on('connection', (ws: any) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    const ws = await client(address.port);
    expect(await echoOnce(ws, 'hello')).toBe('hello');
  });

  test('standalone: a plain HTTP request gets 426', async () => {
    const { port } = await standalone(impl);
    const response = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(response.status).toBe(426);
  });

  test('the 101 response carries the accept key', async () => {
    const { port } = await standalone(impl);
    const response = await rawUpgrade(port);
    expect(response.status).toBe(101);
    expect(response.headers.get('sec-websocket-accept')).toEqual([ACCEPT]);
    expect(response.headers.has('sec-websocket-protocol')).toBe(false);
  });

  test('verifyClient (sync) returning false answers 401', async () => {
    const seen: any[] = [];
    const { port } = await standalone(impl, {
      verifyClient: (info: any) => {
        seen.push(info);
        return false;
      },
    });
    const response = await rawUpgrade(port, '/a?b=1', ['Origin: http://example.test']);
    expect(response.status).toBe(401);
    expect(response.socket.destroyed).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0].origin).toBe('http://example.test');
    expect(seen[0].secure).toBe(false);
    expect(seen[0].req.url).toBe('/a?b=1');
  });

  test('verifyClient (sync) returning true accepts', async () => {
    const { port } = await standalone(impl, { verifyClient: () => true });
    expect((await rawUpgrade(port)).status).toBe(101);
  });

  test('verifyClient (async) rejects with its status, message and headers', async () => {
    const { port } = await standalone(impl, {
      verifyClient: (_info: any, done: (...args: any[]) => void) => {
        setImmediate(() => done(false, 403, 'No entry', { 'X-Reason': 'banned', 'Retry-After': 120 }));
      },
    });
    const response = await rawUpgrade(port);
    expect(response.status).toBe(403);
    expect(response.body).toBe('No entry');
    expect(response.headers.get('x-reason')).toEqual(['banned']);
    expect(response.headers.get('retry-after')).toEqual(['120']);
    expect(response.headers.get('connection')).toEqual(['close']);
  });

  test('verifyClient (async) rejecting without a code answers 401', async () => {
    const { port } = await standalone(impl, { verifyClient: (_info: any, done: (ok: boolean) => void) => done(false) });
    expect((await rawUpgrade(port)).status).toBe(401);
  });

  test('verifyClient (async) rejecting with a status given as digits ("403") answers that status', async () => {
    const { port } = await standalone(impl, { verifyClient: (_info: any, done: (...args: any[]) => void) => done(false, '403') });
    expect((await rawUpgrade(port)).status).toBe(403);
  });

  test('verifyClient (async) accepting later opens the connection', async () => {
    const { wss, port } = await standalone(impl, {
      verifyClient: (_info: any, done: (ok: boolean) => void) => setImmediate(() => done(true)),
    });
    wss.on('connection', (ws: any) => ws.on('message', (data: Buffer) => ws.send(data, { binary: false })));
    const ws = await client(port);
    expect(await echoOnce(ws, 'after verify')).toBe('after verify');
  });

  test.each([
    ['the default takes the first offer', undefined, 'b'],
    ['the hook picks one', (protocols: Set<string>) => (protocols.has('c') ? 'c' : false), 'c'],
    ['false accepts none', () => false, undefined],
  ])('handleProtocols: %s', async (_name, handleProtocols, expected) => {
    const calls: unknown[][] = [];
    const hook = handleProtocols && ((protocols: Set<string>, req: any) => (calls.push([protocols, req.url]), handleProtocols(protocols)));
    const { port } = await standalone(impl, hook === undefined ? {} : { handleProtocols: hook });
    const response = await rawUpgrade(port, '/p', ['Sec-WebSocket-Protocol: b, c', 'Sec-WebSocket-Protocol: d']);
    expect(response.status).toBe(101);
    expect(response.headers.get('sec-websocket-protocol')).toEqual(expected === undefined ? undefined : [expected]);
    if (hook !== undefined) {
      expect(calls).toHaveLength(1);
      expect(calls[0][0]).toBeInstanceOf(Set);
      expect([...(calls[0][0] as Set<string>)]).toEqual(['b', 'c', 'd']);
      expect(calls[0][1]).toBe('/p');
    }
  });

  test('handleProtocols: the chosen protocol reaches both ends', async () => {
    const { wss, port } = await standalone(impl, { handleProtocols: () => 'chat' });
    const connected = once(wss, 'connection');
    const ws = await client(port, '/', ['superchat', 'chat']);
    const [serverSide] = await connected;
    expect(ws.protocol).toBe('chat');
    expect(serverSide.protocol).toBe('chat');
  });

  test.each([
    ['/ws', 101],
    ['/ws?token=1', 101],
    ['/other', 400],
    ['/ws/', 400],
  ])('path "/ws": a request for %s gets %i', async (path, status) => {
    const { port } = await standalone(impl, { path: '/ws' });
    expect((await rawUpgrade(port, path)).status).toBe(status);
  });

  test('shouldHandle overridden to refuse answers 400', async () => {
    class Picky extends impl.Server {
      shouldHandle(req: any): boolean {
        return req.headers['x-let-me-in'] === 'please';
      }
    }
    const wss: any = new Picky({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.add(() => shutDown(wss));
    const port = portOf(wss.address());
    expect((await rawUpgrade(port)).status).toBe(400);
    expect((await rawUpgrade(port, '/', ['X-Let-Me-In: please'])).status).toBe(101);
  });

  test('the headers event shows the 101 lines and can add one', async () => {
    const { wss, port } = await standalone(impl);
    const seen: string[][] = [];
    wss.on('headers', (headers: string[], req: any) => {
      seen.push(headers.slice());
      expect(req.url).toBe('/h');
      headers.push('Set-Cookie: session=abc; HttpOnly');
    });
    const response = await rawUpgrade(port, '/h');
    expect(response.status).toBe(101);
    expect(seen[0]).toEqual([
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${ACCEPT}`,
    ]);
    expect(response.headers.get('set-cookie')).toEqual(['session=abc; HttpOnly']);
  });

  test('clients tracks open sockets', async () => {
    const { wss, port } = await standalone(impl);
    const connected = once(wss, 'connection');
    const ws = await client(port);
    const [serverSide] = await connected;
    expect(wss.clients.size).toBe(1);
    expect(wss.clients.has(serverSide)).toBe(true);
    const closed = once(serverSide, 'close');
    ws.close();
    await closed;
    expect(wss.clients.size).toBe(0);
  });

  test('clientTracking: false: clients is undefined', async () => {
    const { wss, port } = await standalone(impl, { clientTracking: false });
    const connected = once(wss, 'connection');
    await client(port);
    const [serverSide] = await connected;
    expect(wss.clients).toBeUndefined();
    serverSide.terminate();
  });

  test('close(cb): the first call closes, a second gets "The server is not running"', async () => {
    const wss = new impl.Server({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const closeEvents: number[] = [];
    wss.on('close', () => closeEvents.push(1));
    const first = await new Promise((resolve) => wss.close(resolve));
    expect(first).toBeUndefined();
    expect(wss.address()).toBeNull();
    const second = await new Promise<Error>((resolve) => wss.close(resolve));
    expect(second).toBeInstanceOf(Error);
    expect(second.message).toBe('The server is not running');
    expect(closeEvents).toHaveLength(2);
  });

  test('close() leaves open connections open and stops accepting new ones', async () => {
    const wss = new impl.Server({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const port = portOf(wss.address());
    wss.on('connection', (ws: any) => ws.on('message', (data: Buffer) => ws.send(data, { binary: false })));
    const ws = await client(port);
    let closed = false;
    wss.close(() => {
      closed = true;
    });
    expect(await echoOnce(ws, 'still here')).toBe('still here');
    expect(closed).toBe(false);
    await expect(rawRequest(port, upgradeRequest())).rejects.toThrow();
    const closeEvent = once(wss, 'close');
    ws.close();
    await closeEvent;
    expect(closed).toBe(true);
  });

  test('noServer + handleUpgrade with a real http server', async () => {
    const wss = new impl.Server({ noServer: true });
    expect(() => wss.address()).toThrow('The server is operating in "noServer" mode');
    const { http, port } = await httpServer();
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.url !== '/chat') {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws: any, request: IncomingMessage) => wss.emit('connection', ws, request));
    });
    const requests: IncomingMessage[] = [];
    wss.on('connection', (ws: any, req: IncomingMessage) => {
      requests.push(req);
      ws.on('message', (data: Buffer) => ws.send(`echo: ${data}`));
    });
    const ws = await client(port, '/chat');
    expect(await echoOnce(ws, 'hi')).toBe('echo: hi');
    expect(requests[0].url).toBe('/chat');
    expect(wss.clients.size).toBe(1);
    const invalid = await rawRequest(port, upgradeRequest('/chat', ['Sec-WebSocket-Key: short'], ['Sec-WebSocket-Key']));
    expect(invalid.status).toBe(400);
    cleanups.add(() => shutDown(wss));
  });

  test('noServer: after close() an upgrade gets 503', async () => {
    const wss = new impl.Server({ noServer: true });
    const { http, port } = await httpServer();
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, () => {}));
    await new Promise((resolve) => wss.close(resolve));
    expect((await rawRequest(port, upgradeRequest())).status).toBe(503);
  });

  test('handleUpgrade twice with one socket throws', async () => {
    const wss = new impl.Server({ noServer: true });
    const { http, port } = await httpServer();
    const errors: Error[] = [];
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, () => {});
      try {
        wss.handleUpgrade(req, socket, head, () => {});
      } catch (error) {
        errors.push(error as Error);
      }
    });
    await rawUpgrade(port);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/more than once with the same socket/);
    cleanups.add(() => shutDown(wss));
  });

  test('server mode: attached to an http server that still serves plain requests', async () => {
    const http = createHttpServer((_req, res) => res.end('plain http'));
    const wss = new impl.Server({ server: http });
    const listening = once(wss, 'listening');
    http.listen(0, '127.0.0.1');
    await listening;
    cleanups.add(async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    cleanups.add(() => shutDown(wss));
    const port = portOf(wss.address());
    expect(port).toBe(portOf(http.address()));

    const plain = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(plain.status).toBe(200);
    expect(plain.body).toContain('plain http');

    wss.on('connection', (ws: any) => ws.on('message', (data: Buffer) => ws.send(data, { binary: false })));
    const ws = await client(port);
    expect(await echoOnce(ws, 'over http')).toBe('over http');

    const boom = new Error('boom');
    const forwarded = once(wss, 'error');
    http.emit('error', boom);
    expect((await forwarded)[0]).toBe(boom);
  });

  test('server mode: close() detaches from the http server and emits close once clients are gone', async () => {
    const { http, port } = await httpServer();
    const wss = new impl.Server({ server: http });
    const connected = once(wss, 'connection');
    const ws = await client(port);
    const [serverSide] = await connected;
    let closed = false;
    wss.close(() => {
      closed = true;
    });
    expect(http.listenerCount('upgrade')).toBe(0);
    expect(wss.address()).toBeNull();
    const plain = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(plain.status).toBe(200);
    expect(closed).toBe(false);
    const closeEvent = once(wss, 'close');
    ws.close();
    await once(serverSide, 'close');
    await closeEvent;
    expect(closed).toBe(true);
  });

  test('the WebSocket option: connections are instances of the subclass', async () => {
    class Tagged extends impl.WebSocket {
      readonly tag = 'tagged';
    }
    const { wss, port } = await standalone(impl, { WebSocket: Tagged });
    const connected = once(wss, 'connection');
    await client(port);
    const [serverSide] = await connected;
    expect(serverSide).toBeInstanceOf(Tagged);
    expect(serverSide.tag).toBe('tagged');
    expect(serverSide.readyState).toBe(1);
  });

  test('standalone: req looks like an http.IncomingMessage', async () => {
    const { wss, port } = await standalone(impl);
    const connected = once(wss, 'connection');
    await rawUpgrade(port, '/room/1?x=y', [
      'X-Multi: one',
      'x-multi: two',
      'Cookie: a=1',
      'Cookie: b=2',
      'User-Agent: first',
      'User-Agent: second',
    ]);
    const [, req] = await connected;
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/room/1?x=y');
    expect(req.httpVersion).toBe('1.1');
    expect(req.httpVersionMajor).toBe(1);
    expect(req.httpVersionMinor).toBe(1);
    expect(req.headers['x-multi']).toBe('one, two');
    expect(req.headers.cookie).toBe('a=1; b=2');
    expect(req.headers['user-agent']).toBe('first');
    expect(req.headers.upgrade).toBe('websocket');
    expect(req.headers['sec-websocket-key']).toBeDefined();
    expect(req.rawHeaders.slice(0, 2)).toEqual(['Host', '127.0.0.1']);
    expect(req.rawHeaders).toContain('x-multi');
    expect(req.headersDistinct['x-multi']).toEqual(['one', 'two']);
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
    expect(req.connection).toBe(req.socket);
    expect(req).toBeInstanceOf(IncomingMessage);
    expect(req.rawHeaders.length % 2).toBe(0);
    expect(typeof req.on).toBe('function');
  });

  test('wsClientError: an invalid handshake goes to the listener, which answers itself', async () => {
    const { wss, port } = await standalone(impl);
    const seen: Array<[Error, any]> = [];
    wss.on('wsClientError', (error: Error, socket: Duplex, req: any) => {
      seen.push([error, req]);
      socket.end('HTTP/1.1 418 I\'m a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const response = await rawUpgrade(port, '/', ['Sec-WebSocket-Key: nope'], ['Sec-WebSocket-Key']);
    expect(response.status).toBe(418);
    expect(seen).toHaveLength(1);
    expect(seen[0][0]).toBeInstanceOf(Error);
    expect(seen[0][1].url).toBe('/');
  });

  test('Sec-WebSocket-Version 8 is accepted', async () => {
    const { wss, port } = await standalone(impl);
    const connected = once(wss, 'connection');
    const response = await rawUpgrade(port, '/', ['Sec-WebSocket-Version: 8'], ['Sec-WebSocket-Version']);
    expect(response.status).toBe(101);
    expect(response.headers.get('sec-websocket-accept')).toEqual([ACCEPT]);
    const [serverSide] = await connected;
    expect(serverSide.readyState).toBe(1);
  });

  test.each([
    ['ws', WsWebSocket],
    ['rfc6455', WebSocket],
  ])('a %s client with protocolVersion 8 connects and echoes', async (_client, Client: any) => {
    const { wss, port } = await standalone(impl);
    wss.on('connection', (ws: any) => ws.on('message', (data: Buffer) => ws.send(data, { binary: false })));
    const ws = new Client(`ws://127.0.0.1:${port}/`, { protocolVersion: 8 });
    cleanups.add(() => ws.terminate());
    await once(ws, 'open');
    ws.send('v8');
    const [data] = await once(ws, 'message');
    expect(String(data)).toBe('v8');
  });

  test('version 8: verifyClient gets Sec-WebSocket-Origin as the origin', async () => {
    const origins: unknown[] = [];
    const { port } = await standalone(impl, { verifyClient: (info: any) => (origins.push(info.origin), true) });
    await rawUpgrade(port, '/', ['Sec-WebSocket-Version: 8', 'Sec-WebSocket-Origin: http://o.test'], ['Sec-WebSocket-Version']);
    expect(origins).toEqual(['http://o.test']);
  });

  // What node:http hands to 'upgrade' (server mode): both answer the same status, body and message.
  test.each([
    ['POST', upgradeRequest().replace('GET', 'POST'), {}, 405, 'Invalid HTTP method'],
    ['Upgrade: h2c', upgradeRequest('/', ['Upgrade: h2c'], ['Upgrade']), {}, 400, 'Invalid Upgrade header'],
    ['a short key', upgradeRequest('/', ['Sec-WebSocket-Key: short'], ['Sec-WebSocket-Key']), {}, 400, 'Missing or invalid Sec-WebSocket-Key header'],
    ['no key', upgradeRequest('/', [], ['Sec-WebSocket-Key']), {}, 400, 'Missing or invalid Sec-WebSocket-Key header'],
    ['version 7', upgradeRequest('/', ['Sec-WebSocket-Version: 7'], ['Sec-WebSocket-Version']), {}, 400, 'Missing or invalid Sec-WebSocket-Version header'],
    ['no version', upgradeRequest('/', [], ['Sec-WebSocket-Version']), {}, 400, 'Missing or invalid Sec-WebSocket-Version header'],
    ['a bad subprotocol list', upgradeRequest('/', ['Sec-WebSocket-Protocol: a b']), {}, 400, 'Invalid Sec-WebSocket-Protocol header'],
    [
      'a bad extension list',
      upgradeRequest('/', ['Sec-WebSocket-Extensions: permessage-deflate; =1']),
      { perMessageDeflate: true },
      400,
      'Invalid or unacceptable Sec-WebSocket-Extensions header',
    ],
  ])('server mode, %s: the same status, body and wsClientError message', async (_name, request, options, status, message) => {
    const { http, port } = await httpServer();
    const wss = new impl.Server({ server: http, ...options });
    cleanups.add(() => shutDown(wss));
    const response = await rawRequest(port, request);
    expect(response.status).toBe(status);
    expect(response.body).toBe(message);
    if (status === 400 && message.includes('Version')) expect(response.headers.get('sec-websocket-version')).toEqual(['13, 8']);
    const seen: Error[] = [];
    wss.on('wsClientError', (error: Error, socket: Duplex) => {
      seen.push(error);
      socket.destroy();
    });
    await rawRequest(port, request).catch(() => undefined);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(Error);
    expect(seen[0].message).toBe(message);
    expect((seen[0] as any).code).toBeUndefined();
  });

  test('a malformed extension list is ignored when perMessageDeflate is off', async () => {
    const { port } = await standalone(impl);
    expect((await rawUpgrade(port, '/', ['Sec-WebSocket-Extensions: permessage-deflate; =1'])).status).toBe(101);
  });

  test('standalone: a request without Connection: Upgrade is a plain request (426)', async () => {
    const { port } = await standalone(impl);
    const response = await rawRequest(port, upgradeRequest('/', ['Connection: keep-alive'], ['Connection']));
    expect(response.status).toBe(426);
    expect(response.body).toBe('Upgrade Required');
  });

  test.each(['standalone', 'server'])('%s: during an async verifyClient, req.socket emits end when the client half-closes', async (mode) => {
    let verifying!: (value: { req: any; done: (ok: boolean) => void }) => void;
    const asked = new Promise<{ req: any; done: (ok: boolean) => void }>((resolve) => (verifying = resolve));
    const verifyClient = (info: any, done: (ok: boolean) => void): void => verifying({ req: info.req, done });
    let port: number;
    if (mode === 'standalone') {
      port = (await standalone(impl, { verifyClient })).port;
    } else {
      const server = await httpServer();
      const wss = new impl.Server({ server: server.http, verifyClient });
      cleanups.add(() => shutDown(wss));
      port = server.port;
    }
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    cleanups.add(() => closeSocket(socket));
    socket.end(upgradeRequest());
    const { req, done } = await asked;
    if (req.socket.readable) await once(req.socket, 'end');
    expect(req.socket.readable).toBe(false);
    done(true);
    await once(socket, 'close');
  });

  test('handleUpgrade with a hand-built request (headers only, a numeric version, no Host) on a plain Duplex', async () => {
    const wss = new impl.Server({ noServer: true });
    const written: Buffer[] = [];
    const duplex = new DuplexStream({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        callback();
      },
    });
    const req = {
      method: 'GET',
      url: '/hand',
      headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': KEY, 'sec-websocket-version': 13 },
      socket: duplex,
    };
    const opened = new Promise<any>((resolve) => wss.handleUpgrade(req, duplex, Buffer.alloc(0), resolve));
    const ws = await opened;
    expect(ws.readyState).toBe(1);
    expect(Buffer.concat(written).toString('latin1')).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(Buffer.concat(written).toString('latin1')).toContain(`Sec-WebSocket-Accept: ${ACCEPT}`);
    const message = once(ws, 'message');
    const frame: Buffer[] = [];
    encodeFrame(frame, Opcode.Text, Buffer.from('over a duplex'), true, false, 0x01020304);
    duplex.push(Buffer.concat(frame));
    expect(String((await message)[0])).toBe('over a duplex');
    ws.terminate();
  });

  test('handleUpgrade with a hand-built request giving httpVersion only', async () => {
    const wss = new impl.Server({ noServer: true });
    const duplex = new DuplexStream({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    const req = {
      method: 'GET',
      url: '/',
      httpVersion: '1.1',
      headers: { host: 'h', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': KEY, 'sec-websocket-version': '13' },
      socket: duplex,
    };
    const ws = await new Promise<any>((resolve) => wss.handleUpgrade(req, duplex, Buffer.alloc(0), resolve));
    expect(ws.readyState).toBe(1);
    ws.terminate();
  });

  // Documented differences (README, WebSocketServer table): each side's observation, side by side.
  test('handleProtocols answering a value the client did not offer: ws sends it, rfc6455 answers 500 (RFC 6455 §4.2.2)', async () => {
    const { wss, port } = await standalone(impl, { handleProtocols: () => 'chat' });
    wss.on('error', () => {});
    const response = await rawUpgrade(port, '/', ['Sec-WebSocket-Protocol: evil']);
    const observed = [response.status, response.headers.get('sec-websocket-protocol')];
    expect(observed).toEqual(impl.name === 'ws' ? [101, ['chat']] : [500, undefined]);
  });

  test('an async one-argument verifyClient resolving false: ws accepts (a promise is truthy), rfc6455 refuses 401', async () => {
    const { port } = await standalone(impl, { verifyClient: async () => false });
    expect((await rawUpgrade(port)).status).toBe(impl.name === 'ws' ? 101 : 401);
  });
});
