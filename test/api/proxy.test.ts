// The client's HTTP proxy: NO_PROXY matching, which proxy a URL takes (option, then environment),
// and real connections through a CONNECT proxy on loopback (ws: and wss: inside the tunnel).
import { once } from 'node:events';
import { Agent } from 'node:http';
import { createServer as createNetServer, type LookupFunction, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { WebSocket } from '../../src/index.js';
import { bypassesProxy, proxyFor } from '../../src/api/proxy.js';
import { startConnectProxy } from './connect-proxy.js';
import { closeWsServer, portOf, testCert, tlsWsServer } from './server-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];

/** Sets proxy variables for one test; the previous environment comes back after it. */
function withEnvironment(values: Record<string, string>): void {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  cleanups.push(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

async function echoServer(): Promise<number> {
  const server = new WsServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  cleanups.push(() => closeWsServer(server));
  return portOf(server.address());
}

async function proxy(requireAuth?: string) {
  const started = await startConnectProxy(requireAuth);
  cleanups.push(() => started.close());
  return started;
}

function track(ws: WebSocket): WebSocket {
  cleanups.push(() => {
    if (ws.readyState === ws.CLOSED) return;
    ws.on('error', () => undefined);
    const closed = once(ws, 'close');
    ws.terminate();
    return closed.then(() => undefined);
  });
  return ws;
}

async function echoOnce(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  return String((await reply)[0]);
}

describe('NO_PROXY', () => {
  test.each([
    ['*', 'example.com', 443, true],
    ['example.com', 'example.com', 443, true],
    ['example.com', 'api.example.com', 443, true],
    ['.example.com', 'api.example.com', 443, true],
    ['*.example.com', 'api.example.com', 443, true],
    ['example.com', 'badexample.com', 443, false],
    ['example.com:8443', 'example.com', 8443, true],
    ['example.com:8443', 'example.com', 443, false],
    ['foo.test, example.com', 'EXAMPLE.com', 80, true],
    ['foo.test example.com', 'example.com', 80, true],
    ['127.0.0.1', '127.0.0.1', 80, true],
    ['0.0.1', '127.0.0.1', 80, false],
    ['::1', '::1', 80, true],
    ['[::1]:8080', '::1', 8080, true],
    ['[::1]:8080', '::1', 80, false],
    ['', 'example.com', 80, false],
  ] as const)('%j for %s:%d: %s', (list, host, port, expected) => {
    expect(bypassesProxy(host, port, list)).toBe(expected);
  });
});

describe('which proxy', () => {
  test('wss: reads https_proxy, ws: http_proxy; lower case first; NO_PROXY wins; the option wins over all', () => {
    const env = { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2', HTTP_PROXY: 'plain.example:3', NO_PROXY: 'direct.example' };
    expect(proxyFor(true, '127.0.0.2', 443, undefined, env)).toBeUndefined();
    expect(proxyFor(true, 'app.localhost', 443, undefined, env)).toBeUndefined();
    expect(proxyFor(true, '::1', 443, undefined, env)).toBeUndefined();
    expect(proxyFor(true, '127.0.0.1', 443, 'http://explicit:4', env)?.href).toBe('http://explicit:4/');
    expect(proxyFor(true, 'a.example', 443, undefined, env)?.href).toBe('http://low:1/');
    expect(proxyFor(false, 'a.example', 80, undefined, env)?.href).toBe('http://plain.example:3/');
    expect(proxyFor(true, 'direct.example', 443, undefined, env)).toBeUndefined();
    expect(proxyFor(true, 'direct.example', 443, 'http://explicit:4', env)?.href).toBe('http://explicit:4/');
    expect(proxyFor(true, 'a.example', 443, false, env)).toBeUndefined();
    expect(proxyFor(true, 'a.example', 443, undefined, {})).toBeUndefined();
    expect(() => proxyFor(true, 'a.example', 443, 'socks5://s:1', {})).toThrow(SyntaxError);
  });

  test('proxy together with agent or createConnection is a TypeError', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1/', { proxy: 'http://127.0.0.1:2', agent: new Agent() })).toThrow(TypeError);
  });
});

describe('through a CONNECT proxy', () => {
  test('ws: with the proxy option: the tunnel goes to the target with Proxy-Authorization from the URL', async () => {
    const port = await echoServer();
    const authorization = `Basic ${Buffer.from('us er:p@ss').toString('base64')}`;
    const { port: proxyPort, seen } = await proxy(authorization);
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: `http://us%20er:p%40ss@127.0.0.1:${proxyPort}` }));
    await once(ws, 'open');
    expect(await echoOnce(ws, 'through')).toBe('through');
    expect(seen).toEqual([{ target: `127.0.0.1:${port}`, authorization }]);
  });

  test('wss: TLS to the server runs inside the tunnel (the certificate is checked for the target)', async () => {
    const { port, close } = await tlsWsServer((socket) => socket.on('message', (data) => socket.send(data)));
    cleanups.push(close);
    const { url, seen } = await proxy();
    const ws = track(new WebSocket(`wss://localhost:${port}/`, { proxy: url, ca: testCert }));
    await once(ws, 'open');
    expect(await echoOnce(ws, 'secret')).toBe('secret');
    expect(seen).toEqual([{ target: `localhost:${port}`, authorization: undefined }]);

    // Without the CA the certificate of the target (not the proxy's) is refused.
    const untrusted = track(new WebSocket(`wss://localhost:${port}/`, { proxy: url }));
    const [error] = (await once(untrusted, 'error')) as [Error & { code?: string }];
    expect(error.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('HTTP_PROXY from the environment; loopback hosts, NO_PROXY, proxy: false and an agent go direct', async () => {
    const port = await echoServer();
    const { url, seen } = await proxy();
    withEnvironment({ HTTP_PROXY: url, NO_PROXY: 'other.test,ws.test:1' });
    const proxied = track(new WebSocket(`ws://ws.test:${port}/`));
    await once(proxied, 'open');
    expect(await echoOnce(proxied, 'via env')).toBe('via env');
    expect(seen.map((record) => record.target)).toEqual([`ws.test:${port}`]);

    // The rest connect directly: ws.test is found by this lookup, which a proxied connection never calls.
    const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }) as unknown as LookupFunction;
    withEnvironment({ HTTP_PROXY: url, NO_PROXY: `other.test, ws.test:${port}` });
    const direct = [
      track(new WebSocket(`ws://127.0.0.1:${port}/`)),
      track(new WebSocket(`ws://localhost:${port}/`)),
      track(new WebSocket(`ws://ws.test:${port}/`, { lookup })),
      track(new WebSocket(`ws://ws.test:${port}/`, { lookup, proxy: false })),
    ];
    withEnvironment({ HTTP_PROXY: url });
    direct.push(track(new WebSocket(`ws://ws.test:${port}/`, { lookup, proxy: false })));
    direct.push(track(new WebSocket(`ws://ws.test:${port}/`, { lookup, agent: new Agent({ lookup } as object) })));
    await Promise.all(direct.map((ws) => once(ws, 'open')));
    expect(seen).toHaveLength(1);
  });

  test('a proxy that refuses the tunnel fails the handshake: error, then close 1006', async () => {
    const port = await echoServer();
    const { url } = await proxy('Basic nobody');
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: url }));
    const order: string[] = [];
    ws.on('error', (error) => order.push(`error ${error.message}`));
    const code = await new Promise<number>((resolve) => ws.on('close', resolve));
    order.push(`close ${code}`);
    expect(order).toEqual(['error Proxy refused the tunnel: 407', 'close 1006']);
  });

  test('handshakeTimeout bounds a proxy that never answers the CONNECT', async () => {
    const accepted: Socket[] = [];
    const silent = createNetServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of accepted) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const ws = track(new WebSocket('ws://127.0.0.1:1/', { proxy: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, handshakeTimeout: 50 }));
    const [error] = (await once(ws, 'error')) as [Error];
    expect(error.message).toBe('Opening handshake has timed out');
    expect(accepted).toHaveLength(1);
  });
});
