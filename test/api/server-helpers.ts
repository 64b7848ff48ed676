import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { connect, type Socket } from 'node:net';
import { WebSocketServer as WsServer, type WebSocket as WsWebSocket } from 'ws';

/** Things to undo after each test, last first. */
export class Cleanups {
  private readonly tasks: Array<() => Promise<void> | void> = [];
  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }
  async run(): Promise<void> {
    while (this.tasks.length > 0) await this.tasks.pop()!();
  }
}

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** The lines of a valid opening handshake for `path`, with `extra` lines added and lines starting with a `drop` name removed. */
export function upgradeRequest(path = '/', extra: string[] = [], drop: string[] = []): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${KEY}`,
    'Sec-WebSocket-Version: 13',
  ].filter((line) => !drop.some((name) => line.toLowerCase().startsWith(name.toLowerCase())));
  return [...lines, ...extra, '', ''].join('\r\n');
}

export interface RawResponse {
  status: number;
  /** Lowercase name -> values in order. */
  headers: Map<string, string[]>;
  /** The bytes after the head (for an error response: the whole body, the socket being closed). */
  body: string;
  /** Open after a 101; closed after anything else. */
  socket: Socket;
}

/**
 * Send `request` on a new TCP connection; resolve at the end of a 101 head (socket left open)
 * or, for any other answer, once the server has closed the connection.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (): void => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        if (socket.destroyed) reject(new Error(`connection closed after ${JSON.stringify(text)}`));
        return;
      }
      const [statusLine, ...fields] = text.slice(0, end).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      if (status !== 101 && !socket.destroyed) return;
      settled = true;
      const headers = new Map<string, string[]>();
      for (const field of fields) {
        const colon = field.indexOf(':');
        const name = field.slice(0, colon).toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), field.slice(colon + 1).trim()]);
      }
      resolve({ status, headers, body: text.slice(end + 4), socket });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!settled) settle();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!settled) settle();
    });
    socket.write(request);
  });
}

export async function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return;
  socket.destroy();
  await once(socket, 'close');
}

export function portOf(address: unknown): number {
  if (address === null || typeof address !== 'object' || !('port' in address)) throw new Error('not listening on a port');
  return (address as { port: number }).port;
}

/** Terminates the clients of `wss`, then closes `server` (by default `wss` itself); resolves once it is closed. */
export function closeWsServer(wss: WsServer, server: { close(callback: () => void): unknown } = wss): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    server.close(() => resolve());
  });
}

/** The self-signed certificate (for localhost) and its key, from test/fixtures. */
export const testCert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
export const testKey = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));

/**
 * An https server on 127.0.0.1 with the self-signed test certificate (and `options`) and a `ws` server
 * on it calling `onConnection`; `close` terminates the clients and closes the https server.
 */
export async function tlsWsServer(
  onConnection: (socket: WsWebSocket, request: IncomingMessage) => void,
  options: HttpsOptions = {},
): Promise<{ port: number; wss: WsServer; close: () => Promise<void> }> {
  const https = createHttpsServer({ cert: testCert, key: testKey, ...options });
  const wss = new WsServer({ server: https });
  wss.on('connection', onConnection);
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  return { port: portOf(https.address()), wss, close: () => closeWsServer(wss, https) };
}

/**
 * Calls `onHead` once `socket` has sent a whole HTTP head: with the head (up to the blank line, which is
 * left out) and the bytes that came after it.
 */
export function readHead(socket: Socket, onHead: (head: string, rest: Buffer) => void): void {
  let text = '';
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.removeListener('data', onData);
    onHead(text.slice(0, end), Buffer.from(text.slice(end + 4), 'latin1'));
  };
  socket.on('data', onData);
}
