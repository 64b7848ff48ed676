// `npm run start:cluster` (examples/cluster-demo.mjs: redis-server + two chat servers over
// rfc6455.pubsub.v1, loading the library from dist/) in a real Chromium: two pages on the two servers
// chat both ways; one server is SIGKILLed; its page reconnects to the other and shows the messages
// published meanwhile once each, marked recovered; then the chat goes on both ways.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserForFile, within } from './browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const skip = !(await import('node:fs')).existsSync('/usr/bin/redis-server');

const chromium = browserForFile(skip);
const { cleanups } = chromium;

interface Demo {
  child: ChildProcessWithoutNullStreams;
  urls: [string, string];
  pids: Map<string, number>;
  output: () => string;
}

async function startDemo(): Promise<Demo> {
  const child = spawn(process.execPath, ['examples/cluster-demo.mjs'], { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(exited, 20_000, 'the demo to stop');
    // Whatever the demo started and reported, if still there (it stops them itself on SIGTERM).
    for (const match of output.matchAll(/pid (\d+)/g)) {
      try {
        process.kill(Number(match[1]), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await within(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('rfc6455 cluster chat on') && resolve());
      child.on('close', () => reject(new Error(`the demo exited:\n${output}`)));
    }),
    30_000,
    'the cluster demo to start',
  );
  const urls = /cluster chat on (\S+) and (\S+) /.exec(output)!.slice(1, 3) as [string, string];
  const pids = new Map<string, number>();
  for (const match of output.matchAll(/node pid (\d+) listening on (\S+)/g)) pids.set(match[2]!, Number(match[1]));
  return { child, urls, pids, output: () => output };
}

interface PageGlobals {
  document: { getElementById(id: string): { textContent: string | null } | null; querySelectorAll(selectors: string): ArrayLike<{ textContent: string | null; className: string }> };
}

async function openPage(url: string): Promise<Page> {
  const context = await chromium.browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('[page error]', error));
  await page.goto(url);
  await waitForStatus(page, `connected to ${new URL(url).host}`);
  return page;
}

function waitForStatus(page: Page, text: string): Promise<unknown> {
  return page.waitForFunction((expected) => (globalThis as unknown as PageGlobals).document.getElementById('status')?.textContent === expected, text, { timeout: 30_000 });
}

function logLines(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li'), (item) => item.textContent ?? ''));
}

function waitForLine(page: Page, line: string): Promise<unknown> {
  return page.waitForFunction(
    (expected) => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#log li'), (item) => item.textContent).includes(expected),
    line,
    { timeout: 30_000 },
  );
}

async function say(page: Page, name: string, text: string): Promise<void> {
  await page.fill('#name', name);
  await page.fill('#text', text);
  await page.click('#form button');
}

describe.skipIf(skip)('the cluster demo in Chromium', () => {
  test('a page whose server is killed moves to the other one and shows what it missed, once, marked recovered', async () => {
    const demo = await startDemo();
    const [urlA, urlB] = demo.urls;
    // Alice's page waits at least 3 s before reconnecting: what Bob says meanwhile she can only get by replay.
    const alice = await openPage(`${urlA}?minDelay=6000`);
    const bob = await openPage(urlB);

    await say(alice, 'alice', 'hi bob');
    await say(bob, 'bob', 'hi alice');
    for (const page of [alice, bob]) {
      await waitForLine(page, 'alice:hi bob');
      await waitForLine(page, 'bob:hi alice');
    }

    const pidA = demo.pids.get(urlA)!;
    expect(pidA).toBeGreaterThan(0);
    process.kill(pidA, 'SIGKILL');
    await waitForStatus(alice, 'reconnecting…');
    await say(bob, 'bob', 'are you there?');
    await say(bob, 'bob', 'hello?');
    await waitForLine(bob, 'bob:hello?');
    // Both were on Redis while Alice was still away.
    expect(await alice.evaluate(() => (globalThis as unknown as PageGlobals).document.getElementById('status')?.textContent)).toBe('reconnecting…');

    await waitForStatus(alice, `connected to ${new URL(urlB).host}`);
    await waitForLine(alice, 'bob:are you there?(recovered)');
    await waitForLine(alice, 'bob:hello?(recovered)');
    await waitForLine(alice, `back on ${new URL(urlB).host}: 2 missed message(s) recovered`);
    await say(alice, 'alice', 'back');
    await say(bob, 'bob', 'welcome back');
    for (const page of [alice, bob]) {
      await waitForLine(page, 'alice:back');
      await waitForLine(page, 'bob:welcome back');
    }
    const lines = (await logLines(alice)).filter((line) => !line.startsWith('back on'));
    expect(lines).toEqual(['alice:hi bob', 'bob:hi alice', 'bob:are you there?(recovered)', 'bob:hello?(recovered)', 'alice:back', 'bob:welcome back']);
    expect(await logLines(bob)).toEqual(['alice:hi bob', 'bob:hi alice', 'bob:are you there?', 'bob:hello?', 'alice:back', 'bob:welcome back']);
    expect(demo.output()).toContain(`node pid ${pidA} (port ${new URL(urlA).port}) exited (SIGKILL)`);
  });
});
