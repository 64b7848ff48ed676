// The `npm start` demo (examples/chat-demo.mjs, which loads the library from dist/; the global setup
// builds it when stale) in a real Chromium: pages chat in rooms, their own messages marked; the online
// count follows pages joining and leaving; a message over the server's maxPayload is explained (checked
// in the page, and the 1009 close if one goes out anyway); SIGINT closes the pages with 1001, and after
// a restart on the same port they reconnect by themselves with their name and room; with --workers 2,
// two pages served by different worker processes chat in one room.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserForFile, within } from './browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const chromium = browserForFile();
const { cleanups } = chromium;

interface Demo {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  output: () => string;
  exit: Promise<number | null>;
}

/**
 * Starts the demo on `port` (0: a free one, which the demo prints); its URL is the one it prints, on
 * 127.0.0.1 (the default without HOST).
 */
async function startDemo(args: string[] = [], port = 0): Promise<Demo> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.HOST;
  const child = spawn(process.execPath, ['examples/chat-demo.mjs', ...args], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const printed = /rfc6455 chat on (http:\/\/127\.0\.0\.1:(\d+)\/)/;
  const started = await within(
    Promise.race([
      new Promise<boolean>((resolve) => child.stdout.on('data', () => printed.test(output) && resolve(true))),
      exit.then(() => false),
    ]),
    20_000,
    'the demo to start',
  );
  if (!started) throw new Error(`the demo did not start:\n${output}`);
  const [, url, actual] = printed.exec(output)!;
  return { child, url: url!, port: Number(actual), output: () => output, exit };
}

/** Stops the demo with `signal` and waits (bounded) for it to exit; returns its exit code. */
async function stopDemo(demo: Demo, signal: NodeJS.Signals): Promise<number | null> {
  demo.child.kill(signal);
  return within(demo.exit, 20_000, 'the demo to exit');
}

// Installed before the page's own script: records every WebSocket the page opens and its close events.
function recordSockets(): void {
  const Native = WebSocket;
  const closes: Array<{ code: number; reason: string; wasClean: boolean }> = [];
  const sockets: WebSocket[] = [];
  Object.assign(globalThis, { closes, sockets });
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
      this.addEventListener('close', (event) => closes.push({ code: event.code, reason: event.reason, wasClean: event.wasClean }));
    }
  };
}

// The few DOM bits the page functions use (the project's TypeScript lib has no DOM; these run in the page).
interface PageNode {
  textContent: string | null;
  className: string;
  querySelector(selectors: string): PageNode | null;
}
interface PageGlobals {
  document: { getElementById(id: string): PageNode | null; querySelectorAll(selectors: string): ArrayLike<PageNode> };
  closes: Array<{ code: number; reason: string; wasClean: boolean }>;
  sockets: Array<{ send(data: string): void }>;
}

/** Waits (bounded) until the text of the element `#id` satisfies `expected` (exact text, or a prefix ending in '…'). */
function waitForText(page: Page, id: string, expected: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(
    ([id, expected]) => {
      const text = (globalThis as unknown as PageGlobals).document.getElementById(id!)?.textContent ?? '';
      return expected!.endsWith('…') ? text.startsWith(expected!.slice(0, -1)) : text === expected;
    },
    [id, expected] as const,
    { timeout },
  );
}

/** Opens the chat as `name` in `room` (through the page's ?name=&room= parameters) and waits for the welcome. */
async function openChat(url: string, name: string, room = 'lobby'): Promise<Page> {
  const context = await chromium.browser.newContext();
  cleanups.push(() => context.close());
  await context.addInitScript(recordSockets);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('[page error]', error));
  await page.goto(`${url}?name=${encodeURIComponent(name)}&room=${encodeURIComponent(room)}`);
  await waitForText(page, 'status', 'connected');
  await waitForNotice(page, `you are in #${room} …`);
  return page;
}

/** The pid of the server process that put the page in its room (from the "you are in #room (server pid N)" notice). */
async function serverPid(page: Page): Promise<number> {
  const line = (await notices(page)).find((text) => text.startsWith('you are in #'))!;
  return Number(/server pid (\d+)/.exec(line)![1]);
}

/** Sends `text` from `page` through its chat form (as the name in its form). */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#form button');
}

interface Shown {
  who: string;
  text: string;
  own: boolean;
  time: string;
}

/** The chat messages the page shows: who (the page adds " (you)" to its own), text, own (styled as the page's own), time. */
function messages(page: Page): Promise<Shown[]> {
  return page.evaluate(() =>
    Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li.msg'), (item) => ({
      who: item.querySelector('.who')?.textContent ?? '',
      text: item.querySelector('.text')?.textContent ?? '',
      own: item.className.split(' ').includes('own'),
      time: item.querySelector('time')?.textContent ?? '',
    })),
  );
}

