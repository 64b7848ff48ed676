// Side-by-side harness for the documented `ws` API (ws 8's doc/ws.md): one scenario, written once
// against the `ws` API, runs with `ws` and with rfc6455 (server and client from the same library, and
// where asked the cross pairs). Each run writes two transcripts of what an application can observe,
// one per side, each in its own order (the order between the two sides is the network's, not the
// library's). The transcripts of every run must equal `ws`'s, and must contain the expected lines, so
// a scenario that observes nothing cannot pass.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import * as ws from 'ws';
import * as rfc6455 from '../../src/index.js';
import { Cleanups } from './server-helpers.js';

/** The part of a library the scenarios use, typed as `ws`'s. */
export interface Lib {
  name: string;
  WebSocket: typeof ws.WebSocket;
  WebSocketServer: typeof ws.WebSocketServer;
  createWebSocketStream: typeof ws.createWebSocketStream;
}

export const WS: Lib = { name: 'ws', WebSocket: ws.WebSocket, WebSocketServer: ws.WebSocketServer, createWebSocketStream: ws.createWebSocketStream };
export const RFC: Lib = { name: 'rfc6455', ...(rfc6455 as unknown as Omit<Lib, 'name'>) };

/** Which library plays the server and which the client. The first pair is the reference. */
export interface Pair {
  server: Lib;
  client: Lib;
}
export const SAME: Pair[] = [
  { server: WS, client: WS },
  { server: RFC, client: RFC },
];
export const CROSS: Pair[] = [...SAME, { server: RFC, client: WS }, { server: WS, client: RFC }];

/** An observation as text: Buffers by content, errors by class, code and message, objects as JSON. */
export function show(value: unknown): string {
  if (Buffer.isBuffer(value)) return `<Buffer ${JSON.stringify(value.toString('latin1'))}>`;
  if (value instanceof ArrayBuffer) return `<ArrayBuffer ${JSON.stringify(Buffer.from(value).toString('latin1'))}>`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return `${value.constructor.name}${code === undefined ? '' : `[${String(code)}]`}: ${value.message}`;
  }
  if (value instanceof Set) return `Set{${[...value].map(show).join(', ')}}`;
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value !== null && typeof value === 'object' && value.constructor !== Object) return `<${value.constructor.name}>`;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Everything a scenario gets: the pair, logs for each side, and helpers that clean up after themselves. */
export class Run {
  readonly serverLog: string[] = [];
  readonly clientLog: string[] = [];
  constructor(
    readonly server: Lib,
    readonly client: Lib,
    readonly cleanups: Cleanups,
  ) {}

  /** Adds "<label> <values shown>" to the server side's transcript. */
  s(label: string, ...values: unknown[]): void {
    this.serverLog.push([label, ...values.map(show)].join(' '));
  }

  /** Adds "<label> <values shown>" to the client side's transcript. */
  c(label: string, ...values: unknown[]): void {
    this.clientLog.push([label, ...values.map(show)].join(' '));
  }

  /** A standalone server of the server library on 127.0.0.1, any port; shut down after the scenario. */
  async listen(options: ws.ServerOptions = {}): Promise<{ wss: ws.WebSocketServer; url: string; port: number }> {
    const wss = new this.server.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
    await once(wss, 'listening');
    this.track(wss);
    const port = (wss.address() as AddressInfo).port;
    return { wss, url: `ws://127.0.0.1:${port}`, port };
  }

  /** Terminates the server's clients and closes it after the scenario. */
  track(wss: ws.WebSocketServer): void {
    this.cleanups.add(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of wss.clients ?? []) socket.terminate();
          wss.close(() => resolve());
        }),
    );
  }

  /** A client of the client library, terminated after the scenario. */
  connect(url: string, protocols?: string | string[] | ws.ClientOptions, options?: ws.ClientOptions): ws.WebSocket {
    const socket = new this.client.WebSocket(url, protocols as string[] | undefined, options);
    this.cleanups.add(() => {
      socket.on('error', () => {});
      socket.terminate();
    });
    return socket;
  }

  /** A server, a client connected to it, and the server's socket of that connection (both open). */
  async pair(
    serverOptions: ws.ServerOptions = {},
    clientOptions: ws.ClientOptions = {},
    protocols?: string[],
  ): Promise<{ wss: ws.WebSocketServer; url: string; port: number; client: ws.WebSocket; peer: ws.WebSocket }> {
    const listening = await this.listen(serverOptions);
    const connection = once(listening.wss, 'connection');
    const client = this.connect(listening.url, protocols, clientOptions);
    const [[peer]] = await Promise.all([connection, once(client, 'open')]);
    return { ...listening, client, peer: peer as ws.WebSocket };
  }
}

export type Scenario = (run: Run) => Promise<void>;

/**
 * The test body: run `scenario` once per pair (sequentially, each with its own cleanups), then
 * assert every pair's transcripts equal the first pair's and that `expected` lines all appear
 * (server lines prefixed "s: ", client lines "c: ").
 */
export function sideBySide(scenario: Scenario, expected: string[], pairs: Pair[] = SAME): () => Promise<void> {
  return async () => {
    const results: Record<string, string[]> = {};
    for (const { server, client } of pairs) {
      const cleanups = new Cleanups();
      const run = new Run(server, client, cleanups);
      try {
        await scenario(run);
      } finally {
        await cleanups.run();
      }
      results[`${client.name} -> ${server.name}`] = [...run.serverLog.map((line) => `s: ${line}`), ...run.clientLog.map((line) => `c: ${line}`)];
    }
    const [reference, ...others] = Object.keys(results);
    for (const label of others) expect({ [label]: results[label] }).toEqual({ [label]: results[reference] });
    expect(results[reference]).toEqual(expect.arrayContaining(expected));
  };
}

/** Polls `condition` every few milliseconds until it holds (bounded by the test's timeout). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** The next `event` of `emitter` with its arguments. */
export function next(emitter: NodeJS.EventEmitter, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

/** The callback's error (or null/undefined) once it is called. */
export function callbackOf(call: (cb: (error?: Error | null) => void) => void): Promise<Error | null | undefined> {
  return new Promise((resolve) => call((error) => resolve(error)));
}
