// examples/prometheus-metrics.mjs runs (from the TypeScript sources, see dist-to-src.mjs) and its scrape
// holds the server's counters after real traffic: a connection, messages, a refused handshake, a limit trip.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { rawRequest, upgradeRequest } from './server-helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcessWithoutNullStreams | null = null;
afterEach(async () => {
  if (child !== null && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = null;
});

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the Prometheus example serves the counters in the text format', async () => {
  child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/api/dist-to-src.mjs', 'examples/prometheus-metrics.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (out += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    child!.stdout.on('data', (chunk: string) => {
      out += chunk;
      const match = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child!.on('exit', (code) => reject(new Error(`the example exited (${code}): ${out}`)));
  });

  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, 'open');
  for (let i = 0; i < 3; i++) {
    ws.send(`hello ${i}`);
    await once(ws, 'message');
  }
  // A refused handshake (no Sec-WebSocket-Key) and a peer over maxPayload (1 MiB).
  expect((await rawRequest(port, upgradeRequest('/', [], ['Sec-WebSocket-Key']))).status).toBe(400);
  const big = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(big, 'open');
  const bigClosed = new Promise<number>((resolve) => big.on('close', (code: number) => resolve(code)));
  big.on('error', () => undefined);
  big.send(Buffer.alloc(1024 * 1024 + 1));
  expect(await bigClosed).toBe(1009);

  const scrape = await get(port, '/metrics');
  expect(scrape.status).toBe(200);
  expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
  const lines = scrape.body.split('\n');
  expect(lines).toContain('# TYPE rfc6455_connections gauge');
  expect(lines).toContain('rfc6455_connections 1');
  expect(lines).toContain('rfc6455_handshakes_accepted_total 2');
  expect(lines).toContain('rfc6455_handshakes_rejected_total{reason="invalid"} 1');
  expect(lines).toContain('rfc6455_handshakes_rejected_total{reason="maxConnections"} 0');
  expect(lines).toContain('rfc6455_messages_total{direction="in"} 3');
  expect(lines).toContain('rfc6455_messages_total{direction="out"} 3');
  expect(lines).toContain('rfc6455_payload_bytes_total{direction="in"} 21');
  expect(lines).toContain('rfc6455_limit_trips_total{limit="maxPayload"} 1');
  expect(lines).toContain('rfc6455_socket_errors_total{code="WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"} 1');
  expect(lines).toContain('rfc6455_backpressure_drops_total 0');
  const wireIn = Number(lines.find((line) => line.startsWith('rfc6455_wire_bytes_total{direction="in"}'))?.split(' ')[1]);
  expect(wireIn).toBeGreaterThan(1024 * 1024);
  // The process's default metrics are there too.
  expect(scrape.body).toContain('process_cpu_user_seconds_total');
  expect((await get(port, '/elsewhere')).status).toBe(404);

  ws.close(1000);
  await once(ws, 'close');
  // SIGTERM: the example shuts down and exits.
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
});
