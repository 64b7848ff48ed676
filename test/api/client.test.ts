// The client: URLs, request headers, handshake checks, redirects, unexpected responses, timeouts,
// ws+unix and wss — each scenario with ws's client and ours where both should agree.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocket } from '../../src/index.js';
import { closeWsServer, portOf, readHead, testCert, tlsWsServer } from './server-helpers.js';

type AnySocket = WebSocket | WsWebSocket;
type Client = new (url: string | URL, protocols?: string | string[] | object, options?: object) => AnySocket;
const CLIENTS: Array<[string, Client]> = [
  ['ws', WsWebSocket as unknown as Client],
  ['rfc6455', WebSocket as unknown as Client],
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Error then close, as both clients report a failed handshake. */
async function failure(ws: AnySocket): Promise<{ error: Error; code: number; order: string[] }> {
  const order: string[] = [];
  let error: Error | undefined;
  ws.on('error', (e: Error) => {
    error = e;
    order.push('error');
  });
  const [code] = await new Promise<[number]>((resolve) =>
    ws.on('close', (c: number) => {
      order.push('close');
      resolve([c]);
    }),
  );
  if (error === undefined) throw new Error('no error before close');
  return { error, code, order };
}

interface RequestHead {
  line: string;
  headers: Record<string, string>;
  raw: string;
}

function parseHead(text: string): RequestHead {
  const [line, ...rest] = text.split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of rest) {
    const colon = field.indexOf(':');
    if (colon > 0) headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { line: line!, headers, raw: text };
}

function acceptFor(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

/** A raw TCP server: for each request head, `respond` writes whatever it likes on the socket. */
async function rawHttp(respond: (head: RequestHead, socket: Socket) => void): Promise<{ port: number; heads: RequestHead[]; server: Server }> {
  const heads: RequestHead[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    readHead(socket, (text) => {
      const head = parseHead(text);
      heads.push(head);
      respond(head, socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, heads, server };
}

/** Answers 101 correctly (with `extra` header lines), then leaves the socket open. */
function accept(extra: string[] = []): (head: RequestHead, socket: Socket) => void {
  return (head, socket) => {
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(head.headers['sec-websocket-key']!)}`, ...extra];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  };
}

/** A `ws` echo server; `heads` records each upgrade request's headers. */
async function wsEcho(): Promise<{ port: number; url: string; heads: Array<Record<string, string | string[] | undefined>>; paths: string[] }> {
  const server = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const heads: Array<Record<string, string | string[] | undefined>> = [];
  const paths: string[] = [];
  server.on('connection', (socket, request) => {
    heads.push(request.headers);
    paths.push(request.url ?? '');
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  cleanups.push(() => closeWsServer(server));
  const port = portOf(server.address());
  return { port, url: `ws://127.0.0.1:${port}`, heads, paths };
}

function track(ws: AnySocket): AnySocket {
  cleanups.push(() => {
    if (ws.readyState === ws.CLOSED) return;
    const closed = next(ws as NodeJS.EventEmitter, 'close');
    ws.on('error', () => undefined);
    ws.terminate();
    return closed.then(() => undefined);
  });
  return ws;
}

async function echoOnce(ws: AnySocket, text: string): Promise<string> {
  const reply = next<[Buffer]>(ws as NodeJS.EventEmitter, 'message');
  ws.send(text);
  return String((await reply)[0]);
}

describe('constructor checks', () => {
  const cases: Array<[string, () => unknown, RegExp | string, ErrorConstructor]> = [
    ['not a URL', () => 'not a url', 'Invalid URL: not a url', SyntaxError],
    ['another scheme', () => 'ftp://127.0.0.1/', 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"', SyntaxError],
    ['a fragment', () => 'ws://127.0.0.1/#frag', 'The URL contains a fragment identifier', SyntaxError],
  ];
  test.each(CLIENTS)('%s: invalid URLs throw SyntaxError', (_name, Client) => {
    for (const [label, url, message, type] of cases) {
      let thrown: unknown;
      try {
        new Client(url() as string);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, label).toBeInstanceOf(type);
      expect((thrown as Error).message, label).toBe(message);
    }
  });

  test.each(CLIENTS)('%s: an unsupported protocolVersion throws RangeError', (_name, Client) => {
    expect(() => new Client('ws://127.0.0.1:1/', { protocolVersion: 7 })).toThrow(
      new RangeError('Unsupported protocol version: 7 (supported versions: 8, 13)'),
    );
  });

  test.each(CLIENTS)('%s: invalid or duplicated subprotocols throw SyntaxError', (_name, Client) => {
    expect(() => new Client('ws://127.0.0.1:1/', ['a', 'a'])).toThrow(SyntaxError);
    expect(() => new Client('ws://127.0.0.1:1/', 'with space')).toThrow(SyntaxError);
    expect(() => new Client('ws://127.0.0.1:1/', ['ok', ''])).toThrow(SyntaxError);
  });

  test('rfc6455: a header value with CR or LF throws TypeError before connecting', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1/', { headers: { 'X-Bad': 'a\r\nInjected: yes' } })).toThrow(TypeError);
  });
});

describe('the request', () => {
  test.each(CLIENTS)('%s: URL forms: http: is ws:, path and query are kept, url reports the ws: form', async (_name, Client) => {
    const { port, paths } = await wsEcho();
    const ws = track(new Client(`http://127.0.0.1:${port}/chat/room?x=1&y=%20`));
    expect(ws.url).toBe(`ws://127.0.0.1:${port}/chat/room?x=1&y=%20`);
    await once(ws, 'open');
    expect(paths).toEqual(['/chat/room?x=1&y=%20']);
    const ws2 = track(new Client(new URL(`ws://127.0.0.1:${port}`)));
    await once(ws2, 'open');
    expect(paths[1]).toBe('/');
  });

  test.each(CLIENTS)('%s: Host, Origin, extra headers, subprotocols, URL credentials as Basic authorization', async (_name, Client) => {
    const { port, heads } = await rawHttp(accept(['Sec-WebSocket-Protocol: chat']));
    const ws = track(
      new Client(`ws://us%40er:p%3Ass@127.0.0.1:${port}/p`, ['chat', 'superchat'], {
        origin: 'https://example.com',
        headers: { 'X-Custom': 'one', 'X-Number': 42, Cookie: 'a=b' },
        perMessageDeflate: false,
      }),
    );
    await once(ws, 'open');
    expect(ws.protocol).toBe('chat');
    const { line, headers } = heads[0]!;
    expect(line).toBe('GET /p HTTP/1.1');
    expect(headers.host).toBe(`127.0.0.1:${port}`);
    expect(headers.upgrade).toBe('websocket');
    expect(headers.connection).toBe('Upgrade');
    expect(headers['sec-websocket-version']).toBe('13');
    expect(headers['sec-websocket-key']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(headers['sec-websocket-protocol']?.replace(/ /g, '')).toBe('chat,superchat');
    expect(headers.origin).toBe('https://example.com');
    expect(headers['x-custom']).toBe('one');
    expect(headers['x-number']).toBe('42');
    expect(headers.cookie).toBe('a=b');
    expect(headers.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });

  test.each(CLIENTS)('%s: protocolVersion 8 sends Sec-WebSocket-Origin', async (_name, Client) => {
    const { port, heads } = await rawHttp(accept());
    const ws = track(new Client(`ws://127.0.0.1:${port}/`, { protocolVersion: 8, origin: 'http://o.example', perMessageDeflate: false }));
    await once(ws, 'open');
    expect(heads[0]!.headers['sec-websocket-version']).toBe('8');
    expect(heads[0]!.headers['sec-websocket-origin']).toBe('http://o.example');
    expect(heads[0]!.headers.origin).toBeUndefined();
  });

  test('rfc6455: an application Authorization header wins over URL credentials; handshake fields keep our values', async () => {
    const { port, heads } = await rawHttp(accept());
    const ws = track(
      new WebSocket(`ws://user:pass@127.0.0.1:${port}/`, {
        headers: { Authorization: 'Bearer token', 'Sec-WebSocket-Version': '99', Upgrade: 'nope' },
      }),
    );
    await once(ws, 'open');
    expect(heads[0]!.headers.authorization).toBe('Bearer token');
    expect(heads[0]!.headers['sec-websocket-version']).toBe('13');
    expect(heads[0]!.headers.upgrade).toBe('websocket');
  });
});

describe('the response', () => {
  // A difference kept on purpose: ws lets such a throw escape from its socket callback (a crash); here
  // the listener is called on the server's answer, so its throw fails that handshake instead.
  test("rfc6455: an 'upgrade' or 'unexpected-response' listener that throws fails the handshake with its error", async () => {
    const { port } = await rawHttp(accept([]));
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })) as WebSocket;
    ws.on('upgrade', () => {
      throw new Error('upgrade listener bug');
    });
    const { error, code, order } = await failure(ws);
    expect(error.message).toBe('upgrade listener bug');
    expect([code, order]).toEqual([1006, ['error', 'close']]);

    const refused = await rawHttp((_head, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    const other = track(new WebSocket(`ws://127.0.0.1:${refused.port}/`, { perMessageDeflate: false })) as WebSocket;
    other.on('unexpected-response', () => {
      throw new Error('response listener bug');
    });
    const second = await failure(other);
    expect(second.error.message).toBe('response listener bug');
    expect(second.code).toBe(1006);
  });

  test.each(CLIENTS)("%s: 'upgrade' gets the 101 response before 'open'", async (_name, Client) => {
    const { port } = await rawHttp(accept(['X-Server: raw']));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false }));
    const order: string[] = [];
    let response: { statusCode?: number; headers: Record<string, unknown> } | undefined;
    ws.on('upgrade', (res: { statusCode?: number; headers: Record<string, unknown> }) => {
      response = res;
      order.push('upgrade');
    });
    ws.on('open', () => order.push('open'));
    await once(ws, 'open');
    expect(order).toEqual(['upgrade', 'open']);
    expect(response!.statusCode).toBe(101);
    expect(response!.headers['x-server']).toBe('raw');
  });

  // [label, server, message, options; ws's message where node:http words it differently]
  const invalid: Array<[string, (head: RequestHead, socket: Socket) => void, string, object?, string?]> = [
    [
      'a wrong accept key',
      (_head, socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n'),
      'Invalid Sec-WebSocket-Accept header',
    ],
    [
      'no Upgrade header',
      (head, socket) => socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(head.headers['sec-websocket-key']!)}\r\n\r\n`),
      'Unexpected server response: 101',
    ],
    ['a subprotocol not offered', accept(['Sec-WebSocket-Protocol: other']), 'Server sent an invalid subprotocol', { protocols: ['chat'] }],
    ['a subprotocol when none was offered', accept(['Sec-WebSocket-Protocol: chat']), 'Server sent a subprotocol but none was requested'],
    ['no subprotocol when some were offered', accept(), 'Server sent no subprotocol', { protocols: ['chat'] }],
  ];
  for (const [label, respond, message, extra, wsMessage] of invalid) {
    test.each(CLIENTS)(`%s: ${label} fails the handshake`, async (name, Client) => {
      const { port } = await rawHttp(respond);
      const protocols = (extra as { protocols?: string[] } | undefined)?.protocols;
      const ws = track(new Client(`ws://127.0.0.1:${port}/`, protocols ?? [], { perMessageDeflate: false }));
      const { error, code, order } = await failure(ws);
      expect(error.message).toBe(name === 'ws' ? (wsMessage ?? message) : message);
      expect(code).toBe(1006);
      expect(order).toEqual(['error', 'close']);
      expect(ws.readyState).toBe(ws.CLOSED);
    });
  }

  test.each(CLIENTS)("%s: a non-101 answer without an 'unexpected-response' listener is an error", async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    const { error, code } = await failure(ws);
    expect(error.message).toBe('Unexpected server response: 403');
    expect(code).toBe(1006);
  });

  const bodies: Array<[string, string, string]> = [
    ['Content-Length', 'Content-Length: 11\r\n\r\nhello world', 'hello world'],
    ['chunked', 'Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n', 'hello world'],
    ['up to the close', 'Connection: close\r\n\r\nhello world', 'hello world'],
  ];
  for (const [label, rest, body] of bodies) {
    test.each(CLIENTS)(`%s: 'unexpected-response' gets (req, res); the body (${label}) is readable`, async (_name, Client) => {
      const { port } = await rawHttp((_head, socket) => {
        socket.write(`HTTP/1.1 418 I'm a teapot\r\nX-Reason: tea\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n${rest}`, () => {
          if (label === 'up to the close') socket.end();
        });
      });
      const ws = track(new Client(`ws://127.0.0.1:${port}/path`));
      const errors: Error[] = [];
      ws.on('error', (error: Error) => errors.push(error));
      const [req, res] = (await next(ws as NodeJS.EventEmitter, 'unexpected-response')) as [
        { method: string; path: string; getHeader(name: string): unknown },
        NodeJS.ReadableStream & { statusCode: number; statusMessage: string; headers: Record<string, unknown>; rawHeaders: string[] },
      ];
      expect(req.method).toBe('GET');
      expect(req.path).toBe('/path');
      expect(req.getHeader('upgrade')).toBe('websocket');
      expect(res.statusCode).toBe(418);
      expect(res.statusMessage).toBe("I'm a teapot");
      expect(res.headers['x-reason']).toBe('tea');
      expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(res.rawHeaders.slice(0, 2)).toEqual(['X-Reason', 'tea']);
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe(body);
      expect(errors).toEqual([]);
      expect(ws.readyState).not.toBe(ws.OPEN);
    });
  }

  test('rfc6455: a chunked body split at every byte; bytes after the body are ignored', async () => {
    const response = Buffer.from(
      'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
        '3\r\nabc\r\nA ; name="v"\r\n0123456789\r\n000\r\nX-Trailer: 1\r\nY: 2\r\n\r\nGARBAGE',
    );
    const { port } = await rawHttp((_head, socket) => {
      const write = (i: number): void => {
        if (i < response.length && !socket.destroyed) socket.write(response.subarray(i, i + 1), () => write(i + 1));
      };
      write(0);
    });
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`) as AnySocket);
    const [, res] = await next<[unknown, NodeJS.ReadableStream & { complete: boolean }]>(ws as NodeJS.EventEmitter, 'unexpected-response');
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('abc0123456789');
    expect(res.complete).toBe(true);
  });

  test.each(CLIENTS)("%s: a body cut short: the data, then 'aborted', an ECONNRESET for the reader, complete = false", async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.end('HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nonly this'));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    const [, res] = await next<[unknown, NodeJS.ReadableStream & { complete: boolean }]>(ws as NodeJS.EventEmitter, 'unexpected-response');
    const events: string[] = [];
    res.on('aborted', () => events.push('aborted'));
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
      events.push('ended');
    } catch (error) {
      events.push(`error ${(error as Error).message} ${(error as { code?: string }).code}`);
    }
    expect(Buffer.concat(chunks).toString()).toBe('only this');
    expect(events).toEqual(['aborted', 'error aborted ECONNRESET']);
    expect(res.complete).toBe(false);
  });

  test.each(CLIENTS)("%s: req.abort() / req.destroy() in 'unexpected-response': res emits 'aborted' and 'close'", async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nhel'));
    for (const method of ['abort', 'destroy'] as const) {
      const ws = track(new Client(`ws://127.0.0.1:${port}/`));
      ws.on('error', () => undefined);
      const events = await new Promise<string[]>((resolve) => {
        ws.on('unexpected-response', (req: { abort(): void; destroy(): void }, res: NodeJS.EventEmitter & { complete: boolean }) => {
          const seen: string[] = [];
          for (const name of ['end', 'aborted', 'close']) res.on(name, () => seen.push(name));
          res.on('close', () => resolve(seen));
          req[method]();
        });
      });
      expect(events, method).toEqual(['aborted', 'close']);
    }
  });

  test.each(CLIENTS)('%s: after a handled response (read or destroyed) the WebSocket stays CONNECTING until terminated', async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope'));
    for (const handling of ['read', 'destroy'] as const) {
      const ws = track(new Client(`ws://127.0.0.1:${port}/`));
      const events: string[] = [];
      ws.on('error', (error: Error) => events.push(`error ${error.message}`));
      await new Promise<void>((resolve) =>
        ws.on('unexpected-response', (_req: unknown, res: NodeJS.ReadableStream & { statusCode: number; complete: boolean }) => {
          events.push(`response ${res.statusCode}`);
          res.on('end', () => events.push(`end ${res.complete}`));
          res.on('close', () => resolve());
          if (handling === 'read') res.resume();
          else (res as unknown as { destroy(): void }).destroy();
        }),
      );
      events.push(`readyState ${ws.readyState}`);
      const closed = new Promise<number>((resolve) => ws.on('close', resolve));
      ws.terminate();
      events.push(`close ${await closed}`);
      const ended = handling === 'read' ? ['end true'] : [];
      expect(events, handling).toEqual(['response 401', ...ended, 'readyState 0', 'error WebSocket was closed before the connection was established', 'close 1006']);
    }
  });

  test.each(CLIENTS)('%s: close() after a handled unexpected response: error, then close', async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.write('HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\npartial'));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    ws.on('unexpected-response', () => ws.close());
    const { error, code } = await failure(ws);
    expect(error.message).toBe('WebSocket was closed before the connection was established');
    expect(code).toBe(1006);
  });
});

