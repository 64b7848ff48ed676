// Hostile clients against the opening handshake of our standalone server, over real loopback
// sockets: stalled requests, a request dribbled byte by byte, oversized and invalid heads, and a
// burst of concurrent handshakes. The attacking side is raw node:net; no WebSocket library.
// Every wait polls for a condition with a generous bound; nothing asserts how fast anything is.
import { afterEach, describe, expect, test } from 'vitest';
import {
  Cleanups,
  OP_TEXT,
  RawClient,
  clientFrame,
  closeFrame,
  closeServer,
  echoServer,
  echoWithOurClient,
  nextTurn,
  upgradeRequest,
  waitFor,
} from './helpers.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** Send `request` on a new connection; wait for the server to answer and close the connection. */
async function refused(port: number, request: string | Buffer): Promise<RawClient> {
  const client = new RawClient(port, cleanups);
  client.write(request);
  await client.waitClosed();
  return client;
}

/** The response head of a refusal, with the checks every refusal shares (status, Connection: close). */
function refusalHead(client: RawClient): { status: number; headers: Map<string, string[]>; body: string } {
  expect(client.head, `a response before the close; got ${JSON.stringify(client.received.toString('latin1').slice(0, 200))}`).not.toBeNull();
  const head = client.head!;
  expect(head.headers.get('connection')?.[0]?.toLowerCase()).toMatch(/(^|, *)close$/);
  // The body is exactly Content-Length bytes, then the server closed the connection.
  expect(client.body.length).toBe(Number(head.headers.get('content-length')?.[0]));
  expect(client.closed).toBe(true);
  return { status: head.status, headers: head.headers, body: client.body.toString('utf8') };
}

describe('stalled handshakes', () => {
  test('500 half-sent handshakes are closed by handshakeTimeout; a real client is served meanwhile', async () => {
    const { server, port } = await echoServer(cleanups, { handshakeTimeout: 1000, backlog: 1024 });
    const stalled: RawClient[] = [];
    for (let i = 0; i < 500; i++) {
      const client = new RawClient(port, cleanups);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n');
      stalled.push(client);
    }
    await waitFor(() => stalled.every((c) => c.connected || c.closed), '500 TCP connections');
    expect(stalled.every((c) => c.connected)).toBe(true);

    // A real client is not held up by the stalled ones (how many of them are still open at this
    // point depends on the machine's speed, so it is not asserted).
    expect(await echoWithOurClient(port, 'served while others stall')).toBe('served while others stall');

    // The server ends every stalled connection itself (we never close them); none was upgraded.
    await waitFor(() => stalled.every((c) => c.closed), 'the server to close all 500 stalled connections', 20_000);
    for (const client of stalled) expect(client.head?.status).not.toBe(101);
    expect(server.clients.size).toBe(0);
    // Standalone mode: 'close' comes only once the listener's last connection is gone.
    await closeServer(server);
  }, 60_000);

  test('a handshake sent one byte per write succeeds, then echoes', async () => {
    const { port } = await echoServer(cleanups);
    const client = new RawClient(port, cleanups);
    await client.waitConnected();
    const request = Buffer.from(upgradeRequest());
    for (let i = 0; i < request.length; i++) {
      client.write(request.subarray(i, i + 1));
      await nextTurn();
    }
    const head = await client.waitHead();
    expect(head.status).toBe(101);
    client.write(clientFrame(OP_TEXT, 'after a slow handshake'));
    await client.waitFrames(1);
    expect(client.frames[0]!.opcode).toBe(OP_TEXT);
    expect(client.frames[0]!.masked).toBe(false);
    expect(client.frames[0]!.payload.toString()).toBe('after a slow handshake');
    client.write(closeFrame(1000));
    await client.waitClosed();
    expect(client.closeCode()).toBe(1000);
  });
});

