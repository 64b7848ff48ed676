// Shared by the browser tests: launching the system Chromium through playwright-core, serving a blank
// page on 127.0.0.1 (so the page's origin is loopback, like the WebSocket server it talks to), and
// bounded waits.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { WebSocketServer, type WebSocket, type WebSocketServerOptions } from '../../src/index.js';

/** The Chromium binary: $CHROMIUM_PATH, or Debian's `chromium` package. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 });
}

/**
 * For the calling test file: one Chromium (launched before its tests unless `skip`, closed after them;
 * read `.browser` inside the tests) and `cleanups`, run after each test, last first.
 */
export function browserForFile(skip = false): { readonly browser: Browser; cleanups: Array<() => Promise<void> | void> } {
  let browser: Browser | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    if (!skip) browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return {
    cleanups,
    get browser(): Browser {
      if (browser === undefined) throw new Error('no browser: it is launched in beforeAll, unless skipped');
      return browser;
    },
  };
}

/** An http server on 127.0.0.1, any free port, that answers every GET with an empty HTML page. */
export async function blankPageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A fresh page showing the blank page at `url`, its console errors forwarded to the test output. */
export async function openBlankPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('[page error]', error));
  await page.goto(url);
  return page;
}

/** Resolves with `promise`, or rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A standalone server of ours on 127.0.0.1, any free port; `close()` ends its clients and the listener. */
export async function startServer(
  options: Omit<WebSocketServerOptions, 'port' | 'host' | 'server' | 'noServer'> = {},
): Promise<{ wss: WebSocketServer; url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await within(once(wss, 'listening'), 20_000, 'the WebSocketServer to listen');
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}/`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await within(new Promise<void>((resolve) => wss.close(() => resolve())), 20_000, 'the WebSocketServer to close');
    },
  };
}

/** Echo every message back as it came (text as text, binary as binary). */
export function echo(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
}
