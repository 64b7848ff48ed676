// The last differences from `ws` 8.23 (issue 14), side by side: allowSynchronousEvents, close()'s
// arguments, a 101 that is no upgrade, a WebSocket subclass's setSocket(), maxPendingAutoPongs, the
// Receiver's errors, and createWebSocketStream without an 'error' listener (a kept difference).
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { acceptKeyFor } from '../../src/handshake/accept-key.js';
import * as rfc6455 from '../../src/index.js';
import { RFC, type Run, sideBySide, until, WS } from './compat-harness.js';
import { Cleanups, portOf, upgradeRequest } from './server-helpers.js';

/** `ws`'s Receiver export (semi-private, not in its type declarations) and ours. */
interface WithReceiver {
  Receiver: new (options: object) => NodeJS.EventEmitter & { write(chunk: Buffer): void };
}

/** A frame with a payload under 126 bytes; masked with a zero key (the payload stays as it is). */
function frame(byte0: number, payload: Buffer | string = '', masked = false): Buffer {
  const data = Buffer.from(payload);
  const head = masked ? Buffer.from([byte0, 0x80 | data.length, 0, 0, 0, 0]) : Buffer.from([byte0, data.length]);
  return Buffer.concat([head, data]);
}

/** A close frame's payload: the code, then the reason. */
function closePayload(code: number, reason = ''): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

/** A raw TCP server answering each upgrade with `answer(accept)`, written in one piece; closed after the scenario. */
async function rawServer(run: Run, answer: (accept: string) => Buffer | string): Promise<string> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.removeListener('data', onData);
      socket.write(answer(acceptKeyFor(/sec-websocket-key: *(\S+)/i.exec(head)![1]!)));
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  run.cleanups.add(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `ws://127.0.0.1:${portOf(server.address())}`;
}

function switching(accept: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
}

/** A raw TCP client: the upgrade, then (once the 101 is in) `frames` in one write. */
async function rawClient(run: Run, port: number, frames: Buffer[]): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  run.cleanups.add(() => void socket.destroy());
  await once(socket, 'connect');
  socket.write(upgradeRequest());
  let head = '';
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.removeListener('data', onData);
      resolve();
    };
    socket.on('data', onData);
  });
  socket.resume();
  socket.write(Buffer.concat(frames));
  return socket;
}

/**
 * Logs each 'message', 'ping' and 'pong' of `socket`, a microtask and an immediate queued by each,
 * and 'close': with allowSynchronousEvents false the queued callbacks of one event run before the
 * next event; with true the events of one read come first.
 */
function logTurns(log: (label: string, ...values: unknown[]) => void, socket: ws.WebSocket): Promise<void> {
  const seen = (what: string): void => {
    log(what);
    queueMicrotask(() => log(`microtask after ${what}`));
    setImmediate(() => log(`immediate after ${what}`));
  };
  socket.on('message', (data, isBinary) => seen(`message ${String(data)} ${isBinary}`));
  socket.on('ping', (data) => seen(`ping ${String(data)}`));
  socket.on('pong', (data) => seen(`pong ${String(data)}`));
  return new Promise((resolve) => socket.on('close', (code) => (log('close', code), setImmediate(resolve))));
}

const PEER_FRAMES = (masked: boolean): Buffer[] => [
  frame(0x81, 'a', masked),
  frame(0x89, 'p', masked),
  frame(0x82, 'b', masked),
  frame(0x8a, 'q', masked),
  frame(0x88, closePayload(1000), masked),
];

