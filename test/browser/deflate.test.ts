// permessage-deflate (RFC 7692) with a real Chromium: negotiated on both sides, large compressible
// text and binary messages travel both ways intact, and far fewer bytes than the payload cross the wire.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { WebSocket as ServerSocket } from '../../src/index.js';
import { blankPageServer, echo, launchBrowser, openBlankPage, startServer, within } from './browser.js';

let browser: Browser;
let pageServer: Awaited<ReturnType<typeof blankPageServer>>;

beforeAll(async () => {
  browser = await launchBrowser();
  pageServer = await blankPageServer();
});
afterAll(async () => {
  await pageServer?.close();
  await browser?.close();
});

const TEXT_SIZE = 1024 * 1024;
const BINARY_SIZE = 256 * 1024;
// The same recipes run in Node (to check what the server received) and in the page.
const TEXT_UNIT = 'permessage-deflate über alles ✓ ';

function expectedText(): string {
  return TEXT_UNIT.repeat(Math.ceil(TEXT_SIZE / TEXT_UNIT.length)).slice(0, TEXT_SIZE);
}

function expectedBinary(): Buffer {
  const bytes = Buffer.alloc(BINARY_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
  return bytes;
}

describe('permessage-deflate with Chromium', () => {
  test('negotiated; 1 MiB text and 256 KiB binary echoed intact, compressed on the wire both ways', async () => {
    const server = await startServer({ perMessageDeflate: true });
    try {
      const received: Array<{ data: Buffer; isBinary: boolean }> = [];
      const connected = within(
        new Promise<ServerSocket>((resolve) =>
          server.wss.once('connection', (ws: ServerSocket) => {
            ws.on('message', (data, isBinary) => received.push({ data: data as Buffer, isBinary }));
            echo(ws);
            resolve(ws);
          }),
        ),
        20_000,
        'a connection from the browser',
      );
      const page = await openBlankPage(browser, pageServer.url);

      // Step 1: open, send both messages, wait for both echoes and compare them in the page.
      const result = await page.evaluate(
        async ({ url, unit, textSize, binarySize }) => {
          const deadline = (what: string) =>
            new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: ' + what)), 20_000));
          const text = unit.repeat(Math.ceil(textSize / unit.length)).slice(0, textSize);
          const binary = new Uint8Array(binarySize);
          for (let i = 0; i < binary.length; i++) binary[i] = (i * 7) % 251;

          const ws = new WebSocket(url);
          ws.binaryType = 'arraybuffer';
          const echoes: unknown[] = [];
          let gotBoth: () => void = () => {};
          const both = new Promise<void>((resolve) => (gotBoth = resolve));
          ws.addEventListener('message', (event) => {
            echoes.push(event.data);
            if (echoes.length === 2) gotBoth();
          });
          await Promise.race([new Promise((resolve) => ws.addEventListener('open', resolve)), deadline('open')]);
          ws.send(text);
          ws.send(binary);
          await Promise.race([both, deadline('two echoes')]);

          const [textEcho, binaryEcho] = echoes;
          let binaryIntact = binaryEcho instanceof ArrayBuffer && binaryEcho.byteLength === binary.length;
          if (binaryIntact) {
            const view = new Uint8Array(binaryEcho as ArrayBuffer);
            for (let i = 0; i < view.length && binaryIntact; i++) binaryIntact = view[i] === binary[i];
          }
          (globalThis as unknown as { testSocket: WebSocket }).testSocket = ws;
          return {
            extensions: ws.extensions,
            textIntact: textEcho === text,
            textEchoLength: typeof textEcho === 'string' ? textEcho.length : -1,
            binaryIntact,
          };
        },
        { url: server.url, unit: TEXT_UNIT, textSize: TEXT_SIZE, binarySize: BINARY_SIZE },
      );

      const ws = await connected;
      expect(result.extensions).toContain('permessage-deflate');
      expect(ws.extensions).toContain('permessage-deflate');
      expect(result.textEchoLength).toBe(TEXT_SIZE);
      expect(result.textIntact).toBe(true);
      expect(result.binaryIntact).toBe(true);

      // What the server received from the browser (inflated) is exactly what the page sent.
      expect(received).toHaveLength(2);
      expect(received[0]!.isBinary).toBe(false);
      expect(received[0]!.data.toString()).toBe(expectedText());
      expect(received[1]!.isBinary).toBe(true);
      expect(received[1]!.data.equals(expectedBinary())).toBe(true);

      // On the wire: both directions carried far less than the payload (~1.3 MB each way plus framing).
      const payloadBytes = Buffer.byteLength(expectedText()) + BINARY_SIZE;
      const socket = ws._socket!;
      expect(socket.bytesRead).toBeLessThan(payloadBytes / 10);
      expect(socket.bytesWritten).toBeLessThan(payloadBytes / 10);

      // Step 2: a clean close after compressed traffic.
      const serverClosed = within(
        new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))),
        20_000,
        'the server-side close',
      );
      const close = await page.evaluate(async () => {
        const ws = (globalThis as unknown as { testSocket: WebSocket }).testSocket;
        const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
          ws.addEventListener('close', (event) => resolve({ code: event.code, wasClean: event.wasClean })),
        );
        ws.close(1000);
        const deadline = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('page timed out: close')), 20_000));
        return Promise.race([closed, deadline]);
      });
      expect(close).toEqual({ code: 1000, wasClean: true });
      expect(await serverClosed).toBe(1000);
      await page.close();
    } finally {
      await server.close();
    }
  });
});
