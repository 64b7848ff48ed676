// The parts of the WebSocket object that applications and libraries built on `ws` reach beyond the
// documented API (empty sends, property descriptors, an overridden pong(), setSocket(), _socket), run
// side by side: the same scenario with `ws` and with rfc6455, the observations compared, and each
// also checked against the expected values so that a scenario observing nothing cannot pass.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import * as ws from 'ws';
import * as rfc6455 from '../../src/index.js';
import { ACCEPT, Cleanups, upgradeRequest } from './server-helpers.js';
import { type Lib, LIBS } from './libs.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** A standalone server of `lib` and an open client of `lib` connected to it, with the server's socket. */
async function pair(lib: Lib): Promise<{ server: ws.WebSocket; client: ws.WebSocket }> {
  const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  );
  const connection = once(wss, 'connection');
  const client = new lib.WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  cleanups.add(() => client.terminate());
  const [[server]] = await Promise.all([connection, once(client, 'open')]);
  return { server: server as ws.WebSocket, client };
}

/** Resolves with the next message of `socket` as text. */
function nextMessage(socket: ws.WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(String(data))));
}

/** Run `scenario` with each library; the transcripts must be equal, and equal to `expected`. */
async function sideBySide<T>(scenario: (lib: Lib, name: string) => Promise<T>, expected: T): Promise<void> {
  const results: Record<string, T> = {};
  for (const [name, lib] of LIBS) {
    results[name] = await scenario(lib, name);
    await cleanups.run();
  }
  expect(results.rfc6455).toEqual(results.ws);
  expect(results.rfc6455).toEqual(expected);
}

describe('send, ping and pong without data', () => {
  test('send() and send(undefined) send an empty binary message, ping() and pong() empty frames, as ws', async () => {
    await sideBySide(
      async (lib) => {
        const { server, client } = await pair(lib);
        const seen: string[] = [];
        server.on('message', (data, isBinary) => seen.push(`message ${isBinary ? 'binary' : 'text'} ${(data as Buffer).length}`));
        server.on('ping', (data) => seen.push(`ping ${data.length}`));
        server.on('pong', (data) => seen.push(`pong ${data.length}`));
        const callbacks: string[] = [];
        const send = client.send.bind(client) as (data?: unknown, cb?: (error?: Error) => void) => void;
        send(undefined, (error) => callbacks.push(`send ${error ?? 'ok'}`));
        send();
        send(null);
        client.ping();
        client.pong(undefined, undefined, (error) => callbacks.push(`pong ${error ?? 'ok'}`));
        client.send('', (error) => callbacks.push(`text ${error ?? 'ok'}`));
        client.send('end');
        await new Promise<void>((resolve) => server.on('message', (data) => String(data) === 'end' && resolve()));
        return { seen, callbacks };
      },
      {
        seen: ['message binary 0', 'message binary 0', 'message binary 0', 'ping 0', 'pong 0', 'message text 0', 'message text 3'],
        callbacks: ['send ok', 'pong ok', 'text ok'],
      },
    );
  });
});

describe('property descriptors', () => {
  const CONSTANTS = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
  const ACCESSORS = ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'onopen', 'onmessage', 'onclose', 'onerror'];

  /** A descriptor with its functions reduced to whether they exist. */
  function shape(target: object, name: string): object | undefined {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    if (descriptor === undefined) return undefined;
    const { get, set, ...rest } = descriptor;
    return { ...rest, get: typeof get, set: typeof set };
  }

  test('the readyState constants on the class and the prototype, and the accessors, are described as in ws', () => {
    for (const name of CONSTANTS) {
      expect(shape(rfc6455.WebSocket, name), name).toEqual(shape(ws.WebSocket, name));
      expect(shape(rfc6455.WebSocket.prototype, name), name).toEqual(shape(ws.WebSocket.prototype, name));
    }
    for (const name of ACCESSORS) expect(shape(rfc6455.WebSocket.prototype, name), name).toEqual(shape(ws.WebSocket.prototype, name));
    expect(shape(rfc6455.WebSocket, 'OPEN')).toEqual({ value: 1, writable: false, enumerable: true, configurable: false, get: 'undefined', set: 'undefined' });
    expect(shape(rfc6455.WebSocket.prototype, 'url')).toEqual({ enumerable: true, configurable: true, get: 'function', set: 'undefined' });
    expect(() => {
      (rfc6455.WebSocket as unknown as { OPEN: number }).OPEN = 5;
    }).toThrow(TypeError);
  });

  test('for...in over an open socket lists the same public keys as ws', async () => {
    const keys: Record<string, string[]> = {};
    for (const [name, lib] of LIBS) {
      const { server, client } = await pair(lib);
      for (const socket of [server, client]) {
        const listed: string[] = [];
        for (const key in socket) if (!key.startsWith('_')) listed.push(key);
        keys[`${name} ${socket === server ? 'server' : 'client'}`] = listed.sort();
      }
      await cleanups.run();
    }
    expect(keys['rfc6455 server']).toEqual(keys['ws server']);
    expect(keys['rfc6455 client']).toEqual(keys['ws client']);
    expect(keys['rfc6455 client']).toEqual(expect.arrayContaining([...CONSTANTS, ...ACCESSORS]));
  });
});

