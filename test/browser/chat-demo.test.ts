// The `npm start` demo (examples/chat-demo.mjs, which loads the library from dist/; the global setup
// builds it when stale) in a real Chromium: pages chat in rooms, then SIGINT closes them with 1001; and
// with --workers 2, two pages served by different worker processes chat in one room.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, within } from './browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

let browser: Browser;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A port that was free a moment ago (the demo binds all interfaces, as `server.listen(port)` does). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0);
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Demo {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts the demo on a free port; tries another port if the one picked was taken in between. */
async function startDemo(args: string[] = []): Promise<Demo> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['examples/chat-demo.mjs', ...args], {
      cwd: root,
      env: { ...process.env, PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const started = await within(
      Promise.race([
        new Promise<boolean>((resolve) => child.stdout.on('data', () => output.includes('rfc6455 chat on') && resolve(true))),
        exit.then(() => false),
      ]),
      20_000,
      'the demo to start',
    );
    if (started) return { child, url: `http://127.0.0.1:${port}/`, output: () => output, exit };
    if (attempt === 3 || !output.includes('cannot start the chat')) throw new Error(`the demo did not start:\n${output}`);
  }
}

// Installed before the page's own script: records every close event of every WebSocket the page opens.
function recordCloses(): void {
  const Native = WebSocket;
  const closes: Array<{ code: number; reason: string; wasClean: boolean }> = [];
  (globalThis as unknown as { closes: typeof closes }).closes = closes;
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('close', (event) => closes.push({ code: event.code, reason: event.reason, wasClean: event.wasClean }));
    }
  };
}

// The few DOM bits the page functions use (the project's TypeScript lib has no DOM; these run in the page).
interface PageNode {
  textContent: string | null;
}
interface PageGlobals {
  document: { getElementById(id: string): PageNode | null; querySelectorAll(selectors: string): ArrayLike<PageNode> };
}

/** Waits (bounded) until the page's status line reads `text`. */
function waitForStatus(page: Page, text: string): Promise<unknown> {
  return page.waitForFunction(
    (expected) => (globalThis as unknown as PageGlobals).document.getElementById('status')?.textContent === expected,
    text,
    { timeout: 20_000 },
  );
}

async function openChat(url: string, room = 'lobby'): Promise<Page> {
  const context: BrowserContext = await browser.newContext();
  cleanups.push(() => context.close());
  await context.addInitScript(recordCloses);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('[page error]', error));
  await page.goto(url);
  await waitForStatus(page, 'connected');
  if (room !== 'lobby') {
    await page.fill('#room', room);
    await page.click('#join button');
  }
  await page.waitForFunction(
    (expected) => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li'), (item) => item.textContent ?? '').some((line) => line.startsWith(expected)),
    `you are in #${room} `,
    { timeout: 20_000 },
  );
  return page;
}

/** The pid of the server process that put the page in its room (from the "you are in #room (server pid N)" notice). */
async function serverPid(page: Page): Promise<number> {
  const line = (await logLines(page)).find((text) => text.startsWith('you are in #'))!;
  return Number(/server pid (\d+)/.exec(line)![1]);
}

/** Sends `text` as `name` from `page` (the page's chat form). */
async function say(page: Page, name: string, text: string): Promise<void> {
  await page.fill('#name', name);
  await page.fill('#text', text);
  await page.click('#form button');
}

/** Waits (bounded) until the page's log has the line `line`. */
function waitForLine(page: Page, line: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(
    (expected) =>
      Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li'), (item) => item.textContent).includes(expected),
    line,
    { timeout },
  );
}

/** Opens and closes one TCP connection to the demo. */
async function touch(url: string): Promise<void> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.end();
  await once(socket, 'close');
}

/** The chat log's lines, as the page shows them. */
function logLines(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li'), (item) => item.textContent ?? ''),
  );
}

describe('the chat demo in Chromium', () => {
  test('a message sent from one page shows in the pages of its room only; SIGINT closes them with 1001', async () => {
    const demo = await startDemo();
    const alice = await openChat(demo.url);
    const bob = await openChat(demo.url);
    const carol = await openChat(demo.url, 'elsewhere');

    const message = 'hello from alice ✓ <b>not markup</b>';
    await say(alice, 'alice', message);
    for (const page of [alice, bob]) await waitForLine(page, 'alice:' + message);
    // Carol's room is another topic: a message of hers arriving proves alice's went past her.
    await say(carol, 'carol', 'anyone here?');
    await waitForLine(carol, 'carol:anyone here?');
    expect((await logLines(carol)).filter((line) => line.startsWith('alice:'))).toEqual([]);
    expect((await logLines(alice)).filter((line) => line.startsWith('carol:'))).toEqual([]);
    // Shown as text: the only <b> in the log is the name of the one chat line.
    for (const page of [alice, bob]) {
      expect(await logLines(page)).toContain('alice:' + message);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#log li b').length)).toBe(1);
    }
    // Alice's page saw Bob join the lobby.
    expect((await logLines(alice)).some((line) => line.startsWith('someone joined from'))).toBe(true);

    demo.child.kill('SIGINT');
    for (const page of [alice, bob, carol]) {
      await waitForStatus(page, 'disconnected (1001)');
      expect(await page.evaluate(() => (globalThis as unknown as { closes: unknown[] }).closes)).toEqual([
        { code: 1001, reason: 'server shutting down', wasClean: true },
      ]);
    }
    expect(await within(demo.exit, 20_000, 'the demo to exit')).toBe(0);
    expect(demo.output()).toContain('shutting down');
  });

  test('--workers 2: two pages served by different workers (by pid) see each other\'s room messages', async () => {
    const demo = await startDemo(['--workers', '2']);
    expect(demo.output()).toContain('[2 workers]');
    // Open pages until two sit on different workers (bounded). A page makes two connections (the page,
    // the WebSocket): where the primary hands connections out in turn, a bare one in between shifts the turn.
    const pages = new Map<number, Page>();
    for (let attempt = 0; attempt < 12 && pages.size < 2; attempt++) {
      const page = await openChat(demo.url);
      const pid = await serverPid(page);
      if (!pages.has(pid)) pages.set(pid, page);
      else await touch(demo.url);
    }
    expect(pages.size).toBe(2);
    const [alice, bob] = [...pages.values()] as [Page, Page];
    // A subscription reaches the other worker through the primary: repeat until heard (bounded).
    let heard = false;
    for (let i = 0; i < 20 && !heard; i++) {
      await say(alice, 'alice', `hi ${i}`);
      heard = await waitForLine(bob, `alice:hi ${i}`, 1000).then(() => true, () => false);
    }
    expect(heard).toBe(true);
    await say(bob, 'bob', 'hi from the other worker');
    await waitForLine(alice, 'bob:hi from the other worker');

    demo.child.kill('SIGINT');
    for (const page of [alice, bob]) await waitForStatus(page, 'disconnected (1001)');
    expect(await within(demo.exit, 20_000, 'the demo to exit')).toBe(0);
  });
});