describe('opening handshake lifetime', () => {
  test.each(CLIENTS)('%s: handshakeTimeout against a server that never answers', async (_name, Client) => {
    const { port } = await rawHttp(() => undefined);
    const ws = track(new Client(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 50 }));
    const { error, code, order } = await failure(ws);
    expect(error.message).toBe('Opening handshake has timed out');
    expect(code).toBe(1006);
    expect(order).toEqual(['error', 'close']);
  });

  test.each(CLIENTS)('%s: close() and terminate() while CONNECTING abort: CLOSING, then error and close', async (_name, Client) => {
    const { port } = await rawHttp(() => undefined);
    for (const method of ['close', 'terminate'] as const) {
      const ws = track(new Client(`ws://127.0.0.1:${port}/`));
      const result = failure(ws);
      ws[method]();
      expect(ws.readyState).toBe(ws.CLOSING);
      const { error, code } = await result;
      expect(error.message).toBe('WebSocket was closed before the connection was established');
      expect(code).toBe(1006);
    }
  });

  test.each(CLIENTS)('%s: the server closes before answering', async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.destroy());
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    const { code } = await failure(ws);
    expect(code).toBe(1006);
  });

  test('rfc6455: a refused connection never throws without an error listener', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const [code] = await next<[number]>(ws, 'close');
    expect(code).toBe(1006);
  });

  test.each(CLIENTS)('%s: an invalid HTTP response fails the handshake with the HTTP parser\'s error', async (_name, Client) => {
    const { port } = await rawHttp((_head, socket) => socket.write('HTTP/1.1 101 OK\nbare LF\r\n\r\n'));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    const { error } = await failure(ws);
    expect(error.message).toBe('Parse Error: Missing expected CR after response line');
    expect((error as Error & { code?: string }).code).toBe('HPE_CR_EXPECTED');
  });
});

