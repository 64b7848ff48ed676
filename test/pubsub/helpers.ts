// Servers and ws clients for the pub/sub tests.
import { once } from 'node:events';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocketServer, type WebSocketServerOptions } from '../../src/api/server.js';
import type { WebSocket } from '../../src/api/websocket.js';
import { Cleanups, portOf } from '../api/server-helpers.js';

export const cleanups = new Cleanups();

export async function startServer(options: Omit<WebSocketServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.add(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { wss, port: portOf(wss.address()) };
}

/** A `ws` client that records every message (as text, or hex for binary) and its server-side socket. */
export interface Peer {
  client: WsWebSocket;
  server: WebSocket;
  received: string[];
}

export async function connectPeers(wss: WebSocketServer, port: number, count: number, options: ConstructorParameters<typeof WsWebSocket>[2] = {}): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < count; i++) {
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WsWebSocket(`ws://127.0.0.1:${port}`, options);
    const received: string[] = [];
    client.on('message', (data, isBinary) => received.push(isBinary ? `bin:${(data as Buffer).toString('hex')}` : (data as Buffer).toString()));
    cleanups.add(() => client.terminate());
    await once(client, 'open');
    const [server] = await accepted;
    peers.push({ client, server, received });
  }
  return peers;
}

/** Resolves once `condition()` holds (checked every 5 ms; the test's timeout bounds it). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
