// The command line in a pseudo-terminal (tmux): prompt, coloured markers, slash commands and Ctrl-C
// as a person uses them. Waits poll the pane with a bounded number of rounds; nothing is timed.
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { echo, root } from './helpers.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// A tmux server of our own for each test (its own socket: a server being stopped is never reused), stopped after it.
let serverCount = 0;
let socketName = '';
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socketName, ...args], { encoding: 'utf8' });
afterEach(() => {
  spawnSync('tmux', ['-L', socketName, 'kill-server']);
});

/** Runs `rfc6455 <args>` in a 120x40 terminal; the pane stays after the exit and shows `EXIT=<status>`. */
function start(args: string[]): void {
  socketName = `rfc6455-cli-test-${process.pid}-${++serverCount}`;
  const quoted = args.map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ');
  // Colour on (the terminal has it), whatever the test runner's environment says.
  const command = `cd '${root}' && env -u NO_COLOR -u FORCE_COLOR TERM=xterm-256color node --import tsx test/cli/entry.ts ${quoted}; echo EXIT=$?; sleep 600`;
  tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', 'cli', 'sh', '-c', command);
}

/** The pane's text (`escapes`: with its colour sequences). */
function pane(escapes = false): string {
  return tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', 'cli');
}

/** Polls the pane until it contains `text` (at most 600 rounds of 50 ms: a deadline, not a timing assertion). */
async function waitForPane(text: string | RegExp): Promise<string> {
  let screen = '';
  for (let i = 0; i < 600; i++) {
    screen = pane();
    if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the terminal never showed ${String(text)}:\n${screen}`);
}

const keys = (...args: string[]): void => void tmux('send-keys', '-t', 'cli', ...args);

describe.skipIf(!hasTmux)('in a terminal', () => {
  test('connect: prompt, < markers in colour, slash commands, /help, errors; Ctrl-C closes with 1000 and exits 0', async () => {
    const server = await echo();
    start(['connect', server.url, '--show-ping-pong']);
    await waitForPane('/help lists the commands, Ctrl-C closes');
    await waitForPane('< <binary 2 bytes> dead');
    expect(pane()).toMatch(/^> $/m);
    keys('-l', 'hello there');
    keys('Enter');
    await waitForPane(/^> hello there\n< hello there$/m);
    // The marker is coloured (cyan), the prompt green.
    expect(pane(true)).toMatch(/\x1b\[36m<\s?\x1b\[(0|39)?m ?hello there/);
    expect(pane(true)).toContain('\x1b[32m>');
    keys('-l', '/ping knock');
    keys('Enter');
    await waitForPane('< pong knock');
    keys('-l', '/binary 4869');
    keys('Enter');
    await waitForPane('< <binary 2 bytes> 4869');
    keys('-l', '/bogus');
    keys('Enter');
    await waitForPane('rfc6455 connect: unknown command /bogus');
    keys('-l', '/help');
    keys('Enter');
    await waitForPane('/close [code] [reason]');
    expect(server.received).toEqual(['hello there', 'ping:knock', 'bin:4869']);
    keys('C-c');
    await waitForPane('EXIT=0');
    await server.closed();
    expect(server.closes).toEqual([[1000, '']]);
    expect(pane()).toContain('closed: 1000');
  }, 60_000);

  test('connect: a message arriving while a line is being typed keeps the typed text', async () => {
    const server = await echo();
    start(['connect', server.url]);
    await waitForPane('< <binary 2 bytes> dead');
    keys('-l', 'half typed');
    await waitForPane(/^> half typed$/m);
    server.sockets[0]!.send('meanwhile');
    // The message is printed above the prompt, which is drawn again with what was typed.
    await waitForPane(/^< meanwhile\n> half typed$/m);
    keys('-l', ' and finished');
    keys('Enter');
    await waitForPane(/^< half typed and finished$/m);
    expect(server.received).toEqual(['half typed and finished']);
    keys('C-d');
    await waitForPane('EXIT=0');
    await server.closed();
    expect(server.closes).toEqual([[1000, '']]);
  }, 60_000);

  test('serve: prints connections and messages; a typed line goes to every client; Ctrl-C closes them with 1001', async () => {
    start(['serve', '--port', '0', '--host', '127.0.0.1']);
    const screen = await waitForPane(/listening on ws:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(screen)![1]);
    await waitForPane('type a line to send it to every client');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/room`);
    await once(ws, 'open');
    await waitForPane('#1 connected from 127.0.0.1:');
    ws.send('hi server');
    await waitForPane('< #1 hi server');
    const heard = once(ws, 'message');
    keys('-l', 'hello client');
    keys('Enter');
    expect(String(((await heard) as [Buffer])[0])).toBe('hello client');
    const closed = once(ws, 'close');
    keys('C-c');
    expect(((await closed) as [number])[0]).toBe(1001);
    await waitForPane('EXIT=0');
  }, 60_000);
});
