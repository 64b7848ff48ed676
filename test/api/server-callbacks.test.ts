// Every application hook the handshake calls, misbehaving while a peer's handshake is handled, over
// real loopback sockets with a raw TCP client: the handshake ends cleanly (500, or close 1011 once
// open), the error is reported ('error' listeners, else a process warning), nothing is thrown into the
// event loop, and the next handshake on the same server still works. In standalone and server mode.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer, type WebSocketServerOptions } from '../../src/api/server.js';
import { WebSocket } from '../../src/api/websocket.js';
import { Cleanups, closeSocket, portOf, rawRequest, upgradeRequest, type RawResponse } from './server-helpers.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

type Options = Omit<WebSocketServerOptions, 'port' | 'server' | 'noServer'>;
type ServerClass = new (options: WebSocketServerOptions) => WebSocketServer;
type Make = (options: Options, Server?: ServerClass) => Promise<{ wss: WebSocketServer; port: number }>;

const modes: Array<[string, Make]> = [
  [
    'standalone',
    async (options, Server: ServerClass = WebSocketServer) => {
      const wss = new Server({ port: 0, host: '127.0.0.1', ...options });
      await once(wss, 'listening');
      cleanups.add(() => stop(wss));
      return { wss, port: portOf(wss.address()) };
    },
  ],
  [
    'server',
    async (options, Server: ServerClass = WebSocketServer) => {
      const http = createHttpServer((_req, res) => res.end('plain'));
      const wss = new Server({ server: http, ...options });
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
      cleanups.add(async () => {
        await stop(wss);
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      });
      return { wss, port: portOf(http.address()) };
    },
  ],
];

async function stop(wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients ?? []) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

async function upgrade(port: number, extra: string[] = []): Promise<RawResponse> {
  const response = await rawRequest(port, upgradeRequest('/', extra));
  cleanups.add(() => closeSocket(response.socket));
  return response;
}

/** The errors the server reports through 'error'. */
function reported(wss: WebSocketServer): Error[] {
  const errors: Error[] = [];
  wss.on('error', (error) => errors.push(error));
  return errors;
}

/** The close code of the first (close) frame the server sends on an upgraded raw socket. */
async function closeCodeOf(response: RawResponse): Promise<number> {
  let bytes = Buffer.from(response.body, 'latin1');
  while (bytes.length < 4) {
    const [chunk] = (await once(response.socket, 'data')) as [Buffer];
    bytes = Buffer.concat([bytes, chunk]);
  }
  expect(bytes[0]).toBe(0x88);
  return bytes.readUInt16BE(2);
}

const EVIL = 'X-Evil: 1';
const isEvil = (req: { headers: Record<string, unknown> }): boolean => req.headers['x-evil'] === '1';

