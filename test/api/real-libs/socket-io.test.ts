// socket.io, a real library built on `ws`, run over rfc6455 with only the classes changed: the server's
// engine gets our WebSocketServer through engine.io's `wsEngine` option, and the client (socket.io-client,
// forced to the websocket transport) gets our WebSocket through a transport whose `createSocket` is the
// one line that differs from engine.io-client's own Node transport. Each scenario runs once with `ws`'s
// classes and once with ours; the transcripts must be equal, and equal to the expected one.
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeWebSocket } from 'engine.io-client';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { Cleanups } from '../server-helpers.js';
import { type Lib, LIBS } from '../libs.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** engine.io-client's Node websocket transport, opening `lib`'s WebSocket instead of the `ws` it imports. */
function transportOf(lib: Lib): typeof NodeWebSocket {
  return class extends NodeWebSocket {
    override createSocket(uri: string, protocols: string | string[] | undefined, opts: Record<string, unknown>): ws.WebSocket {
      return new lib.WebSocket(uri, protocols, opts);
    }
  } as typeof NodeWebSocket;
}

interface Rig {
  io: Server;
  http: HttpServer;
  connect(options?: Record<string, unknown>): Promise<{ client: ClientSocket; server: ServerSocket }>;
}

/** A socket.io server on 127.0.0.1 whose websocket engine is `lib`'s server; clients connect with `lib`'s WebSocket. */
async function rig(lib: Lib, serverOptions: Record<string, unknown> = {}): Promise<Rig> {
  const http = createServer();
  const server = new Server(http, { wsEngine: lib.WebSocketServer, transports: ['websocket'], ...serverOptions });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const Transport = transportOf(lib);
  return {
    io: server,
    http,
    async connect(options = {}) {
      const arrived = once(server, 'connection') as Promise<[ServerSocket]>;
      const client = io(url, { transports: [Transport], forceNew: true, reconnection: false, ...options } as never);
      cleanups.add(() => {
        client.disconnect();
      });
      await nextEvent(client, 'connect');
      const [socket] = await arrived;
      return { client, server: socket };
    },
  };
}

/** The arguments of `emitter`'s next `event` (socket.io-client's emitters are not node:events ones). */
function nextEvent(emitter: { once(event: string, listener: (...args: unknown[]) => void): unknown }, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

/** Resolves with the reason of `socket`'s 'disconnect'. */
function disconnected(socket: ClientSocket | ServerSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason: string) => resolve(reason)));
}

/** Runs `scenario` with both libraries and checks both transcripts equal `expected`. */
async function sideBySide(scenario: (lib: Lib) => Promise<unknown[]>, expected: unknown[]): Promise<void> {
  const transcripts: Record<string, unknown[]> = {};
  for (const [name, lib] of LIBS) {
    transcripts[name] = await scenario(lib);
    await cleanups.run();
  }
  expect(transcripts.rfc6455).toEqual(transcripts.ws);
  expect(transcripts.ws).toEqual(expected);
}

/** A server that acknowledges 'echo' with its argument and relays 'shout' to the room 'lobby'. */
function serve(server: Server): void {
  server.on('connection', (socket) => {
    socket.join('lobby');
    socket.on('echo', (value: unknown, ack: (value: unknown) => void) => ack(value));
    socket.on('shout', (text: string) => {
      server.to('lobby').emit('news', `${socket.handshake.query.name}: ${text}`);
    });
  });
}

