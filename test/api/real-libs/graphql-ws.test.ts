// graphql-ws, a real library built on `ws`, run over rfc6455 with only the classes changed: its server
// (`useServer`) is handed our WebSocketServer and its client (`createClient`) our WebSocket as
// `webSocketImpl`. Each scenario runs once with `ws`'s classes and once with ours; the transcripts must
// be equal, and equal to the expected one. The close codes are graphql-ws's own (4400, 4401, 4403,
// 4406, 4409, 4500), carried by the WebSocket close frame.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { createClient, type Client, type ClientOptions, type ExecutionResult, type ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterEach, describe, expect, test, vi } from 'vitest';
import * as ws from 'ws';
import { Cleanups } from '../server-helpers.js';
import { type Lib, LIBS } from '../libs.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

// graphql's package has a CommonJS and an ES build; graphql-ws, loaded by Node, gets the CommonJS one,
// while vitest would hand this file the ES one, and graphql refuses a schema from the other build.
const { buildSchema } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const schema = buildSchema(`
  type Query { hello(name: String!): String, boom: String }
  type Subscription { count(to: Int!): Int, ticks: Int }
`);

/** The operations' root values (graphql-ws's `roots`). `ticks` never ends by itself; its end is logged. */
function roots(log: string[]): NonNullable<ServerOptions['roots']> {
  const query = {
    hello: ({ name }: { name: string }) => `hello ${name}`,
    boom: () => {
      throw new Error('boom went the resolver');
    },
  };
  const subscription = {
    count: async function* ({ to }: { to: number }) {
      for (let i = 1; i <= to; i++) yield { count: i };
    },
    ticks: async function* () {
      try {
        for (let i = 0; ; i++) {
          yield { ticks: i };
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        log.push('server: ticks stopped');
      }
    },
  };
  return { query, subscription };
}


/** A standalone `lib` server on 127.0.0.1 serving the schema through graphql-ws's `useServer`. */
async function serve(lib: Lib, log: string[], options: Omit<ServerOptions, 'schema' | 'roots'> = {}): Promise<string> {
  const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const server = useServer({ schema, roots: roots(log), ...options }, wss as never);
  cleanups.add(() => server.dispose() as Promise<void>);
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** graphql-ws's client over `lib`'s WebSocket, recording its 'connected' and 'closed' events in `log`. */
function connect(lib: Lib, url: string, log: string[], options: Partial<ClientOptions> = {}): Client {
  const client = createClient({
    url,
    webSocketImpl: lib.WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: {
      connected: (socket, payload) => log.push(`client: connected ${socket instanceof lib.WebSocket} ${JSON.stringify(payload)}`),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        log.push(`client: closed ${code} ${reason}`);
      },
    },
    ...options,
  });
  cleanups.add(() => client.dispose() as Promise<void>);
  return client;
}

/** Every result of one operation, then "complete" or the error (a close event's code and reason, or messages). */
function collect(client: Client, query: string): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve) => {
    client.subscribe(
      { query },
      {
        next: (result: ExecutionResult) => seen.push(`next ${JSON.stringify(result)}`),
        error: (error: unknown) => {
          if (Array.isArray(error)) seen.push(`error ${error.map((e: { message: string }) => e.message).join('; ')}`);
          else if (error instanceof Error) seen.push(`error ${error.message}`);
          else seen.push(`error ${(error as { code: number }).code} ${(error as { reason: string }).reason}`);
          resolve(seen);
        },
        complete: () => {
          seen.push('complete');
          resolve(seen);
        },
      },
    );
  });
}

/** The next close of a plain `lib` client socket, as "close <code> <reason>". */
function closed(socket: ws.WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve(`close ${code} ${reason.toString()}`)));
}

