// ws.md, "Class: WebSocket": every client option, event, property and method, side by side with `ws`.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, test } from 'vitest';
import type * as ws from 'ws';
import { callbackOf, CROSS, next, type Run, sideBySide, until } from './compat-harness.js';

/** Logs a client's failure: its 'error' and its 'close' code, resolving at 'close'. */
function logFailure(run: Run, client: ws.WebSocket): Promise<void> {
  client.on('error', (error) => run.c('error', error));
  return new Promise((resolve) => client.on('close', (code) => (run.c('close', code), resolve())));
}

/** Runs `call` and logs what it throws (or "no throw"). */
function logThrow(log: (label: string, ...values: unknown[]) => void, label: string, call: () => unknown): void {
  try {
    call();
    log(label, 'no throw');
  } catch (error) {
    log(label, error);
  }
}

/**
 * An http.Server whose upgrades to /old, /loop and /refuse are answered by hand (302 to /new, 302 to
 * itself, 403) and the others handed to a noServer WebSocketServer of the server library.
 */
async function redirectingServer(run: Run): Promise<{ port: number; wss: ws.WebSocketServer }> {
  const wss = new run.server.WebSocketServer({ noServer: true });
  run.track(wss);
  const http = createHttpServer();
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const answer = (head: string): void => void socket.end(`${head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    if (req.url === '/old') answer('HTTP/1.1 302 Found\r\nLocation: /new');
    else if (req.url === '/loop') answer('HTTP/1.1 302 Found\r\nLocation: /loop');
    else if (req.url === '/refuse') answer('HTTP/1.1 403 Forbidden\r\nX-Why: test');
    else wss.handleUpgrade(req, socket, head, (client, request) => wss.emit('connection', client, request));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  run.cleanups.add(() => {
    http.closeAllConnections();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { port: (http.address() as AddressInfo).port, wss };
}

describe('new WebSocket(address[, protocols][, options])', () => {
  test(
    'protocols as a string and as an array: the server sees the offers, the client the chosen one',
    sideBySide(async (run) => {
      const { url } = await run.listen({ handleProtocols: (offers: Set<string>) => (run.s('offers', offers), [...offers].pop()!) });
      const single = run.connect(url, 'chat');
      await once(single, 'open');
      run.c('string', single.protocol);
      const list = run.connect(url, ['one', 'two']);
      await once(list, 'open');
      run.c('array', list.protocol);
    }, ['s: offers Set{"chat"}', 's: offers Set{"one", "two"}', 'c: string "chat"', 'c: array "two"'], CROSS),
  );

  test(
    'protocols: the Sec-WebSocket-Protocol header as sent',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(url, ['one', 'two']);
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('header', req.headers['sec-websocket-protocol']);
    }, ['s: header "one,two"'], CROSS),
  );

  test(
    'an invalid URL throws SyntaxError',
    sideBySide(async (run) => {
      logThrow(run.c.bind(run), 'url', () => new run.client.WebSocket('not a url'));
      logThrow(run.c.bind(run), 'scheme', () => new run.client.WebSocket('ftp://127.0.0.1/'));
      logThrow(run.c.bind(run), 'fragment', () => new run.client.WebSocket('ws://127.0.0.1/#x'));
    }, [
      'c: url SyntaxError: Invalid URL: not a url',
      'c: scheme SyntaxError: The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
      'c: fragment SyntaxError: The URL contains a fragment identifier',
    ]),
  );

  test(
    'an invalid or duplicated subprotocol throws SyntaxError',
    sideBySide(async (run) => {
      logThrow(run.c.bind(run), 'duplicate', () => new run.client.WebSocket('ws://127.0.0.1/', ['a', 'a']));
      logThrow(run.c.bind(run), 'invalid', () => new run.client.WebSocket('ws://127.0.0.1/', ['a b']));
    }, [
      'c: duplicate SyntaxError: An invalid or duplicated subprotocol was specified',
      'c: invalid SyntaxError: An invalid or duplicated subprotocol was specified',
    ]),
  );

  test(
    'headers and origin: sent with the upgrade request',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(url, { headers: { 'X-Token': 'abc' }, origin: 'https://app.test' });
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('headers', req.headers['x-token'], req.headers.origin);
    }, ['s: headers "abc" "https://app.test"'], CROSS),
  );

  test(
    "followRedirects: a 302 is followed, 'redirect' (url, request) fires first",
    sideBySide(async (run) => {
      const { port, wss } = await redirectingServer(run);
      const connected = next(wss, 'connection');
      const client = run.connect(`ws://127.0.0.1:${port}/old`, { followRedirects: true });
      client.on('redirect', (url: string) => run.c('redirect', url.replace(String(port), 'PORT')));
      await once(client, 'open');
      run.c('open', client.url.replace(String(port), 'PORT'));
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('connection', req.url);
    }, ['c: redirect "ws://127.0.0.1:PORT/new"', 'c: open "ws://127.0.0.1:PORT/new"', 's: connection "/new"']),
  );

  test(
    "'redirect' (url, request): the listener can remove a header before the redirect is followed",
    sideBySide(async (run) => {
      const { port, wss } = await redirectingServer(run);
      const connected = next(wss, 'connection');
      const client = run.connect(`ws://127.0.0.1:${port}/old`, { followRedirects: true, headers: { 'X-Secret': 's', 'X-Kept': 'k' } });
      client.on('redirect', (_url: string, request: { removeHeader(name: string): void }) => request.removeHeader('x-secret'));
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('headers', req.headers['x-secret'], req.headers['x-kept']);
    }, ['s: headers undefined "k"']),
  );

  test(
    'maxRedirects: one more redirect than allowed fails the handshake',
    sideBySide(async (run) => {
      const { port } = await redirectingServer(run);
      await logFailure(run, run.connect(`ws://127.0.0.1:${port}/loop`, { followRedirects: true, maxRedirects: 2 }));
    }, ['c: error Error: Maximum redirects exceeded', 'c: close 1006']),
  );

  test(
    'followRedirects off (default): a 302 is an unexpected response',
    sideBySide(async (run) => {
      const { port } = await redirectingServer(run);
      await logFailure(run, run.connect(`ws://127.0.0.1:${port}/old`));
    }, ['c: error Error: Unexpected server response: 302', 'c: close 1006']),
  );

  test(
    'generateMask: called for each frame the client sends, and the server unmasks correctly',
    sideBySide(async (run) => {
      let calls = 0;
      const generateMask = (mask: Buffer): void => {
        calls++;
        mask.fill(7);
      };
      const { client, peer } = await run.pair({}, { generateMask });
      const received = next(peer, 'message');
      client.send('masked');
      run.s('message', (await received)[0]);
      run.c('called', calls > 0);
    }, ['s: message <Buffer "masked">', 'c: called true'], CROSS),
  );

  test(
    'handshakeTimeout: a server that never answers fails the handshake',
    sideBySide(async (run) => {
      const silent = createNetServer((socket: Socket) => socket.on('error', () => {}));
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
      run.cleanups.add(() => new Promise<void>((resolve) => silent.close(() => resolve())));
      const sockets: Socket[] = [];
      silent.on('connection', (socket) => sockets.push(socket));
      run.cleanups.add(() => sockets.forEach((socket) => socket.destroy()));
      await logFailure(run, run.connect(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}`, { handshakeTimeout: 30 }));
    }, ['c: error Error: Opening handshake has timed out', 'c: close 1006']),
  );

  test(
    'maxPayload (client): a bigger message from the server closes with 1009',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { maxPayload: 4 });
      client.on('error', () => run.c('error'));
      const serverClosed = next(peer, 'close');
      peer.send('12345');
      run.c('close', (await next(client, 'close'))[0]);
      run.s('close', (await serverClosed)[0]);
    }, ['c: error', 'c: close 1006', 's: close 1009'], CROSS),
  );

  test(
    'perMessageDeflate: offered by default, false offers nothing',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen({ perMessageDeflate: true });
      const offers: unknown[] = [];
      wss.on('connection', (_socket, req: IncomingMessage) => offers.push(req.headers['sec-websocket-extensions']));
      const on = run.connect(url);
      await once(on, 'open');
      run.c('default', on.extensions);
      const off = run.connect(url, { perMessageDeflate: false });
      await once(off, 'open');
      run.c('false', off.extensions);
      await until(() => offers.length === 2);
      run.s('offers', offers);
    }, [
      'c: default "permessage-deflate"',
      'c: false ""',
      's: offers ["permessage-deflate; client_max_window_bits", undefined]',
    ], CROSS),
  );

  test(
    'protocolVersion: anything but 8 or 13 throws RangeError',
    sideBySide(async (run) => {
      logThrow(run.c.bind(run), 'nine', () => new run.client.WebSocket('ws://127.0.0.1/', { protocolVersion: 9 }));
    }, ['c: nine RangeError: Unsupported protocol version: 9 (supported versions: 8, 13)']),
  );

  test(
    'protocolVersion: 8 is accepted by the server',
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const client = run.connect(url, { protocolVersion: 8 });
      await once(client, 'open');
      run.c('open', client.readyState);
    }, ['c: open 1'], CROSS),
  );

  test(
    'skipUTF8Validation (client): invalid UTF-8 text from the server is delivered',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { skipUTF8Validation: true });
      const received = next(client, 'message');
      peer.send(Buffer.from([0xff, 0x61]), { binary: false });
      run.c('message', ...(await received));
    }, ['c: message <Buffer "ÿa"> false'], CROSS),
  );

  test(
    "autoPong: false (client): 'ping' is emitted and not answered",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { autoPong: false });
      peer.on('pong', () => run.s('pong'));
      client.on('ping', (data) => run.c('ping', data));
      client.on('message', (data) => client.send(data));
      peer.ping('p');
      peer.send('after');
      run.s('message', (await next(peer, 'message'))[0]);
    }, ['c: ping <Buffer "p">', 's: message <Buffer "after">'], CROSS),
  );

  test(
    'closeTimeout (client): a server that never answers the close is dropped',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { closeTimeout: 50 } as ws.ClientOptions);
      peer.pause();
      const closed = next(client, 'close');
      client.close(1000);
      run.c('close', (await closed)[0]);
    }, ['c: close 1006']),
  );

  test(
    'allowSynchronousEvents: false (client): messages still arrive in order',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { allowSynchronousEvents: false });
      const got: string[] = [];
      client.on('message', (data) => got.push(String(data)));
      for (const text of ['a', 'b', 'c']) peer.send(text);
      await until(() => got.length === 3);
      run.c('got', got);
    }, ['c: got ["a", "b", "c"]'], CROSS),
  );

  test(
    'finishRequest(request, websocket): called to end the request, may add headers',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(url, {
        finishRequest: (request: { setHeader(name: string, value: string): void; end(): void }, socket: unknown) => {
          run.c('finishRequest', socket instanceof run.client.WebSocket);
          request.setHeader('X-Late', 'yes');
          request.end();
        },
      } as ws.ClientOptions);
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('header', req.headers['x-late']);
    }, ['c: finishRequest true', 's: header "yes"'], CROSS),
  );

  test(
    'auth (an http.request option): sent as Basic Authorization',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(url, { auth: 'user:secret' } as ws.ClientOptions);
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('authorization', req.headers.authorization);
    }, [`s: authorization "Basic ${Buffer.from('user:secret').toString('base64')}"`], CROSS),
  );

  test(
    'createConnection (an http.request option): used to open the socket',
    sideBySide(async (run) => {
      const { url, port } = await run.listen();
      const { connect } = await import('node:net');
      const client = run.connect(url, {
        createConnection: () => {
          run.c('createConnection');
          return connect(port, '127.0.0.1');
        },
      } as ws.ClientOptions);
      await once(client, 'open');
      run.c('open');
    }, ['c: createConnection', 'c: open']),
  );
});

describe('addresses and transports', () => {
  test(
    'ws+unix:<socket path>:<request path>: a server listening on a Unix socket',
    sideBySide(async (run) => {
      const path = join(tmpdir(), `rfc6455-doc-${process.pid}-${run.client.name}.sock`);
      const http = createHttpServer();
      const wss = new run.server.WebSocketServer({ server: http });
      run.track(wss);
      http.listen(path);
      await once(http, 'listening');
      run.cleanups.add(() => new Promise<void>((resolve) => http.close(() => resolve())));
      const connected = next(wss, 'connection');
      const client = run.connect(`ws+unix:${path}:/room?x=1`);
      await once(client, 'open');
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('connection', req.url);
      run.c('open', client.readyState);
    }, ['s: connection "/room?x=1"', 'c: open 1'], CROSS),
  );

  test(
    'credentials in the URL are sent as Basic Authorization',
    sideBySide(async (run) => {
      const { wss, port } = await run.listen();
      const connected = next(wss, 'connection');
      run.connect(`ws://user:secret@127.0.0.1:${port}/`);
      const [, req] = (await connected) as [ws.WebSocket, IncomingMessage];
      run.s('authorization', req.headers.authorization);
    }, [`s: authorization "Basic ${Buffer.from('user:secret').toString('base64')}"`], CROSS),
  );

  test(
    'wss: with TLS options (ca trusts the certificate; without it the handshake fails)',
    sideBySide(async (run) => {
      const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
      const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
      const https = createHttpsServer({ cert, key });
      const wss = new run.server.WebSocketServer({
        server: https,
        verifyClient: (info: { secure: boolean }) => (run.s('verifyClient secure', info.secure), true),
      });
      run.track(wss);
      https.listen(0, '127.0.0.1');
      await once(https, 'listening');
      run.cleanups.add(() => {
        https.closeAllConnections();
        return new Promise<void>((resolve) => https.close(() => resolve()));
      });
      const url = `wss://localhost:${(https.address() as AddressInfo).port}/`;
      wss.on('connection', (_socket, req: IncomingMessage) => run.s('connection', (req.socket as { encrypted?: boolean }).encrypted));
      const trusted = run.connect(url, { ca: cert });
      await once(trusted, 'open');
      run.c('trusted', trusted.url === url);
      const refused = run.connect(url);
      refused.on('error', (error: NodeJS.ErrnoException) => run.c('refused', error.code));
      await next(refused, 'close');
    }, ['s: verifyClient secure true', 's: connection true', 'c: trusted true', 'c: refused "DEPTH_ZERO_SELF_SIGNED_CERT"'], CROSS),
  );
});

