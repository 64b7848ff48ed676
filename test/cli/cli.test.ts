// The command line through pipes (stdin, stdout and stderr are not a terminal: plain lines, as scripts
// read them), against real servers. test/cli/tty.test.ts runs it in a pseudo-terminal.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { tlsWsServer } from '../api/server-helpers.js';
import { cleanups, cli, echo, freePort, root } from './helpers.js';

describe('rfc6455 --help', () => {
  test('prints the usage and exits 0', async () => {
    const run = cli(['--help']);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('rfc6455 serve');
    expect(run.stdout()).toContain('rfc6455 connect <url>');
  });

  test('an unknown command or option: usage on stderr, exit 2', async () => {
    const unknown = cli(['frobnicate']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr()).toBe('rfc6455: unknown command "frobnicate" (connect, serve, --help, --version)\n(rfc6455 --help shows the usage)\n');
    const option = cli(['connect', '--bogus', 'ws://127.0.0.1:1']);
    expect(await option.exit).toBe(2);
    expect(option.stderr()).toBe('rfc6455 connect: unknown option --bogus\n(rfc6455 connect --help shows the usage)\n');
  });
});

describe('rfc6455 connect', () => {
  test('sends stdin lines, prints messages, closes with 1000 at the end of stdin (exit 0)', async () => {
    const { url } = await echo();
    const run = cli(['connect', url]);
    await run.waitFor('connected to', 'stderr');
    await run.waitFor('<binary 2 bytes> dead');
    run.child.stdin.write('hello\n');
    await run.waitFor('hello\n');
    run.child.stdin.write('second line\nthird\n');
    await run.waitFor('third\n');
    run.child.stdin.end();
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toBe('<binary 2 bytes> dead\nhello\nsecond line\nthird\n');
    expect(run.stderr()).toContain('closed: 1000');
  });

  test('--protocol and --header go into the request', async () => {
    const { url, heads } = await echo();
    const run = cli(['connect', url, '--protocol', 'chat', '--protocol', 'v2', '--header', 'X-One: 1', '--header', 'Authorization: Bearer t']);
    await run.waitFor('(subprotocol chat)', 'stderr');
    run.child.stdin.end();
    expect(await run.exit).toBe(0);
    expect(String(heads[0]!['sec-websocket-protocol']).replace(/ /g, '')).toBe('chat,v2');
    expect(heads[0]!['x-one']).toBe('1');
    expect(heads[0]!.authorization).toBe('Bearer t');
  });

  test('the server closing with another code exits 1 and prints the code and reason', async () => {
    const { url } = await echo({ closeWith: [4001, 'go away'] });
    const run = cli(['connect', url]);
    await run.waitFor('connected to', 'stderr');
    run.child.stdin.write('bye\n');
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain('closed: 4001 go away');
  });

  test('a refused connection: the error, then exit 1', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const { port } = dead.address() as { port: number };
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const run = cli(['connect', `ws://127.0.0.1:${port}`]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain('ECONNREFUSED');
    expect(run.stderr()).toContain('closed: 1006');
  });

  test('an invalid URL exits 2', async () => {
    const run = cli(['connect', 'ftp://127.0.0.1/']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('The URL\'s protocol must be one of');
  });

  test('--no-check accepts a self-signed certificate; without it the connection fails', async () => {
    const { port, close } = await tlsWsServer((socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    cleanups.push(close);
    const url = `wss://localhost:${port}`;
    const checked = cli(['connect', url]);
    expect(await checked.exit).toBe(1);
    expect(checked.stderr()).toContain('self-signed');
    const unchecked = cli(['connect', url, '--no-check']);
    await unchecked.waitFor('connected to', 'stderr');
    unchecked.child.stdin.write('over tls\n');
    await unchecked.waitFor('over tls\n');
    unchecked.child.stdin.end();
    expect(await unchecked.exit).toBe(0);
  });
});

describe('rfc6455 serve --echo', () => {
  test('echoes text and binary messages on the chosen host, port and path', async () => {
    const run = cli(['serve', '--echo', '--port', '0', '--host', '127.0.0.1', '--path', '/echo']);
    await run.waitFor('listening on ws://127.0.0.1:');
    const url = /listening on (ws:\/\/\S+)/.exec(run.stdout())![1]!;
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/echo$/);
    const ws = new WebSocket(url);
    await once(ws, 'open');
    const replies: Array<[string, boolean]> = [];
    ws.on('message', (data, isBinary) => replies.push([String(data), isBinary]));
    ws.send('text');
    ws.send(Buffer.from('bin'));
    for (let i = 0; i < 100 && replies.length < 2; i++) await once(ws, 'message');
    expect(replies).toEqual([
      ['text', false],
      ['bin', true],
    ]);
    ws.close();
    await once(ws, 'close');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });
});

describe('rfc6455 serve --rooms --workers 2', () => {
  // With SO_REUSEPORT each worker binds the port itself: port 0 won't do.
  test('two clients on different workers (by the pid each 101 names) hear each other in their room; SIGINT closes them with 1001', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/cli/entry.ts', 'serve', '--rooms', '--workers', '2', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let i = 0; i < 1000 && (out.match(/\(worker \d+\)/g) ?? []).length < 2 && child.exitCode === null; i++) await once(child.stdout, 'data');
    expect(out).toContain('2 worker(s)');
    const pids = [...out.matchAll(/listening on ws:\/\/127\.0\.0\.1:\d+\/ \(worker (\d+)\)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(2);

    // Connect until one client sits on each worker (bounded).
    const byWorker = new Map<number, WebSocket>();
    for (let attempt = 0; attempt < 40 && byWorker.size < 2; attempt++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/lobby`);
      const upgraded = once(ws, 'upgrade') as Promise<[{ headers: Record<string, string> }]>;
      const opened = once(ws, 'open');
      const [response] = await upgraded;
      await opened;
      const pid = Number(response.headers['x-rfc6455-worker']);
      if (byWorker.has(pid)) ws.close();
      else byWorker.set(pid, ws);
    }
    expect([...byWorker.keys()].sort()).toEqual([...pids].sort());
    const [alice, bob] = [byWorker.get(pids[0]!)!, byWorker.get(pids[1]!)!];
    const heard = { alice: [] as string[], bob: [] as string[] };
    alice.on('message', (data) => heard.alice.push(String(data)));
    bob.on('message', (data) => heard.bob.push(String(data)));
    // Each one's subscription reaches the other worker through the primary: say it until it is heard (bounded).
    for (let i = 0; i < 200 && (heard.bob.length === 0 || heard.alice.length === 0); i++) {
      if (heard.bob.length === 0) alice.send('hi from alice');
      if (heard.alice.length === 0) bob.send('hi from bob');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(new Set(heard.bob)).toEqual(new Set(['hi from alice']));
    expect(new Set(heard.alice)).toEqual(new Set(['hi from bob']));

    const closes = [alice, bob].map((ws) => once(ws, 'close'));
    child.kill('SIGINT');
    for (const [code] of (await Promise.all(closes)) as Array<[number]>) expect(code).toBe(1001);
    expect(await exit).toBe(0);
  }, 60_000);
});
