// RedisBroker under real failures, with real processes: nodes (ops-node.ts, each its own Node.js
// process) on one throwaway redis-server, `ws` clients in this process. A node killed with SIGKILL
// mid-stream, Redis restarted, Redis paused, the subscriber connections killed by Redis.
// Each test topic has one publisher, numbering from 1: a message's sequence is its history offset,
// so a client's position is { offset: the last sequence it saw, epoch: from its 'recovery' message }.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { WebSocket as WsWebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cleanups } from '../pubsub/helpers.js';
import { RedisServer, skipReason, sleep, until } from './redis-server.js';

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  if (skipReason !== null) return;
  redis = await RedisServer.start();
  admin = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: () => 20 });
  admin.on('error', () => undefined);
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});
afterEach(() => cleanups.run());

const OPS_NODE = fileURLToPath(new URL('./ops-node.ts', import.meta.url));

interface Report {
  ready?: number;
  published?: string;
  count?: number;
  failures?: number;
  gap?: string[];
  down?: boolean;
  up?: boolean;
}

class OpsNode {
  readonly reports: Report[] = [];
  port = 0;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.reports.push(JSON.parse(line) as Report));
  }

  static async start(name: string): Promise<OpsNode> {
    const child = spawn(process.execPath, ['--import', 'tsx', OPS_NODE, String(redis.port), name], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.add(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    const node = new OpsNode(name, child);
    await until(() => node.reports.length > 0 || child.exitCode !== null);
    node.port = node.reports[0]!.ready!;
    return node;
  }

  publish(topic: string, count: number, every: number): void {
    this.child.stdin!.write(`${JSON.stringify({ publish: topic, count, every })}\n`);
  }

  /** The report of a finished publish command of `count` messages on `topic`. */
  async published(topic: string, count: number): Promise<Report> {
    const match = (report: Report): boolean => report.published === topic && report.count === count;
    await until(() => this.reports.some(match));
    return this.reports.find(match)!;
  }

  async kill(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

interface Recovery {
  recovered: boolean;
  position: { offset: number; epoch: string } | null;
  replayed: number;
}

/** A client of the ops nodes' little protocol: records the sequences it got, its recoveries and gaps. */
class Client {
  readonly sequences: number[] = [];
  /** The publisher of each message, by index. */
  readonly publishers: string[] = [];
  readonly recoveries: Recovery[] = [];
  gaps = 0;
  epoch = '';
  /** A resume was asked for on this connection and its 'recovery' message has not come yet. */
  private resuming = false;
  /**
   * Messages the client set aside: while a resume is pending, any but the next one (a live message
   * the server sent before it handled the resume: the replay sends it again, in its place); after, any
   * it already has.
   */
  readonly discarded: number[] = [];
  closed = false;
  /** Called once when the connection drops (the node died). */
  onDrop: (() => void) | null = null;
  private ws: WsWebSocket | null = null;

  constructor(readonly topic: string) {}

  get last(): number {
    return this.sequences.at(-1) ?? 0;
  }

  /** Connect to `node` (resuming from the client's position when `resume`); resolves once open. */
  async connect(port: number, resume: boolean): Promise<void> {
    const query = resume ? `&offset=${this.last}&epoch=${this.epoch}` : '';
    const ws = new WsWebSocket(`ws://127.0.0.1:${port}/?topic=${this.topic}${query}`);
    this.ws = ws;
    cleanups.add(() => ws.terminate());
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.closed = true;
      const onDrop = this.onDrop;
      this.onDrop = null;
      onDrop?.();
    });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type?: string; s?: number; p?: string } & Partial<Recovery>;
      if (message.type === 'recovery') {
        this.resuming = false;
        this.recoveries.push(message as Recovery);
        if (message.position) this.epoch = message.position.epoch;
      } else if (message.type === 'gap') {
        this.gaps++;
        // The app's answer to a gap: resubscribe from the last position seen.
        this.resuming = true;
        ws.send(JSON.stringify({ resume: { offset: this.last, epoch: this.epoch } }));
      } else if (this.resuming ? message.s !== this.last + 1 : message.p === this.publishers.at(-1) && message.s! <= this.last) {
        this.discarded.push(message.s!);
      } else {
        this.sequences.push(message.s!);
        this.publishers.push(message.p!);
      }
    });
    await once(ws, 'open');
    this.closed = false;
  }
}

