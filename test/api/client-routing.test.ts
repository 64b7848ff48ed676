// The options that route a client's connection (agent, createConnection, finishRequest, auth,
// lookup, localAddress, family, TLS options), run with ws's client and ours against the same
// server and compared; plus the request's field order and the subprotocol argument.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocket } from '../../src/index.js';
import { startConnectProxy } from './connect-proxy.js';

type AnySocket = WebSocket | WsWebSocket;
type Client = new (url: string | URL, protocols?: unknown, options?: object) => AnySocket;
const CLIENTS: Array<[string, Client]> = [
  ['ws', WsWebSocket as unknown as Client],
  ['rfc6455', WebSocket as unknown as Client],
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `program` with ws's client, then ours; returns both observations. */
async function sideBySide<T>(program: (Client: Client) => Promise<T>): Promise<{ ws: T; rfc6455: T }> {
  const results: Record<string, T> = {};
  for (const [name, Client] of CLIENTS) {
    results[name] = await program(Client);
    while (cleanups.length > 0) await cleanups.pop()!();
  }
  return results as { ws: T; rfc6455: T };
}

function track<T extends AnySocket>(ws: T): T {
  cleanups.push(() => {
    if (ws.readyState === ws.CLOSED) return;
    ws.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    ws.terminate();
    return closed;
  });
  return ws;
}

function opened(ws: AnySocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
}

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A `ws` server that records each upgrade request's raw header fields and the peer address. */
async function recordingServer(): Promise<{ port: number; requests: Array<{ rawHeaders: string[]; remoteAddress: string | undefined }> }> {
  const server = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => [...protocols][0] ?? false });
  await once(server, 'listening');
  const requests: Array<{ rawHeaders: string[]; remoteAddress: string | undefined }> = [];
  server.on('connection', (socket, request) => {
    requests.push({ rawHeaders: request.rawHeaders, remoteAddress: request.socket.remoteAddress });
    socket.on('message', (data) => socket.send(data));
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, requests };
}

/** A TCP server that answers every request head with `answer` (and ends the socket when `end`). */
async function rawServer(answer: string, end: boolean): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => (end ? socket.end(answer) : socket.write(answer)));
  });
  const port = await listening(server);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return port;
}

/** Field names in order, with the values that are the same on every run. */
function fieldsOf(rawHeaders: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    out.push(name.toLowerCase() === 'sec-websocket-key' ? name : `${name}: ${rawHeaders[i + 1]}`);
  }
  return out;
}

describe('the subprotocol argument', () => {
  test.each(CLIENTS)('%s: null, a number, an object in the list, a duplicate: SyntaxError', (_name, Client) => {
    for (const protocols of [null, 7, [1], ['a', null], ['a', 'a'], ['a b']]) {
      expect(() => new Client('ws://127.0.0.1:1/', protocols), JSON.stringify(protocols)).toThrow(
        new SyntaxError('An invalid or duplicated subprotocol was specified'),
      );
    }
  });
});

describe('the request on the wire', () => {
  test('field order and values: the same as ws, directly and through an agent', async () => {
    const program = (routed: boolean) => async (Client: Client) => {
      const { port, requests } = await recordingServer();
      const ws = track(
        new Client(`ws://us:pw@127.0.0.1:${port}/path?q=1`, ['chat', 'super'], {
          headers: { 'X-One': '1', Cookie: 'a=b', 'X-Two': ['2', '3'] },
          origin: 'https://example.com',
          ...(routed ? { agent: new Agent() } : {}),
        }),
      );
      await opened(ws);
      return { fields: fieldsOf(requests[0]!.rawHeaders).map((field) => field.replace(String(port), 'PORT')), protocol: ws.protocol };
    };
    for (const routed of [false, true]) {
      const { ws, rfc6455 } = await sideBySide(program(routed));
      expect(ws.fields).toContain('Sec-WebSocket-Protocol: chat,super');
      expect(rfc6455).toEqual(ws);
    }
  });

  test('auth: Basic Authorization, as http.request sends it', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port, requests } = await recordingServer();
      const socket = track(new Client(`ws://127.0.0.1:${port}/`, { auth: 'user:p@ss' }));
      await opened(socket);
      const raw = requests[0]!.rawHeaders;
      return raw[raw.findIndex((name) => name.toLowerCase() === 'authorization') + 1];
    });
    expect(ws).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    expect(rfc6455).toBe(ws);
  });
});

