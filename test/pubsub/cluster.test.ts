// Topics across real worker processes: runWorkers forks test/pubsub/fixtures/cluster-worker.ts (through
// tsx); this test process is the cluster primary and runs the ClusterRelay.
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { reusePortSupported } from '../../src/api/reuse-port.js';
import { runWorkers, type WorkerPool } from '../../src/api/run-workers.js';
import { WebSocketServer } from '../../src/api/server.js';

let pool: WorkerPool;
let port: number;
/** pid -> resolved once that worker's server listens. */
const ready = new Map<number, true>();
const clients: WsWebSocket[] = [];

/** Polls (bounded) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port: free } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return free;
}

interface Client {
  ws: WsWebSocket;
  pid: number;
  /** Every text message after the {pid} greeting and the {ok} acknowledgements. */
  received: string[];
  acks: number;
  command(command: object): void;
}

async function connect(): Promise<Client> {
  const ws = new WsWebSocket(`ws://127.0.0.1:${port}`);
  clients.push(ws);
  const client: Client = { ws, pid: 0, received: [], acks: 0, command: (command) => ws.send(JSON.stringify(command)) };
  ws.on('message', (data) => {
    const text = String(data);
    if (text.startsWith('{"pid"')) client.pid = JSON.parse(text).pid;
    else if (text === '{"ok":true}') client.acks++;
    else client.received.push(text);
  });
  await until(() => client.pid !== 0, 'the greeting');
  return client;
}

/** A client served by the worker with pid `pid` (connects until one lands there, bounded). */
async function connectTo(pid: number): Promise<Client> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const client = await connect();
    if (client.pid === pid) return client;
    client.ws.close();
  }
  throw new Error(`no connection landed on worker ${pid}`);
}

async function subscribe(client: Client, topic: string): Promise<void> {
  const acks = client.acks;
  client.command({ subscribe: topic });
  await until(() => client.acks > acks, 'the subscription');
}

function pids(): number[] {
  return pool.workers.map((worker) => worker.process.pid!).filter((pid) => ready.has(pid));
}

beforeAll(async () => {
  port = await freePort();
  process.env.TEST_PORT = String(port);
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./fixtures/cluster-worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'], silent: false });
  cluster.on('message', (_worker: Worker, message: { ready?: number }) => {
    if (typeof message?.ready === 'number') ready.set(message.ready, true);
  });
  pool = runWorkers({ workers: 2, setup: () => {} })!;
  await until(() => pids().length === 2, 'two workers to listen');
}, 30_000);

afterAll(async () => {
  for (const ws of clients) ws.terminate();
  await pool?.close();
});

