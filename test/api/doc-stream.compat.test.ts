// ws.md, createWebSocketStream(websocket[, options]): a WebSocket as a Duplex, side by side with `ws`.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, test } from 'vitest';
import type * as ws from 'ws';
import { CROSS, next, type Run, sideBySide, until } from './compat-harness.js';

/** Logs the stream's lifecycle events ('finish', 'end', 'close', 'error') as they come. */
function lifecycle(run: Run, stream: Duplex): Promise<void> {
  stream.on('finish', () => run.c('finish'));
  stream.on('end', () => run.c('end'));
  stream.on('error', (error) => run.c('error', error instanceof Error));
  return new Promise((resolve) => stream.on('close', () => (run.c('close', stream.destroyed), resolve())));
}

/** Collects a peer's messages as "<text|binary> <content>". */
function received(peer: ws.WebSocket): string[] {
  const got: string[] = [];
  peer.on('message', (data, isBinary) => got.push(`${isBinary ? 'binary' : 'text'} ${String(data)}`));
  return got;
}

describe('createWebSocketStream(websocket[, options])', () => {
  test(
    'writes go out as binary messages, messages come in as Buffers',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const got = received(peer);
      const stream = run.client.createWebSocketStream(client);
      stream.write('abc');
      stream.write(Buffer.from('def'));
      await until(() => got.length === 2);
      run.s('got', got);
      peer.send('text');
      peer.send(Buffer.from('bin'));
      const chunks: unknown[] = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      await until(() => chunks.length === 2);
      run.c('chunks', chunks);
    }, ['s: got ["binary abc", "binary def"]', 'c: chunks [<Buffer "text">, <Buffer "bin">]'], CROSS),
  );

  test(
    'readableObjectMode: text messages come in as strings, binary as Buffers',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client, { readableObjectMode: true });
      const chunks: unknown[] = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      peer.send('text');
      peer.send(Buffer.from('bin'));
      await until(() => chunks.length === 2);
      run.c('chunks', chunks);
    }, ['c: chunks ["text", <Buffer "bin">]'], CROSS),
  );

  test(
    'encoding: chunks are decoded strings',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client, { encoding: 'utf8' });
      const chunks: unknown[] = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      peer.send(Buffer.from('héllo'));
      await until(() => chunks.length === 1);
      run.c('chunks', chunks);
    }, ['c: chunks ["héllo"]'], CROSS),
  );

  test(
    'created while CONNECTING: writes wait for the open',
    sideBySide(async (run) => {
      const { url, wss } = await run.listen();
      const connected = next(wss, 'connection');
      const client = run.connect(url);
      const stream = run.client.createWebSocketStream(client);
      stream.write('early');
      const [peer] = (await connected) as [ws.WebSocket];
      const got = received(peer);
      await until(() => got.length === 1);
      run.s('got', got);
    }, ['s: got ["binary early"]'], CROSS),
  );

  test(
    'end() while CONNECTING: the socket opens, then closes',
    sideBySide(async (run) => {
      const { url, wss } = await run.listen();
      const connected = next(wss, 'connection');
      const client = run.connect(url);
      const stream = run.client.createWebSocketStream(client);
      const done = lifecycle(run, stream);
      stream.resume();
      stream.end('bye');
      const [peer] = (await connected) as [ws.WebSocket];
      const got = received(peer);
      run.s('close', (await next(peer, 'close'))[0]);
      await done;
      run.s('got', got);
    }, ['s: close 1005', 's: got ["binary bye"]', 'c: finish', 'c: end', 'c: close true'], CROSS),
  );

  test(
    "destroy() while CONNECTING: the handshake is aborted, the stream emits 'error' and 'close'",
    sideBySide(async (run) => {
      const { url } = await run.listen();
      const client = run.connect(url);
      client.on('error', (error) => run.c('socket error', error));
      const stream = run.client.createWebSocketStream(client);
      stream.on('error', (error) => run.c('stream error', error));
      const closed = next(stream, 'close');
      stream.destroy();
      await closed;
      run.c('closed', client.readyState);
    }, ['c: socket error Error: WebSocket was closed before the connection was established', 'c: closed 3'], CROSS),
  );

  test(
    "end(): the socket closes (peer sees 1005), then 'finish', 'end', 'close'",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      const done = lifecycle(run, stream);
      stream.resume();
      const peerClosed = next(peer, 'close');
      stream.end('last');
      const got = received(peer);
      run.s('close', (await peerClosed)[0]);
      await done;
      run.s('got', got);
      run.c('readyState', client.readyState);
    }, ['s: close 1005', 's: got ["binary last"]', 'c: finish', 'c: end', 'c: close true', 'c: readyState 3'], CROSS),
  );

  test(
    "the peer closes: 'end' then 'close'; the writable side is still open until destroyed",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      const ended = next(stream, 'end');
      stream.on('close', () => run.c('close'));
      stream.resume();
      peer.close(1000);
      await ended;
      run.c('end', stream.writableEnded, stream.destroyed);
      stream.end();
      await until(() => run.clientLog.includes('close'));
      run.c('destroyed', stream.destroyed);
    }, ['c: end false false', 'c: close', 'c: destroyed true'], CROSS),
  );

  test(
    'destroy(): the socket is terminated, the peer sees 1006',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      const done = lifecycle(run, stream);
      const peerClosed = next(peer, 'close');
      stream.destroy();
      await done;
      run.s('close', (await peerClosed)[0]);
      run.c('readyState', client.readyState);
    }, ['c: close true', 's: close 1006', 'c: readyState 3'], CROSS),
  );

  test(
    "a protocol error on the socket: the stream emits 'error' then 'close'; the peer sees the code",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      const done = lifecycle(run, stream);
      const peerClosed = next(peer, 'close');
      peer.send(Buffer.from([0xff]), { binary: false });
      await done;
      run.s('close', (await peerClosed)[0]);
    }, ['c: error true', 'c: close true', 's: close 1007'], CROSS),
  );

  test(
    "destroy(error): 'error' with that error, then 'close'",
    sideBySide(async (run) => {
      const { client } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      const boom = new Error('boom');
      stream.on('error', (error) => run.c('error', error === boom));
      const closed = next(stream, 'close');
      stream.destroy(boom);
      await closed;
      run.c('closed', client.readyState);
    }, ['c: error true', 'c: closed 3'], CROSS),
  );

  test(
    'backpressure: a stream nobody reads pauses the socket; reading resumes it',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client, { readableHighWaterMark: 4 });
      for (let i = 0; i < 4; i++) peer.send('12345');
      await until(() => client.isPaused);
      run.c('paused', client.isPaused);
      const chunks: string[] = [];
      stream.on('data', (chunk) => chunks.push(String(chunk)));
      await until(() => chunks.length === 4);
      run.c('resumed', client.isPaused, chunks.join(''));
    }, ['c: paused true', 'c: resumed false "12345123451234512345"'], CROSS),
  );

  test(
    'pipe: a server echoing through its stream',
    sideBySide(async (run) => {
      const { wss, url } = await run.listen();
      wss.on('connection', (socket) => {
        const stream = run.server.createWebSocketStream(socket);
        stream.pipe(stream);
      });
      const client = run.connect(url);
      await once(client, 'open');
      client.send('round trip');
      const [data, isBinary] = await next(client, 'message');
      run.c('echo', data, isBinary);
    }, ['c: echo <Buffer "round trip"> true'], CROSS),
  );

  test(
    "write(chunk, callback): the callback runs once the data is sent; after the close it gets an error",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const stream = run.client.createWebSocketStream(client);
      stream.on('error', (error) => run.c('stream error', error instanceof Error));
      await new Promise<void>((resolve) => stream.write('one', (error) => (run.c('write', error), resolve())));
      const closed = next(client, 'close');
      peer.terminate();
      await closed;
      await new Promise<void>((resolve) => stream.write('two', (error) => (run.c('late write', error instanceof Error), resolve())));
    }, ['c: write null', 'c: late write true', 'c: stream error true'], CROSS),
  );
});
