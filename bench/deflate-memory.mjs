// Server memory per idle connection, with and without permessage-deflate.
//
//   bash -c 'ulimit -n 20000; node bench/deflate-memory.mjs [connections] [mode...]'
//
// For each mode (below) a fresh server child (our library from src/, through tsx) and a client
// child (the `ws` package) run; the parent reads the server's VmRSS from /proc/<pid>/status:
//   base   after listening, no connection
//   idle   after N connections completed the handshake and stay idle
//   used   after one 16 KiB message each way on every connection (client -> server, echoed back),
//          with context takeover (mode deflate: both zlib contexts stay alive) and without it (mode
//          deflate-no-context-takeover: the server releases its zlib state after each message)
// and reports (idle - base) / N and (used - base) / N in KiB. The server runs with --expose-gc and
// collects garbage before every sample. Every phase has a deadline; the whole run is bounded.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const self = fileURLToPath(import.meta.url);
const role = process.argv[2];

const PHASE_TIMEOUT_MS = 300_000;
const MESSAGE_BYTES = 16 * 1024;

/** A 16 KiB text message that compresses like typical JSON (repetitive keys, varying values). */
function message(seed) {
  let s = '';
  for (let i = 0; s.length < MESSAGE_BYTES; i++) {
    s += `{"id":${seed * 1000 + i},"name":"user-${(seed * 7919 + i * 104729) % 100000}","active":${i % 3 === 0},"score":${(i * 37) % 1000}},`;
  }
  return s.slice(0, MESSAGE_BYTES);
}

if (role === 'server') {
  // ---- server child: our library, echo ------------------------------------------------------------
  const { WebSocketServer } = await import('../src/index.ts');
  const mode = process.argv[3];
  const perMessageDeflate =
    mode === 'plain' ? false : mode === 'deflate' ? true : { serverNoContextTakeover: true, clientNoContextTakeover: true };
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate, backlog: 4096 });
  await once(server, 'listening');
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  process.on('message', (m) => {
    if (m === 'gc') {
      for (let i = 0; i < 3; i++) globalThis.gc();
      setTimeout(() => process.send({ gc: true, clients: server.clients.size }), 200);
    } else if (m === 'exit') {
      process.exit(0);
    }
  });
  process.send({ port: server.address().port });
} else if (role === 'client') {
  // ---- client child: `ws`, N connections ----------------------------------------------------------
  const { WebSocket } = await import('ws');
  const port = Number(process.argv[3]);
  const deflate = process.argv[4] !== 'plain';
  const count = Number(process.argv[5]);
  const sockets = [];
  let opened = 0;
  let failed = 0;
  const PARALLEL = 200;
  await new Promise((resolve) => {
    let started = 0;
    const next = () => {
      if (started >= count) return;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
      started++;
      sockets.push(ws);
      ws.on('open', () => {
        opened++;
        if (opened + failed === count) resolve();
        else next();
      });
      ws.on('error', () => {
        failed++;
        if (opened + failed === count) resolve();
        else next();
      });
    };
    for (let i = 0; i < PARALLEL; i++) next();
  });
  const extensions = sockets[0]?.extensions ?? '';
  process.send({ opened, failed, extensions });
  process.on('message', async (m) => {
    if (m === 'send') {
      let echoed = 0;
      let sent = 0;
      const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN);
      const progress = setInterval(() => {
        const closed = sockets.filter((ws) => ws.readyState !== WebSocket.OPEN).length;
        console.error(`client: ${sent} sent, ${echoed} echoed of ${open.length}, ${closed} closed`);
      }, 10_000);
      progress.unref();
      await new Promise((resolve) => {
        let i = 0;
        const WINDOW = 500;
        const sendNext = () => {
          if (i >= open.length) return;
          const ws = open[i];
          const text = message(i++);
          ws.once('message', (data) => {
            if (data.length !== MESSAGE_BYTES) throw new Error(`echo of ${data.length} bytes`);
            echoed++;
            if (echoed === open.length) resolve();
            else sendNext();
          });
          ws.send(text);
          sent++;
        };
        for (let k = 0; k < WINDOW; k++) sendNext();
      });
      clearInterval(progress);
      process.send({ echoed });
    } else if (m === 'exit') {
      process.exit(0);
    }
  });
} else {
  // ---- parent -------------------------------------------------------------------------------------
  const N = Number(process.argv[2] ?? 10_000);
  const MODES = ['plain', 'deflate', 'deflate-no-context-takeover'];
  const modes = process.argv.length > 3 ? process.argv.slice(3) : MODES;
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}; modes: ${MODES.join(', ')}`);

  function vmRssKiB(pid) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
  }

  function next(child, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), PHASE_TIMEOUT_MS);
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${what}: child exited with ${code}`));
      });
    });
  }

  async function sample(server) {
    server.send('gc');
    const m = await next(server, 'gc');
    return { rss: vmRssKiB(server.pid), clients: m.clients };
  }

  async function run(mode) {
    const server = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, 'server', mode], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let client;
    try {
      const { port } = await next(server, 'server listening');
      const base = await sample(server);
      client = spawn(process.execPath, [self, 'client', String(port), mode, String(N)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const opened = await next(client, 'connections');
      if (opened.failed > 0) console.error(`${mode}: ${opened.failed} connections failed`);
      const idle = await sample(server);
      client.send('send');
      const echoed = await next(client, 'messages');
      const used = await sample(server);
      const n = idle.clients;
      const row = {
        mode,
        connections: n,
        extensions: opened.extensions || '(none)',
        echoed: echoed.echoed,
        baseMiB: +(base.rss / 1024).toFixed(1),
        idleKiBPerConn: +((idle.rss - base.rss) / n).toFixed(1),
        afterMessageKiBPerConn: +((used.rss - base.rss) / n).toFixed(1),
      };
      return row;
    } finally {
      client?.kill();
      server.kill();
    }
  }

  const deadline = setTimeout(() => {
    console.error('deflate-memory: overall time limit reached');
    process.exit(2);
  }, 4 * modes.length * PHASE_TIMEOUT_MS);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${new Date().toISOString()}`);
  const rows = [];
  for (const mode of modes) rows.push(await run(mode));
  console.table(rows);
  clearTimeout(deadline);
}