describe('options that reach the connection', () => {
  test('lookup, family and localAddress are used for the connection', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port, requests } = await recordingServer();
      const looked: string[] = [];
      const lookup = (hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
        looked.push(hostname);
        if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      };
      const socket = track(new Client(`ws://ws.test:${port}/`, { lookup, family: 4, localAddress: '127.0.0.1' }));
      await opened(socket);
      const raw = requests[0]!.rawHeaders;
      return { looked, remote: requests[0]!.remoteAddress, host: raw[raw.indexOf('Host') + 1]!.replace(String(port), 'PORT') };
    });
    expect(ws.looked).toEqual(['ws.test']);
    expect(rfc6455).toEqual(ws);
  });

  test('every TLS option reaches tls.connect (ALPNProtocols as an example)', async () => {
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const https = createHttpsServer({ cert, key, ALPNProtocols: ['x-test', 'http/1.1'] });
      const alpn: unknown[] = [];
      https.on('secureConnection', (tlsSocket: { alpnProtocol: unknown }) => alpn.push(tlsSocket.alpnProtocol));
      const wss = new WsServer({ server: https });
      const port = await listening(https);
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const client of wss.clients) client.terminate();
            https.close(() => resolve());
          }),
      );
      const socket = track(new Client(`wss://localhost:${port}/`, { ca: cert, ALPNProtocols: ['x-test'] }));
      await opened(socket);
      return alpn;
    });
    expect(ws).toEqual(['x-test']);
    expect(rfc6455).toEqual(ws);
  });

  test('wss: routed through an https.Agent, or through https.request with the TLS options (finishRequest)', async () => {
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const https = createHttpsServer({ cert, key });
      const wss = new WsServer({ server: https });
      wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
      const port = await listening(https);
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const client of wss.clients) client.terminate();
            https.close(() => resolve());
          }),
      );
      const outcomes: string[] = [];
      const variants: Array<[string, object]> = [
        ['agent with ca', { agent: new HttpsAgent({ ca: cert }) }],
        ['finishRequest with ca', { ca: cert, finishRequest: (request: ClientRequest) => request.end() }],
        ['finishRequest without ca', { finishRequest: (request: ClientRequest) => request.end() }],
      ];
      for (const [label, options] of variants) {
        const socket = track(new Client(`wss://localhost:${port}/`, options));
        const outcome = await new Promise<string>((resolve) => {
          socket.on('open', () => resolve('open'));
          socket.on('error', (error: Error & { code?: string }) => resolve(`error ${error.code}`));
        });
        outcomes.push(`${label}: ${outcome}`);
      }
      return outcomes;
    });
    expect(ws).toEqual(['agent with ca: open', 'finishRequest with ca: open', 'finishRequest without ca: error DEPTH_ZERO_SELF_SIGNED_CERT']);
    expect(rfc6455).toEqual(ws);
  });

  test('agent: an http.Agent subclass supplies the socket (its createConnection is called)', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port } = await recordingServer();
      const calls: Array<{ host: unknown; port: unknown }> = [];
      class ObservedAgent extends Agent {
        override createConnection(options: { host?: string; port?: number }, callback?: unknown): Socket {
          calls.push({ host: options.host, port: String(options.port) === String(port) ? `PORT as ${typeof options.port}` : options.port });
          return (Agent.prototype as unknown as { createConnection: (o: object, c?: unknown) => Socket }).createConnection.call(this, options, callback);
        }
      }
      const socket = track(new Client(`ws://127.0.0.1:${port}/`, { agent: new ObservedAgent() }));
      await opened(socket);
      const reply = new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(String(data))));
      socket.send('via agent');
      return { calls, reply: await reply };
    });
    expect(ws.calls).toHaveLength(1);
    expect(rfc6455).toEqual(ws);
  });

  test('createConnection is called as ws calls it, and its socket is used', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port } = await recordingServer();
      const seen: unknown[] = [];
      const createConnection = (options: Record<string, unknown>, callback: unknown): Socket => {
        seen.push({
          host: options.host,
          port: String(options.port) === String(port) ? `PORT as ${typeof options.port}` : options.port,
          path: options.path,
          method: options.method,
          headers: Object.keys(options.headers as object).sort(),
          callback: typeof callback,
          custom: options.custom,
        });
        return connect({ host: '127.0.0.1', port });
      };
      const socket = track(new Client(`ws://example.invalid:${port}/p?x`, { createConnection, custom: 'kept', perMessageDeflate: false }));
      await opened(socket);
      return seen;
    });
    expect(ws).toHaveLength(1);
    expect(rfc6455).toEqual(ws);
  });

  test('finishRequest gets the request (headers can be added) and the WebSocket, and ends it', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port, requests } = await recordingServer();
      let given: unknown;
      const socket: AnySocket = track(
        new Client(`ws://127.0.0.1:${port}/`, {
          finishRequest: (request: ClientRequest, websocket: unknown) => {
            given = websocket;
            request.setHeader('X-Finished', 'yes');
            request.end();
          },
        }),
      );
      await opened(socket);
      const raw = requests[0]!.rawHeaders;
      return { sameSocket: given === socket, header: raw[raw.indexOf('X-Finished') + 1] };
    });
    expect(ws).toEqual({ sameSocket: true, header: 'yes' });
    expect(rfc6455).toEqual(ws);
  });

  test('an agent-base style proxy agent (connect(req, options) supplies a tunnel) routes the connection', async () => {
    /** The agent-base contract: createSocket awaits connect(), and createConnection hands its socket to node. */
    class TunnelAgent extends Agent {
      private current: Socket | null = null;
      constructor(private readonly proxyPort: number) {
        super({ keepAlive: false });
      }
      async connect(_request: ClientRequest, options: { host: string; port: number }): Promise<Socket> {
        const socket = connect({ host: '127.0.0.1', port: this.proxyPort });
        socket.write(`CONNECT ${options.host}:${options.port} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n\r\n`);
        const [chunk] = (await once(socket, 'data')) as [Buffer];
        if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error('tunnel refused');
        return socket;
      }
      createSocket(request: ClientRequest, options: { host: string; port: number }, callback: (error: Error | null, socket?: Socket) => void): void {
        this.connect(request, options).then(
          (socket) => {
            this.current = socket;
            (Agent.prototype as unknown as { createSocket: Function }).createSocket.call(this, request, options, callback);
          },
          (error: Error) => callback(error),
        );
      }
      override createConnection(): Socket {
        const socket = this.current!;
        this.current = null;
        return socket;
      }
    }
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port } = await recordingServer();
      const proxy = await startConnectProxy();
      cleanups.push(() => proxy.close());
      const socket = track(new Client(`ws://127.0.0.1:${port}/`, { agent: new TunnelAgent(proxy.port) }));
      await opened(socket);
      const reply = new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(String(data))));
      socket.send('tunnelled');
      return { targets: proxy.seen.map((record) => record.target.replace(String(port), 'PORT')), reply: await reply };
    });
    expect(ws).toEqual({ targets: ['127.0.0.1:PORT'], reply: 'tunnelled' });
    expect(rfc6455).toEqual(ws);
  });
});

