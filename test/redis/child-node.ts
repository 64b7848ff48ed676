// One node in its own process for processes.test.ts: a WebSocketServer with a RedisBroker and one
// subscribed client. Prints 'ready', publishes `count` messages on 'go', prints what its client got.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocketServer } from '../../src/api/server.js';
import type { WebSocket } from '../../src/api/websocket.js';
import { RedisBroker } from '../../src/redis/index.js';
import { redisClient, type ClientKind } from './nodes.js';

const [kind, redisPort, name, count, expected] = process.argv.slice(2) as [ClientKind, string, string, string, string];
const client = await redisClient(kind, Number(redisPort));
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', broker: new RedisBroker({ client, debounce: 1 }) });
await once(wss, 'listening');
const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
const socket = new WsWebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
const received: string[] = [];
socket.on('message', (data) => {
  received.push(String(data));
  if (received.length === Number(expected)) {
    process.stdout.write(`${JSON.stringify(received)}\n`);
    process.exit(0);
  }
});
const [server] = await accepted;
server.subscribe('cross');
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') for (let i = 0; i < Number(count); i++) wss.publish('cross', `${name}:${i}`);
}
