// `rfc6455 serve` without --echo (interactive) and with --static, through pipes.
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { cleanups, cli } from './helpers.js';

async function listening(run: ReturnType<typeof cli>): Promise<number> {
  await run.waitFor('listening on ws://127.0.0.1:');
  return Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout())![1]);
}

/** One raw HTTP/1.1 request (the path sent as is, unlike fetch, which normalizes `..`). */
async function rawGet(port: number, path: string, method = 'GET'): Promise<{ status: number; head: string; body: string }> {
  const socket = netConnect(port, '127.0.0.1');
  // write, not end: a half-closed client may get no answer from an http.Server.
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  await once(socket, 'close');
  const end = text.indexOf('\r\n\r\n');
  return { status: Number(text.split(' ')[1]), head: text.slice(0, end), body: text.slice(end + 4) };
}

describe('rfc6455 serve (interactive, piped)', () => {
  test('prints connections and messages; each stdin line goes to every client; SIGTERM closes them with 1001', async () => {
    const run = cli(['serve', '--port', '0', '--host', '127.0.0.1']);
    const port = await listening(run);
    const a = new WebSocket(`ws://127.0.0.1:${port}/a`);
    await once(a, 'open');
    await run.waitFor('#1 connected from 127.0.0.1:', 'stderr');
    const b = new WebSocket(`ws://127.0.0.1:${port}/b`);
    await once(b, 'open');
    await run.waitFor('#2 connected from 127.0.0.1:', 'stderr');
    a.send('hello from a');
    await run.waitFor('#1 hello from a\n');
    b.send(Buffer.from([1, 2]));
    await run.waitFor('#2 <binary 2 bytes> 0102\n');
    const heard = [once(a, 'message'), once(b, 'message')];
    run.child.stdin.write('to everyone\n');
    for (const [data] of (await Promise.all(heard)) as Array<[Buffer]>) expect(data.toString()).toBe('to everyone');
    b.close(1000, 'bye');
    await run.waitFor('#2 closed: 1000 bye (1 client(s))', 'stderr');
    const closed = once(a, 'close');
    run.child.kill('SIGTERM');
    expect(((await closed) as [number])[0]).toBe(1001);
    expect(await run.exit).toBe(0);
  });
});

describe('rfc6455 serve --static', () => {
  function folder(): string {
    const base = mkdtempSync(join(tmpdir(), 'rfc6455-static-'));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    mkdirSync(join(base, 'site', 'sub'), { recursive: true });
    writeFileSync(join(base, 'site', 'index.html'), '<h1>hi</h1>');
    writeFileSync(join(base, 'site', 'app.js'), 'console.log(1)');
    writeFileSync(join(base, 'site', 'style.css'), 'body{}');
    writeFileSync(join(base, 'site', 'data.bin'), Buffer.from([0, 1]));
    writeFileSync(join(base, 'site', 'sub', 'index.html'), 'sub');
    writeFileSync(join(base, 'site', '.env'), 'SECRET=1');
    writeFileSync(join(base, 'secret.txt'), 'outside');
    symlinkSync(join(base, 'secret.txt'), join(base, 'site', 'link.txt'));
    return join(base, 'site');
  }

  test('files with their content types, index.html for folders, 404s, nothing outside the folder; WebSocket on the same port', async () => {
    const run = cli(['serve', '--echo', '--port', '0', '--host', '127.0.0.1', '--static', folder()]);
    const port = await listening(run);
    await run.waitFor('on http://127.0.0.1:');
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    };
    expect(await get('/')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<h1>hi</h1>' });
    expect(await get('/app.js')).toEqual({ status: 200, type: 'text/javascript; charset=utf-8', body: 'console.log(1)' });
    expect((await get('/style.css')).type).toBe('text/css; charset=utf-8');
    expect((await get('/data.bin')).type).toBe('application/octet-stream');
    expect((await get('/sub/')).body).toBe('sub');
    expect((await get('/sub')).body).toBe('sub');
    expect((await get('/app.js?v=2')).status).toBe(200);
    for (const path of ['/missing.html', '/.env', '/link.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/sub/..%2f..%2fsecret.txt', '/%00', '/%zz', '/..\\secret.txt']) {
      const response = await get(path);
      expect([path, response.status]).toEqual([path, 404]);
      expect(response.body).toBe('Not Found\n');
    }
    for (const path of ['/../secret.txt', '/sub/../../secret.txt', '//../secret.txt']) {
      const response = await rawGet(port, path);
      expect([path, response.status]).toEqual([path, 404]);
    }
    const head = await rawGet(port, '/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.head).toContain('Content-Length: 14');
    expect(head.body).toBe('');
    const post = await rawGet(port, '/app.js', 'POST');
    expect(post.status).toBe(405);
    expect(post.head).toContain('Allow: GET, HEAD');

    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    ws.send('echo over the static port');
    expect(String(((await once(ws, 'message')) as [Buffer])[0])).toBe('echo over the static port');
    const closed = once(ws, 'close');
    run.child.kill('SIGINT');
    expect(((await closed) as [number])[0]).toBe(1001);
    expect(await run.exit).toBe(0);
  });
});