describe('the routed path shares the answer handling', () => {
  test("an unexpected response through an agent: 'unexpected-response' with node's request and response", async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const port = await rawServer('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope', true);
      const socket = track(new Client(`ws://127.0.0.1:${port}/`, { agent: new Agent() }));
      const events: string[] = [];
      socket.on('unexpected-response', (request: ClientRequest, response: NodeJS.ReadableStream & { statusCode: number }) => {
        events.push(`response ${response.statusCode} ${request.constructor.name}`);
        let body = '';
        response.on('data', (chunk: Buffer) => (body += String(chunk)));
        response.on('end', () => {
          events.push(`body ${body}`);
          socket.terminate();
        });
      });
      socket.on('error', (error: Error) => events.push(`error ${error.message}`));
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
      return events;
    });
    expect(ws).toEqual(['response 401 ClientRequest', 'body nope', 'error WebSocket was closed before the connection was established']);
    expect(rfc6455).toEqual(ws);
  });

  test('a bad 101 through an agent is refused with the same message as directly', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const port = await rawServer('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n', false);
      const messages: string[] = [];
      for (const agent of [undefined, new Agent()]) {
        const socket = track(new Client(`ws://127.0.0.1:${port}/`, { agent }));
        const error = await new Promise<Error>((resolve) => socket.on('error', resolve));
        messages.push(error.message);
      }
      return messages;
    });
    expect(ws).toEqual(['Invalid Sec-WebSocket-Accept header', 'Invalid Sec-WebSocket-Accept header']);
    expect(rfc6455).toEqual(ws);
  });

  test("a redirect through an agent: 'redirect' can set headers of the next request; handshakeTimeout applies", async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const { port, requests } = await recordingServer();
      const first = await rawServer(`HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${port}/next\r\nContent-Length: 0\r\n\r\n`, true);
      const socket = track(new Client(`ws://127.0.0.1:${first}/`, { agent: new Agent(), followRedirects: true }));
      socket.on('redirect', (_url: string, request: { setHeader(name: string, value: string): void }) => request.setHeader('X-Hop', '2'));
      await opened(socket);
      const raw = requests[0]!.rawHeaders;
      const silent = await rawServer('', false);
      const timedOut = track(new Client(`ws://127.0.0.1:${silent}/`, { agent: new Agent(), handshakeTimeout: 50 }));
      const error = await new Promise<Error>((resolve) => timedOut.on('error', resolve));
      return { hop: raw[raw.indexOf('X-Hop') + 1], url: socket.url.replace(String(port), 'PORT'), timeout: error.message };
    });
    expect(ws).toEqual({ hop: '2', url: 'ws://127.0.0.1:PORT/next', timeout: 'Opening handshake has timed out' });
    expect(rfc6455).toEqual(ws);
  });

  test('signal (an http.request option) aborts the handshake as in ws', async () => {
    const { ws, rfc6455 } = await sideBySide(async (Client) => {
      const silent = await rawServer('', false);
      const controller = new AbortController();
      const socket = track(new Client(`ws://127.0.0.1:${silent}/`, { signal: controller.signal }));
      const events: string[] = [];
      const closed = new Promise<void>((resolve) =>
        socket.on('close', (code: number) => {
          events.push(`close ${code}`);
          resolve();
        }),
      );
      socket.on('error', (error: Error) => events.push(`error ${error.name}`));
      controller.abort();
      await closed;
      return events;
    });
    expect(ws).toEqual(['error AbortError', 'close 1006']);
    expect(rfc6455).toEqual(ws);
  });
});
