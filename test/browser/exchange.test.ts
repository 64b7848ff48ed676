// A real Chromium talking to our standalone WebSocketServer: text (non-ASCII), ArrayBuffer and Blob
// messages echoed, a client-initiated close with an application code, and a server-initiated close
// with code and reason as the browser reports them.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { WebSocket as ServerSocket } from '../../src/index.js';
import { blankPageServer, echo, launchBrowser, openBlankPage, startServer, within } from './browser.js';

let browser: Browser;
let pageServer: Awaited<ReturnType<typeof blankPageServer>>;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  browser = await launchBrowser();
  pageServer = await blankPageServer();
});
afterAll(async () => {
  await pageServer?.close();
  await browser?.close();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function newPage(): Promise<Page> {
  const page = await openBlankPage(browser, pageServer.url);
  cleanups.push(() => page.close());
  return page;
}

/** The next 'connection' of `wss`, with its 'close' event (code and reason) as a promise. */
function nextConnection(wss: Awaited<ReturnType<typeof startServer>>['wss']) {
  return within(
    new Promise<{ ws: ServerSocket; closed: Promise<{ code: number; reason: string }> }>((resolve) => {
      wss.once('connection', (ws: ServerSocket) => {
        const closed = new Promise<{ code: number; reason: string }>((done) =>
          ws.once('close', (code, reason) => done({ code, reason: reason.toString() })),
        );
        resolve({ ws, closed });
      });
    }),
    20_000,
    'a connection from the browser',
  );
}

const TEXT = 'héllo wörld — ünïcödé ✓ 日本語 😀';

describe('browser <-> WebSocketServer', () => {
  test('text, ArrayBuffer and Blob are echoed intact; close(4001, "bye") is seen by the server and echoed', async () => {
    const server = await startServer();
    cleanups.push(server.close);
    server.wss.on('connection', echo);
    const connection = nextConnection(server.wss);
    const page = await newPage();

    const result = await page.evaluate(
      async ({ url, text }) => {
        const deadline = (ms: number, what: string) =>
          new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: ' + what)), ms));
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        const received: Array<{ kind: string; text?: string; bytes?: number[] }> = [];
        let gotAll: () => void = () => {};
        const allReceived = new Promise<void>((resolve) => (gotAll = resolve));
        ws.addEventListener('message', (event) => {
          const data: unknown = event.data;
          if (typeof data === 'string') received.push({ kind: 'text', text: data });
          else if (data instanceof ArrayBuffer) received.push({ kind: 'arraybuffer', bytes: Array.from(new Uint8Array(data)) });
          else received.push({ kind: 'other' });
          if (received.length === 3) gotAll();
        });
        const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
          ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })),
        );
        await Promise.race([new Promise((resolve) => ws.addEventListener('open', resolve)), deadline(20_000, 'open')]);
        const extensions = ws.extensions;
        ws.send(text);
        ws.send(new Uint8Array([0, 1, 2, 127, 128, 254, 255]).buffer);
        ws.send(new Blob([new Uint8Array([9, 8, 7]), 'blob ✓']));
        await Promise.race([allReceived, deadline(20_000, 'three echoes')]);
        ws.close(4001, 'bye');
        const close = await Promise.race([closed, deadline(20_000, 'close')]);
        return { received, close, extensions };
      },
      { url: server.url, text: TEXT },
    );

    expect(result.received).toEqual([
      { kind: 'text', text: TEXT },
      { kind: 'arraybuffer', bytes: [0, 1, 2, 127, 128, 254, 255] },
      { kind: 'arraybuffer', bytes: [9, 8, 7, ...Buffer.from('blob ✓')] },
    ]);
    // The server echoes the status code (RFC 6455 §5.5.1); the handshake completed on both sides.
    expect(result.close.code).toBe(4001);
    expect(result.close.wasClean).toBe(true);
    // permessage-deflate is off by default: nothing negotiated.
    expect(result.extensions).toBe('');
    const { closed } = await connection;
    await expect(within(closed, 20_000, 'the server-side close')).resolves.toEqual({ code: 4001, reason: 'bye' });
  });

  test('a server-initiated close(4002, reason) reaches the browser with its code and reason, cleanly', async () => {
    const server = await startServer();
    cleanups.push(server.close);
    const reason = 'server says bye ✓';
    // The page says 'ready' once its listeners are in place; the server then closes.
    server.wss.on('connection', (ws: ServerSocket) => {
      ws.on('message', (data) => {
        if (String(data) === 'ready') ws.close(4002, reason);
      });
    });
    const connection = nextConnection(server.wss);
    const page = await newPage();

    const close = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
        ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })),
      );
      ws.addEventListener('open', () => ws.send('ready'));
      const deadline = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: close')), 20_000));
      return Promise.race([closed, deadline]);
    }, server.url);

    expect(close).toEqual({ code: 4002, reason, wasClean: true });
    // The browser echoes the code; the server sees it in its 'close' event.
    const { closed } = await connection;
    const serverSide = await within(closed, 20_000, 'the server-side close');
    expect(serverSide.code).toBe(4002);
  });

  test('a server-initiated close() without a code reaches the browser as 1005, cleanly', async () => {
    const server = await startServer();
    cleanups.push(server.close);
    server.wss.on('connection', (ws: ServerSocket) => {
      ws.on('message', () => ws.close());
    });
    const page = await newPage();

    const close = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
        ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })),
      );
      ws.addEventListener('open', () => ws.send('ready'));
      const deadline = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: close')), 20_000));
      return Promise.race([closed, deadline]);
    }, server.url);

    expect(close).toEqual({ code: 1005, reason: '', wasClean: true });
  });
  test('a subprotocol chosen by handleProtocols is the page\'s ws.protocol; a refused handshake is an error + 1006', async () => {
    const server = await startServer({
      handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
      verifyClient: ({ req }) => !String(req.url).includes('refuse'),
    });
    cleanups.push(server.close);
    const serverProtocols: string[] = [];
    server.wss.on('connection', (ws: ServerSocket) => {
      serverProtocols.push(ws.protocol);
      ws.close(1000);
    });
    const page = await newPage();

    const result = await page.evaluate(async (url) => {
      const deadline = () =>
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: close')), 20_000));
      const run = (target: string, protocols: string[]) => {
        const ws = new WebSocket(target, protocols);
        const events: string[] = [];
        let protocol = '';
        ws.addEventListener('open', () => {
          events.push('open');
          protocol = ws.protocol;
        });
        ws.addEventListener('error', () => events.push('error'));
        const closed = new Promise<{ events: string[]; protocol: string; code: number; wasClean: boolean }>((resolve) =>
          ws.addEventListener('close', (event) => resolve({ events, protocol, code: event.code, wasClean: event.wasClean })),
        );
        return Promise.race([closed, deadline()]);
      };
      return {
        accepted: await run(url, ['chat.v1', 'chat.v2']),
        refused: await run(url + 'refuse', ['chat.v2']),
      };
    }, server.url);

    expect(result.accepted).toEqual({ events: ['open'], protocol: 'chat.v2', code: 1000, wasClean: true });
    expect(serverProtocols).toEqual(['chat.v2']);
    expect(result.refused).toEqual({ events: ['error'], protocol: '', code: 1006, wasClean: false });
  });
});
