// ws.md, "Class: WebSocketServer": every option, event and method, side by side with `ws`.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, test } from 'vitest';
import type * as ws from 'ws';
import { CROSS, next, type Run, sideBySide, until } from './compat-harness.js';
import { rawRequest, upgradeRequest } from './server-helpers.js';

/** An http.Server on 127.0.0.1 that answers plain requests with "plain"; closed after the scenario. */
async function httpServer(run: Run): Promise<{ http: ReturnType<typeof createHttpServer>; port: number }> {
  const http = createHttpServer((_req, res) => res.end('plain'));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  run.cleanups.add(() => {
    http.closeAllConnections();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { http, port: (http.address() as AddressInfo).port };
}

/** Logs the client's handshake failure as ws.md describes it: 'unexpected-response' status or 'error'. */
function logRefusal(run: Run, client: ws.WebSocket): Promise<void> {
  client.on('error', (error) => run.c('error', error));
  return new Promise((resolve) => client.on('close', (code) => (run.c('close', code), resolve())));
}

describe('new WebSocketServer(options[, callback])', () => {
  test(
    'port + host + callback: the callback runs on listening, address() gives the bound address',
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 16 }, () => run.s('callback'));
      run.track(wss);
      await once(wss, 'listening');
      run.s('listening');
      const address = wss.address() as AddressInfo;
      run.s('address', address.address, address.family, typeof address.port, address.port > 0);
    }, ['s: callback', 's: listening', 's: address "127.0.0.1" "IPv4" "number" true']),
  );

  test(
    'without port, server or noServer: TypeError',
    sideBySide(async (run) => {
      try {
        new run.server.WebSocketServer({});
      } catch (error) {
        run.s('throws', error);
      }
    }, ['s: throws TypeError: One and only one of the "port", "server", or "noServer" options must be specified']),
  );

  test(
    'port and server together: TypeError',
    sideBySide(async (run) => {
      try {
        new run.server.WebSocketServer({ port: 0, noServer: true });
      } catch (error) {
        run.s('throws', (error as Error).constructor.name);
      }
    }, ['s: throws "TypeError"']),
  );

  test(
    'server: attached to an http.Server, which still serves plain requests; listening is forwarded',
    sideBySide(async (run) => {
      const http = createHttpServer((_req, res) => res.end('plain'));
      const wss = new run.server.WebSocketServer({ server: http });
      run.track(wss);
      run.cleanups.add(() => {
        http.closeAllConnections();
        return new Promise<void>((resolve) => http.close(() => resolve()));
      });
      const listening = once(wss, 'listening');
      http.listen(0, '127.0.0.1');
      await listening;
      run.s('listening');
      const port = (wss.address() as AddressInfo).port;
      run.s('same port', port === (http.address() as AddressInfo).port);
      const plain = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      run.s('plain', plain.status, plain.body.includes('plain'));
      wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${data}`)));
      const client = run.connect(`ws://127.0.0.1:${port}`);
      await once(client, 'open');
      client.send('hi');
      const [data] = await next(client, 'message');
      run.c('message', data);
    }, ['s: listening', 's: same port true', 's: plain 200 true', 'c: message <Buffer "echo hi">'], CROSS),
  );

  test(
    "server: the http.Server's 'error' is forwarded to 'error'",
    sideBySide(async (run) => {
      const { http } = await httpServer(run);
      const wss = new run.server.WebSocketServer({ server: http });
      run.track(wss);
      const boom = new Error('boom');
      const forwarded = next(wss, 'error');
      http.emit('error', boom);
      const [error] = await forwarded;
      run.s('error', error, error === boom);
    }, ['s: error Error: boom true']),
  );

  test(
    "'error': the port is taken (EADDRINUSE)",
    sideBySide(async (run) => {
      const blocker = createNetServer();
      blocker.listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      run.cleanups.add(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
      const wss = new run.server.WebSocketServer({ port: (blocker.address() as AddressInfo).port, host: '127.0.0.1' });
      const [error] = (await next(wss, 'error')) as [NodeJS.ErrnoException];
      run.s('error', error.code, error.syscall);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }, ['s: error "EADDRINUSE" "listen"']),
  );

  test(
    'noServer + handleUpgrade(request, socket, head, callback) from an http.Server upgrade; address() throws',
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ noServer: true });
      run.track(wss);
      try {
        wss.address();
      } catch (error) {
        run.s('address throws', error);
      }
      const { http, port } = await httpServer(run);
      http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        wss.handleUpgrade(req, socket, head, (client, request) => {
          run.s('upgraded', request === req, client.readyState, wss.clients.size);
          wss.emit('connection', client, request);
        });
      });
      const connected = next(wss, 'connection');
      const client = run.connect(`ws://127.0.0.1:${port}/chat`);
      await once(client, 'open');
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('connection', req.url);
    }, ['s: address throws Error: The server is operating in "noServer" mode', 's: upgraded true 1 1', 's: connection "/chat"'], CROSS),
  );

  test(
    'handleUpgrade: frames sent together with the upgrade request (the head) are read first',
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ noServer: true });
      run.track(wss);
      const { http, port } = await httpServer(run);
      http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        run.s('head bytes', head.length > 0);
        wss.handleUpgrade(req, socket, head, (client) => {
          client.on('message', (data, isBinary) => run.s('message', data, isBinary));
        });
      });
      // A masked (zero key) text frame "early", in the same write as the request.
      const early = Buffer.concat([Buffer.from([0x81, 0x85, 0, 0, 0, 0]), Buffer.from('early')]);
      const response = await rawRequest(port, Buffer.concat([Buffer.from(upgradeRequest()), early]));
      await until(() => run.serverLog.length === 2);
      response.socket.destroy();
    }, ['s: head bytes true', 's: message <Buffer "early"> false']),
  );

  test(
    "noServer: close() emits 'close' and calls back",
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ noServer: true });
      wss.on('close', () => run.s("'close'"));
      run.s('callback', await new Promise((resolve) => wss.close(resolve)));
    }, ["s: 'close'", 's: callback undefined']),
  );

  test(
    'handleUpgrade: an invalid upgrade request gets 400 and the callback is not called',
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ noServer: true });
      run.track(wss);
      const { http, port } = await httpServer(run);
      http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, () => run.s('callback')));
      const response = await rawRequest(port, upgradeRequest('/', ['Sec-WebSocket-Key: short'], ['Sec-WebSocket-Key']));
      run.s('status', response.status);
    }, ['s: status 400']),
  );

  test(
    'path: only requests for the path are accepted (the query is ignored), others get 400',
    sideBySide(async (run) => {
      const { port } = await run.listen({ path: '/ws' });
      for (const path of ['/ws', '/ws?x=1', '/other', '/ws/']) {
        const response = await rawRequest(port, upgradeRequest(path));
        run.s(path, response.status);
        response.socket.destroy();
      }
    }, ['s: /ws 101', 's: /ws?x=1 101', 's: /other 400', 's: /ws/ 400']),
  );

  test(
    'verifyClient(info): info has origin, secure and req; false refuses with 401',
    sideBySide(async (run) => {
      const { url } = await run.listen({
        verifyClient: (info: { origin: string; secure: boolean; req: IncomingMessage }) => {
          run.s('info', info.origin, info.secure, info.req.url);
          return info.req.url === '/ok';
        },
      });
      const accepted = run.connect(`${url}/ok`, { origin: 'http://example.test' });
      await once(accepted, 'open');
      run.c('open');
      const refused = run.connect(`${url}/no`, { origin: 'http://example.test' });
      refused.on('unexpected-response', (_req, res) => {
        run.c('unexpected-response', res.statusCode);
        res.resume();
        refused.terminate();
      });
      await logRefusal(run, refused);
    }, ['s: info "http://example.test" false "/ok"', 's: info "http://example.test" false "/no"', 'c: open', 'c: unexpected-response 401'], CROSS),
  );

  test(
    'verifyClient(info, callback): asynchronous, with a status code, message and headers',
    sideBySide(async (run) => {
      const { port } = await run.listen({
        verifyClient: (_info: unknown, done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => {
          setImmediate(() => done(false, 403, 'Nope', { 'X-Why': 'test' }));
        },
      });
      const response = await rawRequest(port, upgradeRequest());
      run.s('refused', response.status, response.body, response.headers.get('x-why'));
    }, ['s: refused 403 "Nope" ["test"]']),
  );

  test(
    "verifyClient refusal: the client's 'error' message",
    sideBySide(async (run) => {
      const { url } = await run.listen({ verifyClient: () => false });
      await logRefusal(run, run.connect(url));
    }, ['c: error Error: Unexpected server response: 401', 'c: close 1006'], CROSS),
  );

  test(
    'handleProtocols(protocols, request): a Set of the offers; its answer reaches both ends',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair(
        {
          handleProtocols: (protocols: Set<string>, req: IncomingMessage) => {
            run.s('offers', protocols, req.url);
            return 'two';
          },
        },
        {},
        ['one', 'two'],
      );
      run.s('protocol', peer.protocol);
      run.c('protocol', client.protocol);
    }, ['s: offers Set{"one", "two"} "/"', 's: protocol "two"', 'c: protocol "two"'], CROSS),
  );

  test(
    'handleProtocols: by default the first offer; false accepts none, which fails a client that offered some',
    sideBySide(async (run) => {
      const first = await run.pair({}, {}, ['a', 'b']);
      run.c('default', first.client.protocol);
      const { url } = await run.listen({ handleProtocols: () => false });
      await logRefusal(run, run.connect(url, ['a', 'b']));
    }, ['c: default "a"', 'c: error Error: Server sent no subprotocol', 'c: close 1006'], CROSS),
  );

  test(
    'clientTracking (default true): clients holds the open sockets',
    sideBySide(async (run) => {
      const { wss, client, peer } = await run.pair();
      run.s('clients', wss.clients instanceof Set, wss.clients.size, wss.clients.has(peer));
      const closed = once(peer, 'close');
      client.close();
      await closed;
      run.s('after close', wss.clients.size);
    }, ['s: clients true 1 true', 's: after close 0'], CROSS),
  );

  test(
    'clientTracking: false leaves clients undefined',
    sideBySide(async (run) => {
      const { wss } = await run.pair({ clientTracking: false });
      run.s('clients', wss.clients);
    }, ['s: clients undefined']),
  );

  test(
    'maxPayload: a bigger message closes with 1009 (the error itself: doc-errors)',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ maxPayload: 8 });
      peer.on('error', () => run.s('error'));
      const serverClosed = next(peer, 'close');
      const clientClosed = next(client, 'close');
      client.send('123456789');
      const [code] = await clientClosed;
      run.c('close', code);
      run.s('close', (await serverClosed)[0]);
    }, ['s: error', 's: close 1006', 'c: close 1009'], CROSS),
  );

  test(
    'perMessageDeflate: negotiated when both sides enable it, messages round-trip',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ perMessageDeflate: { threshold: 0 } });
      run.s('extensions', peer.extensions);
      run.c('extensions', client.extensions);
      peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary }));
      client.send('x'.repeat(2000));
      const [data] = await next(client, 'message');
      run.c('echo', (data as Buffer).length);
    }, ['s: extensions "permessage-deflate"', 'c: extensions "permessage-deflate"', 'c: echo 2000'], CROSS),
  );

  test(
    'perMessageDeflate options: the offer, the answer, and the extensions both ends report',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen({
        perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
      });
      wss.on('headers', (headers: string[], req: IncomingMessage) => {
        run.s('offer', req.headers['sec-websocket-extensions']);
        // The parameters as a set; their order: the test below.
        run.s('answer', headers.find((line) => line.startsWith('Sec-WebSocket-Extensions'))?.split('; ').sort());
      });
      const connected = next(wss, 'connection');
      const client = run.connect(url, { perMessageDeflate: { clientMaxWindowBits: 12, serverMaxWindowBits: 12 } });
      await once(client, 'open');
      const [peer] = (await connected) as [ws.WebSocket];
      run.s('extensions', peer.extensions);
      run.c('extensions', client.extensions);
      peer.on('message', (data) => peer.send(data));
      client.send('y'.repeat(3000));
      run.c('echo', String((await next(client, 'message'))[0]).length);
    }, [
      's: offer "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"',
      's: answer ["Sec-WebSocket-Extensions: permessage-deflate", "client_max_window_bits=11", "client_no_context_takeover", "server_max_window_bits=10", "server_no_context_takeover"]',
      's: extensions "permessage-deflate"',
      'c: echo 3000',
    ], CROSS),
  );

  test(
    "perMessageDeflate options: the answer's parameters in ws's order",
    sideBySide(async (run) => {
      const { wss, url } = await run.listen({
        perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
      });
      wss.on('headers', (headers: string[]) => run.s('answer', headers.find((line) => line.startsWith('Sec-WebSocket-Extensions'))));
      await once(run.connect(url, { perMessageDeflate: { clientMaxWindowBits: 12, serverMaxWindowBits: 12 } }), 'open');
    }, [
      's: answer "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits=11; server_no_context_takeover; client_no_context_takeover"',
    ], CROSS),
  );

  test(
    'perMessageDeflate threshold: applies with server_no_context_takeover (smaller messages go with RSV1 clear)',
    sideBySide(async (run) => {
      for (const serverNoContextTakeover of [true, false]) {
        const { wss, port } = await run.listen({ perMessageDeflate: { threshold: 16, serverNoContextTakeover } });
        wss.on('connection', (socket) => {
          socket.send('small');
          socket.send('z'.repeat(64));
        });
        const response = await rawRequest(port, upgradeRequest('/', ['Sec-WebSocket-Extensions: permessage-deflate']));
        let wire = Buffer.from(response.body, 'latin1');
        response.socket.on('data', (chunk: Buffer) => (wire = Buffer.concat([wire, chunk])));
        const firstBytes = (): number[] => {
          const heads: number[] = [];
          for (let at = 0; at + 2 <= wire.length; at += 2 + (wire[at + 1] & 0x7f)) heads.push(wire[at]);
          return heads;
        };
        await until(() => firstBytes().length === 2);
        run.c(`no context takeover ${serverNoContextTakeover}`, firstBytes().map((byte) => `fin=${byte >> 7} rsv1=${(byte >> 6) & 1} opcode=${byte & 0x0f}`));
        response.socket.destroy();
      }
    }, [
      'c: no context takeover true ["fin=1 rsv1=0 opcode=1", "fin=1 rsv1=1 opcode=1"]',
      'c: no context takeover false ["fin=1 rsv1=1 opcode=1", "fin=1 rsv1=1 opcode=1"]',
    ]),
  );

  test(
    'maxPayload with perMessageDeflate: the inflated size counts (1009 for a small compressed frame)',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ maxPayload: 100, perMessageDeflate: { threshold: 0 } });
      peer.on('error', () => run.s('error'));
      const serverClosed = next(peer, 'close');
      client.send('a'.repeat(1000));
      run.c('close', (await next(client, 'close'))[0]);
      run.s('close', (await serverClosed)[0]);
    }, ['s: error', 's: close 1006', 'c: close 1009'], CROSS),
  );

  test(
    'perMessageDeflate: off by default on the server',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      run.c('extensions', client.extensions);
    }, ['c: extensions ""'], CROSS),
  );

  test(
    'skipUTF8Validation: invalid UTF-8 text is delivered instead of closing with 1007',
    sideBySide(async (run) => {
      const skipping = await run.pair({ skipUTF8Validation: true });
      const received = next(skipping.peer, 'message');
      skipping.client.send(Buffer.from([0x61, 0xff]), { binary: false });
      const [data, isBinary] = await received;
      run.s('skip', data, isBinary);
      const checking = await run.pair();
      checking.peer.on('error', () => run.s('error'));
      checking.client.send(Buffer.from([0x61, 0xff]), { binary: false });
      run.c('close', (await next(checking.client, 'close'))[0]);
    }, ['s: skip <Buffer "aÿ"> false', 's: error', 'c: close 1007'], CROSS),
  );

  test(
    "autoPong: false: the server emits 'ping' and does not answer it",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ autoPong: false });
      client.on('pong', () => run.c('pong'));
      peer.on('ping', (data) => run.s('ping', data));
      peer.on('message', (data) => peer.send(data));
      client.ping('p');
      client.send('after');
      run.c('message', (await next(client, 'message'))[0]);
    }, ['s: ping <Buffer "p">', 'c: message <Buffer "after">'], CROSS),
  );

  test(
    'closeTimeout: a peer that never answers the close frame is dropped after the timeout',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ closeTimeout: 50 } as ws.ServerOptions);
      client.pause();
      const closed = next(peer, 'close');
      peer.close(1000, 'bye');
      run.s('readyState', peer.readyState);
      const [code] = await closed;
      run.s('close', code);
    }, ['s: readyState 2', 's: close 1006']),
  );

  test(
    'WebSocket: the class of the connections',
    sideBySide(async (run) => {
      class Tagged extends run.server.WebSocket {
        tag = 'mine';
      }
      const { peer } = await run.pair({ WebSocket: Tagged });
      run.s('instance', peer instanceof Tagged, (peer as Tagged).tag, peer.readyState);
    }, ['s: instance true "mine" 1']),
  );

  test(
    'allowSynchronousEvents (true and false): messages arrive in order',
    sideBySide(async (run) => {
      for (const allowSynchronousEvents of [true, false]) {
        const { client, peer } = await run.pair({ allowSynchronousEvents });
        const got: string[] = [];
        peer.on('message', (data) => got.push(String(data)));
        for (const text of ['a', 'b', 'c']) client.send(text);
        await until(() => got.length === 3);
        run.s(String(allowSynchronousEvents), got);
      }
    }, ['s: true ["a", "b", "c"]', 's: false ["a", "b", "c"]']),
  );
});