describe('WebSocket events', () => {
  test(
    "'open', 'message' (data, isBinary), 'close' (code, reason) in order",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      peer.on('message', (data, isBinary) => run.s('message', data, isBinary));
      peer.on('close', (code, reason) => run.s('close', code, reason));
      client.on('close', (code, reason) => run.c('close', code, reason));
      client.send('text');
      client.send(Buffer.from('bin'));
      client.send(new Uint8Array([1, 2]));
      client.send(new ArrayBuffer(1));
      client.close(4000, 'done');
      await Promise.all([once(client, 'close'), once(peer, 'close')]);
    }, [
      's: message <Buffer "text"> false',
      's: message <Buffer "bin"> true',
      's: message <Buffer "\\u0001\\u0002"> true',
      's: message <Buffer "\\u0000"> true',
      's: close 4000 <Buffer "done">',
      'c: close 4000 <Buffer "done">',
    ], CROSS),
  );

  test(
    "'ping' (data) and 'pong' (data): pings are answered with the same data",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      peer.on('ping', (data) => run.s('ping', data));
      const pong = next(client, 'pong');
      client.ping('hello');
      run.c('pong', ...(await pong));
      const unsolicited = next(peer, 'pong');
      client.pong('unasked');
      run.s('pong', ...(await unsolicited));
    }, ['s: ping <Buffer "hello">', 'c: pong <Buffer "hello">', 's: pong <Buffer "unasked">'], CROSS),
  );

  test(
    "'error' then 'close' (1006) when the connection is refused",
    sideBySide(async (run) => {
      const closedPort = createNetServer();
      closedPort.listen(0, '127.0.0.1');
      await once(closedPort, 'listening');
      const port = (closedPort.address() as AddressInfo).port;
      await new Promise((resolve) => closedPort.close(resolve));
      const client = run.connect(`ws://127.0.0.1:${port}`);
      client.on('error', (error: NodeJS.ErrnoException) => run.c('error', error.code));
      const [code, reason] = await next(client, 'close');
      run.c('close', code, reason, client.readyState);
    }, ['c: error "ECONNREFUSED"', 'c: close 1006 <Buffer ""> 3']),
  );

  test(
    "'upgrade' (response): the 101 response before 'open'",
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const client = run.connect(url);
      client.on('upgrade', (res: IncomingMessage) => run.c('upgrade', res.statusCode, res.headers.upgrade, client.readyState));
      client.on('open', () => run.c('open'));
      await once(client, 'open');
    }, ['c: upgrade 101 "websocket" 0', 'c: open'], CROSS),
  );

  test(
    "'unexpected-response' (request, response): the application reads the response and aborts",
    sideBySide(async (run) => {
      const { port } = await redirectingServer(run);
      const client = run.connect(`ws://127.0.0.1:${port}/refuse`);
      const done = logFailure(run, client);
      client.on('unexpected-response', (req: { abort?: unknown }, res: IncomingMessage) => {
        run.c('unexpected-response', typeof req, res.statusCode, res.headers['x-why']);
        res.resume();
        client.terminate();
      });
      await done;
    }, [
      'c: unexpected-response "object" 403 "test"',
      'c: error Error: WebSocket was closed before the connection was established',
      'c: close 1006',
    ]),
  );
});