/** Clients subscribed from offset 0 of no epoch: each learns the topic's epoch from its 'recovery' message. */
async function clientsOn(node: OpsNode, topic: string, count: number): Promise<Client[]> {
  const clients = Array.from({ length: count }, () => new Client(topic));
  await Promise.all(clients.map((client) => client.connect(node.port, true)));
  await until(() => clients.every((client) => client.recoveries.length === 1));
  return clients;
}

/** The sequences from the first one received to `last`, each once, in order. */
function expectEveryOnce(client: Client, last: number): void {
  const first = client.sequences[0]!;
  expect(client.sequences).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
}

function expectIncreasing(sequences: number[]): void {
  for (let i = 1; i < sequences.length; i++) expect(sequences[i]!).toBeGreaterThan(sequences[i - 1]!);
}

const offsetOf = async (topic: string): Promise<number> => Number(await admin.hget(`rfc6455:{${topic}}:meta`, 'offset'));
const numsub = async (topic: string): Promise<number> => Number(((await admin.call('PUBSUB', 'NUMSUB', `rfc6455:{${topic}}`)) as unknown[])[1]);

describe.skipIf(skipReason !== null)('RedisBroker failures, three node processes on one Redis', () => {
  test('publish anywhere: every client of every node gets every publish once, in each publisher order', async () => {
    const nodes = await Promise.all(['n0', 'n1', 'n2'].map((name) => OpsNode.start(name)));
    // Three clients on each node.
    const clients = Array.from({ length: 9 }, () => new Client('all'));
    await Promise.all(clients.map((client, i) => client.connect(nodes[i % 3]!.port, false)));
    await until(async () => (await numsub('all')) === 3);
    for (const node of nodes) node.publish('all', 200, 0);
    await until(() => clients.every((client) => client.sequences.length >= 600));
    await Promise.all(nodes.map((node) => node.published('all', 200)));
    for (const client of clients) {
      expect(client.sequences).toHaveLength(600);
      expect(client.discarded).toEqual([]);
      for (const node of nodes) {
        const from = client.sequences.filter((_, i) => client.publishers[i] === node.name);
        expect(from).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      }
    }
    for (const node of nodes) expect((await node.published('all', 200)).failures).toBe(0);
  });

  test('a node killed mid-stream: its clients resume on another node, every message once within the history window, recovered: false beyond it', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => OpsNode.start(name)));
    // One publish first: the topics exist, the clients learn their epochs.
    c!.publish('h:kill', 1, 0);
    c!.publish('s:kill', 1, 0);
    await Promise.all([c!.published('h:kill', 1), c!.published('s:kill', 1)]);
    const within = await clientsOn(a!, 'h:kill', 3);
    const beyond = await clientsOn(a!, 's:kill', 3);
    const bystanders = await clientsOn(b!, 'h:kill', 2);
    // Long enough (2.4 s at least) that the stream goes on well past the kill and both reconnections.
    const total = 1 + 1200;
    c!.publish('h:kill', 1200, 2);
    c!.publish('s:kill', 1200, 2);
    await until(() => [...within, ...beyond].every((client) => client.sequences.length >= 100));
    const dropped: Client[] = [];
    for (const client of [...within, ...beyond]) client.onDrop = () => dropped.push(client);
    await a!.kill();
    await until(() => dropped.length === 6);
    // Back within the history window (10^5 kept): after 50 more publishes.
    const hMissed = Math.min(total, (await offsetOf('h:kill')) + 50);
    await until(async () => (await offsetOf('h:kill')) >= hMissed);
    await Promise.all(within.map((client) => client.connect(b!.port, true)));
    // Back after far more publishes than 's:' topics keep (about 10, whole stream nodes of 100 at most).
    const sMissed = Math.min(total, Math.max(...beyond.map((client) => client.last)) + 300);
    await until(async () => (await offsetOf('s:kill')) >= sMissed);
    await Promise.all(beyond.map((client) => client.connect(b!.port, true)));

    expect((await c!.published('h:kill', 1200)).failures).toBe(0);
    expect((await c!.published('s:kill', 1200)).failures).toBe(0);
    await until(() => [...within, ...beyond, ...bystanders].every((client) => client.last === total));
    for (const client of [...within, ...beyond, ...bystanders]) expect(client.discarded).toEqual([]);
    for (const client of [...within, ...bystanders]) expectEveryOnce(client, total);
    for (const client of within) {
      expect(client.recoveries).toHaveLength(2);
      expect(client.recoveries[1]!.recovered).toBe(true);
      expect(client.recoveries[1]!.replayed).toBeGreaterThan(0);
    }
    for (const client of beyond) {
      expect(client.recoveries).toHaveLength(2);
      expect(client.recoveries[1]).toMatchObject({ recovered: false, replayed: 0 });
      // Nothing twice, nothing out of order; the messages published while away are missing, and the client knows.
      expectIncreasing(client.sequences);
      expect(client.sequences.length).toBeLessThan(total);
    }
  });

  test('without history: at most once — a killed node\'s clients that reconnect at once lose what was published meanwhile, nothing twice', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => OpsNode.start(name)));
    const moved = Array.from({ length: 3 }, () => new Client('plain'));
    const stayed = Array.from({ length: 2 }, () => new Client('plain'));
    await Promise.all([...moved.map((client) => client.connect(a!.port, false)), ...stayed.map((client) => client.connect(b!.port, false))]);
    await until(async () => (await numsub('plain')) === 2);
    const total = 800;
    c!.publish('plain', total, 2);
    await until(() => moved.every((client) => client.sequences.length >= 100));
    let reconnected = 0;
    for (const client of moved) client.onDrop = () => void client.connect(b!.port, false).then(() => reconnected++, () => undefined);
    await a!.kill();
    await until(() => reconnected === 3);
    expect((await c!.published('plain', 800)).failures).toBe(0);
    await until(() => [...moved, ...stayed].every((client) => client.last === total));
    for (const client of [...moved, ...stayed]) expect(client.discarded).toEqual([]);
    for (const client of stayed) expectEveryOnce(client, total);
    const lost: number[] = [];
    for (const client of moved) {
      expectIncreasing(client.sequences);
      // What is missing is one run: the messages published between the kill and the new subscription.
      const missing = total - client.sequences.length;
      const gapAt = client.sequences.findIndex((s, i) => i > 0 && s !== client.sequences[i - 1]! + 1);
      if (missing > 0) expect(client.sequences[gapAt]! - client.sequences[gapAt - 1]! - 1).toBe(missing);
      lost.push(missing);
    }
    console.log(`no history, node killed, clients reconnected at once (a message every 2 ms): lost ${lost.join(', ')} of ${total}`);
  });

  test('Redis restarted mid-stream (no persistence): nodes report a gap, clients resume and learn their recovery is incomplete (a new epoch)', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => OpsNode.start(name)));
    c!.publish('h:restart', 1, 0);
    await c!.published('h:restart', 1);
    const clients = [...(await clientsOn(a!, 'h:restart', 2)), ...(await clientsOn(b!, 'h:restart', 2))];
    const oldEpoch = clients[0]!.epoch;
    c!.publish('h:restart', 1000, 2);
    await until(() => clients.every((client) => client.sequences.length >= 50));
    await redis.stop();
    await until(() => [a, b].every((node) => node!.reports.some((report) => report.down)));
    await redis.restart();
    await until(() => clients.every((client) => client.recoveries.length === 2));
    const report = await c!.published('h:restart', 1000);
    await until(() => clients.every((client) => client.last === 1001));
    for (const client of clients) {
      expect(client.gaps).toBe(1);
      expect(client.recoveries[1]!.recovered).toBe(false);
      expect(client.recoveries[1]!.position?.epoch ?? '').not.toBe(oldEpoch);
      expectIncreasing(client.sequences);
    }
    for (const node of [a, b]) expect(node!.reports.find((r) => r.gap)?.gap).toEqual(['h:restart']);
    console.log(`Redis restarted: ${report.failures} publishes failed visibly of 1000; clients got ${clients.map((one) => one.sequences.length - 1).join(', ')} and set aside ${clients.map((one) => one.discarded.length).join(', ')} (delivered before their 'recovery: false')`);
    // Publishes made while Redis was down failed visibly, on the publishing node.
    expect(report.failures).toBeGreaterThan(0);
  });

  test('Redis paused (SIGSTOP) for a while: local delivery goes on, remote deliveries wait, nothing silently lost with history', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => OpsNode.start(name)));
    a!.publish('h:pause', 1, 0);
    await a!.published('h:pause', 1);
    const local = await clientsOn(a!, 'h:pause', 2);
    const remote = await clientsOn(b!, 'h:pause', 2);
    const total = 1 + 400;
    a!.publish('h:pause', 400, 5);
    await until(() => remote.every((client) => client.sequences.length >= 30));
    redis.pause();
    try {
      const before = Math.max(...local.map((client) => client.last));
      // Local subscribers keep receiving while Redis does not answer.
      await until(() => local.every((client) => client.last >= Math.min(total, before + 100)));
      await sleep(1000);
    } finally {
      redis.resume();
    }
    const report = await a!.published('h:pause', 400);
    await until(() => remote.every((client) => client.last === total));
    for (const client of [...local, ...remote]) expect(client.discarded).toEqual([]);
    for (const client of local) expectEveryOnce(client, total);
    // Every publish reached the remote clients (late), or failed visibly on the publishing node.
    for (const client of remote) {
      expectIncreasing(client.sequences);
      expect(total - client.sequences[0]! + 1 - client.sequences.length).toBe(report.failures);
    }
  });

  test('subscriber connections killed by Redis (CLIENT KILL TYPE pubsub): one SUBSCRIBE per node resubscribes every topic, a gap per topic, clients resume with nothing lost', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => OpsNode.start(name)));
    const topics = ['h:k0', 'h:k1', 'h:k2', 'h:k3'];
    for (const topic of topics) c!.publish(topic, 1, 0);
    await Promise.all(topics.map((topic) => c!.published(topic, 1)));
    const clients: Client[] = [];
    for (const topic of topics) clients.push(...(await clientsOn(a!, topic, 1)), ...(await clientsOn(b!, topic, 1)));
    const subscribeCalls = async (): Promise<number> => Number(/cmdstat_subscribe:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const callsBefore = await subscribeCalls();
    c!.publish('h:k0', 400, 2);
    await until(() => clients[0]!.sequences.length >= 50);
    expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBe(2);
    await until(() => [a, b].every((node) => node!.reports.some((report) => report.gap)));
    for (const node of [a, b]) expect([...node!.reports.find((report) => report.gap)!.gap!].sort()).toEqual(topics);
    expect(await subscribeCalls()).toBe(callsBefore + 2);
    expect((await c!.published('h:k0', 400)).failures).toBe(0);
    await until(() => clients.every((client) => client.recoveries.length === 2));
    await until(() => clients.filter((client) => client.topic === 'h:k0').every((client) => client.last === 401));
    for (const client of clients) {
      expect(client.gaps).toBe(1);
      expect(client.recoveries[1]!.recovered).toBe(true);
    }
    for (const client of clients.filter((one) => one.topic === 'h:k0')) expectEveryOnce(client, 401);
    console.log(`CLIENT KILL TYPE pubsub: live messages set aside while resuming (then replayed in place): ${clients.map((one) => one.discarded.length).join(', ')}`);
  });
});
