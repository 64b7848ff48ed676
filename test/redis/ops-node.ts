// One node of the failure tests (failures.test.ts), in a process of its own: a WebSocketServer with
// an ioredis client and a RedisBroker (history on the topics starting with 'h:' and, kept short, 's:').
//
// The app's own little protocol, JSON text messages:
// - a client connects to /?topic=T (optionally &offset=O&epoch=E to resume from a position);
// - published messages are {"p": publisher, "s": sequence}: each test topic has one publisher, which
//   numbers its publishes from 1 on a fresh topic, so a message's sequence is its history offset;
// - the server tells its clients {"type":"recovery", recovered, position, replayed} and
//   {"type":"gap"} (publishes on the topic may have been missed while Redis was away);
// - a client sends {"resume": {offset, epoch}} to resubscribe from a position (after a gap).
//
// Commands on stdin (JSON lines): {"publish": topic, "count": n, "every": ms} publishes n messages,
// one every `every` ms (0: all at once); {"exit": true}. Reports on stdout (JSON lines):
// {"ready": port}, {"published": topic, "count", "failures"}, {"gap": [topics]}, {"down"}, {"up"}.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { WebSocketServer } from '../../src/api/server.js';
import type { WebSocket } from '../../src/api/websocket.js';
import { RedisBroker } from '../../src/redis/index.js';

const [redisPort, name] = process.argv.slice(2) as [string, string];
const report = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

const client = new Redis({ host: '127.0.0.1', port: Number(redisPort), retryStrategy: () => 20 });
client.on('error', () => undefined);
await once(client, 'ready');
const history = [
  { prefix: 'h:', size: 100000, ttl: 120 },
  { prefix: 's:', size: 10, ttl: 120 },
];
const broker = new RedisBroker({ client, debounce: 1, history });
broker.on('publishError', () => undefined);
broker.on('down', () => report({ down: true }));
broker.on('up', () => report({ up: true }));
broker.on('gap', (topics: string[]) => report({ gap: topics }));
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', broker });
await once(wss, 'listening');

const subscribers = new Map<string, Set<WebSocket>>();
wss.on('gap', (topic: string) => {
  for (const ws of subscribers.get(topic) ?? []) ws.send(JSON.stringify({ type: 'gap' }));
});
wss.on('connection', (ws: WebSocket, request) => {
  const query = new URL(request.url ?? '/', 'ws://node').searchParams;
  const topic = query.get('topic') ?? 'default';
  let set = subscribers.get(topic);
  if (set === undefined) subscribers.set(topic, (set = new Set()));
  set.add(ws);
  ws.on('close', () => set.delete(ws));
  ws.on('recovery', (_topic: string, result: object) => ws.send(JSON.stringify({ type: 'recovery', ...result })));
  ws.on('message', (data) => {
    const { resume } = JSON.parse(String(data)) as { resume: { offset: number; epoch: string } };
    ws.unsubscribe(topic);
    ws.subscribe(topic, { since: resume });
  });
  const offset = query.get('offset');
  if (offset !== null) ws.subscribe(topic, { since: { offset: Number(offset), epoch: query.get('epoch') ?? '' } });
  else ws.subscribe(topic);
});

/** Per topic, the last sequence number published. */
const sequences = new Map<string, number>();

function publish(topic: string, count: number, every: number): void {
  const failuresBefore = broker.publishFailures;
  let sent = 0;
  const one = (): void => {
    sent++;
    const sequence = (sequences.get(topic) ?? 0) + 1;
    sequences.set(topic, sequence);
    wss.publish(topic, JSON.stringify({ p: name, s: sequence }));
  };
  const done = (): void => {
    // Failures are counted when Redis answers: report once every publish has had its answer.
    void client.ping().then(
      () => report({ published: topic, count, failures: broker.publishFailures - failuresBefore }),
      () => report({ published: topic, count, failures: broker.publishFailures - failuresBefore }),
    );
  };
  if (every === 0) {
    while (sent < count) one();
    done();
    return;
  }
  const timer = setInterval(() => {
    one();
    if (sent === count) {
      clearInterval(timer);
      done();
    }
  }, every);
}

report({ ready: (wss.address() as { port: number }).port });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { publish?: string; count?: number; every?: number; exit?: boolean };
  if (command.publish !== undefined) publish(command.publish, command.count ?? 1, command.every ?? 0);
  if (command.exit === true) break;
}
await new Promise((resolve) => wss.close(resolve));
await client.quit().catch(() => undefined);
process.exit(0);