describe('automatic pongs go through pong()', () => {
  test('a server socket whose pong() is replaced sends no automatic pong; the replacement gets the ping data', async () => {
    await sideBySide(
      async (lib) => {
        const { server, client } = await pair(lib);
        const calls: string[] = [];
        server.pong = ((data: Buffer, mask: boolean, cb: unknown) => {
          calls.push(`pong(${String(data)}, ${mask}, ${typeof cb})`);
        }) as typeof server.pong;
        const pongs: string[] = [];
        client.on('pong', (data) => pongs.push(String(data)));
        server.on('message', (data) => server.send(`echo ${String(data)}`));
        client.ping('hb');
        // The round trip of a message sent after the ping: had a pong been sent, it would be here first.
        client.send('after');
        const echo = await nextMessage(client);
        return { calls, pongs, echo };
      },
      { calls: ['pong(hb, false, function)'], pongs: [], echo: 'echo after' },
    );
  });

  test('a replacement that calls the original still answers; a client socket masks its automatic pong', async () => {
    await sideBySide(
      async (lib) => {
        const { server, client } = await pair(lib);
        const calls: string[] = [];
        const original = client.pong.bind(client);
        client.pong = ((data: Buffer, mask: boolean, cb: () => void) => {
          calls.push(`pong(${String(data)}, ${mask})`);
          original(data, mask, cb);
        }) as typeof client.pong;
        const pong = new Promise<string>((resolve) => server.once('pong', (data) => resolve(String(data))));
        server.ping('beat');
        return { calls, pong: await pong };
      },
      { calls: ['pong(beat, true)'], pong: 'beat' },
    );
  });
});

/** The Sec-WebSocket-Accept value for `key` (RFC 6455 §4.2.2). */
function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

