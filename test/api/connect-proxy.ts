// A small HTTP CONNECT proxy for the client tests: it records what each client asked (the CONNECT
// target, Proxy-Authorization) and tunnels to loopback targets only.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { readHead } from './server-helpers.js';

export interface ProxyRecord {
  target: string;
  authorization: string | undefined;
}

export interface ConnectProxy {
  url: string;
  port: number;
  seen: ProxyRecord[];
  close(): Promise<void>;
}

/** `requireAuth`: answer 407 unless Proxy-Authorization is this value. */
export async function startConnectProxy(requireAuth?: string): Promise<ConnectProxy> {
  const seen: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    readHead(client, (head, early) => {
      const [line, ...fields] = head.split('\r\n');
      const [method, target] = line!.split(' ');
      let authorization: string | undefined;
      for (const field of fields) {
        const colon = field.indexOf(':');
        if (field.slice(0, colon).toLowerCase() === 'proxy-authorization') authorization = field.slice(colon + 1).trim();
      }
      seen.push({ target: target!, authorization });
      const colon = target!.lastIndexOf(':');
      const host = target!.slice(0, colon).replace(/^\[|\]$/g, '');
      // ws.test stands for a host elsewhere (a client never sends loopback targets to a proxy from the environment).
      if (method !== 'CONNECT' || (host !== '127.0.0.1' && host !== 'localhost' && host !== 'ws.test')) {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (requireAuth !== undefined && authorization !== requireAuth) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: Number(target!.slice(colon + 1)) });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (early.length > 0) upstream.write(early);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      client.on('close', () => upstream.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
