// What real libraries built on `ws` (not installed here) do with it, reduced to their calls on `ws`'s
// API, run side by side with `ws` and with rfc6455. Each pattern names the library it comes from; the
// libraries themselves were run over both (with `ws` resolved to one or the other) to find them.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { Cleanups } from '../server-helpers.js';
import { type Lib, LIBS } from '../libs.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** A standalone `lib` server on 127.0.0.1 and a `lib` client connected to it. */
async function pair(lib: Lib, options: ws.ServerOptions = {}): Promise<{ wss: ws.WebSocketServer; client: ws.WebSocket; server: ws.WebSocket }> {
  const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const arrived = once(wss, 'connection') as Promise<[ws.WebSocket]>;
  const client = new lib.WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  cleanups.add(() => client.terminate());
  await once(client, 'open');
  const [server] = await arrived;
  return { wss, client, server };
}

/** What `client` receives until it closes: its messages, then "close <code> <reason>". */
function transcript(client: ws.WebSocket): Promise<string[]> {
  const seen: string[] = [];
  client.on('message', (data) => seen.push(`message ${String(data)}`));
  return new Promise((resolve) =>
    client.once('close', (code, reason) => {
      seen.push(`close ${code} ${String(reason)}`);
      resolve(seen);
    }),
  );
}

/**
 * Two Duplex ends joined in memory, without autoDestroy (like duplexify's): what one writes the other
 * reads, and end() on one ends the other's readable side. Neither emits 'close' until destroyed.
 */
function duplexPair(): [Duplex, Duplex] {
  const make = (): Duplex =>
    new Duplex({
      autoDestroy: false,
      read() {},
      write(chunk: Buffer, _encoding, cb) {
        peerOf.get(this)!.push(chunk);
        cb();
      },
      final(cb) {
        peerOf.get(this)!.push(null);
        cb();
      },
    });
  const peerOf = new Map<Duplex, Duplex>();
  const a = make();
  const b = make();
  peerOf.set(a, b).set(b, a);
  return [a, b];
}

/** Runs `scenario` with both libraries and checks both transcripts equal `expected`. */
async function sideBySide(scenario: (lib: Lib) => Promise<unknown[]>, expected: unknown[]): Promise<void> {
  const transcripts: Record<string, unknown[]> = {};
  for (const [name, lib] of LIBS) {
    transcripts[name] = [...(await scenario(lib))];
    await cleanups.run();
  }
  expect(transcripts.rfc6455).toEqual(transcripts.ws);
  expect(transcripts.ws).toEqual(expected);
}

describe('patterns of real libraries, over ws and over rfc6455', () => {
  // @fastify/websocket's default error handler terminates the socket on 'error'; the frames written
  // before (the close frame of a protocol error, a reply sent from a message handler) still leave.
  test('@fastify/websocket: terminate() in an error handler after maxPayload is exceeded: the peer sees 1009', async () => {
    await sideBySide(async (lib) => {
      const { client, server } = await pair(lib, { maxPayload: 16 });
      server.on('error', () => server.terminate());
      const seen = transcript(client);
      client.send('more than sixteen bytes');
      return seen;
    }, ['close 1009 ']);
  });

  test('a message handler that sends, then terminates: the message leaves first', async () => {
    await sideBySide(async (lib) => {
      const { client, server } = await pair(lib);
      server.on('message', (data) => {
        server.send(`last words for ${String(data)}`);
        server.terminate();
      });
      const seen = transcript(client);
      client.send('you');
      return seen;
    }, ['message last words for you', 'close 1006 ']);
  });

  test('a message handler that sends, closes, then terminates: the message and the close frame leave', async () => {
    await sideBySide(async (lib) => {
      const { client, server } = await pair(lib);
      server.on('message', () => {
        server.send('bye');
        server.close(4000, 'done');
        server.terminate();
      });
      const seen = transcript(client);
      client.send('go');
      return seen;
    }, ['message bye', 'close 4000 done']);
  });

  // @fastify/websocket's injectWS: a client WebSocket made with `new WebSocket(null, undefined,
  // { isServer: false })` is given one end of an in-memory Duplex pair with setSocket() once the 101
  // arrives; the server's handleUpgrade gets the other end.
  test('@fastify/websocket injectWS: a client on an in-memory Duplex pair, setSocket() after the 101', async () => {
    const serverClosed: Record<string, Promise<string>> = {};
    await sideBySide(async (lib) => {
      const wss = new lib.WebSocketServer({ noServer: true });
      cleanups.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      const [serverEnd, clientEnd] = duplexPair();
      const client = new lib.WebSocket(null as unknown as string, undefined, { isServer: false } as ws.ClientOptions);
      cleanups.add(() => client.terminate());
      const seen: string[] = [];
      const opened = new Promise<void>((resolve) => client.once('open', () => resolve()));
      const onHandshake = (chunk: Buffer): void => {
        clientEnd.off('data', onHandshake);
        seen.push(chunk.toString().split('\r\n')[0]!);
        (client as unknown as { _isServer: boolean })._isServer = false;
        (client as unknown as { setSocket(socket: Duplex, head: Buffer, options: { maxPayload: number }): void }).setSocket(clientEnd, Buffer.alloc(0), {
          maxPayload: 0,
        });
      };
      clientEnd.on('data', onHandshake);
      const request = {
        method: 'GET',
        url: '/',
        httpVersion: '1.1',
        headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
      } as unknown as IncomingMessage;
      wss.handleUpgrade(request, serverEnd, Buffer.alloc(0), (server) => {
        // (ws's side would wait out its closeTimeout; a 'close' it has not emitted by then is 1006.)
        cleanups.add(() => server.terminate());
        server.on('message', (data, isBinary) => server.send(`echo ${String(data)} ${isBinary}`));
        serverClosed[lib === LIBS[0]![1] ? 'ws' : 'rfc6455'] = new Promise((resolve) =>
          server.once('close', (code, reason) => resolve(`server close ${code} ${String(reason)}`)),
        );
      });
      await opened;
      const reply = new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
      client.send('hi');
      seen.push(await reply);
      const closed = new Promise<string>((resolve) => client.once('close', (code, reason) => resolve(`close ${code} ${String(reason)}`)));
      client.close(4000, 'done');
      seen.push(await closed);
      return seen;
    }, ['HTTP/1.1 101 Switching Protocols', 'echo hi false', 'close 4000 done']);
    // Differs (README): once both close frames have gone and both sides have ended, rfc6455 releases
    // such a Duplex at once (RFC 6455 §5.5.1); ws waits for its closeTimeout (30 s) before 'close'.
    expect(await serverClosed.rfc6455).toBe('server close 4000 done');
  });

  // livereload closes the server's `_server` (the HTTP server ws made for `port`), then the server.
  test('livereload: `_server` is the listener (closed by hand before close()), the server given, or none', async () => {
    await sideBySide(async (lib) => {
      const seen: unknown[] = [];
      const standalone = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
      await once(standalone, 'listening');
      const internal = (standalone as unknown as { _server: { address(): AddressInfo; close(): void } | null })._server!;
      seen.push(internal.address().port === (standalone.address() as AddressInfo).port);
      internal.close();
      await new Promise<void>((resolve) => standalone.close(() => resolve()));
      seen.push((standalone as unknown as { _server: unknown })._server);

      const http = createServer();
      const attached = new lib.WebSocketServer({ server: http });
      seen.push((attached as unknown as { _server: unknown })._server === http);
      const detached = new lib.WebSocketServer({ noServer: true });
      seen.push((detached as unknown as { _server: unknown })._server);
      return seen;
    }, [true, null, true, undefined]);
  });
});