describe('WebSocketServer events', () => {
  test(
    "'connection' (websocket, request): the upgrade request with its url and headers",
    sideBySide(async (run) => {
      const { url, wss } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(`${url}/room?id=1`, { headers: { 'X-Custom': 'yes' } });
      const [socket, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('connection', socket.readyState, req.method, req.url, req.headers['x-custom'], req.socket.remoteAddress);
    }, ['s: connection 1 "GET" "/room?id=1" "yes" "127.0.0.1"'], CROSS),
  );

  test(
    "'headers' (headers, request): the response lines before they are written; a line can be added",
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      wss.on('headers', (headers: string[], req: IncomingMessage) => {
        run.s('headers', headers.map((line) => line.replace(/Accept: .*/, 'Accept: *')), req.url);
        headers.push('Set-Cookie: a=1');
      });
      const client = run.connect(`${url}/h`);
      client.on('upgrade', (res: IncomingMessage) => run.c('upgrade', res.statusCode, res.headers['set-cookie']));
      await once(client, 'open');
    }, [
      's: headers ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: *"] "/h"',
      'c: upgrade 101 ["a=1"]',
    ], CROSS),
  );

  test(
    "'wsClientError' (error, socket, request): an invalid handshake, the listener answers",
    sideBySide(async (run) => {
      const { wss, port } = await run.listen();
      wss.on('wsClientError', (error: Error, socket: Duplex, req: IncomingMessage) => {
        run.s('wsClientError', error instanceof Error, req.url);
        socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
      const response = await rawRequest(port, upgradeRequest('/x', ['Sec-WebSocket-Key: bad'], ['Sec-WebSocket-Key']));
      run.s('status', response.status);
    }, ['s: wsClientError true "/x"', 's: status 418']),
  );

  test(
    "'wsClientError': the error's message and code for a missing key",
    sideBySide(async (run) => {
      const { wss, port } = await run.listen();
      wss.on('wsClientError', (error: Error, socket: Duplex) => {
        // rfc6455's error is a HandshakeError (an Error subclass that carries the HTTP status): same message and code.
        run.s('wsClientError', error instanceof Error, error.message, (error as { code?: unknown }).code);
        socket.destroy();
      });
      await rawRequest(port, upgradeRequest('/', [], ['Sec-WebSocket-Key'])).catch(() => undefined);
    }, ['s: wsClientError true "Missing or invalid Sec-WebSocket-Key header" undefined']),
  );

  test(
    "'close' and close(callback): after close() the callback and 'close'; a second close() gets an error",
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      wss.on('close', () => run.s("'close'"));
      const first = await new Promise((resolve) => wss.close(resolve));
      run.s('first', first, wss.address());
      const second = await new Promise((resolve) => wss.close(resolve));
      run.s('second', second);
    }, ["s: 'close'", 's: first undefined null', 's: second Error: The server is not running']),
  );

  test(
    'close() keeps open connections and stops accepting; close fires when they are gone',
    sideBySide(async (run) => {
      const { wss, client, peer, port } = await run.pair();
      let closed = false;
      wss.close(() => (closed = true));
      peer.on('message', (data) => peer.send(data));
      client.send('still');
      run.c('echo', (await next(client, 'message'))[0]);
      run.s('closed yet', closed);
      const refused = await rawRequest(port, upgradeRequest()).then(
        (response) => `status ${response.status}`,
        () => 'refused',
      );
      run.s('new connection', refused);
      client.close();
      await until(() => closed);
      run.s('closed', closed);
    }, ['c: echo <Buffer "still">', 's: closed yet false', 's: new connection "refused"', 's: closed true'], CROSS),
  );
});