describe('allowSynchronousEvents', () => {
  for (const allow of [false, true]) {
    test(
      `client option ${allow}: the order of events and of what their listeners queue`,
      sideBySide(
        async (run) => {
          const url = await rawServer(run, (accept) => Buffer.concat([Buffer.from(switching(accept)), ...PEER_FRAMES(false)]));
          const client = run.connect(url, { allowSynchronousEvents: allow });
          await logTurns(run.c.bind(run), client);
        },
        allow
          ? ['c: message a false', 'c: ping p', 'c: message b true', 'c: pong q', 'c: microtask after message a false', 'c: close 1000']
          : ['c: message a false', 'c: microtask after message a false', 'c: immediate after message a false', 'c: message b true', 'c: close 1000'],
      ),
    );

    test(
      `server option ${allow}: the same for a server's socket`,
      sideBySide(
        async (run) => {
          const { wss, port } = await run.listen({ allowSynchronousEvents: allow });
          const connected = once(wss, 'connection');
          await rawClient(run, port, PEER_FRAMES(true));
          const [peer] = (await connected) as [ws.WebSocket];
          await logTurns(run.s.bind(run), peer);
        },
        allow
          ? ['s: message a false', 's: ping p', 's: message b true', 's: pong q', 's: microtask after message a false', 's: close 1000']
          : ['s: message a false', 's: microtask after message a false', 's: immediate after message a false', 's: pong q', 's: close 1000'],
      ),
    );
  }

  test(
    'client option false: a protocol error behind two messages comes after them',
    sideBySide(
      async (run) => {
        const url = await rawServer(run, (accept) =>
          Buffer.concat([Buffer.from(switching(accept)), frame(0x81, 'a'), frame(0x81, 'b'), frame(0x83, 'x')]),
        );
        const client = run.connect(url, { allowSynchronousEvents: false });
        client.on('error', (error) => run.c('error', error));
        await logTurns(run.c.bind(run), client);
      },
      [
        'c: message a false',
        'c: immediate after message a false',
        'c: message b false',
        'c: error RangeError[WS_ERR_INVALID_OPCODE]: Invalid WebSocket frame: invalid opcode 3',
        'c: close 1006',
      ],
    ),
  );

  test(
    "setSocket()'s option false on a socket adopted by hand",
    sideBySide(
      async (run) => {
        const url = await rawServer(run, (accept) => Buffer.concat([Buffer.from(switching(accept)), ...PEER_FRAMES(false)]));
        // The upgrade done by hand; setSocket() gets the socket after the 101 and the frames that came with it.
        const socket = connect(Number(new URL(url).port), '127.0.0.1');
        run.cleanups.add(() => void socket.destroy());
        await once(socket, 'connect');
        socket.write(upgradeRequest());
        // (The 101 and the frames come in one piece; the socket is not paused: `ws` would not resume it.)
        const [chunk] = (await once(socket, 'data')) as [Buffer];
        const split = chunk.indexOf('\r\n\r\n') + 4;
        const adopted = new run.client.WebSocket(null as unknown as string, undefined, { isServer: false } as ws.ClientOptions) as ws.WebSocket & {
          _isServer: boolean;
          setSocket(socket: Socket, head: Buffer, options: object): void;
        };
        adopted._isServer = false;
        const closed = logTurns(run.c.bind(run), adopted);
        adopted.setSocket(socket, chunk.subarray(split), { allowSynchronousEvents: false, maxPayload: 0 });
        await closed;
      },
      ['c: message a false', 'c: microtask after message a false', 'c: immediate after message a false', 'c: message b true'],
    ),
  );

  test(
    "WebSocket.Receiver's option false: each event in its own turn",
    sideBySide(
      async (run) => {
        const lib = run.server === WS ? ws : rfc6455;
        const receiver = new (lib as unknown as WithReceiver).Receiver({ allowSynchronousEvents: false });
        const log = run.s.bind(run);
        for (const event of ['message', 'ping', 'pong']) {
          receiver.on(event, (data: Buffer) => {
            log(`${event} ${String(data)}`);
            setImmediate(() => log(`immediate after ${event} ${String(data)}`));
          });
        }
        const concluded = once(receiver, 'conclude');
        receiver.write(Buffer.concat(PEER_FRAMES(false)));
        const [code] = await concluded;
        log('conclude', code);
      },
      ['s: message a', 's: immediate after message a', 's: ping p', 's: conclude 1000'],
    ),
  );
});