describe('ClusterBroker + ClusterRelay over real workers', () => {
  test('every subscriber on either worker gets every message once, in each publisher\'s order; the relay forwards only by interest', async () => {
    const [a, b] = pids() as [number, number];
    const subscribers = [await connectTo(a), await connectTo(a), await connectTo(b), await connectTo(b)];
    const [publisherA, publisherB] = [await connectTo(a), await connectTo(b)];
    for (const client of subscribers) await subscribe(client, 'room');
    await until(() => pool.relay.interestIn('room') === 2, 'both workers to declare interest');

    const forwardedBefore = pool.relay.forwarded;
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      publisherA.command({ publish: 'room', data: `a${i}` });
      publisherB.command({ publish: 'room', data: `b${i}` });
      sent.push(`a${i}`, `b${i}`);
    }
    for (const client of subscribers) await until(() => client.received.length >= 100, 'all 100 messages');
    for (const client of subscribers) {
      expect([...client.received].sort()).toEqual([...sent].sort());
      expect(client.received.filter((m) => m.startsWith('a'))).toEqual(sent.filter((m) => m.startsWith('a')));
      expect(client.received.filter((m) => m.startsWith('b'))).toEqual(sent.filter((m) => m.startsWith('b')));
    }
    // One envelope per publish, to the one other worker.
    expect(pool.relay.forwarded - forwardedBefore).toBe(100);
    for (const client of [publisherA, publisherB]) expect(client.received).toEqual([]);

    // A topic with subscribers on worker a only: a's publishes stay on a (nothing forwarded), b's go to a only.
    await subscribe(subscribers[0]!, 'only-a');
    await until(() => pool.relay.interestIn('only-a') === 1, 'interest in only-a');
    const forwardedOnlyA = pool.relay.forwarded;
    publisherA.command({ publish: 'only-a', data: 'from a' });
    publisherB.command({ publish: 'only-a', data: 'from b' });
    await until(() => subscribers[0]!.received.length === 102, 'both only-a messages');
    expect(subscribers[0]!.received.slice(100).sort()).toEqual(['from a', 'from b']);
    expect(pool.relay.forwarded - forwardedOnlyA).toBe(1);

    // Unsubscribe: b's subscribers leave the room but stay on 'other'; a's later publish of 'other'
    // arrives after the room message would have (one channel, in order), and the room message does not.
    for (const client of subscribers.slice(2)) {
      await subscribe(client, 'other');
      client.command({ unsubscribe: 'room' });
    }
    await until(() => pool.relay.interestIn('room') === 1 && pool.relay.interestIn('other') === 1, 'b to leave the room');
    publisherA.command({ publish: 'room', data: 'after' });
    publisherA.command({ publish: 'other', data: 'marker' });
    for (const client of subscribers.slice(2)) {
      await until(() => client.received.includes('marker'), 'the marker');
      expect(client.received.slice(100)).toEqual(['marker']);
    }
    for (const client of subscribers.slice(0, 2)) await until(() => client.received.includes('after'), 'the room message on a');
  });

  test('a killed worker is restarted; a client that reconnects subscribes and receives again', async () => {
    const [a, b] = pids() as [number, number];
    const publisher = await connectTo(a);
    const subscriber = await connectTo(b);
    await subscribe(subscriber, 'crash');
    await until(() => pool.relay.interestIn('crash') === 1, 'interest in crash');

    const closed = once(subscriber.ws, 'close');
    const exited = once(pool, 'exit');
    process.kill(b, 'SIGKILL');
    const [worker, , signal, restarted] = (await exited) as [Worker, number | null, string | null, boolean];
    expect([worker.process.pid, signal, restarted]).toEqual([b, 'SIGKILL', true]);
    await closed;
    expect(pool.relay.interestIn('crash')).toBe(0);
    await until(() => pids().length === 2, 'the replacement to listen');
    const replacement = pids().find((pid) => pid !== a)!;
    expect(replacement).not.toBe(b);

    const again = await connectTo(replacement);
    await subscribe(again, 'crash');
    await until(() => pool.relay.interestIn('crash') === 1, 'the replacement\'s interest');
    publisher.command({ publish: 'crash', data: 'welcome back' });
    await until(() => again.received.length === 1, 'the message');
    expect(again.received).toEqual(['welcome back']);
  });
});

describe('runWorkers and reusePort, misused', () => {
  test('runWorkers throws a TypeError for a workers count that is not a positive integer, or no setup', () => {
    for (const workers of [0, -1, 1.5, Number.NaN, '2']) {
      expect(() => runWorkers({ workers: workers as number, setup: () => {} })).toThrow(/"workers" option must be a positive integer/);
    }
    expect(() => runWorkers({ workers: 1, setup: undefined as unknown as () => void })).toThrow(TypeError);
  });

  test('reusePort: listens where Node supports it (feature-detected), else a TypeError from the constructor', async () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const expected = (process.platform === 'linux' || process.platform === 'freebsd') && (major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12));
    expect(reusePortSupported()).toBe(expected);
    if (!expected) {
      expect(() => new WebSocketServer({ port: 0, host: '127.0.0.1', reusePort: true })).toThrow(/"reusePort" option needs Node 22\.12\+/);
      return;
    }
    // Two servers bind the one port.
    const first = new WebSocketServer({ port: 0, host: '127.0.0.1', reusePort: true });
    await once(first, 'listening');
    const { port: shared } = first.address() as AddressInfo;
    const second = new WebSocketServer({ port: shared, host: '127.0.0.1', reusePort: true });
    await once(second, 'listening');
    expect((second.address() as AddressInfo).port).toBe(shared);
    for (const wss of [first, second]) await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});