describe('WebSocketServer methods', () => {
  test(
    'shouldHandle(request): overridden in a subclass to refuse (400) or accept',
    sideBySide(async (run) => {
      class Picky extends run.server.WebSocketServer {
        override shouldHandle(req: IncomingMessage): boolean {
          return req.headers['x-pass'] === 'yes';
        }
      }
      const wss = new Picky({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      run.track(wss);
      const port = (wss.address() as AddressInfo).port;
      run.s('refused', (await rawRequest(port, upgradeRequest())).status);
      const accepted = await rawRequest(port, upgradeRequest('/', ['X-Pass: yes']));
      run.s('accepted', accepted.status);
      accepted.socket.destroy();
    }, ['s: refused 400', 's: accepted 101']),
  );

  test(
    'shouldHandle(request) default: true without a path, the path check with one',
    sideBySide(async (run) => {
      const open = new run.server.WebSocketServer({ noServer: true });
      const routed = new run.server.WebSocketServer({ noServer: true, path: '/a' });
      const req = (url: string) => ({ url, headers: {} }) as IncomingMessage;
      run.s('no path', open.shouldHandle(req('/x')));
      run.s('path', routed.shouldHandle(req('/a?q')), routed.shouldHandle(req('/b')));
    }, ['s: no path true', 's: path true false']),
  );

  test(
    'handleUpgrade twice with the same socket throws',
    sideBySide(async (run) => {
      const wss = new run.server.WebSocketServer({ noServer: true });
      run.track(wss);
      const { http, port } = await httpServer(run);
      http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        wss.handleUpgrade(req, socket, head, () => {});
        try {
          wss.handleUpgrade(req, socket, head, () => {});
        } catch (error) {
          run.s('throws', error);
        }
      });
      (await rawRequest(port, upgradeRequest())).socket.destroy();
    }, [
      's: throws Error: server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration',
    ]),
  );

  test(
    'address(): the listening address; null after close',
    sideBySide(async (run) => {
      const { wss } = await run.listen();
      const address = wss.address() as AddressInfo;
      run.s('address', Object.keys(address).sort(), address.address);
      await new Promise((resolve) => wss.close(resolve));
      run.s('after close', wss.address());
    }, ['s: address ["address", "family", "port"] "127.0.0.1"', 's: after close null']),
  );
});
