// ws.md, the WHATWG face of WebSocket: addEventListener (with `once`, handleEvent objects),
// removeEventListener, the on<event> attributes and the event objects' fields, side by side with `ws`.
import { once } from 'node:events';
import { describe, test } from 'vitest';
import type * as ws from 'ws';
import { CROSS, next, sideBySide, until } from './compat-harness.js';

/** The enumerable properties of an event (own and inherited), as `for...in` lists them. */
function enumerable(event: object): string[] {
  const keys: string[] = [];
  for (const key in event) keys.push(key);
  return keys;
}

describe('addEventListener(type, listener[, options])', () => {
  test(
    "'open', 'message', 'close' events: type, target and fields, this is the socket",
    sideBySide(async (run) => {
      const { url, wss } = await run.listen();
      wss.on('connection', (socket) => {
        socket.send('text');
        socket.send(Buffer.from('bin'));
        socket.close(4001, 'bye');
      });
      const client = run.connect(url);
      client.addEventListener('open', function (this: unknown, event) {
        run.c('open', event.constructor.name, event.type, event.target === client, this === client);
      });
      client.addEventListener('message', function (this: unknown, event) {
        run.c('message', event.constructor.name, event.type, event.data, event.target === client, this === client);
      });
      client.addEventListener('close', (event) => {
        run.c('close', event.constructor.name, event.type, event.code, event.reason, event.wasClean, event.target === client);
      });
      await once(client, 'close');
    }, [
      'c: open "Event" "open" true true',
      'c: message "MessageEvent" "message" "text" true true',
      'c: message "MessageEvent" "message" <Buffer "bin"> true true',
      'c: close "CloseEvent" "close" 4001 "bye" true true',
    ], CROSS),
  );

  test(
    "'error' event: ErrorEvent with error and message; close after terminate is not clean",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair({}, { maxPayload: 2 });
      client.addEventListener('error', (event) => {
        run.c('error', event.constructor.name, event.type, event.error instanceof Error, event.message === (event.error as Error).message);
      });
      client.addEventListener('close', (event) => run.c('close', event.code, event.wasClean));
      peer.send('too long');
      await next(client, 'close');
      const second = await run.pair();
      second.client.addEventListener('close', (event) => run.c('terminated', event.code, event.reason, event.wasClean));
      second.peer.terminate();
      await once(second.client, 'close');
    }, ['c: error "ErrorEvent" "error" true true', 'c: close 1006 false', 'c: terminated 1006 "" false'], CROSS),
  );

  test(
    'the event objects list their fields as enumerable properties',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      client.addEventListener('message', (event) => run.c('message', enumerable(event).sort()));
      client.addEventListener('close', (event) => run.c('close', enumerable(event).sort()));
      client.addEventListener('error', (event) => run.c('error', enumerable(event).sort()));
      peer.send('x');
      await once(client, 'message');
      client.emit('error', new Error('made up'));
      peer.close();
      await once(client, 'close');
    }, [
      'c: message ["data", "target", "type"]',
      'c: error ["error", "message", "target", "type"]',
      'c: close ["code", "reason", "target", "type", "wasClean"]',
    ]),
  );

  test(
    "binaryType 'arraybuffer': MessageEvent.data is an ArrayBuffer",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      client.binaryType = 'arraybuffer';
      const got = new Promise<unknown>((resolve) => client.addEventListener('message', (event) => resolve(event.data)));
      peer.send(Buffer.from('ab'));
      run.c('data', await got);
    }, ['c: data <ArrayBuffer "ab">'], CROSS),
  );

  test(
    '{ once: true }: the listener runs for the first event only',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      client.addEventListener('message', (event) => run.c('once', event.data), { once: true });
      client.addEventListener('message', (event) => run.c('always', event.data));
      peer.send('1');
      peer.send('2');
      await until(() => run.clientLog.length === 3);
      run.c('listeners', client.listenerCount('message'));
    }, ['c: once "1"', 'c: always "1"', 'c: always "2"', 'c: listeners 1'], CROSS),
  );

  test(
    'a handleEvent object is called as a method',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const handler = {
        name: 'object',
        handleEvent(this: { name: string }, event: ws.MessageEvent) {
          run.c('handleEvent', this === handler, this.name, event.data);
        },
      };
      client.addEventListener('message', handler);
      peer.send('m');
      await once(client, 'message');
      client.removeEventListener('message', handler);
      peer.send('n');
      await once(client, 'message');
      run.c('removed', client.listenerCount('message'));
    }, ['c: handleEvent true "object" "m"', 'c: removed 0'], CROSS),
  );

  test(
    'the same listener added twice runs once; other event types are ignored',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const listener = (event: ws.MessageEvent): void => run.c('message', event.data);
      client.addEventListener('message', listener);
      client.addEventListener('message', listener);
      client.addEventListener('ping' as 'message', listener);
      run.c('counts', client.listenerCount('message'), client.listenerCount('ping'));
      peer.send('x');
      await once(client, 'message');
    }, ['c: counts 1 0', 'c: message "x"'], CROSS),
  );

  test(
    'a listener and an EventEmitter listener run in the order they were added',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      client.on('message', () => run.c('emitter 1'));
      client.addEventListener('message', () => run.c('target'));
      client.on('message', () => run.c('emitter 2'));
      peer.send('x');
      await until(() => run.clientLog.length === 3);
    }, ['c: emitter 1', 'c: target', 'c: emitter 2'], CROSS),
  );
  test(
    "a server's sockets have the same face: onmessage, and a clean close seen from the server",
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      peer.onmessage = (event) => run.s('onmessage', event.data, event.target === peer);
      const closed = new Promise<void>((resolve) =>
        peer.addEventListener('close', (event) => (run.s('close', event.code, event.reason, event.wasClean), resolve())),
      );
      client.send('hi');
      await next(peer, 'message');
      client.close(1000, 'done');
      await closed;
    }, ['s: onmessage "hi" true', 's: close 1000 "done" true'], CROSS),
  );
});

