// Typical `ws` programs, written once against the `ws` API and run twice: with `ws` itself and with
// rfc6455 (both the server and the client from the same library). Each program writes a transcript of
// what an application can observe (messages, close codes and reasons, errors, status codes); the two
// transcripts must be equal, and each is also checked against the expected one so a program that
// observes nothing cannot pass.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { Cleanups } from './server-helpers.js';
import { type Lib, LIBS } from './libs.js';

type Program = (lib: Lib, cleanups: Cleanups) => Promise<string[]>;

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

// ---- helpers -------------------------------------------------------------------------------------

/** A standalone server on 127.0.0.1, any port; closed (clients terminated) after the test. */
async function standalone(lib: Lib, t: Cleanups, options: ws.ServerOptions = {}): Promise<{ wss: ws.WebSocketServer; url: string }> {
  const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  t.add(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** A client socket terminated after the test if still open. */
function client(lib: Lib, t: Cleanups, url: string, protocols?: string[] | ws.ClientOptions, options?: ws.ClientOptions): ws.WebSocket {
  // `new WebSocket(url, options)` and `new WebSocket(url, protocols, options)`, as applications write them.
  const socket = new lib.WebSocket(url, protocols as string[] | undefined, options);
  t.add(() => {
    // ws reports terminating a CONNECTING socket as an 'error'; the test is over by then.
    socket.on('error', () => {});
    socket.terminate();
  });
  return socket;
}

/** The 'close' of `socket` as "close <code> <reason>"; listen before anything can close it. */
function closed(socket: ws.WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve(`close ${code} ${reason.toString()}`)));
}

/** The next 'message' of `socket` as "<text|binary> <content>". */
function message(socket: ws.WebSocket): Promise<string> {
  return new Promise((resolve) =>
    socket.once('message', (data, isBinary) => resolve(`${isBinary ? 'binary' : 'text'} ${Buffer.from(data as Buffer).toString()}`)),
  );
}

/** Resolves after `count` 'connection' events of `wss`, with the sockets in order. */
function connections(wss: ws.WebSocketServer, count: number): Promise<ws.WebSocket[]> {
  const sockets: ws.WebSocket[] = [];
  return new Promise((resolve) => {
    const onConnection = (socket: ws.WebSocket): void => {
      sockets.push(socket);
      if (sockets.length === count) {
        wss.off('connection', onConnection);
        resolve(sockets);
      }
    };
    wss.on('connection', onConnection);
  });
}

// ---- the programs --------------------------------------------------------------------------------

const echo: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t);
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  const socket = client(lib, t, url);
  const done = closed(socket);
  const log: string[] = [];
  await once(socket, 'open');
  socket.send('hello');
  log.push(await message(socket));
  socket.send(Buffer.from('bytes'));
  log.push(await message(socket));
  socket.close();
  log.push(await done);
  return log;
};

const broadcast: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t);
  // Every message is sent to every open client, the sender included (the ws README's pattern).
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      for (const peer of wss.clients) {
        if (peer.readyState === lib.WebSocket.OPEN) peer.send(data, { binary: isBinary });
      }
    });
  });
  const connected = connections(wss, 3);
  const sockets = [0, 1, 2].map(() => client(lib, t, url));
  await Promise.all(sockets.map((socket) => once(socket, 'open')));
  await connected;
  const log = [`clients ${wss.clients.size}`];
  const received = sockets.map((socket) => message(socket));
  sockets[1].send('from 1');
  for (const [index, text] of (await Promise.all(received)).entries()) log.push(`client ${index}: ${text}`);
  return log;
};

const heartbeat: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t);
  const names = new Map<ws.WebSocket, string>();
  const alive = new Map<ws.WebSocket, boolean>();
  const terminated: string[] = [];
  const serverSideClosed: Array<Promise<string>> = [];
  wss.on('connection', (socket, req) => {
    names.set(socket, new URL(req.url!, 'http://x').searchParams.get('name')!);
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  });
  const connected = connections(wss, 2);
  const good = client(lib, t, `${url}/?name=good`);
  // A client that never answers pings.
  const silent = client(lib, t, `${url}/?name=silent`, { autoPong: false });
  const goodClosed = closed(good);
  const silentClosed = closed(silent);
  let pingsSeenBySilent = 0;
  silent.on('ping', () => pingsSeenBySilent++);
  await Promise.all([once(good, 'open'), once(silent, 'open'), connected]);

  // The ws README's heartbeat: each tick terminates the sockets that did not answer the last ping.
  // It stops once the silent client is gone, or after a bounded number of ticks.
  let ticks = 0;
  await new Promise<void>((resolve) => {
    const interval = setInterval(() => {
      ticks++;
      for (const socket of wss.clients) {
        if (alive.get(socket) === false) {
          terminated.push(names.get(socket)!);
          serverSideClosed.push(closed(socket));
          socket.terminate();
          continue;
        }
        alive.set(socket, false);
        socket.ping();
      }
      if (terminated.length > 0 || ticks === 20) {
        clearInterval(interval);
        resolve();
      }
    }, 100);
  });
  const log = [`terminated ${terminated.join(',')}`, `server side ${(await Promise.all(serverSideClosed)).join()}`];
  log.push(`silent ${await silentClosed}`, `silent saw pings ${pingsSeenBySilent > 0}`);
  log.push(`good open ${good.readyState === lib.WebSocket.OPEN}`, `clients left ${wss.clients.size}`);
  good.close(1000, 'done');
  log.push(`good ${await goodClosed}`);
  return log;
};