describe('socket.io over ws and over rfc6455', () => {
  test('emit with an acknowledgement, both ways', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      serve(r.io);
      const { client, server } = await r.connect();
      const echoed = await client.timeout(5000).emitWithAck('echo', { n: 1, list: ['a', 'b'], text: 'héllo' });
      client.on('question', (q: string, ack: (a: string) => void) => ack(`answer to ${q}`));
      const answered = await server.timeout(5000).emitWithAck('question', 'life');
      // Both ends really are `lib`'s sockets.
      const clientWs = (client.io.engine.transport as unknown as { ws: unknown }).ws;
      const serverWs = (server.conn.transport as unknown as { socket: unknown }).socket;
      return [echoed, answered, client.io.engine.transport.name, clientWs instanceof lib.WebSocket, serverWs instanceof lib.WebSocket];
    }, [{ n: 1, list: ['a', 'b'], text: 'héllo' }, 'answer to life', 'websocket', true, true]);
  });

  test('a room broadcast reaches every member, in order', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      serve(r.io);
      const alice = await r.connect({ query: { name: 'alice' } });
      const bob = await r.connect({ query: { name: 'bob' } });
      const outsider = await r.connect({ query: { name: 'carol' } });
      outsider.server.leave('lobby');
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        for (const [who, socket] of [['alice', alice.client], ['bob', bob.client], ['carol', outsider.client]] as const) {
          socket.on('news', (text: string) => {
            seen.push(`${who} <- ${text}`);
            if (seen.length === 4) resolve();
          });
        }
      });
      alice.client.emit('shout', 'one');
      await new Promise<void>((resolve) => bob.client.once('news', () => resolve()));
      bob.client.emit('shout', 'two');
      await done;
      // A round trip on carol's socket: a stray 'news' to her would have arrived before its answer.
      await outsider.client.timeout(5000).emitWithAck('echo', 0);
      return seen.sort();
    }, ['alice <- alice: one', 'alice <- bob: two', 'bob <- alice: one', 'bob <- bob: two']);
  });

  test('binary payloads arrive as Buffers with their bytes', async () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      serve(r.io);
      const { client, server } = await r.connect();
      const serverGot = new Promise<unknown>((resolve) => server.once('upload', (data: unknown) => resolve(data)));
      client.emit('upload', { name: 'file', data: bytes, parts: [bytes.subarray(0, 3)] });
      const upload = (await serverGot) as { name: string; data: Buffer; parts: Buffer[] };
      const echoed = (await client.timeout(5000).emitWithAck('echo', bytes)) as Buffer;
      return [
        upload.name,
        Buffer.isBuffer(upload.data),
        upload.data.equals(bytes),
        upload.parts[0]!.toString('hex'),
        Buffer.isBuffer(echoed),
        Buffer.from(echoed).equals(bytes),
      ];
    }, ['file', true, true, '000102', true, true]);
  });

  test('disconnect reasons on both sides', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      serve(r.io);
      const reasons: string[] = [];

      // The client leaves.
      const a = await r.connect();
      const aServer = disconnected(a.server);
      const aClient = disconnected(a.client);
      a.client.disconnect();
      reasons.push(`client leaves: server sees ${await aServer}, client sees ${await aClient}`);

      // The server sends the client away.
      const b = await r.connect();
      const bServer = disconnected(b.server);
      const bClient = disconnected(b.client);
      b.server.disconnect(true);
      reasons.push(`server ends it: server sees ${await bServer}, client sees ${await bClient}`);

      // The client's transport closes under it.
      const c = await r.connect();
      const cServer = disconnected(c.server);
      const cClient = disconnected(c.client);
      c.client.io.engine.close();
      reasons.push(`client engine closes: server sees ${await cServer}, client sees ${await cClient}`);

      // The server closes its WebSocket (the transport) under a client.
      const d = await r.connect();
      const dServer = disconnected(d.server);
      const dClient = disconnected(d.client);
      d.server.conn.close();
      reasons.push(`server engine closes: server sees ${await dServer}, client sees ${await dClient}`);
      return reasons;
    }, [
      'client leaves: server sees client namespace disconnect, client sees io client disconnect',
      'server ends it: server sees server namespace disconnect, client sees io server disconnect',
      'client engine closes: server sees transport close, client sees forced close',
      'server engine closes: server sees forced close, client sees transport close',
    ]);
  });

  test('after a transport close the client reconnects and is served again', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      serve(r.io);
      const { client, server } = await r.connect({ reconnection: true, reconnectionDelay: 1, reconnectionDelayMax: 1, randomizationFactor: 0 });
      const firstId = server.id;
      const lost = disconnected(client);
      const next = once(r.io, 'connection') as Promise<[ServerSocket]>;
      const reconnected = nextEvent(client.io, 'reconnect') as Promise<[number]>;
      // The server's WebSocket ends without a socket.io goodbye, as when the connection drops.
      (server.conn.transport as unknown as { socket: ws.WebSocket }).socket.terminate();
      const reason = await lost;
      const [attempt] = await reconnected;
      const [again] = await next;
      const echoed = await client.timeout(5000).emitWithAck('echo', 'still here');
      return [reason, attempt, again.id !== firstId, client.connected, echoed];
    }, ['transport close', 1, true, true, 'still here']);
  });

  test('a refused connection reaches the client as connect_error', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib);
      r.io.use((socket, next) => next(socket.handshake.auth.token === 'secret' ? undefined : new Error('not authorized')));
      serve(r.io);
      const http = r.http.address() as AddressInfo;
      const refused = io(`http://127.0.0.1:${http.port}`, { transports: [transportOf(lib)], forceNew: true, reconnection: false } as never);
      cleanups.add(() => {
        refused.disconnect();
      });
      const [error] = (await nextEvent(refused, 'connect_error')) as [Error];
      const { client } = await r.connect({ auth: { token: 'secret' } });
      return [error.message, client.connected];
    }, ['not authorized', true]);
  });

  test('a message over maxHttpBufferSize (the WebSocket maxPayload) ends the connection on both sides', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib, { maxHttpBufferSize: 1000 });
      serve(r.io);
      const { client, server } = await r.connect();
      const serverReason = disconnected(server);
      const clientReason = disconnected(client);
      client.emit('echo', 'x'.repeat(2000));
      return [await serverReason, await clientReason];
    }, ['transport error', 'transport close']);
  });

  test('an upgrade refused by allowRequest: connect_error with the HTTP status the client saw', async () => {
    await sideBySide(async (lib) => {
      const r = await rig(lib, { allowRequest: (_req: unknown, callback: (err: string, ok: boolean) => void) => callback('go away', false) });
      serve(r.io);
      const client = io(`http://127.0.0.1:${(r.http.address() as AddressInfo).port}`, {
        transports: [transportOf(lib)],
        forceNew: true,
        reconnection: false,
      } as never);
      cleanups.add(() => {
        client.disconnect();
      });
      const [error] = (await nextEvent(client, 'connect_error')) as [Error & { description?: { message?: string } }];
      return [error.message, error.description?.message];
    }, ['websocket error', 'Unexpected server response: 400']);
  });

  test('no server listening: connect_error from the websocket transport', async () => {
    await sideBySide(async (lib) => {
      // A port that was just free: nothing listens on it any more.
      const http = createServer();
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
      const port = (http.address() as AddressInfo).port;
      await new Promise<void>((resolve) => http.close(() => resolve()));
      const client = io(`http://127.0.0.1:${port}`, { transports: [transportOf(lib)], forceNew: true, reconnection: false } as never);
      cleanups.add(() => {
        client.disconnect();
      });
      const [error] = (await nextEvent(client, 'connect_error')) as [Error & { type?: string; description?: { type?: string } }];
      return [error.message, error.type, error.description?.type];
    }, ['websocket error', 'TransportError', 'error']);
  });

  test('perMessageDeflate on both sides: negotiated, and large messages travel compressed', async () => {
    const text = 'the same words again and again; '.repeat(2000);
    await sideBySide(async (lib) => {
      const r = await rig(lib, { perMessageDeflate: { threshold: 0 } });
      serve(r.io);
      const { client, server } = await r.connect({ perMessageDeflate: { threshold: 0 } });
      // engine.io's transport holds the server's WebSocket; its request socket counts the bytes read.
      const serverWs = (server.conn.transport as unknown as { socket: ws.WebSocket }).socket;
      const raw = server.conn.request.socket;
      const before = raw.bytesRead;
      const echoed = (await client.timeout(5000).emitWithAck('echo', text)) as string;
      const read = raw.bytesRead - before;
      return [serverWs.extensions, echoed === text, read < text.length / 10];
    }, ['permessage-deflate', true, true]);
  });
});