describe('WebSocket properties', () => {
  test(
    'readyState and the CONNECTING/OPEN/CLOSING/CLOSED constants (class and instance)',
    sideBySide(async (run) => {
      const { WebSocket } = run.client;
      run.c('class', WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED);
      const { url } = await run.listen();
      const client = run.connect(url);
      run.c('instance', client.CONNECTING, client.OPEN, client.CLOSING, client.CLOSED);
      run.c('new', client.readyState);
      await once(client, 'open');
      run.c('open', client.readyState);
      client.close();
      run.c('closing', client.readyState);
      await once(client, 'close');
      run.c('closed', client.readyState);
    }, ['c: class 0 1 2 3', 'c: instance 0 1 2 3', 'c: new 0', 'c: open 1', 'c: closing 2', 'c: closed 3'], CROSS),
  );

  test(
    'url: the address given (a client); empty protocol and extensions before open',
    sideBySide(async (run) => {
      const { url, port } = await run.listen();
      const client = run.connect(`${url}/path?q=1`);
      run.c('before', client.url.replace(String(port), 'PORT'), client.protocol, client.extensions);
      await once(client, 'open');
      const plain = run.connect(url);
      run.c('no path', plain.url.replace(String(port), 'PORT'));
    }, ['c: before "ws://127.0.0.1:PORT/path?q=1" "" ""', 'c: no path "ws://127.0.0.1:PORT/"']),
  );

  test(
    'binaryType: nodebuffer (default), arraybuffer, fragments, blob; an invalid value is ignored',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      run.c('default', client.binaryType);
      client.binaryType = 'bogus' as ws.WebSocket['binaryType'];
      run.c('after bogus', client.binaryType);
      for (const type of ['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const) {
        client.binaryType = type as ws.WebSocket['binaryType'];
        const received = next(client, 'message');
        peer.send(Buffer.from('ab'));
        const [data] = await received;
        const shown = data instanceof Blob ? `Blob ${await data.text()}` : data;
        run.c(type, shown);
      }
      client.binaryType = 'fragments';
      const fragmented = next(client, 'message');
      peer.send(Buffer.from('fr'), { fin: false });
      peer.send(Buffer.from('ag'), { fin: true });
      run.c('fragments of two frames', (await fragmented)[0]);
      client.binaryType = 'arraybuffer';
      const text = next(client, 'message');
      peer.send('t');
      run.c('text with arraybuffer', (await text)[0]);
    }, [
      'c: default "nodebuffer"',
      'c: after bogus "nodebuffer"',
      'c: nodebuffer <Buffer "ab">',
      'c: arraybuffer <ArrayBuffer "ab">',
      'c: fragments [<Buffer "ab">]',
      'c: blob "Blob ab"',
      'c: fragments of two frames [<Buffer "fr">, <Buffer "ag">]',
      'c: text with arraybuffer <Buffer "t">',
    ], CROSS),
  );

  test(
    'bufferedAmount: 0 when idle; data sent after the close is counted',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      run.c('idle', client.bufferedAmount);
      client.close();
      await once(client, 'close');
      client.send('12345', () => {});
      run.c('after close', client.bufferedAmount);
    }, ['c: idle 0', 'c: after close 5'], CROSS),
  );

  test(
    'extensions and protocol once open',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ perMessageDeflate: true }, {}, ['p']);
      run.c('client', client.protocol, client.extensions);
      run.s('server', peer.protocol, peer.extensions);
    }, ['c: client "p" "permessage-deflate"', 's: server "p" "permessage-deflate"'], CROSS),
  );

  test(
    'isPaused, pause() and resume(): a paused socket emits no message until resumed',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      run.c('initial', client.isPaused);
      client.pause();
      run.c('paused', client.isPaused);
      const got: string[] = [];
      client.on('message', (data) => got.push(String(data)));
      peer.send('one');
      // Nothing to wait for that a paused socket would show: give the message time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 30));
      run.c('while paused', got);
      client.resume();
      run.c('resumed', client.isPaused);
      await until(() => got.length === 1);
      run.c('after resume', got);
    }, ['c: initial false', 'c: paused true', 'c: while paused []', 'c: resumed false', 'c: after resume ["one"]']),
  );
});