describe('removeEventListener(type, listener)', () => {
  test(
    'removes a listener added with addEventListener, not the on<event> handler',
    sideBySide(async (run) => {
      const { client, peer } = await run.pair();
      const listener = (): void => run.c('listener');
      const attribute = (): void => run.c('attribute');
      client.addEventListener('message', listener);
      client.onmessage = attribute;
      client.removeEventListener('message', listener);
      client.removeEventListener('message', attribute);
      client.removeEventListener('message', () => {});
      peer.send('x');
      await next(client, 'message');
      run.c('counts', client.listenerCount('message'), client.onmessage === attribute);
    }, ['c: attribute', 'c: counts 1 true'], CROSS),
  );
});

describe('onopen, onmessage, onclose, onerror', () => {
  test(
    'null by default; a function is called with the event; a new one replaces it; a non-function clears it',
    sideBySide(async (run) => {
      const { url, wss } = await run.listen();
      wss.on('connection', (socket) => socket.on('message', (data) => (String(data) === 'end' ? socket.close(1000, 'end') : socket.send(data))));
      const client = run.connect(url);
      run.c('defaults', client.onopen, client.onmessage, client.onclose, client.onerror);
      client.onopen = (event) => {
        run.c('onopen', event.type);
        client.send('a');
      };
      const first = (event: ws.MessageEvent): void => {
        run.c('first', event.data);
        client.onmessage = second;
        client.send('b');
      };
      const second = (event: ws.MessageEvent): void => {
        run.c('second', event.data, client.onmessage === second);
        client.onmessage = 'not a function' as unknown as null;
        run.c('cleared', client.onmessage);
        client.send('end');
      };
      client.onmessage = first;
      client.onerror = () => run.c('onerror');
      client.onclose = (event) => run.c('onclose', event.code, event.reason, event.wasClean);
      run.c('set', typeof client.onopen, client.onmessage === first, typeof client.onclose);
      await once(client, 'close');
      run.c('listeners', client.listenerCount('message'), client.listenerCount('close'));
    }, [
      'c: defaults null null null null',
      'c: set "function" true "function"',
      'c: onopen "open"',
      'c: first <Buffer "a">',
      'c: second <Buffer "b"> true',
      'c: cleared null',
      'c: onclose 1000 "end" true',
      'c: listeners 0 1',
    ], CROSS),
  );

  test(
    'onerror receives an ErrorEvent for a failed connection',
    sideBySide(async (run) => {
      const { url } = await run.listen({ verifyClient: () => false });
      const client = run.connect(url);
      const done = new Promise<void>((resolve) => {
        client.onerror = (event) => run.c('onerror', event.constructor.name, event.message);
        client.onclose = (event) => (run.c('onclose', event.code, event.wasClean), resolve());
      });
      await done;
    }, ['c: onerror "ErrorEvent" "Unexpected server response: 401"', 'c: onclose 1006 false'], CROSS),
  );
});