const noServerRouting: Program = async (lib, t) => {
  const http = createServer((_req, res) => res.end('plain http'));
  const chat = new lib.WebSocketServer({ noServer: true });
  const feed = new lib.WebSocketServer({ noServer: true });
  chat.on('connection', (socket) => socket.send('welcome to chat'));
  feed.on('connection', (socket) => socket.send('welcome to feed'));
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url!, 'http://x');
    const target = pathname === '/chat' ? chat : pathname === '/feed' ? feed : null;
    if (target === null) {
      socket.destroy();
      return;
    }
    target.handleUpgrade(request, socket, head, (socket) => target.emit('connection', socket, request));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.add(() => new Promise<void>((resolve) => http.close(() => resolve())));
  t.add(() => {
    for (const wss of [chat, feed]) {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
    }
  });
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const log: string[] = [];
  for (const path of ['/chat', '/feed']) {
    const socket = client(lib, t, base + path);
    const done = closed(socket);
    log.push(`${path}: ${await message(socket)}`);
    socket.close();
    log.push(`${path}: ${await done}`);
  }
  const refused = client(lib, t, `${base}/other`);
  const done = closed(refused);
  let errors = 0;
  refused.on('error', () => errors++);
  log.push(`/other: ${await done}`, `/other errors ${errors}`, `clients ${chat.clients.size + feed.clients.size}`);
  return log;
};

const verifyClientRejects: Program = async (lib, t) => {
  const { url } = await standalone(lib, t, {
    verifyClient: (info: { req: IncomingMessage }, callback: (ok: boolean, code?: number, message?: string) => void) => {
      const token = info.req.headers['x-token'];
      if (token === 'secret') callback(true);
      else if (token === undefined) callback(false, 401, 'Unauthorized');
      else callback(false, 403, 'Forbidden');
    },
  });
  const log: string[] = [];
  // Without an 'unexpected-response' listener: 'error' then 'close' 1006.
  const plain = client(lib, t, url, { headers: { 'X-Token': 'wrong' } });
  const plainClosed = closed(plain);
  const [error] = (await once(plain, 'error')) as [Error];
  log.push(`error: ${error.message}`, await plainClosed);
  // With one: the application sees the response itself.
  const handled = client(lib, t, url);
  const [, response] = (await once(handled, 'unexpected-response')) as [unknown, IncomingMessage];
  log.push(`unexpected-response ${response.statusCode} ${response.statusMessage}`);
  response.resume();
  // Accepted with the right token.
  const accepted = client(lib, t, url, { headers: { 'X-Token': 'secret' } });
  const acceptedClosed = closed(accepted);
  await once(accepted, 'open');
  log.push('open with token');
  accepted.close();
  log.push(await acceptedClosed);
  return log;
};

const headersAndProtocols: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t, {
    handleProtocols: (protocols: Set<string>) => (protocols.has('chat.v2') ? 'chat.v2' : false),
  });
  const log: string[] = [];
  wss.on('connection', (socket, req) => {
    log.push(`server: x-user ${req.headers['x-user']}, offered ${req.headers['sec-websocket-protocol']}, chose ${socket.protocol}`);
  });
  const socket = client(lib, t, url, ['chat.v1', 'chat.v2'], { headers: { 'X-User': 'ada' } });
  const done = closed(socket);
  await once(socket, 'open');
  log.push(`client: protocol ${socket.protocol}`);
  socket.close();
  log.push(await done);
  // No acceptable protocol: the server accepts none, and a client that asked for some fails.
  const other = client(lib, t, url, ['mqtt']);
  const otherClosed = closed(other);
  const [error] = (await once(other, 'error')) as [Error];
  log.push(`mqtt: ${error.message}`, `mqtt: ${await otherClosed}`);
  return log;
};

const closeBothWays: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t);
  const serverCloses: Array<Promise<string>> = [];
  wss.on('connection', (socket, req) => {
    serverCloses.push(closed(socket));
    if (req.url === '/server-closes') socket.close(4001, 'server says bye');
  });
  const log: string[] = [];

  const first = client(lib, t, url);
  const firstClosed = closed(first);
  await once(first, 'open');
  first.close(4000, 'client says bye');
  log.push(`client-initiated, client: ${await firstClosed}`, `client-initiated, server: ${await serverCloses[0]}`);

  const second = client(lib, t, `${url}/server-closes`);
  const secondClosed = closed(second);
  log.push(`server-initiated, client: ${await secondClosed}`, `server-initiated, server: ${await serverCloses[1]}`);
  return log;
};

