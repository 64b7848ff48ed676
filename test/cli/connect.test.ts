// `rfc6455 connect` through pipes: the options and commands added for scripts and wscat users.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { readHead, testCert, tlsWsServer } from '../api/server-helpers.js';
import { cleanups, cli, echo } from './helpers.js';

const certFile = new URL('../fixtures/tls-cert.pem', import.meta.url).pathname;
const keyFile = new URL('../fixtures/tls-key.pem', import.meta.url).pathname;

describe('errors and --version', () => {
  test('every error is "rfc6455 <command>: ...", never Node\'s wording; bad command lines exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['serve', '--port', 'abc'], 'rfc6455 serve: --port takes a whole number from 0 to 65535, not "abc"'],
      [['serve', '--workers', '0', '--echo'], 'rfc6455 serve: --workers takes a whole number from 1 to 1024, not "0"'],
      [['serve', '--echo', '--rooms'], 'rfc6455 serve: --echo and --rooms exclude each other'],
      [['serve', '--static', '/nonexistent/rfc6455-test'], 'rfc6455 serve: --static: no such folder: /nonexistent/rfc6455-test'],
      [['serve', 'extra'], 'rfc6455 serve: unexpected argument extra'],
      [['connect'], 'rfc6455 connect: a URL is needed (rfc6455 connect ws://host:port/path)'],
      [['connect', 'ws://127.0.0.1:1', '--wait'], 'rfc6455 connect: option --wait needs a value'],
      [['connect', 'ws://127.0.0.1:1', '--slash=yes'], 'rfc6455 connect: option --slash takes no value'],
      [['connect', 'ws://127.0.0.1:1', '-Z'], 'rfc6455 connect: unknown option -Z'],
      [['connect', 'ws://127.0.0.1:1', '--header', 'nocolon'], 'rfc6455 connect: --header takes "Name: value", not "nocolon"'],
      [['connect', 'ws://127.0.0.1:1', '--auth', 'nopassword'], 'rfc6455 connect: --auth takes user:password'],
      [['connect', 'ws://127.0.0.1:1', '--max-redirects', '-1'], 'rfc6455 connect: option --max-redirects needs a value'],
      [['connect', 'ws://127.0.0.1:1', '--wait', 'soon'], 'rfc6455 connect: --wait takes a number of seconds, not "soon"'],
      [['connect', 'ws://127.0.0.1:1', '--ca', '/nonexistent/ca.pem'], 'rfc6455 connect: --ca: cannot read /nonexistent/ca.pem: ENOENT'],
      [['connect', 'ws://127.0.0.1:1', '--proxy', 'socks://x'], 'rfc6455 connect: Invalid proxy URL: socks://x'],
      [[], 'rfc6455: a command is needed: connect or serve'],
    ];
    const runs = cases.map(([args]) => cli(args));
    for (const [index, run] of runs.entries()) {
      expect(await run.exit, cases[index]![0].join(' ')).toBe(2);
      const [first, second] = run.stderr().split('\n');
      expect(first).toContain(cases[index]![1]);
      expect(second).toMatch(/^\(rfc6455 (connect |serve )?--help shows the usage\)$/);
      expect(run.stderr()).not.toMatch(/ERR_|TypeError|Unknown option|argument missing|\n\s+at /);
    }
  }, 60_000);

  test('--version prints the version of package.json', async () => {
    const run = cli(['--version']);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toBe(`${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
  });
});

describe('scripted use', () => {
  test('--execute sends each message, --wait 0 then closes with 1000; replies before the close are printed', async () => {
    const server = await echo();
    const run = cli(['connect', server.url, '-x', 'hello', '--execute', 'world', '--wait', '0']);
    expect(await run.exit).toBe(0);
    await server.closed();
    expect(server.received).toEqual(['hello', 'world']);
    expect(server.closes).toEqual([[1000, '']]);
    expect(run.stdout()).toBe('<binary 2 bytes> dead\nhello\nworld\n');
  });

  test('--slash in a pipe: /binary, /ping (its pong shown with --show-ping-pong), /pong, //text', async () => {
    const server = await echo();
    const run = cli(['connect', server.url, '--slash', '--show-ping-pong', '-x', '/binary 48 69', '-x', '/ping abc', '-x', '/pong', '-x', '//x', '-x', '/nope', '-w', '0']);
    expect(await run.exit).toBe(0);
    await server.closed();
    expect(server.received).toEqual(['bin:4869', 'ping:abc', '/x']);
    expect(run.stdout()).toBe('<binary 2 bytes> dead\n<binary 2 bytes> 4869\n/x\n');
    expect(run.stderr()).toContain('\npong abc\n');
    expect(run.stderr()).toContain('rfc6455 connect: unknown command /nope (/help lists them; //text sends "/text")\n');
  });

  test('without --slash a piped line starting with / is a message, as before', async () => {
    const server = await echo();
    const run = cli(['connect', server.url]);
    await run.waitFor('dead');
    run.child.stdin.end('/close 4000\n');
    expect(await run.exit).toBe(0);
    await server.closed();
    expect(server.received).toEqual(['/close 4000']);
    expect(server.closes).toEqual([[1000, '']]);
  });

  test('/close with a code and reason (piped, --slash): the server gets them; exit 0 since the client chose them', async () => {
    const server = await echo();
    const run = cli(['connect', server.url, '--slash']);
    await run.waitFor('dead');
    run.child.stdin.write('/close 4321 done here\n');
    expect(await run.exit).toBe(0);
    await server.closed();
    expect(server.closes).toEqual([[4321, 'done here']]);
    expect(run.stderr()).toContain('closed: 4321 done here');
  });

  test('SIGINT (Ctrl-C in a pipe) closes with 1000 and exits 0: the server sees 1000, not 1006', async () => {
    const server = await echo();
    const run = cli(['connect', server.url]);
    await run.waitFor('dead');
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    await server.closed();
    expect(server.closes).toEqual([[1000, '']]);
  });
});

describe('request options', () => {
  test('--origin, --auth and -H reach the handshake', async () => {
    const server = await echo();
    const run = cli(['connect', server.url, '--origin', 'https://example.test', '--auth', 'alice:s3cret', '-H', 'X-Two: 2', '-s', 'chat', '-w', '0']);
    expect(await run.exit).toBe(0);
    expect(server.heads[0]!.origin).toBe('https://example.test');
    expect(server.heads[0]!.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    expect(server.heads[0]!['x-two']).toBe('2');
    expect(server.heads[0]!['sec-websocket-protocol']).toBe('chat');
  });

  test('--follow-redirects follows a 302; without it the 302 fails the handshake; --max-redirects 0 stops it', async () => {
    const target = await echo();
    const http = createHttpServer((_req, res) => {
      res.writeHead(302, { Location: `${target.url}/moved` });
      res.end();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/old`;
    const plain = cli(['connect', url]);
    const limited = cli(['connect', url, '--max-redirects', '0']);
    const followed = cli(['connect', url, '-L', '-w', '0']);
    expect(await plain.exit).toBe(1);
    expect(plain.stderr()).toContain('rfc6455 connect: Unexpected server response: 302');
    expect(await limited.exit).toBe(1);
    expect(limited.stderr()).toContain('rfc6455 connect: Maximum redirects exceeded');
    expect(await followed.exit).toBe(0);
    expect(followed.stderr()).toContain(`connected to ${target.url}/moved`);
  });

  test('--proxy: the connection goes through the proxy\'s CONNECT tunnel', async () => {
    const server = await echo();
    const requests: string[] = [];
    // A real (minimal) CONNECT proxy: reads the request head, dials the target, then relays bytes.
    const proxy = createNetServer((client: Socket) => {
      readHead(client, (head, rest) => {
        requests.push(head.slice(0, head.indexOf('\r\n')));
        const [host, port] = head.split(' ')[1]!.split(':');
        const upstream = netConnect(Number(port), host, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (rest.length > 0) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const run = cli(['connect', server.url, '--proxy', `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, '-x', 'via proxy', '-w', '0']);
    expect(await run.exit).toBe(0);
    expect(requests).toEqual([`CONNECT 127.0.0.1:${server.port} HTTP/1.1`]);
    expect(server.received).toEqual(['via proxy']);
  });

  test('--ca trusts a certificate; --cert and --key present a client certificate the server checks', async () => {
    const authorized: boolean[] = [];
    const { port, close } = await tlsWsServer(
      (socket, request) => {
        authorized.push((request.socket as import('node:tls').TLSSocket).authorized);
        socket.close(1000);
      },
      { ca: testCert, requestCert: true, rejectUnauthorized: false },
    );
    cleanups.push(close);
    const url = `wss://localhost:${port}`;
    const anonymous = cli(['connect', url, '--ca', certFile]);
    expect(await anonymous.exit).toBe(0);
    const identified = cli(['connect', url, '--ca', certFile, '--cert', certFile, '--key', keyFile]);
    expect(await identified.exit).toBe(0);
    expect(authorized).toEqual([false, true]);
  });
});