describe('redirects', () => {
  function redirectTo(location: (head: RequestHead) => string, status = 302): (head: RequestHead, socket: Socket) => void {
    return (head, socket) => socket.end(`HTTP/1.1 ${status} Found\r\nLocation: ${location(head)}\r\nContent-Length: 0\r\n\r\n`);
  }

  test.each(CLIENTS)('%s: not followed by default: an unexpected response', async (_name, Client) => {
    const { url } = await wsEcho();
    const { port } = await rawHttp(redirectTo(() => url));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`));
    const { error } = await failure(ws);
    expect(error.message).toBe('Unexpected server response: 302');
  });

  test.each(CLIENTS)("%s: followed with followRedirects; 'redirect' reports the new URL; url follows", async (_name, Client) => {
    const target = await wsEcho();
    const { port } = await rawHttp(redirectTo(() => `${target.url}/there?q=1`, 301));
    const ws = track(new Client(`ws://127.0.0.1:${port}/here`, { followRedirects: true }));
    const redirects: string[] = [];
    ws.on('redirect', (url: string, req: { path: string }) => redirects.push(`${url} ${req.path}`));
    await once(ws, 'open');
    expect(redirects).toEqual([`${target.url}/there?q=1 /there?q=1`]);
    expect(ws.url).toBe(`${target.url}/there?q=1`);
    expect(target.paths).toEqual(['/there?q=1']);
    expect(await echoOnce(ws, 'after redirect')).toBe('after redirect');
  });

  test.each(CLIENTS)('%s: a relative Location on the same server keeps the credentials', async (_name, Client) => {
    let hops = 0;
    const { port, heads } = await rawHttp((head, socket) => {
      if (hops++ === 0) redirectTo(() => '/second', 307)(head, socket);
      else accept()(head, socket);
    });
    const ws = track(
      new Client(`ws://user:pw@127.0.0.1:${port}/first`, {
        followRedirects: true,
        headers: { Cookie: 'session=1' },
        perMessageDeflate: false,
      }),
    );
    await once(ws, 'open');
    expect(heads.map((h) => h.line)).toEqual(['GET /first HTTP/1.1', 'GET /second HTTP/1.1']);
    const basic = `Basic ${Buffer.from('user:pw').toString('base64')}`;
    expect(heads.map((h) => [h.headers.authorization, h.headers.cookie])).toEqual([
      [basic, 'session=1'],
      [basic, 'session=1'],
    ]);
  });

  test.each(CLIENTS)('%s: a redirect to another origin drops Authorization, Cookie and URL credentials', async (_name, Client) => {
    const target = await wsEcho();
    const { port, heads } = await rawHttp(redirectTo(() => target.url));
    for (const options of [
      { headers: { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Kept': 'yes' } },
      { headers: { 'X-Kept': 'yes' }, url: `ws://user:pw@127.0.0.1:${port}/` },
    ]) {
      const ws = track(new Client(options.url ?? `ws://127.0.0.1:${port}/`, { followRedirects: true, headers: options.headers }));
      await once(ws, 'open');
    }
    expect(heads[0]!.headers.authorization).toBe('Bearer secret');
    expect(heads[0]!.headers.cookie).toBe('session=1');
    expect(heads[1]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    for (const head of target.heads) {
      expect(head.authorization).toBeUndefined();
      expect(head.cookie).toBeUndefined();
      expect(head['x-kept']).toBe('yes');
      expect(head.host).toBe(`127.0.0.1:${target.port}`);
    }
  });

  test("rfc6455: credentials are dropped across origins even with a 'redirect' listener, which may change headers", async () => {
    const target = await wsEcho();
    const { port } = await rawHttp(redirectTo(() => target.url));
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true, headers: { Authorization: 'Bearer secret' } }) as AnySocket) as WebSocket;
    ws.on('redirect', (_url, req) => {
      expect(req.getHeader('authorization')).toBeUndefined();
      req.setHeader('X-Added', 'by listener');
    });
    await once(ws, 'open');
    expect(target.heads[0]!.authorization).toBeUndefined();
    expect(target.heads[0]!['x-added']).toBe('by listener');
  });

  test.each(CLIENTS)('%s: maxRedirects: exceeded is an error', async (_name, Client) => {
    const { port, heads } = await rawHttp(redirectTo((head) => `/loop${head.line.length}`));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`, { followRedirects: true, maxRedirects: 3 }));
    const { error, code } = await failure(ws);
    expect(error.message).toBe('Maximum redirects exceeded');
    expect(code).toBe(1006);
    expect(heads.length).toBe(4);
  });

  test.each(CLIENTS)('%s: a redirect to a URL that is not a WebSocket URL is an error event, not a throw', async (_name, Client) => {
    const { port } = await rawHttp(redirectTo(() => 'ftp://127.0.0.1/file'));
    const ws = track(new Client(`ws://127.0.0.1:${port}/`, { followRedirects: true }));
    const { error } = await failure(ws);
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error.message).toBe('The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"');
  });
});