describe('WebSocket methods', () => {
  test(
    'close(): without a code the peer sees 1005; with a code and reason both sides see both',
    sideBySide(async (run) => {
      const first = await run.pair();
      const peerClosed = next(first.peer, 'close');
      first.client.close();
      run.s('no code', ...(await peerClosed));
      const second = await run.pair();
      const closed = next(second.client, 'close');
      const echoed = next(second.peer, 'close');
      second.peer.close(1001, Buffer.from('away'));
      run.c('code', ...(await closed));
      run.s('code', ...(await echoed));
    }, ['s: no code 1005 <Buffer "">', 'c: code 1001 <Buffer "away">', 's: code 1001 <Buffer "away">'], CROSS),
  );

  test(
    'close() without a code: the closing side also sees 1005',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      const closed = next(client, 'close');
      client.close();
      run.c('no code', ...(await closed));
    }, ['c: no code 1005 <Buffer "">'], CROSS),
  );

  test(
    'close(): an invalid code throws TypeError, a reason over 123 bytes RangeError',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      logThrow(run.c.bind(run), '1005', () => client.close(1005));
      logThrow(run.c.bind(run), '999', () => client.close(999));
      logThrow(run.c.bind(run), 'long', () => client.close(1000, 'x'.repeat(124)));
      run.c('still', client.readyState);
    }, [
      'c: 1005 TypeError: First argument must be a valid error code number',
      'c: 999 TypeError: First argument must be a valid error code number',
      'c: long RangeError: The message must not be greater than 123 bytes',
      'c: still 1',
    ]),
  );

  test(
    "close() while CONNECTING: 'error' then 'close' 1006",
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const client = run.connect(url);
      const done = logFailure(run, client);
      client.close();
      run.c('readyState', client.readyState);
      await done;
    }, ['c: readyState 2', 'c: error Error: WebSocket was closed before the connection was established', 'c: close 1006']),
  );

  test(
    "terminate() while CONNECTING: 'error' then 'close' 1006; close() twice and close() after the close do nothing",
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const early = run.connect(url);
      const done = logFailure(run, early);
      early.terminate();
      await done;
      const { client } = await run.pair();
      client.close(1000);
      logThrow(run.c.bind(run), 'second close', () => client.close(1001));
      await next(client, 'close');
      logThrow(run.c.bind(run), 'close when closed', () => client.close());
      logThrow(run.c.bind(run), 'terminate when closed', () => client.terminate());
      run.c('readyState', client.readyState);
    }, [
      'c: error Error: WebSocket was closed before the connection was established',
      'c: close 1006',
      'c: second close "no throw"',
      'c: close when closed "no throw"',
      'c: terminate when closed "no throw"',
      'c: readyState 3',
    ], CROSS),
  );

  test(
    'send(), ping(), pong() while CONNECTING throw',
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const client = run.connect(url);
      for (const method of ['send', 'ping', 'pong'] as const) logThrow(run.c.bind(run), method, () => client[method]('x'));
      await once(client, 'open');
    }, [
      'c: send Error: WebSocket is not open: readyState 0 (CONNECTING)',
      'c: ping Error: WebSocket is not open: readyState 0 (CONNECTING)',
      'c: pong Error: WebSocket is not open: readyState 0 (CONNECTING)',
    ]),
  );

  test(
    'send(data, options, callback): binary, fin, compress, mask; the callback gets no error',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({ perMessageDeflate: { threshold: 0 } });
      const got: unknown[][] = [];
      peer.on('message', (data, isBinary) => got.push([data, isBinary]));
      run.c('cb', await callbackOf((cb) => client.send('as binary', { binary: true }, cb)));
      run.c('cb', await callbackOf((cb) => client.send('as text', { binary: false, compress: false, mask: true }, cb)));
      client.send('frag', { fin: false });
      client.send('mented', { fin: true, compress: true });
      await until(() => got.length === 3);
      run.s('messages', got);
    }, ['c: cb null', 's: messages [[<Buffer "as binary">, true], [<Buffer "as text">, false], [<Buffer "fragmented">, false]]'], CROSS),
  );

  test(
    'send() and ping() with a number send its decimal text',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const received = next(peer, 'message');
      const pinged = next(peer, 'ping');
      client.send(42 as unknown as string);
      client.ping(7 as unknown as string);
      run.s('message', ...(await received));
      run.s('ping', ...(await pinged));
    }, ['s: message <Buffer "42"> false', 's: ping <Buffer "7">'], CROSS),
  );

  test(
    'send() after close: the callback gets the error, nothing throws',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      client.close();
      run.c('closing', await callbackOf((cb) => client.send('late', cb)));
      await once(client, 'close');
      run.c('closed', await callbackOf((cb) => client.send('later', cb)));
      run.c('ping', await callbackOf((cb) => client.ping('p', undefined, cb)));
    }, [
      'c: closing Error: WebSocket is not open: readyState 2 (CLOSING)',
      'c: closed Error: WebSocket is not open: readyState 3 (CLOSED)',
      'c: ping Error: WebSocket is not open: readyState 3 (CLOSED)',
    ], CROSS),
  );

  test(
    'ping(data, mask, callback) and pong(data, mask, callback): the callbacks run, the peer gets the data',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { autoPong: false });
      peer.on('ping', (data) => run.s('ping', data));
      peer.on('pong', (data) => run.s('pong', data));
      run.c('ping cb', await callbackOf((cb) => client.ping(Buffer.from('a'), true, cb)));
      run.c('pong cb', await callbackOf((cb) => client.pong('b', true, cb)));
      run.c('no data', await callbackOf((cb) => client.ping(cb)));
      await until(() => run.serverLog.length === 3);
    }, ['s: ping <Buffer "a">', 's: pong <Buffer "b">', 's: ping <Buffer "">', 'c: ping cb null', 'c: pong cb null', 'c: no data null'], CROSS),
  );

  test(
    'ping(): a payload over 125 bytes throws RangeError',
    sideBySide(async (run) => {
      const { client } = await run.pair();
      logThrow(run.c.bind(run), 'ping', () => client.ping(Buffer.alloc(126)));
      logThrow(run.c.bind(run), 'pong', () => client.pong(Buffer.alloc(126)));
    }, [
      'c: ping RangeError: The data size must not be greater than 125 bytes',
      'c: pong RangeError: The data size must not be greater than 125 bytes',
    ]),
  );

  test(
    "terminate(): both sides see 'close' 1006 at once",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const peerClosed = next(peer, 'close');
      client.terminate();
      run.c('readyState', client.readyState);
      run.c('close', ...(await next(client, 'close')));
      run.s('close', ...(await peerClosed));
    }, ['c: readyState 2', 'c: close 1006 <Buffer "">', 's: close 1006 <Buffer "">'], CROSS),
  );
});