describe('close(code, reason) arguments', () => {
  const CASES: Array<[string, number, unknown]> = [
    ['a fractional code is sent without its fraction', 1000.7, 'x'],
    ['a fractional code in the 3000s', 3000.5, undefined],
    ['a number as the reason is no reason', 1000, 12],
    ['a plain object as the reason is no reason', 4000, {}],
    ['an empty string', 1001, ''],
    ['a value with a length that is not a string or bytes', 1000, { length: 2 }],
    ['null as the reason', 1000, null],
    ['a fraction above 1014', 1014.5, undefined],
    ['a fraction above 4999', 4999.5, undefined],
  ];
  for (const [name, code, reason] of CASES) {
    test(
      name,
      sideBySide(
        async (run) => {
          const { client, peer } = await run.pair();
          const closed = new Promise<void>((resolve) => peer.on('close', (seen, why) => (run.s('close', seen, String(why)), resolve())));
          try {
            client.close(code, reason as string);
          } catch (error) {
            // The class only: `ws`'s messages here come from Node's Buffer (or a property read of null).
            run.c('throws', (error as Error).constructor.name);
            client.close(1000);
          }
          await closed;
        },
        [],
      ),
    );
  }

  test('kept: 1004-1006 with a fraction and a reason that is not UTF-8 throw (RFC 6455 §7.4.1, §5.5.1); ws sends them', async () => {
    for (const lib of [WS, RFC]) {
      const cleanups = new Cleanups();
      const run = { cleanups } as Run;
      try {
        const url = await rawServer(run, switching);
        const outcomes: string[] = [];
        for (const [code, reason] of [
          [1005.5, undefined],
          [1000, new Uint8Array([0xff, 0xfe])],
        ] as Array<[number, Uint8Array | undefined]>) {
          const client = new lib.WebSocket(url);
          client.on('error', () => {});
          await once(client, 'open');
          try {
            client.close(code, reason as Buffer);
            outcomes.push('sent');
          } catch (error) {
            outcomes.push((error as Error).constructor.name);
          }
          client.terminate();
        }
        expect({ [lib.name]: outcomes }).toEqual({ [lib.name]: lib === WS ? ['sent', 'sent'] : ['TypeError', 'TypeError'] });
      } finally {
        await cleanups.run();
      }
    }
  });
});