describe.each(modes)('application hooks misbehaving (%s mode)', (_mode, make) => {
  test('handleProtocols answering a subprotocol the client did not offer: 500, reported, the next handshake works', async () => {
    const { wss, port } = await make({ handleProtocols: () => 'chat' });
    const errors = reported(wss);
    const refused = await upgrade(port, ['Sec-WebSocket-Protocol: evil']);
    expect(refused.status).toBe(500);
    expect(refused.headers.has('sec-websocket-protocol')).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(errors[0].message).toBe('handleProtocols returned "chat", which the client did not offer');
    const accepted = await upgrade(port, ['Sec-WebSocket-Protocol: chat']);
    expect(accepted.status).toBe(101);
    expect(accepted.headers.get('sec-websocket-protocol')).toEqual(['chat']);
  });

  test('without an error listener the error becomes a process warning, and nothing crashes', async () => {
    const { port } = await make({ handleProtocols: () => 'chat' });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.add(() => {
      process.removeListener('warning', onWarning);
    });
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: evil'])).status).toBe(500);
    await expect.poll(() => warnings.map((w) => w.message)).toContain('handleProtocols returned "chat", which the client did not offer');
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: chat'])).status).toBe(101);
  });

  test('a peer repeating the same bug gets 500 each time, and the process is warned once', async () => {
    const { port } = await make({ handleProtocols: () => 'chat' });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.add(() => {
      process.removeListener('warning', onWarning);
    });
    for (let i = 0; i < 5; i++) expect((await upgrade(port, ['Sec-WebSocket-Protocol: evil'])).status).toBe(500);
    await expect.poll(() => warnings.length).toBe(1);
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: chat'])).status).toBe(101);
    expect(warnings.map((w) => w.message)).toEqual(['handleProtocols returned "chat", which the client did not offer']);
  });

  test('an error listener that throws: the error goes to a process warning', async () => {
    const { wss, port } = await make({ handleProtocols: () => 'chat' });
    wss.on('error', () => {
      throw new Error('listener bug');
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.add(() => {
      process.removeListener('warning', onWarning);
    });
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: evil'])).status).toBe(500);
    await expect.poll(() => warnings.map((w) => w.message)).toContain('listener bug');
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: chat'])).status).toBe(101);
  });

  test.each([
    ['throws', () => { throw new Error('protocol hook bug'); }, 'protocol hook bug'],
    ['returns a number', () => 42, 'handleProtocols returned 42, which the client did not offer'],
    ['returns an object', () => ({ name: 'chat' }), 'handleProtocols returned an object, which the client did not offer'],
  ])('handleProtocols %s: 500 and reported', async (_name, hook, message) => {
    const { wss, port } = await make({
      handleProtocols: (protocols, req) => (isEvil(req) ? (hook() as unknown as string) : [...protocols][0]),
    });
    const errors = reported(wss);
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: chat', EVIL])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual([message]);
    expect((await upgrade(port, ['Sec-WebSocket-Protocol: chat'])).status).toBe(101);
  });

  test('shouldHandle throwing: 500 and reported', async () => {
    class Picky extends WebSocketServer {
      override shouldHandle(req: IncomingMessage): boolean {
        if (isEvil(req)) throw new Error('shouldHandle bug');
        return true;
      }
    }
    const { wss, port } = await make({}, Picky);
    const errors = reported(wss);
    expect((await upgrade(port, [EVIL])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['shouldHandle bug']);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('verifyClient (sync) throwing: 500 and reported', async () => {
    const { wss, port } = await make({
      verifyClient: (info) => {
        if (isEvil(info.req)) throw new Error('verify bug');
        return true;
      },
    });
    const errors = reported(wss);
    expect((await upgrade(port, [EVIL])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['verify bug']);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('verifyClient (callback form) throwing before answering: 500 and reported', async () => {
    const { wss, port } = await make({
      verifyClient: (info, done) => {
        if (isEvil(info.req)) throw new Error('async verify bug');
        done(true);
      },
    });
    const errors = reported(wss);
    expect((await upgrade(port, [EVIL])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['async verify bug']);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('verifyClient as an async function with a callback that rejects: 500 and reported (no unhandled rejection)', async () => {
    const { wss, port } = await make({
      verifyClient: async (info, done) => {
        await Promise.resolve();
        if (isEvil(info.req)) throw new Error('rejected verify');
        done(true);
      },
    });
    const errors = reported(wss);
    expect((await upgrade(port, [EVIL])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['rejected verify']);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('verifyClient (sync form) returning a promise: its value decides, a rejection is a 500', async () => {
    const { wss, port } = await make({
      verifyClient: async (info) => {
        await Promise.resolve();
        if (info.req.headers['x-evil'] === 'throw') throw new Error('promise verify bug');
        return !isEvil(info.req);
      },
    });
    const errors = reported(wss);
    expect((await upgrade(port, [EVIL])).status).toBe(401);
    expect((await upgrade(port, ['X-Evil: throw'])).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['promise verify bug']);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('verifyClient calling back twice: the first answer stands, the second is reported', async () => {
    const { wss, port } = await make({
      verifyClient: (_info, done) => {
        done(true);
        done(false, 403);
      },
    });
    const errors = reported(wss);
    const connected = once(wss, 'connection');
    const response = await upgrade(port);
    expect(response.status).toBe(101);
    const [ws] = (await connected) as [WebSocket];
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(errors.map((e) => e.message)).toEqual(['verifyClient answered more than once: the later answer is ignored']);
  });

  test('verifyClient calling back after the peer has gone: nothing happens, nothing throws', async () => {
    let answer: ((ok: boolean) => void) | undefined;
    let serverSide: { readable: boolean } | undefined;
    const { wss, port } = await make({
      verifyClient: (info, done) => {
        serverSide = info.req.socket;
        answer = done;
      },
    });
    const errors = reported(wss);
    let connections = 0;
    wss.on('connection', () => connections++);
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.write(upgradeRequest());
    await expect.poll(() => answer).toBeDefined();
    client.destroy();
    await once(client, 'close');
    // The server side reads on while verifyClient decides, so it sees the peer go.
    await expect.poll(() => serverSide?.readable).toBe(false);
    expect(() => answer!(true)).not.toThrow();
    expect(connections).toBe(0);
    expect(errors).toEqual([]);
  });

  test('verifyClient refusing with an invalid status: the peer gets 500, the callback throws RangeError', async () => {
    const thrown: unknown[] = [];
    const { port } = await make({
      verifyClient: (_info, done) => {
        try {
          done(false, 42);
        } catch (error) {
          thrown.push(error);
        }
      },
    });
    expect((await upgrade(port)).status).toBe(500);
    expect(thrown[0]).toBeInstanceOf(RangeError);
  });

  test.each([
    ['throws', (): void => { throw new Error('headers bug'); }, 'headers bug'],
    ['changes a handshake line', (headers: string[]): void => void (headers[1] = 'Upgrade: h2c'), 'a "headers" listener may only append lines to the response'],
    ['adds CRLF', (headers: string[]): void => void headers.push('X-A: 1\r\nX-Injected: 2'), 'invalid character in the value of header X-A'],
  ])('a headers listener that %s: 500 and reported', async (_name, edit, message) => {
    const { wss, port } = await make({});
    const errors = reported(wss);
    wss.on('headers', (headers, req) => {
      if (isEvil(req)) edit(headers);
    });
    const refused = await upgrade(port, [EVIL]);
    expect(refused.status).toBe(500);
    expect(refused.body).toBe('Internal Server Error');
    expect(errors.map((e) => e.message)).toEqual([message]);
    expect((await upgrade(port)).status).toBe(101);
  });

  test('a connection listener that throws: that socket is closed with 1011, reported, the next one works', async () => {
    const { wss, port } = await make({});
    const errors = reported(wss);
    wss.on('connection', (ws, req) => {
      if (isEvil(req)) throw new Error('connection bug');
      ws.send('welcome');
    });
    const first = await upgrade(port, [EVIL]);
    expect(first.status).toBe(101);
    expect(await closeCodeOf(first)).toBe(1011);
    expect(errors.map((e) => e.message)).toEqual(['connection bug']);
    const second = await upgrade(port);
    expect(second.status).toBe(101);
  });

  test('a WebSocket subclass whose constructor throws: 500 and reported', async () => {
    class Broken extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        throw new Error('constructor bug');
      }
    }
    const { wss, port } = await make({ WebSocket: Broken });
    const errors = reported(wss);
    expect((await upgrade(port)).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['constructor bug']);
  });

  test('a wsClientError listener that throws: the socket is closed, the error reported', async () => {
    const { wss, port } = await make({});
    const errors = reported(wss);
    let calls = 0;
    wss.on('wsClientError', () => {
      if (++calls === 1) throw new Error('wsClientError bug');
    });
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.write(upgradeRequest('/', [], ['Sec-WebSocket-Key']));
    await once(client, 'close');
    expect(errors.map((e) => e.message)).toEqual(['wsClientError bug']);
    expect((await upgrade(port)).status).toBe(101);
  });
});

describe('noServer: the handleUpgrade callback', () => {
  test('a callback that throws (after an async verifyClient): close 1011 and reported', async () => {
    const wss = new WebSocketServer({ noServer: true, verifyClient: (_info, done) => setImmediate(() => done(true)) });
    const errors = reported(wss);
    const http = createHttpServer();
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (isEvil(req)) throw new Error('callback bug');
        ws.send('ok');
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.add(async () => {
      await stop(wss);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const port = portOf(http.address());
    const first = await upgrade(port, [EVIL]);
    expect(first.status).toBe(101);
    expect(await closeCodeOf(first)).toBe(1011);
    expect(errors.map((e) => e.message)).toEqual(['callback bug']);
    expect((await upgrade(port)).status).toBe(101);
  });
});