describe('setSocket: adopting a socket upgraded elsewhere', () => {
  test('a server end adopted after a hand-made upgrade talks with a ws client', async () => {
    await sideBySide(
      async (lib) => {
        const http = createServer();
        const adopted = new Promise<ws.WebSocket>((resolve) => {
          http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
            socket.write(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
            );
            const socketOptions = { isServer: true, autoPong: true, closeTimeout: 30_000 } as ws.ClientOptions;
            const server = new lib.WebSocket(null as unknown as string, undefined, socketOptions);
            const opened: string[] = [];
            server.on('open', () => opened.push('open'));
            // (Its class and message are the core's, not this test's subject.)
            server.on('error', () => opened.push('error'));
            (server as unknown as { setSocket(s: Duplex, h: Buffer, o: object): void }).setSocket(socket, head, { maxPayload: 1024 });
            (server as unknown as { opened: string[] }).opened = opened;
            resolve(server);
          });
        });
        http.listen(0, '127.0.0.1');
        await once(http, 'listening');
        cleanups.add(() => new Promise<void>((resolve) => http.close(() => resolve())));
        const client = new ws.WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
        cleanups.add(() => client.terminate());
        const server = await adopted;
        await once(client, 'open');
        const state = {
          opened: (server as unknown as { opened: string[] }).opened,
          isServer: (server as unknown as { _isServer: boolean })._isServer,
          readyState: server.readyState,
        };
        server.on('message', (data, isBinary) => server.send(data as Buffer, { binary: isBinary }));
        client.send('hello');
        const echo = await nextMessage(client);
        const pong = new Promise<string>((resolve) => client.once('pong', (data) => resolve(String(data))));
        client.ping('p');
        const closed = new Promise<string>((resolve) => client.once('close', (code) => resolve(String(code))));
        const pongData = await pong;
        // maxPayload from setSocket's options: a bigger message closes with 1009.
        client.send(Buffer.alloc(2000));
        return { ...state, echo, pong: pongData, closed: await closed };
      },
      { opened: ['open', 'error'], isServer: true, readyState: 1, echo: 'hello', pong: 'p', closed: '1009' },
    );
  });

  test('a client end adopted after a hand-made upgrade (_isServer false) talks with a ws server', async () => {
    await sideBySide(
      async (lib) => {
        const wss = new ws.WebSocketServer({ port: 0, host: '127.0.0.1' });
        await once(wss, 'listening');
        cleanups.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
        wss.on('connection', (peer) => {
          peer.on('message', (data) => peer.send(`got ${String(data)}`));
          peer.send('first');
        });
        const socket: Socket = connect((wss.address() as AddressInfo).port, '127.0.0.1');
        cleanups.add(() => void socket.destroy());
        socket.write(upgradeRequest('/'));
        // Read the 101 head by hand; whatever follows it is the first frames (head).
        let received = Buffer.alloc(0);
        const head = await new Promise<Buffer>((resolve) => {
          const onData = (chunk: Buffer): void => {
            received = Buffer.concat([received, chunk]);
            const end = received.indexOf('\r\n\r\n');
            if (end === -1) return;
            socket.off('data', onData);
            socket.pause();
            expect(received.subarray(0, end).toString()).toContain(`Sec-WebSocket-Accept: ${ACCEPT}`);
            resolve(received.subarray(end + 4));
          };
          socket.on('data', onData);
        });
        // (ws's close timer takes closeTimeout from here: without it, 1 ms.)
        const client = new lib.WebSocket(null as unknown as string, undefined, { isServer: false, closeTimeout: 30_000 } as ws.ClientOptions);
        // ws has no isServer option: its applications set the field, which ours has too.
        (client as unknown as { _isServer: boolean })._isServer = false;
        const messages: string[] = [];
        const first = new Promise<void>((resolve) =>
          client.on('message', (data) => {
            messages.push(String(data));
            if (messages.length === 2) resolve();
          }),
        );
        (client as unknown as { setSocket(s: Duplex, h: Buffer, o: object): void }).setSocket(socket, head, {});
        // ws leaves a paused socket paused (rfc6455 resumes it itself).
        socket.resume();
        client.send('hi');
        await first;
        const closed = new Promise<string>((resolve) => client.once('close', (code) => resolve(String(code))));
        client.close(1000);
        return { messages, closed: await closed };
      },
      { messages: ['first', 'got hi'], closed: '1000' },
    );
  });

  test('an in-memory Duplex pair: one end adopted by the library as a server, the other by ws as a client', async () => {
    await sideBySide(
      async (lib) => {
        const [serverEnd, clientEnd] = duplexPair();
        const server = new lib.WebSocket(null as unknown as string, undefined, { closeTimeout: 30_000 } as ws.ClientOptions);
        const client = new ws.WebSocket(null as unknown as string, undefined, { closeTimeout: 30_000 } as ws.ClientOptions);
        (client as unknown as { _isServer: boolean })._isServer = false;
        type Adopting = { setSocket(s: Duplex, h: Buffer, o: object): void };
        (server as unknown as Adopting).setSocket(serverEnd, Buffer.alloc(0), {});
        (client as unknown as Adopting).setSocket(clientEnd, Buffer.alloc(0), {});
        server.on('message', (data) => server.send(`echo ${String(data)}`));
        const echo = nextMessage(client);
        client.send('over memory');
        const got = await echo;
        const closes = Promise.all([server, client].map((socket) => new Promise<number>((resolve) => socket.once('close', resolve))));
        server.close(4000);
        return { got, closes: await closes };
      },
      { got: 'echo over memory', closes: [4000, 4000] },
    );
  });

  test('rfc6455: setSocket on a socket that already has a connection throws', async () => {
    const { server } = await pair(rfc6455 as unknown as Lib);
    expect(() => (server as unknown as rfc6455.WebSocket).setSocket(connect(1, '127.0.0.1').on('error', () => {}), Buffer.alloc(0))).toThrow(
      /setSocket\(\) needs a WebSocket made without an address/,
    );
  });
});