describe('ws+unix:', () => {
  test.each(CLIENTS)('%s: connects over a Unix domain socket with a request path', async (_name, Client) => {
    const socketPath = join(tmpdir(), `rfc6455-client-${process.pid}-${_name}.sock`);
    rmSync(socketPath, { force: true });
    const http = createHttpServer();
    const wss = new WsServer({ server: http });
    const paths: string[] = [];
    wss.on('connection', (socket, request) => {
      paths.push(request.url ?? '');
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    http.listen(socketPath);
    await once(http, 'listening');
    cleanups.push(() => {
      wss.close();
      return closeWsServer(wss, http);
    });
    const ws = track(new Client(`ws+unix:${socketPath}:/chat?room=1`));
    await once(ws, 'open');
    expect(paths).toEqual(['/chat?room=1']);
    expect(await echoOnce(ws, 'over ipc')).toBe('over ipc');
    const ws2 = track(new Client(`ws+unix://${socketPath}`));
    await once(ws2, 'open');
    expect(paths[1]).toBe('/');
  });
});

describe('wss: with a self-signed certificate', () => {
  async function tlsEcho(): Promise<number> {
    const { port, wss, close } = await tlsWsServer((socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    cleanups.push(() => {
      wss.close();
      return close();
    });
    return port;
  }

  test.each(CLIENTS)('%s: trusted through ca, or with rejectUnauthorized: false; refused otherwise', async (_name, Client) => {
    const port = await tlsEcho();
    const trusted = track(new Client(`wss://localhost:${port}/`, { ca: testCert }));
    await once(trusted, 'open');
    expect(await echoOnce(trusted, 'secure')).toBe('secure');

    const byIp = track(new Client(`wss://127.0.0.1:${port}/`, { ca: testCert }));
    await once(byIp, 'open');

    const unchecked = track(new Client(`wss://localhost:${port}/`, { rejectUnauthorized: false }));
    await once(unchecked, 'open');

    const refused = track(new Client(`wss://localhost:${port}/`));
    const { error, code } = await failure(refused);
    expect((error as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(code).toBe(1006);

    const https = track(new Client(`https://localhost:${port}/`, { ca: testCert }));
    expect(https.url).toBe(`wss://localhost:${port}/`);
    await once(https, 'open');
  });
});

describe('options passed to the connection', () => {
  test.each(CLIENTS)('%s: maxPayload: a bigger message closes with 1009', async (_name, Client) => {
    const server = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const serverClose = new Promise<number>((resolve) =>
      server.on('connection', (socket) => {
        socket.on('close', (code) => resolve(code));
        socket.send(Buffer.alloc(2000));
      }),
    );
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const ws = track(new Client(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`, { maxPayload: 1000 }));
    const { error, code } = await failure(ws);
    expect(error).toBeInstanceOf(Error);
    expect(code).toBe(1006);
    expect(await serverClose).toBe(1009);
  });

  test('rfc6455: generateMask supplies the masking keys', async () => {
    const { port } = await rawHttp((head, socket) => {
      accept()(head, socket);
      socket.on('data', (chunk: Buffer) => socket.emit('frame', chunk));
    });
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`, { generateMask: (mask: Buffer) => mask.fill(0) }) as AnySocket);
    await once(ws, 'open');
    const socket = (ws as WebSocket)._socket!;
    expect(socket).not.toBeNull();
    // With an all-zero key the payload goes out as is.
    const written: Buffer[] = [];
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Buffer, ...rest: never[]) => {
      written.push(Buffer.from(chunk));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    ws.send('abc');
    expect(Buffer.concat(written)).toEqual(Buffer.from([0x81, 0x83, 0, 0, 0, 0, 0x61, 0x62, 0x63]));
  });
});