describe('a 101 that Node would not take as an upgrade', () => {
  const ANSWERS = [
    ['no Upgrade and no Connection', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
    ['Upgrade only', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
    ['Connection: Upgrade only', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n'],
  ];
  for (const [name, answer] of ANSWERS) {
    for (const routed of [false, true]) {
      test(
        `${name}${routed ? ' (through an Agent)' : ''}: 'unexpected-response' with the 101`,
        sideBySide(
          async (run) => {
            const url = await rawServer(run, () => answer!);
            const client = run.connect(url, routed ? { agent: new Agent() } : {});
            client.on('upgrade', () => run.c('upgrade'));
            client.on('error', (error) => run.c('error', error));
            const closed = new Promise<void>((resolve) => client.on('close', (code) => (run.c('close', code), resolve())));
            client.on('unexpected-response', (_req, res) => {
              run.c('unexpected-response', res.statusCode);
              res.on('end', () => {
                run.c('end');
                client.terminate();
              });
              res.resume();
            });
            await closed;
          },
          ['c: unexpected-response 101', 'c: end', 'c: close 1006'],
        ),
      );
    }
    test(
      `${name}, no listener: 'Unexpected server response: 101'`,
      sideBySide(
        async (run) => {
          const url = await rawServer(run, () => answer!);
          const client = run.connect(url);
          client.on('upgrade', () => run.c('upgrade'));
          client.on('error', (error) => run.c('error', error));
          await new Promise<void>((resolve) => client.on('close', (code) => (run.c('close', code), resolve())));
        },
        ['c: error Error: Unexpected server response: 101', 'c: close 1006'],
      ),
    );
  }
});

describe("a WebSocket subclass's setSocket() as the server's WebSocket class", () => {
  test(
    "the server calls the override with ws's arguments; the socket works through super.setSocket()",
    sideBySide(
      async (run) => {
        const Base = run.server.WebSocket as unknown as new (...args: unknown[]) => ws.WebSocket;
        class Hooked extends Base {
          setSocket(socket: Socket, head: Buffer, options: Record<string, unknown>): void {
            const { allowSynchronousEvents, maxPayload, skipUTF8Validation, maxBufferedChunks } = options;
            run.s('setSocket', typeof socket.write, head.length, { allowSynchronousEvents, maxPayload, skipUTF8Validation, maxBufferedChunks });
            this.on('open', () => run.s('open'));
            (Base.prototype as unknown as { setSocket: Hooked['setSocket'] }).setSocket.call(this, socket, head, options);
            run.s('readyState after super', this.readyState);
          }
        }
        const { client, peer } = await run.pair({ WebSocket: Hooked as never, perMessageDeflate: true }, {}, ['chat']);
        run.s('peer', peer instanceof Hooked, peer.protocol, peer.extensions);
        peer.on('message', (data) => peer.send(`echo ${String(data)}`));
        client.send('hi');
        const [echo] = await once(client, 'message');
        run.c('message', String(echo));
        client.close(1000);
        const [code] = await once(peer, 'close');
        run.s('close', code);
      },
      [
        's: setSocket "function" 0 {"allowSynchronousEvents":true,"maxPayload":104857600,"skipUTF8Validation":false,"maxBufferedChunks":262144}',
        's: open',
        's: readyState after super 1',
        's: peer true "chat" "permessage-deflate"',
        'c: message "echo hi"',
        's: close 1000',
      ],
    ),
  );
});

describe("a setSocket() override that throws or adopts nothing (rfc6455: that connection ends, reported; ws: the error escapes)", () => {
  for (const [name, body] of [
    ['throws', (): void => {
      throw new Error('hook failed');
    }],
    ['does not call the base method', (): void => {}],
  ] as Array<[string, () => void]>) {
    test(name, async () => {
      const cleanups = new Cleanups();
      try {
        class Broken extends rfc6455.WebSocket {
          override setSocket(): void {
            body();
          }
        }
        const wss = new rfc6455.WebSocketServer({ port: 0, host: '127.0.0.1', WebSocket: Broken });
        cleanups.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
        await once(wss, 'listening');
        const errors: string[] = [];
        wss.on('error', (error: Error) => errors.push(error.message));
        let connections = 0;
        wss.on('connection', () => connections++);
        const client = new rfc6455.WebSocket(`ws://127.0.0.1:${portOf(wss.address())}`);
        client.on('error', () => {});
        const [code] = await new Promise<unknown[]>((resolve) => client.on('close', (...args: unknown[]) => resolve(args)));
        expect([code, connections, errors]).toEqual([1006, 0, [name === 'throws' ? 'hook failed' : "The WebSocket class's setSocket() did not adopt the socket"]]);
      } finally {
        await cleanups.run();
      }
    });
  }
});

describe('maxPendingAutoPongs', () => {
  test(
    "a ping past the limit terminates the socket: 'ping' still emitted (readyState CLOSING), no 'error', close 1006",
    sideBySide(
      async (run) => {
        const { wss, port } = await run.listen({ maxPendingAutoPongs: 2 } as ws.ServerOptions);
        const connected = once(wss, 'connection');
        // Three pings in one read: their pongs are all still waiting to be written at the third.
        await rawClient(run, port, [frame(0x89, '1', true), frame(0x89, '2', true), frame(0x89, '3', true)]);
        const [peer] = (await connected) as [ws.WebSocket];
        peer.on('ping', (data) => run.s('ping', String(data), peer.readyState));
        peer.on('error', (error) => run.s('error', error));
        const [code] = await once(peer, 'close');
        run.s('close', code);
      },
      ['s: ping "1" 1', 's: ping "2" 1', 's: ping "3" 2', 's: close 1006'],
    ),
  );
});

describe('WebSocket.Receiver errors', () => {
  const BAD: Array<[string, Buffer[], boolean]> = [
    ['an unknown opcode', [frame(0x83, 'x')], false],
    ['a masked frame to a client', [frame(0x81, 'x', true)], false],
    ['an unmasked frame to a server', [frame(0x81, 'x')], true],
    ['RSV1 without an extension', [frame(0xc1, 'x')], false],
    ['a fragmented ping', [frame(0x09, 'x')], false],
    ['a continuation with nothing to continue', [frame(0x80, 'x')], false],
    ['invalid UTF-8 in a text message', [frame(0x81, Buffer.from([0xff]))], false],
    ['a close code that may not be sent', [frame(0x88, closePayload(1005))], false],
    ['a one-byte close payload', [frame(0x88, Buffer.from([3]))], false],
    ['a message over maxPayload', [frame(0x82, 'too long')], false],
  ];
  for (const [name, frames, isServer] of BAD) {
    test(
      name,
      sideBySide(
        async (run) => {
          const lib = (run.server === WS ? ws : rfc6455) as unknown as WithReceiver;
          const receiver = new lib.Receiver({ isServer, maxPayload: 4 });
          receiver.on('message', (data: Buffer) => run.s('message', String(data)));
          const error = await new Promise<Error & { closeCode?: number; [key: symbol]: unknown }>((resolve) => {
            receiver.on('error', resolve);
            receiver.write(Buffer.concat(frames));
          });
          // `ws` keeps the close code in a symbol-named field; ours in `closeCode`.
          const statusSymbol = Object.getOwnPropertySymbols(error).find((symbol) => symbol.description === 'status-code');
          run.s('error', error, statusSymbol === undefined ? error.closeCode : error[statusSymbol]);
        },
        [],
      ),
    );
  }
});

describe('createWebSocketStream without an error listener (kept difference: no re-throw)', () => {
  const BAD_FRAME = Buffer.from([0x83, 0x00]);

  test("ws re-throws the peer's protocol error from the stream: the process ends", () => {
    // The ws case runs in a child process: it crashes.
    const wsPath = createRequire(import.meta.url).resolve('ws');
    const program = `
      const net = require('net'); const crypto = require('crypto');
      const { WebSocket, createWebSocketStream } = require(${JSON.stringify(wsPath)});
      const server = net.createServer((s) => s.once('data', (d) => {
        const key = /sec-websocket-key: *(\\S+)/i.exec(d.toString())[1];
        const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        s.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
        s.write(Buffer.from([0x83, 0x00]));
      }).on('error', () => {})).listen(0, '127.0.0.1', () => {
        const stream = createWebSocketStream(new WebSocket('ws://127.0.0.1:' + server.address().port));
        stream.resume();
        stream.on('close', () => { console.log('survived'); process.exit(0); });
      });
      setTimeout(() => process.exit(3), 5000).unref();
    `;
    const child = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 10_000 });
    expect(child.status).toBe(1);
    expect(child.stdout).not.toContain('survived');
    expect(child.stderr).toContain('RangeError: Invalid WebSocket frame: invalid opcode 3');
  });

  test('rfc6455: the stream is destroyed with the same error and the process goes on', async () => {
    const cleanups = new Cleanups();
    const run = { cleanups } as Run;
    try {
      const url = await rawServer(run, (accept) => Buffer.concat([Buffer.from(switching(accept)), BAD_FRAME]));
      const client = new rfc6455.WebSocket(url);
      const stream = rfc6455.createWebSocketStream(client);
      stream.resume();
      // (Not events.once: it would listen for 'error' too.)
      await new Promise((resolve) => stream.on('close', resolve));
      const error = stream.errored as Error & { code?: string };
      expect([error?.constructor.name, error?.message, error?.code]).toEqual(['RangeError', 'Invalid WebSocket frame: invalid opcode 3', 'WS_ERR_INVALID_OPCODE']);
      await until(() => client.readyState === client.CLOSED);
    } finally {
      await cleanups.run();
    }
  });
});

describe('a server accepting permessage-deflate twice (kept difference: the client fails, RFC 7692 §5)', () => {
  test('ws opens with the first element; rfc6455 fails with Invalid Sec-WebSocket-Extensions header', async () => {
    const seen: Record<string, string[]> = {};
    for (const lib of [WS, RFC]) {
      const cleanups = new Cleanups();
      const run = { cleanups } as Run;
      const log: string[] = (seen[lib.name] = []);
      try {
        const url = await rawServer(
          run,
          (accept) =>
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
            'Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate; server_no_context_takeover\r\n\r\n',
        );
        const client = new lib.WebSocket(url);
        client.on('open', () => {
          log.push(`open ${client.extensions}`);
          client.terminate();
        });
        client.on('error', (error) => log.push(`error ${error.message}`));
        await new Promise<void>((resolve) => client.on('close', (code) => (log.push(`close ${code}`), resolve())));
      } finally {
        await cleanups.run();
      }
    }
    expect(seen).toEqual({
      ws: ['open permessage-deflate', 'close 1006'],
      rfc6455: ['error Invalid Sec-WebSocket-Extensions header', 'close 1006'],
    });
  });
});

describe("WebSocket.PerMessageDeflate: a client's accept() of the server's answer", () => {
  type Deflate = new (options: object) => { accept(configurations: Array<Record<string, unknown>>): object };
  const outcome = (lib: unknown, options: object, answer: Record<string, unknown>): string => {
    try {
      const deflate = new (lib as { PerMessageDeflate: Deflate }).PerMessageDeflate({ ...options, isServer: false });
      return JSON.stringify(deflate.accept([structuredClone(answer)]));
    } catch (error) {
      return `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
  };
  const SAME_OUTCOME: Array<[object, Record<string, unknown>]> = [
    [{}, { foo: [true] }],
    [{}, { server_max_window_bits: ['10', '11'] }],
    [{}, { server_max_window_bits: ['7'] }],
    [{}, { server_max_window_bits: [true] }],
    [{}, { client_max_window_bits: [true] }],
    [{}, { client_max_window_bits: ['10'] }],
    [{ clientMaxWindowBits: false }, { client_max_window_bits: ['10'] }],
    [{ clientMaxWindowBits: 9 }, { client_max_window_bits: ['10'] }],
    [{ clientNoContextTakeover: false }, { client_no_context_takeover: [true] }],
    [{}, { server_no_context_takeover: ['x'] }],
    [{}, { server_no_context_takeover: [true], server_max_window_bits: ['12'] }],
  ];
  for (const [options, answer] of SAME_OUTCOME) {
    test(`${JSON.stringify(options)} ${JSON.stringify(answer)}: ws's result or error`, () => {
      expect(outcome(rfc6455, options, answer)).toBe(outcome(ws, options, answer));
    });
  }

  test('kept (RFC 7692 §7.1.1.1, §7.1.2.1): an answer without the server parameters we asked for, or a larger window, fails', () => {
    const cases: Array<[object, Record<string, unknown>]> = [
      [{ serverNoContextTakeover: true }, {}],
      [{ serverMaxWindowBits: 10 }, { server_max_window_bits: ['12'] }],
    ];
    expect(cases.map(([options, answer]) => outcome(ws, options, answer))).toEqual(['{}', '{"server_max_window_bits":12}']);
    expect(cases.map(([options, answer]) => outcome(rfc6455, options, answer).split(':')[0])).toEqual(['Error', 'Error']);
  });
});

describe('a client asking for server_no_context_takeover, answered without it (kept: RFC 7692 §7.1.1.1)', () => {
  test('ws opens; rfc6455 fails with Invalid Sec-WebSocket-Extensions header', async () => {
    const seen: Record<string, string[]> = {};
    for (const lib of [WS, RFC]) {
      const cleanups = new Cleanups();
      const run = { cleanups } as Run;
      const log: string[] = (seen[lib.name] = []);
      try {
        const url = await rawServer(
          run,
          (accept) =>
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
            'Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
        );
        const client = new lib.WebSocket(url, { perMessageDeflate: { serverNoContextTakeover: true } });
        client.on('open', () => {
          log.push(`open ${client.extensions}`);
          client.terminate();
        });
        client.on('error', (error) => log.push(`error ${error.message}`));
        await new Promise<void>((resolve) => client.on('close', (code) => (log.push(`close ${code}`), resolve())));
      } finally {
        await cleanups.run();
      }
    }
    expect(seen).toEqual({
      ws: ['open permessage-deflate', 'close 1006'],
      rfc6455: ['error Invalid Sec-WebSocket-Extensions header', 'close 1006'],
    });
  });
});
