// What real libraries built on `ws` (not installed here) do with it, reduced to their calls on `ws`'s
// API, run side by side with `ws` and with rfc6455. Each pattern names the library it comes from; the
// libraries themselves were run over both (with `ws` resolved to one or the other) to find them.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import * as ws from 'ws';
import * as rfc6455 from '../../../src/index.js';
import { Cleanups } from '../server-helpers.js';

interface Lib {
  WebSocket: typeof ws.WebSocket;
  WebSocketServer: typeof ws.WebSocketServer;
}
const LIBS: Array<[string, Lib]> = [
  ['ws', { WebSocket: ws.WebSocket, WebSocketServer: ws.WebSocketServer }],
  ['rfc6455', rfc6455 as unknown as Lib],
];

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
});
