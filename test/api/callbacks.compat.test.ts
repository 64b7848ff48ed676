// Send/ping/pong callbacks side by side with ws: the same scenario against ws's server and client and
// against ours; which callbacks get an error, with which message, and whether before 'close'.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';
import { WebSocketServer } from '../../src/api/server.js';
import { WebSocket } from '../../src/api/websocket.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- both implementations behind one loose shape */
interface Impl {
  name: string;
  Server: new (options: any) => any;
  WebSocket: new (url: string, options?: any) => any;
}
const WS: Impl = { name: 'ws', Server: WsServer, WebSocket: WsWebSocket };
const OURS: Impl = { name: 'rfc6455', Server: WebSocketServer, WebSocket };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A server of `impl` and a connected client of the same implementation; `received` collects what the server got. */
async function connected(impl: Impl, deflate: boolean): Promise<{ client: any; server: any; received: string[] }> {
  const perMessageDeflate = deflate ? { threshold: 0 } : false;
  const wss = new impl.Server({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await once(wss, 'listening');
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const accepted = once(wss, 'connection');
  const client = new impl.WebSocket(`ws://127.0.0.1:${wss.address().port}`, { perMessageDeflate });
  client.on('error', () => {});
  await once(client, 'open');
  const [server] = await accepted;
  server.on('error', () => {});
  const received: string[] = [];
  server.on('message', (data: Buffer) => received.push(`received: ${String(data).slice(0, 20)}`));
  return { client, server, received };
}

/** A recorder of callbacks and of 'close', in the order they happen. */
function journal(ws: any): { log: string[]; cb: (name: string) => (error?: Error | null) => void; closed: Promise<unknown> } {
  const log: string[] = [];
  const closed = new Promise((resolve) =>
    ws.on('close', (code: number) => {
      log.push(`close ${code}`);
      resolve(code);
    }),
  );
  return { log, cb: (name) => (error) => void log.push(`${name}: ${error ? `${error.constructor.name} ${error.message}` : 'ok'}`), closed };
}

/** The log once it has `entries` entries (or after 3 s), and a moment more for a second call to show. */
async function settled(log: string[], entries: number): Promise<string[]> {
  for (let waited = 0; log.length < entries && waited < 3000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return log;
}

const BIG = 'compress me, compress me, please '.repeat(4000);

/**
 * Runs `scenario` against ws and against ours, and expects the same log once each callback's place is
 * reduced to "before 'close'" or "after 'close'": the order of callbacks among themselves depends on
 * when the kernel takes a write (and, in ws, on when a compression ends), not on the library.
 */
async function sideBySide(scenario: (impl: Impl) => Promise<string[]>): Promise<string[]> {
  const theirs = normalize(await scenario(WS));
  const ours = normalize(await scenario(OURS));
  expect(ours).toEqual(theirs);
  return ours;
}

function normalize(log: string[]): string[] {
  const close = log.findIndex((entry) => entry.startsWith('close '));
  const before = log.slice(0, close === -1 ? log.length : close).sort();
  return close === -1 ? before : [...before, log[close]!, ...log.slice(close + 1).sort()];
}

describe('callbacks compared with ws', () => {
  test('send + terminate with permessage-deflate: the message being compressed and those behind it fail before close', async () => {
    const log = await sideBySide(async (impl) => {
      const { client } = await connected(impl, true);
      const { log, cb } = journal(client);
      client.send(BIG, cb('big'));
      client.send('small', cb('small'));
      client.ping('p', false, cb('ping'));
      client.terminate();
      client.send('after', cb('after terminate'));
      return settled(log, 5);
    });
    expect(log).toEqual([
      'after terminate: Error WebSocket is not open: readyState 2 (CLOSING)',
      'big: Error The socket was closed while data was being compressed',
      'ping: Error The socket was closed while data was being compressed',
      'small: Error The socket was closed while data was being compressed',
      'close 1006',
    ]);
  });

  test('send(blob) + terminate: the Blob being read and the sends behind it fail before close', async () => {
    for (const deflate of [false, true]) {
      const log = await sideBySide(async (impl) => {
        const { client } = await connected(impl, deflate);
        const { log, cb } = journal(client);
        client.send(new Blob(['a blob']), cb('blob'));
        client.send('behind', cb('behind'));
        client.terminate();
        return settled(log, 3);
      });
      expect(log).toEqual([
        'behind: Error The socket was closed while the blob was being read',
        'blob: Error The socket was closed while the blob was being read',
        'close 1006',
      ]);
    }
  });

  test('a Blob that cannot be read: its error goes to its callback and to every send behind it, then error and close', async () => {
    class UnreadableBlob extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(new Error('unreadable'));
      }
    }
    const log = await sideBySide(async (impl) => {
      const { client } = await connected(impl, false);
      const { log, cb } = journal(client);
      client.on('error', (error: Error) => log.push(`error event: ${error.message}`));
      client.send(new UnreadableBlob(['x']), cb('blob'));
      client.send('behind', cb('behind'));
      return settled(log, 4);
    });
    expect(log).toEqual(['behind: Error unreadable', 'blob: Error unreadable', 'error event: unreadable', 'close 1006']);
  });

  test('send(blob) then close(): the Blob and what follows it are delivered, then the close', async () => {
    const log = await sideBySide(async (impl) => {
      const { client, received } = await connected(impl, true);
      const { log, cb } = journal(client);
      client.send(new Blob(['a blob']), cb('blob'));
      client.send('behind', cb('behind'));
      client.close(1000);
      await settled(log, 3);
      return [...log, ...received];
    });
    expect(log).toEqual(['behind: ok', 'blob: ok', 'close 1000', 'received: a blob', 'received: behind']);
  });

  test('send then close(): the message is delivered; sends after close() and after close fail with the readyState', async () => {
    for (const deflate of [false, true]) {
      const log = await sideBySide(async (impl) => {
        const { client, received } = await connected(impl, deflate);
        const { log, cb, closed } = journal(client);
        client.send(BIG, cb('before close'));
        client.close(1000);
        client.send('x', cb('while closing'));
        client.ping(cb('ping while closing'));
        await closed;
        client.send('y', cb('after close'));
        client.pong(cb('pong after close'));
        await settled(log, 6);
        return [...log, ...received];
      });
      expect(log).toEqual([
        'before close: ok',
        'ping while closing: Error WebSocket is not open: readyState 2 (CLOSING)',
        'while closing: Error WebSocket is not open: readyState 2 (CLOSING)',
        'close 1000',
        'after close: Error WebSocket is not open: readyState 3 (CLOSED)',
        'pong after close: Error WebSocket is not open: readyState 3 (CLOSED)',
        `received: ${BIG.slice(0, 20)}`,
      ]);
    }
  });

  test('the server side: send + terminate with deflate, as the client side', async () => {
    const log = await sideBySide(async (impl) => {
      const { server } = await connected(impl, true);
      const { log, cb } = journal(server);
      server.send(BIG, cb('big'));
      server.send('small', cb('small'));
      server.terminate();
      return settled(log, 3);
    });
    expect(log).toEqual([
      'big: Error The socket was closed while data was being compressed',
      'small: Error The socket was closed while data was being compressed',
      'close 1006',
    ]);
  });

  test('the peer half-closes TCP without a close frame: a send right after its FIN is refused with the readyState', async () => {
    for (const deflate of [false, true]) {
      const log = await sideBySide(async (impl) => {
        const { client, server } = await connected(impl, deflate);
        const { log, cb } = journal(client);
        // Listening after the library: this runs once the library has seen the FIN.
        client._socket.once('end', () => {
          log.push(`readyState after FIN: ${client.readyState}`);
          client.send('after FIN', cb('after FIN'));
        });
        server._socket.end();
        return settled(log, 3);
      });
      expect(log).toEqual(['after FIN: Error WebSocket is not open: readyState 2 (CLOSING)', 'readyState after FIN: 2', 'close 1006']);
    }
  });

  test('the peer closes while a compressed message is on its way: it is delivered, then both close 1000', async () => {
    const log = await sideBySide(async (impl) => {
      const { client, server, received } = await connected(impl, true);
      const { log, cb } = journal(client);
      client.send(BIG, cb('big'));
      server.close(1000);
      await settled(log, 2);
      // The server inflates the message asynchronously (ws through zlib's thread pool): on a loaded machine
      // it may be delivered after both 'close' events, so wait for it (bounded) rather than a fixed 20 ms.
      for (let waited = 0; received.length === 0 && waited < 3000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      return [...log, ...received];
    });
    expect(log).toEqual(['big: ok', 'close 1000', `received: ${BIG.slice(0, 20)}`]);
  });
});
