// Shared by the command-line tests: the CLI as a child process (from the TypeScript sources, through
// tsx) and a real `ws` server that records what the CLI did.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { closeWsServer, portOf } from '../api/server-helpers.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
export const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  while (cleanups.length > 0) await cleanups.pop()!();
});

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout (or stderr) contains `text`. */
  waitFor: (text: string, stream?: 'stdout' | 'stderr') => Promise<void>;
  exit: Promise<number | null>;
}

/** `rfc6455 <args>` with piped stdin, stdout and stderr. */
export function cli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/cli/entry.ts', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = async (text: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> => {
    const source = stream === 'stdout' ? child.stdout : child.stderr;
    const read = (): string => (stream === 'stdout' ? out : err);
    // Bounded: each round waits for more output (or the exit).
    for (let i = 0; i < 10_000 && !read().includes(text); i++) {
      if (child.exitCode !== null) break;
      await Promise.race([once(source, 'data'), exit]);
    }
    if (!read().includes(text)) throw new Error(`no ${JSON.stringify(text)} in ${stream}: ${JSON.stringify(read())}; stderr: ${err}`);
  };
  return { child, stdout: () => out, stderr: () => err, waitFor, exit };
}

export interface Recorder {
  url: string;
  port: number;
  heads: IncomingHttpHeaders[];
  /** The server side of each connection. */
  sockets: import('ws').WebSocket[];
  /** What each connection sent: text as is, binary as `bin:<hex>`, pings as `ping:<data>`. */
  received: string[];
  /** The close code and reason each connection got from the client. */
  closes: Array<[number, string]>;
  /** Resolves once `closes` has `count` entries (bounded by the test's timeout). */
  closed: (count?: number) => Promise<void>;
}

/**
 * A `ws` echo server on 127.0.0.1 (the first offered subprotocol is chosen); greets each client with
 * the binary message de ad; closes with `closeWith` when it gets "bye".
 */
export async function echo(options: { closeWith?: [number, string] } = {}): Promise<Recorder> {
  const server = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => protocols.values().next().value ?? false });
  await once(server, 'listening');
  const recorder: Recorder = { url: '', port: 0, heads: [], sockets: [], received: [], closes: [], closed: async () => {} };
  const events = new (await import('node:events')).EventEmitter();
  server.on('connection', (socket, request) => {
    recorder.heads.push(request.headers);
    recorder.sockets.push(socket);
    socket.on('ping', (data) => recorder.received.push(`ping:${data.toString()}`));
    socket.on('message', (data, isBinary) => {
      recorder.received.push(isBinary ? `bin:${(data as Buffer).toString('hex')}` : data.toString());
      if (!isBinary && data.toString() === 'bye' && options.closeWith !== undefined) socket.close(...options.closeWith);
      else socket.send(data, { binary: isBinary });
    });
    socket.on('close', (code, reason) => {
      recorder.closes.push([code, reason.toString()]);
      events.emit('closed');
    });
    socket.send(Buffer.from([0xde, 0xad]));
  });
  recorder.closed = async (count = 1) => {
    for (let i = 0; i < 1000 && recorder.closes.length < count; i++) await once(events, 'closed');
  };
  cleanups.push(() => closeWsServer(server));
  const port = portOf(server.address());
  recorder.port = port;
  recorder.url = `ws://127.0.0.1:${port}`;
  return recorder;
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