/** The notices (joins, leaves, closes, explanations) the page shows, in order. */
function notices(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li.notice'), (item) => item.textContent ?? ''),
  );
}

/** Waits (bounded) until the page shows the message `text` from `who` (as it shows the name). */
function waitForMessage(page: Page, who: string, text: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(
    ([who, text]) =>
      Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li.msg')).some(
        (item) => item.querySelector('.who')?.textContent === who && item.querySelector('.text')?.textContent === text,
      ),
    [who, text] as const,
    { timeout },
  );
}

/** Waits (bounded) until the page shows a notice that is `expected` (or starts with it, when it ends in '…'). */
function waitForNotice(page: Page, expected: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(
    (expected) =>
      Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li.notice'), (item) => item.textContent ?? '').some(
        (text) => (expected.endsWith('…') ? text.startsWith(expected.slice(0, -1)) : text === expected),
      ),
    expected,
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

describe('the chat demo in Chromium', () => {
  test('a message shows in the pages of its room only, marked as the sender\'s own in its page; SIGINT closes them with 1001', async () => {
    const demo = await startDemo();
    const alice = await openChat(demo.url, 'alice');
    const bob = await openChat(demo.url, 'bob');
    const carol = await openChat(demo.url, 'carol', 'elsewhere');

    const message = 'hello from alice ✓ <b>not markup</b>';
    await say(alice, message);
    await waitForMessage(alice, 'alice (you)', message);
    await waitForMessage(bob, 'alice', message);
    // Carol's room is another topic: a message of hers arriving proves alice's went past her.
    await say(carol, 'anyone here?');
    await waitForMessage(carol, 'carol (you)', 'anyone here?');
    expect((await messages(carol)).map(({ who }) => who)).toEqual(['carol (you)']);
    expect((await messages(alice)).map(({ who }) => who)).toEqual(['alice (you)']);
    // Own and others' messages told apart; shown as text with the server's time (hh:mm:ss).
    const [mine] = await messages(alice);
    const [theirs] = await messages(bob);
    expect(mine).toMatchObject({ who: 'alice (you)', text: message, own: true });
    expect(theirs).toMatchObject({ who: 'alice', text: message, own: false });
    for (const shown of [mine!, theirs!]) expect(shown.time).toMatch(/^\d\d:\d\d:\d\d$/);
    for (const page of [alice, bob]) {
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#log b').length)).toBe(0);
    }
    // Alice's page saw Bob join the lobby.
    expect(await notices(alice)).toContain('bob joined');

    expect(await stopDemo(demo, 'SIGINT')).toBe(0);
    expect(demo.output()).toContain('shutting down');
    for (const page of [alice, bob, carol]) {
      await waitForNotice(page, 'disconnected: the server is restarting or shutting down (1001, "server shutting down")');
      await waitForText(page, 'status', 'reconnecting…');
      expect((await page.evaluate(() => (globalThis as unknown as PageGlobals).closes))[0]).toEqual({
        code: 1001,
        reason: 'server shutting down',
        wasClean: true,
      });
    }
  });

  test('the online count of a room follows pages joining and leaving', async () => {
    const demo = await startDemo();
    const alice = await openChat(demo.url, 'alice');
    await waitForText(alice, 'online', '1 online in #lobby');
    const bob = await openChat(demo.url, 'bob');
    for (const page of [alice, bob]) await waitForText(page, 'online', '2 online in #lobby');
    const carol = await openChat(demo.url, 'carol', 'elsewhere');
    await waitForText(carol, 'online', '1 online in #elsewhere');
    // Bob moves to carol's room: one less in the lobby, one more there.
    await bob.fill('#room', 'elsewhere');
    await bob.click('#join button');
    await waitForNotice(bob, 'you are in #elsewhere …');
    for (const page of [bob, carol]) await waitForText(page, 'online', '2 online in #elsewhere');
    await waitForText(alice, 'online', '1 online in #lobby');
    // Carol closes her page: bob sees the count drop and her leaving.
    await carol.context().close();
    await waitForText(bob, 'online', '1 online in #elsewhere');
    await waitForNotice(bob, 'carol left');
    expect(await notices(alice)).not.toContain('carol left');
    await stopDemo(demo, 'SIGTERM');
  });

  test('a message over the server\'s maxPayload is explained: refused in the page, and the 1009 close if one is sent', async () => {
    const demo = await startDemo();
    const alice = await openChat(demo.url, 'alice');
    const bob = await openChat(demo.url, 'bob');
    const big = 'x'.repeat(70_000);
    await say(alice, big);
    await waitForNotice(alice, 'not sent: this message is 68.4 KiB, the server takes at most 64 KiB (its maxPayload); shorten it');
    // Not sent: still connected, the text kept to shorten, nothing closed.
    expect(await alice.inputValue('#text')).toBe(big);
    await waitForText(alice, 'status', 'connected');
    expect(await alice.evaluate(() => (globalThis as unknown as PageGlobals).closes)).toEqual([]);

    // Past the page's check (straight on its socket): the server closes with 1009, the page says why and reconnects.
    await alice.evaluate((size) => (globalThis as unknown as PageGlobals).sockets.at(-1)!.send('y'.repeat(size)), 70_000);
    await waitForNotice(
      alice,
      'disconnected: message too big (1009): the server takes messages of at most 64 KiB and closed the connection on a bigger one',
    );
    expect((await alice.evaluate(() => (globalThis as unknown as PageGlobals).closes))[0]).toMatchObject({ code: 1009 });
    await waitForText(alice, 'status', 'connected');
    await say(alice, 'short again');
    await waitForMessage(bob, 'alice', 'short again');
    await stopDemo(demo, 'SIGTERM');
  });

  test('after a restart on the same port, a page reconnects by itself (no reload) with its name and room, and chats again', async () => {
    const first = await startDemo();
    const alice = await openChat(first.url, 'alice', 'garden');
    await say(alice, 'before the restart');
    await waitForMessage(alice, 'alice (you)', 'before the restart');
    // The page's own document stays: a reload would lose this mark.
    await alice.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

    expect(await stopDemo(first, 'SIGTERM')).toBe(0);
    await waitForNotice(alice, 'disconnected: the server is restarting or shutting down (1001, "server shutting down")');
    await waitForText(alice, 'status', 'reconnecting…');

    const second = await startDemo([], first.port);
    // The backoff tops out at 10 s: the page is back within one more round.
    await waitForText(alice, 'status', 'connected', 30_000);
    expect(await alice.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect((await notices(alice)).filter((text) => text.startsWith('you are in #garden '))).toHaveLength(2);
    expect(await alice.inputValue('#name')).toBe('alice');

    const bob = await openChat(second.url, 'bob', 'garden');
    await waitForText(alice, 'online', '2 online in #garden');
    await say(alice, 'after the restart');
    await waitForMessage(alice, 'alice (you)', 'after the restart');
    await waitForMessage(bob, 'alice', 'after the restart');
    // The message from before the restart is still the page's own.
    expect((await messages(alice)).map(({ who, text, own }) => [who, text, own])).toEqual([
      ['alice (you)', 'before the restart', true],
      ['alice (you)', 'after the restart', true],
    ]);
    await stopDemo(second, 'SIGTERM');
  });

  test('--workers 2: two pages served by different workers (by pid) see each other\'s room messages and the room\'s total count', async () => {
    const demo = await startDemo(['--workers', '2']);
    expect(demo.output()).toContain('[2 workers]');
    // Open pages until two sit on different workers (bounded). A page makes two connections (the page,
    // the WebSocket): where the primary hands connections out in turn, a bare one in between shifts the turn.
    const pages = new Map<number, Page>();
    let opened = 0;
    for (let attempt = 0; attempt < 12 && pages.size < 2; attempt++) {
      const page = await openChat(demo.url, `guest${attempt}`);
      opened++;
      const pid = await serverPid(page);
      if (!pages.has(pid)) pages.set(pid, page);
      else await touch(demo.url);
    }
    expect(pages.size).toBe(2);
    const [alice, bob] = [...pages.values()] as [Page, Page];
    // A subscription reaches the other worker through the primary: repeat until heard (bounded).
    let heard = false;
    for (let i = 0; i < 20 && !heard; i++) {
      await say(alice, `hi ${i}`);
      heard = await waitForMessage(bob, (await alice.inputValue('#name')), `hi ${i}`, 1000).then(() => true, () => false);
    }
    expect(heard).toBe(true);
    await say(bob, 'hi from the other worker');
    await waitForMessage(alice, await bob.inputValue('#name'), 'hi from the other worker');
    // The primary adds up the workers' counts: every page in the lobby, whichever worker serves it.
    for (const page of [alice, bob]) await waitForText(page, 'online', `${opened} online in #lobby`);

    expect(await stopDemo(demo, 'SIGINT')).toBe(0);
    for (const page of [alice, bob]) await waitForNotice(page, 'disconnected: the server is restarting or shutting down …');
  });
});
