// `npm run start:cluster`: the chat on two servers that share their rooms through Redis, with history,
// spoken over the rfc6455.pubsub.v1 subprotocol. This process starts a throwaway redis-server (Debian's
// binary, on a free loopback port, no persistence) and two chat servers (child processes of this
// script, on PORT and PORT2, 127.0.0.1). Each page uses the client module (client/pubsub-client.mjs,
// served at /pubsub-client.mjs) and knows both servers: kill one server and its tabs move to the
// other, where the messages they missed meanwhile are replayed and shown marked "recovered".
// PORT=0 picks free ports. Ctrl-C stops the servers and Redis.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, Socket } from 'node:net';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const HOST = '127.0.0.1';

if (process.argv[2] === '--node') await runNode();
else await runPrimary();

/** One chat server: http (the page, the client module) and the subprotocol on /pubsub. */
async function runNode() {
  let rfc6455, redis, ioredis;
  try {
    rfc6455 = await import('../dist/esm/index.js');
    redis = await import('../dist/esm/redis/index.js');
    ioredis = await import('ioredis');
  } catch (error) {
    console.error(`cannot load the library from dist/ or ioredis (${error.code ?? error.message}): run \`npm install && npm run build\` first`);
    process.exit(1);
  }
  const { WebSocketServer, PubSubBroker, servePubSub } = rfc6455;
  const port = Number(process.env.NODE_PORT);
  const urls = [`ws://${HOST}:${port}/pubsub`, process.env.PEER_URL];
  const clientModule = readFileSync(new URL('../client/pubsub-client.mjs', import.meta.url));

  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://host').pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page(urls, port));
    } else if (req.method === 'GET' && path === '/pubsub-client.mjs') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(clientModule);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });

  const client = new ioredis.Redis({ host: HOST, port: Number(process.env.REDIS_PORT), retryStrategy: () => 200 });
  client.on('error', () => {});
  // Rooms keep their last 1000 messages for an hour: a client that comes back gets what it missed.
  const broker = new PubSubBroker(new redis.RedisBroker({ client, history: [{ prefix: 'room:', size: 1000, ttl: 3600 }] }));
  const wss = new WebSocketServer({ server, path: '/pubsub', maxPayload: 64 * 1024, broker });
  wss.on('error', () => {});
  servePubSub(wss, {
    // Rooms only: 'room:<name>', short names.
    authorize: (ws, topic) => topic.startsWith('room:') && topic.length <= 64,
  });
  server.on('error', (error) => {
    console.error(`cannot start the chat on port ${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, HOST, () => console.log(`node pid ${process.pid} listening on http://${HOST}:${port}/`));
  // The primary's IPC channel closes when it exits, however it exits: so does this server.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => {}); // Ctrl-C reaches every process of the group: the primary decides.
  process.once('SIGTERM', async () => {
    await wss.shutdown({ code: 1001, reason: 'server shutting down', timeout: 1000 });
    process.exit(0);
  });
}

async function runPrimary() {
  const first = Number(process.env.PORT ?? 8080);
  const ports = first === 0 ? [await freePort(), await freePort()] : [first, Number(process.env.PORT2 ?? first + 1)];
  const redisPort = await freePort();
  const children = [];
  const stopAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', stopAll);

  const redisServer = spawn(REDIS_SERVER, ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redisServer);
  redisServer.on('error', (error) => {
    console.error(`cannot start ${REDIS_SERVER} (${error.message}): apt-get install redis-server, or set REDIS_SERVER`);
    process.exit(1);
  });
  for (let attempt = 0; !(await accepts(redisPort)); attempt++) {
    if (attempt > 500 || redisServer.exitCode !== null) {
      console.error(`redis-server did not start on port ${redisPort}`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(`redis-server pid ${redisServer.pid} on port ${redisPort}`);

  const script = new URL(import.meta.url).pathname;
  const nodes = ports.map((port, i) => {
    const peer = `ws://${HOST}:${ports[1 - i]}/pubsub`;
    const child = fork(script, ['--node'], { env: { ...process.env, NODE_PORT: String(port), PEER_URL: peer, REDIS_PORT: String(redisPort) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    children.push(child);
    child.stdout.pipe(process.stdout);
    child.on('exit', (code, signal) => console.log(`node pid ${child.pid} (port ${port}) exited (${signal ?? code}): its tabs move to the other server`));
    return new Promise((resolve) => child.stdout.on('data', (chunk) => String(chunk).includes('listening on') && resolve()));
  });
  await Promise.all(nodes);
  console.log(`rfc6455 cluster chat on http://${HOST}:${ports[0]}/ and http://${HOST}:${ports[1]}/ (Ctrl-C to stop)`);

  const onSignal = async (signal) => {
    console.log(`\n${signal}: stopping the servers and redis-server`);
    stopAll();
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : null)));
    process.exit(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, HOST);
  });
}

function page(urls, port) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rfc6455 cluster chat (:${port})</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: .5rem; height: 60vh; overflow-y: auto; border: 1px solid #ccc; border-radius: 4px; }
  #log li.notice { color: #777; font-style: italic; }
  #log li.recovered small { color: #a60; margin-left: .4em; }
  #log b { margin-right: .4em; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #text { flex: 1; }
  #status { color: #777; }
</style>
</head>
<body>
<h1>rfc6455 cluster chat <small id="status">connecting…</small></h1>
<ul id="log"></ul>
<form id="form" autocomplete="off">
  <input id="name" placeholder="name" size="10" required>
  <input id="text" placeholder="message" required>
  <button>Send</button>
</form>
<script type="module">
  import { PubSubClient } from '/pubsub-client.mjs';

  // This server first, then the other one: after a disconnection the client tries the next in turn.
  const urls = ${JSON.stringify(urls)};
  const params = new URLSearchParams(location.search);
  const room = 'room:' + (params.get('room') || 'lobby');
  const log = document.getElementById('log');
  const status = document.getElementById('status');
  const name = document.getElementById('name');
  const text = document.getElementById('text');
  name.value = 'guest' + Math.floor(Math.random() * 1000);

  function show(who, what, recovered) {
    const item = document.createElement('li');
    if (who === null) item.className = 'notice';
    else {
      const b = document.createElement('b');
      b.textContent = who + ':';
      item.append(b);
    }
    item.append(document.createTextNode(what));
    if (recovered) {
      item.classList.add('recovered');
      const mark = document.createElement('small');
      mark.textContent = '(recovered)';
      item.append(mark);
    }
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  // ?minDelay=ms sets the first reconnection delay (the browser test slows it down).
  const client = new PubSubClient(urls, { minDelay: Number(params.get('minDelay')) || 250, maxDelay: 5000 });
  client.subscribe(room, (data, meta) => {
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (typeof message?.name === 'string' && typeof message?.text === 'string') show(message.name, message.text, meta.replayed);
  });
  client.on('open', (url) => {
    status.textContent = 'connected to ' + new URL(url).host;
  });
  client.on('state', (state) => {
    if (state !== 'open') status.textContent = state + '…';
  });
  client.on('recovered', ({ replayed }) => show(null, 'back on ' + new URL(client.url).host + ': ' + replayed + ' missed message(s) recovered'));
  client.on('gap', () => show(null, 'some messages could not be recovered'));
  client.on('error', (error) => show(null, 'error: ' + error.message));
  document.getElementById('form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!client.publish(room, JSON.stringify({ name: name.value, text: text.value }))) show(null, 'not sent: too many messages waiting');
    text.value = '';
    text.focus();
  });
  globalThis.chat = client;
</script>
</body>
</html>
`;
}
