// One node of the Redis benchmarks (bench/redis-bench.mjs): a WebSocketServer of rfc6455 (dist/) with a
// RedisBroker over ioredis, in a process of its own.
//   /sub                         a subscriber of the topic
//   /pub                         a publisher: each of its messages is published on the topic (the n-th /pub
//                                connection publishes on the n-th of --pub-topics, round robin)
//   /resume?offset=O&epoch=E     a subscriber of the history topic 'h:bench', resuming after { O, E }
// Prints one JSON line {"ready":true,"pid","port"} once listening.
// node bench/redis-node.mjs --port P --redis-port R [--topic T] [--pub-topics T1,T2]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { WebSocketServer } from '../dist/esm/index.js';
import { RedisBroker } from '../dist/esm/redis/main.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redis-port': { type: 'string' },
    topic: { type: 'string', default: 'bench' },
    'pub-topics': { type: 'string' },
  },
});
const pubTopics = (values['pub-topics'] ?? values.topic).split(',');
let pubs = 0;
const client = new Redis({ host: '127.0.0.1', port: Number(values['redis-port']) });
client.on('error', (error) => process.stderr.write(`redis-node: ${error.message}\n`));
const broker = new RedisBroker({ client, history: [{ prefix: 'h:', size: 100000, ttl: 600 }] });
broker.on('publishError', (error) => process.stderr.write(`redis-node: ${error.message}\n`));
const wss = new WebSocketServer({ port: Number(values.port), host: '127.0.0.1', broker }, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, port: wss.address().port })}\n`);
});
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  const url = new URL(req.url, 'ws://node');
  if (url.pathname === '/pub') {
    const topic = pubTopics[pubs++ % pubTopics.length];
    ws.on('message', (data, isBinary) => wss.publish(topic, data, { binary: isBinary }));
  } else if (url.pathname === '/resume') {
    ws.on('recovery', (topic, result) => ws.send(JSON.stringify(result)));
    ws.subscribe('h:bench', { since: { offset: Number(url.searchParams.get('offset')), epoch: url.searchParams.get('epoch') ?? '' } });
  } else {
    ws.subscribe(values.topic);
  }
});
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