const arrayBuffers: Program = async (lib, t) => {
  const { wss, url } = await standalone(lib, t);
  wss.on('connection', (socket) => {
    socket.send(Uint8Array.from([1, 2, 3]));
    socket.send('text stays a Buffer');
  });
  const socket = client(lib, t, url);
  socket.binaryType = 'arraybuffer';
  const log: string[] = [];
  const describeData = (data: unknown): string =>
    data instanceof ArrayBuffer
      ? `ArrayBuffer [${[...new Uint8Array(data)].join(',')}]`
      : Buffer.isBuffer(data)
        ? `Buffer ${data.toString()}`
        : typeof data === 'string'
          ? `string ${data}`
          : 'other';
  const messages = new Promise<void>((resolve) => {
    let count = 0;
    socket.on('message', (data, isBinary) => {
      log.push(`message ${isBinary ? 'binary' : 'text'}: ${describeData(data)}`);
      if (++count === 2) resolve();
    });
  });
  // The WHATWG face: MessageEvent.data follows binaryType too (text is a string there).
  socket.addEventListener('message', (event) => log.push(`event: ${describeData(event.data)}`));
  await messages;
  socket.terminate();
  return log;
};

const sendWhileClosing: Program = async (lib, t) => {
  const { url } = await standalone(lib, t);
  const socket = client(lib, t, url);
  const done = closed(socket);
  await once(socket, 'open');
  socket.close(1000);
  const log = [`readyState ${socket.readyState}`];
  const result = await new Promise<Error | undefined>((resolve) => socket.send('too late', (error) => resolve(error)));
  log.push(`send callback: ${result instanceof Error ? result.message : 'no error'}`);
  log.push(await done, `bufferedAmount after close ${socket.bufferedAmount > 0}`);
  return log;
};

// ---- the table -----------------------------------------------------------------------------------

/**
 * Documented differences (README, "Compatibility with ws"): a line of ws's transcript and the line
 * rfc6455 writes instead. Everything else must be the same.
 */
const PROGRAMS: Array<[string, Program, string[], Array<[string, string]>?]> = [
  // close() without a code sends an empty close frame; both servers echo it empty (the client sees 1005).
  ['echo', echo, ['text hello', 'binary bytes', 'close 1005 ']],
  ['broadcast to wss.clients', broadcast, ['clients 3', 'client 0: text from 1', 'client 1: text from 1', 'client 2: text from 1']],
  [
    'heartbeat with isAlive terminates the client that does not pong',
    heartbeat,
    ['terminated silent', 'server side close 1006 ', 'silent close 1006 ', 'silent saw pings true', 'good open true', 'clients left 1', 'good close 1000 done'],
  ],
  [
    'noServer: two paths on one http server',
    noServerRouting,
    ['/chat: text welcome to chat', '/chat: close 1005 ', '/feed: text welcome to feed', '/feed: close 1005 ', '/other: close 1006 ', '/other errors 1', 'clients 0'],
  ],
  [
    'verifyClient refuses',
    verifyClientRejects,
    ['error: Unexpected server response: 403', 'close 1006 ', 'unexpected-response 401 Unauthorized', 'open with token', 'close 1005 '],
  ],
  [
    'custom headers and subprotocols',
    headersAndProtocols,
    [
      'server: x-user ada, offered chat.v1,chat.v2, chose chat.v2',
      'client: protocol chat.v2',
      'close 1005 ',
      'server: x-user undefined, offered mqtt, chose ',
      'mqtt: Server sent no subprotocol',
      'mqtt: close 1006 ',
    ],
    [],
  ],
  [
    'close with code and reason both ways',
    closeBothWays,
    [
      'client-initiated, client: close 4000 client says bye',
      'client-initiated, server: close 4000 client says bye',
      'server-initiated, client: close 4001 server says bye',
      'server-initiated, server: close 4001 server says bye',
    ],
  ],
  [
    "binaryType 'arraybuffer'",
    arrayBuffers,
    ['message binary: ArrayBuffer [1,2,3]', 'event: ArrayBuffer [1,2,3]', 'message text: Buffer text stays a Buffer', 'event: string text stays a Buffer'],
  ],
  [
    'send while CLOSING',
    sendWhileClosing,
    ['readyState 2', 'send callback: WebSocket is not open: readyState 2 (CLOSING)', 'close 1000 ', 'bufferedAmount after close true'],
  ],
];

describe('typical ws programs behave the same with ws and rfc6455', () => {
  test.each(PROGRAMS)('%s', async (_name, program, expected, differences = []) => {
    const transcripts: Record<string, string[]> = {};
    for (const [name, lib] of LIBS) {
      transcripts[name] = await program(lib, cleanups);
      await cleanups.run();
    }
    expect(transcripts.ws).toEqual(expected);
    for (const [theirs] of differences) expect(transcripts.ws).toContain(theirs);
    const replaced = new Map(differences);
    expect(transcripts.rfc6455).toEqual(transcripts.ws.map((line) => replaced.get(line) ?? line));
  });
});