/** Polls until `condition` holds (bounded by the test's timeout). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Runs `scenario` with both libraries and checks both transcripts equal `expected`. */
async function sideBySide(scenario: (lib: Lib) => Promise<unknown[]>, expected: unknown[]): Promise<void> {
  const transcripts: Record<string, unknown[]> = {};
  for (const [name, lib] of LIBS) {
    // A copy: events during the cleanup must not change the transcript.
    transcripts[name] = [...(await scenario(lib))];
    await cleanups.run();
  }
  expect(transcripts.rfc6455).toEqual(transcripts.ws);
  expect(transcripts.ws).toEqual(expected);
}

describe('graphql-ws over ws and over rfc6455', () => {
  test('connection_init with connectionParams, ack with a payload, a query', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const url = await serve(lib, log, {
        onConnect: (ctx) => {
          log.push(`server: init ${JSON.stringify(ctx.connectionParams)} protocol ${(ctx.extra as { socket: ws.WebSocket }).socket.protocol}`);
          return { welcome: true };
        },
      });
      const client = connect(lib, url, log, { connectionParams: { token: 'abc' } });
      log.push(...(await collect(client, '{ hello(name: "graphql") }')));
      return log;
    }, [
      'server: init {"token":"abc"} protocol graphql-transport-ws',
      'client: connected true {"welcome":true}',
      'next {"data":{"hello":"hello graphql"}}',
      'complete',
    ]);
  });

  test('a subscription streams every result, then completes', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const client = connect(lib, await serve(lib, log), log);
      return collect(client, 'subscription { count(to: 5) }');
    }, [
      'next {"data":{"count":1}}',
      'next {"data":{"count":2}}',
      'next {"data":{"count":3}}',
      'next {"data":{"count":4}}',
      'next {"data":{"count":5}}',
      'complete',
    ]);
  });

  test('the client completing a subscription stops it on the server; the socket stays for the next operation', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const client = connect(lib, await serve(lib, log), log);
      let results = 0;
      const unsubscribe = client.subscribe({ query: 'subscription { ticks }' }, { next: () => results++, error: () => {}, complete: () => {} });
      await until(() => results >= 3);
      unsubscribe();
      await until(() => log.includes('server: ticks stopped'));
      log.push(...(await collect(client, '{ hello(name: "again") }')));
      return log.filter((line) => !line.startsWith('client: connected'));
    }, ['server: ticks stopped', 'next {"data":{"hello":"hello again"}}', 'complete']);
  });

  test('errors: a resolver that throws, an invalid operation', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const client = connect(lib, await serve(lib, log), log);
      return [...(await collect(client, '{ boom }')), ...(await collect(client, '{ nope }'))];
    }, [
      'next {"data":{"boom":null},"errors":[{"message":"boom went the resolver","locations":[{"line":1,"column":3}],"path":["boom"]}]}',
      'complete',
      'error Cannot query field "nope" on type "Query".',
    ]);
  });

  test('onConnect returning false closes with 4403 Forbidden', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const url = await serve(lib, log, { onConnect: (ctx) => ctx.connectionParams?.token === 'secret' });
      const client = connect(lib, url, log, { connectionParams: { token: 'wrong' } });
      log.push(...(await collect(client, '{ hello(name: "x") }')));
      return log;
    }, ['client: closed 4403 Forbidden', 'error 4403 Forbidden']);
  });

  test('onConnect throwing closes with 4500 and the error message', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await sideBySide(async (lib) => {
        const log: string[] = [];
        const url = await serve(lib, log, {
          onConnect: () => {
            throw new Error('database down');
          },
        });
        const client = connect(lib, url, log);
        log.push(...(await collect(client, '{ hello(name: "x") }')));
        return log;
      }, ['client: closed 4500 database down', 'error 4500 database down']);
    } finally {
      quiet.mockRestore();
    }
  });

  test('protocol errors of a hand-written peer: 4400, 4401, 4409, 4429, 4406', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const url = await serve(lib, log);
      const open = async (protocols: string[] = ['graphql-transport-ws']): Promise<ws.WebSocket> => {
        const socket = new lib.WebSocket(url, protocols);
        cleanups.add(() => socket.terminate());
        await once(socket, 'open');
        return socket;
      };
      const observed: string[] = [];

      const garbage = await open();
      const garbageClosed = closed(garbage);
      garbage.send('this is not json');
      observed.push(`garbage: ${await garbageClosed}`);

      const early = await open();
      const earlyClosed = closed(early);
      early.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ boom }' } }));
      observed.push(`subscribe before init: ${await earlyClosed}`);

      const twice = await open();
      const twiceClosed = closed(twice);
      twice.send(JSON.stringify({ type: 'connection_init' }));
      const [ack] = (await once(twice, 'message')) as [Buffer];
      observed.push(`init: ${ack.toString()}`);
      const subscribe = JSON.stringify({ id: 'same', type: 'subscribe', payload: { query: 'subscription { ticks }' } });
      twice.send(subscribe);
      twice.send(subscribe);
      observed.push(`same id twice: ${await twiceClosed}`);

      const again = await open();
      const againClosed = closed(again);
      again.send(JSON.stringify({ type: 'connection_init' }));
      again.send(JSON.stringify({ type: 'connection_init' }));
      observed.push(`init twice: ${await againClosed}`);

      const none = await open([]);
      observed.push(`no subprotocol: ${await closed(none)}`);

      // graphql-ws's server selects no subprotocol for an unknown one: the client fails the handshake.
      const other = new lib.WebSocket(url, 'some-other-protocol');
      const otherClosed = closed(other);
      const [error] = (await once(other, 'error').catch((e: unknown) => [e])) as [Error];
      observed.push(`unknown subprotocol: ${error.message}, ${await otherClosed}`);
      await until(() => log.includes('server: ticks stopped'));
      return observed;
    }, [
      'garbage: close 4400 Invalid message received',
      'subscribe before init: close 4401 Unauthorized',
      'init: {"type":"connection_ack"}',
      'same id twice: close 4409 Subscriber for same already exists',
      'init twice: close 4429 Too many initialisation requests',
      'no subprotocol: close 4406 Subprotocol not acceptable',
      'unknown subprotocol: Server sent no subprotocol, close 1006 ',
    ]);
  });

  test("useServer's keepAlive: WebSocket pings answered by the client's automatic pongs, the connection stays", async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      // A ping every 500 ms, the connection terminated unless its pong is back within 500 ms: a
      // second ping proves the first was answered (on a loaded machine too).
      const server = useServer({ schema, roots: roots(log) }, wss as never, 500);
      cleanups.add(() => server.dispose() as Promise<void>);
      let pings = 0;
      const client = connect(lib, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, log, {
        on: { connected: (socket) => (socket as ws.WebSocket).on('ping', () => pings++) },
      });
      await until(() => pings >= 2);
      return collect(client, '{ hello(name: "alive") }');
    }, ['next {"data":{"hello":"hello alive"}}', 'complete']);
  });

  test('no connection_init within connectionInitWaitTimeout: 4408', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const url = await serve(lib, log, { connectionInitWaitTimeout: 20 });
      const silent = new lib.WebSocket(url, 'graphql-transport-ws');
      cleanups.add(() => silent.terminate());
      return [await closed(silent)];
    }, ['close 4408 Connection initialisation timeout']);
  });

  test('the server going away: 1001 to the client', async () => {
    await sideBySide(async (lib) => {
      const log: string[] = [];
      const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      const server = useServer({ schema, roots: roots(log) }, wss as never);
      const client = connect(lib, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, log);
      const streaming = collect(client, 'subscription { ticks }');
      await until(() => log.some((line) => line.startsWith('client: connected')));
      await server.dispose();
      const results = await streaming;
      await until(() => log.includes('server: ticks stopped'));
      // The two ends close concurrently: their lines are compared sorted.
      return [...log.filter((line) => !line.startsWith('client: connected')).sort(), results.at(-1)];
    }, ['client: closed 1001 Going away', 'server: ticks stopped', 'error 1001 Going away']);
  });
});