describe('oversized and invalid heads', () => {
  // src/handshake/head-parser.ts: DEFAULT_HEAD_LIMITS = 100 header fields, 8192 bytes per line,
  // 16384 bytes of head; too many fields / a long header line / a big head -> 431, a long request line -> 414.

  test('3000 header lines -> 431 and the connection closed', async () => {
    const { port } = await echoServer(cleanups);
    const filler = Array.from({ length: 3000 }, (_, i) => `X-Filler-${i}: ${i}`);
    const client = await refused(port, upgradeRequest({ extra: filler }));
    const { status, body } = refusalHead(client);
    expect(status).toBe(431);
    expect(body).toBe('too many header fields');
  });

  test('a 100 KiB header value -> 431 and the connection closed', async () => {
    const { port } = await echoServer(cleanups);
    const client = await refused(port, upgradeRequest({ extra: [`X-Big: ${'a'.repeat(100 * 1024)}`] }));
    const { status, body } = refusalHead(client);
    expect(status).toBe(431);
    expect(body).toBe('a header field line is too long');
  });

  test('a head over 16384 bytes made of short lines -> 431', async () => {
    const { port } = await echoServer(cleanups);
    const filler = Array.from({ length: 50 }, (_, i) => `X-Filler-${i}: ${'b'.repeat(400)}`);
    const client = await refused(port, upgradeRequest({ extra: filler }));
    const { status, body } = refusalHead(client);
    expect(status).toBe(431);
    expect(body).toBe('the HTTP head is too large');
  });

  test('a request line longer than 8192 bytes -> 414', async () => {
    const { port } = await echoServer(cleanups);
    const client = await refused(port, upgradeRequest({ path: `/${'p'.repeat(9000)}` }));
    const { status } = refusalHead(client);
    expect(status).toBe(414);
  });

  test('invalid handshakes get their status and a closed socket; the server still serves afterwards', async () => {
    const { server, port } = await echoServer(cleanups);
    const cases: Array<{ name: string; request: string; status: number; check?: (headers: Map<string, string[]>) => void }> = [
      { name: 'missing Sec-WebSocket-Key', request: upgradeRequest({ drop: ['Sec-WebSocket-Key'] }), status: 400 },
      { name: 'invalid Sec-WebSocket-Key', request: upgradeRequest({ drop: ['Sec-WebSocket-Key'], extra: ['Sec-WebSocket-Key: short'] }), status: 400 },
      {
        name: 'Sec-WebSocket-Version 7',
        request: upgradeRequest({ drop: ['Sec-WebSocket-Version'], extra: ['Sec-WebSocket-Version: 7'] }),
        status: 400,
        check: (headers) => expect(headers.get('sec-websocket-version')).toEqual(['13, 8']),
      },
      {
        name: 'missing Sec-WebSocket-Version',
        request: upgradeRequest({ drop: ['Sec-WebSocket-Version'] }),
        status: 400,
        check: (headers) => expect(headers.get('sec-websocket-version')).toEqual(['13, 8']),
      },
      {
        name: 'POST',
        request: upgradeRequest({ method: 'POST' }),
        status: 405,
        check: (headers) => expect(headers.get('allow')).toEqual(['GET']),
      },
      {
        name: 'plain HTTP GET (no Upgrade)',
        request: upgradeRequest({ drop: ['Upgrade'] }),
        status: 426,
        check: (headers) => expect(headers.get('upgrade')).toEqual(['websocket']),
      },
      { name: 'missing Host', request: upgradeRequest({ drop: ['Host'] }), status: 400 },
      // Not an upgrade for node:http either: a plain request to a WebSocket-only endpoint.
      { name: 'Connection without upgrade', request: upgradeRequest({ drop: ['Connection'], extra: ['Connection: keep-alive'] }), status: 426 },
      { name: 'HTTP/1.0', request: upgradeRequest().replace('HTTP/1.1', 'HTTP/1.0'), status: 505 },
      { name: 'bare LF line endings', request: upgradeRequest().replace(/\r\n/g, '\n'), status: 400 },
      { name: 'a NUL in a header value', request: upgradeRequest({ extra: ['X-Nul: a\0b'] }), status: 400 },
      { name: 'Transfer-Encoding (smuggling)', request: upgradeRequest({ extra: ['Transfer-Encoding: chunked'] }), status: 400 },
      { name: 'garbage', request: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', status: 400 },
    ];
    for (const c of cases) {
      const client = await refused(port, c.request);
      const { status, headers } = refusalHead(client);
      expect(status, c.name).toBe(c.status);
      c.check?.(headers);
    }
    expect(server.clients.size).toBe(0);
    expect(await echoWithOurClient(port, 'still serving')).toBe('still serving');
  });
});

describe('many concurrent handshakes', () => {
  test('1000 concurrent raw handshakes each get a 101 and an echo; clients.size returns to 0', async () => {
    const COUNT = 1000;
    const { server, port } = await echoServer(cleanups, { backlog: 2048 });
    const clients: RawClient[] = [];
    for (let i = 0; i < COUNT; i++) {
      const client = new RawClient(port, cleanups);
      client.write(upgradeRequest());
      clients.push(client);
    }
    await waitFor(() => clients.every((c) => c.head !== null || c.closed), `${COUNT} handshake responses`, 30_000);
    for (const client of clients) expect(client.head?.status).toBe(101);
    await waitFor(() => server.clients.size === COUNT, `${COUNT} server-side sockets`);

    clients.forEach((client, i) => client.write(clientFrame(OP_TEXT, `message ${i}`)));
    await waitFor(() => clients.every((c) => c.frames.length >= 1 || c.closed), `${COUNT} echoes`, 30_000);
    clients.forEach((client, i) => {
      expect(client.frames[0]!.opcode).toBe(OP_TEXT);
      expect(client.frames[0]!.payload.toString()).toBe(`message ${i}`);
    });

    for (const client of clients) client.write(closeFrame(1000));
    await waitFor(() => clients.every((c) => c.closed), `the server to close ${COUNT} connections`, 30_000);
    for (const client of clients) expect(client.closeCode()).toBe(1000);
    await waitFor(() => server.clients.size === 0, 'clients.size to return to 0');
    await closeServer(server);
  }, 90_000);
});