describe('bufferedAmount right after send() (a documented difference)', () => {
  // ws writes each frame at once, so bufferedAmount reads 0 as soon as the kernel took the bytes.
  // rfc6455 gathers a socket's frames into one write: until the end of the read being handled (in a
  // 'message' handler) or of the tick (elsewhere), the frame counts. On the next turn both read 0.
  test('ws: 0 and 0; rfc6455: the frame, then 0 on the next turn (in a message handler and in a timer)', async () => {
    const results: Record<string, number[]> = {};
    for (const [name, lib] of LIBS) {
      const { server, client } = await pair(lib);
      const seen: number[] = [];
      const echoed = nextMessage(client);
      server.once('message', () => {
        server.send('echo');
        seen.push(server.bufferedAmount);
      });
      client.send('x');
      await echoed;
      seen.push(server.bufferedAmount);
      const later = nextMessage(client);
      setTimeout(() => {
        server.send('hello');
        seen.push(server.bufferedAmount);
        setImmediate(() => seen.push(server.bufferedAmount));
      }, 1);
      await later;
      await new Promise((resolve) => setImmediate(resolve));
      results[name] = seen;
      await cleanups.run();
    }
    expect(results.ws).toEqual([0, 0, 0, 0]);
    // 'echo' and 'hello' framed by a server: 2 bytes of header each.
    expect(results.rfc6455).toEqual([6, 0, 7, 0]);
  });
});

describe('_socket', () => {
  test('remote address, setNoDelay, raw writes and destroy work on _socket, as in ws', async () => {
    await sideBySide(
      async (lib) => {
        const { server, client } = await pair(lib);
        const raw = (server as unknown as { _socket: Socket })._socket;
        const facts = {
          remoteAddress: raw.remoteAddress,
          localAddress: raw.localAddress,
          noDelay: raw.setNoDelay(true) === raw,
          keepAlive: raw.setKeepAlive(true, 1000) === raw,
          writable: raw.writable,
        };
        // A frame written by hand: FIN + text, unmasked (server to client), "raw".
        const message = nextMessage(client);
        raw.write(Buffer.from([0x81, 3, 0x72, 0x61, 0x77]));
        const got = await message;
        const closed = new Promise<string>((resolve) => client.once('close', (code) => resolve(String(code))));
        raw.destroy();
        return { ...facts, got, closed: await closed };
      },
      { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', noDelay: true, keepAlive: true, writable: true, got: 'raw', closed: '1006' },
    );
  });
});

describe('the exports of ws 8.20+', () => {
  test('extension, subprotocol, PerMessageDeflate and Receiver are named exports and properties of the class, as in ws', () => {
    // `require('ws')` (its ESM wrapper loads the class without these properties).
    const wsClass = createRequire(import.meta.url)('ws') as Record<string, unknown>;
    const ourClass = rfc6455.WebSocket as unknown as Record<string, unknown>;
    const ours = rfc6455 as unknown as Record<string, unknown>;
    const kinds: Record<string, [string, string]> = {};
    for (const name of ['extension', 'subprotocol', 'PerMessageDeflate', 'Receiver']) {
      expect(ourClass[name], name).toBe(ours[name]);
      kinds[name] = [typeof ourClass[name], typeof wsClass[name]];
    }
    expect(kinds).toEqual({
      extension: ['object', 'object'],
      subprotocol: ['object', 'object'],
      PerMessageDeflate: ['function', 'function'],
      Receiver: ['function', 'function'],
    });
    expect(Object.keys(ourClass.extension as object).sort()).toEqual(Object.keys(wsClass.extension as object).sort());
    expect(Object.keys(ourClass.subprotocol as object)).toEqual(Object.keys(wsClass.subprotocol as object));
  });
});

describe('_socket end()', () => {
  test("ending the server's _socket closes the client with 1006, as in ws", async () => {
    await sideBySide(
      async (lib) => {
        const { server, client } = await pair(lib);
        const closed = new Promise<string>((resolve) => client.once('close', (code) => resolve(String(code))));
        (server as unknown as { _socket: Socket })._socket.end();
        return { closed: await closed };
      },
      { closed: '1006' },
    );
  });

  test("rfc6455: a 'data' listener on a shared-read _socket sees nothing; the messages still arrive", async () => {
    const { server, client } = await pair(rfc6455 as unknown as Lib);
    const seen: Buffer[] = [];
    (server as unknown as { _socket: Socket })._socket.on('data', (chunk: Buffer) => seen.push(chunk));
    const message = nextMessage(server);
    client.send('through the core');
    expect(await message).toBe('through the core');
    expect(seen).toEqual([]);
  });
});
