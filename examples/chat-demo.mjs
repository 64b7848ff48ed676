// `npm start`: a one-page chat with rooms. node:http serves the page; the rfc6455 WebSocketServer,
// attached to the same http server, subscribes each client to its room's topic and publishes every
// message to it. `npm start -- --workers 2` runs it in 2 worker processes on the one port: the topics
// span them (runWorkers + ClusterBroker), so two clients served by different workers chat as one.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

let rfc6455;
try {
  rfc6455 = await import('../dist/esm/index.js');
} catch (error) {
  console.error(`cannot load the library from dist/ (${error.code ?? error.message}): run \`npm run build\` first`);
  process.exit(1);
}
const { WebSocketServer, runWorkers } = rfc6455;

const port = Number(process.env.PORT ?? 8080);
const { values } = parseArgs({ options: { workers: { type: 'string' } } });
const workers = values.workers === undefined ? 0 : Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) {
  console.error(`--workers takes a positive integer, not ${values.workers}`);
  process.exit(2);
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rfc6455 chat</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: .5rem; height: 60vh; overflow-y: auto; border: 1px solid #ccc; border-radius: 4px; }
  #log li.notice { color: #777; font-style: italic; }
  #log b { margin-right: .4em; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #text { flex: 1; }
  #status { color: #777; }
</style>
</head>
<body>
<h1>rfc6455 chat <small id="status">connecting…</small></h1>
<ul id="log"></ul>
<form id="join" autocomplete="off">
  <input id="room" placeholder="room" size="10" required value="lobby">
  <button>Join</button>
</form>
<form id="form" autocomplete="off">
  <input id="name" placeholder="name" size="10" required>
  <input id="text" placeholder="message" required>
  <button disabled>Send</button>
</form>
<script>
  const log = document.getElementById('log');
  const form = document.getElementById('form');
  const join = document.getElementById('join');
  const room = document.getElementById('room');
  const name = document.getElementById('name');
  const text = document.getElementById('text');
  const status = document.getElementById('status');
  name.value = 'guest' + Math.floor(Math.random() * 1000);

  function show(who, what) {
    const item = document.createElement('li');
    if (who === null) {
      item.className = 'notice';
    } else {
      const b = document.createElement('b');
      b.textContent = who + ':';
      item.append(b);
    }
    item.append(document.createTextNode(what));
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ join: room.value }));
    status.textContent = 'connected';
    form.querySelector('button').disabled = false;
  });
  socket.addEventListener('message', (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (typeof message.notice === 'string') show(null, message.notice);
    else if (typeof message.name === 'string' && typeof message.text === 'string') show(message.name, message.text);
  });
  socket.addEventListener('close', (event) => {
    status.textContent = 'disconnected (' + event.code + ')';
    form.querySelector('button').disabled = true;
  });
  join.addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ join: room.value }));
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    socket.send(JSON.stringify({ name: name.value, text: text.value }));
    text.value = '';
    text.focus();
  });
</script>
</body>
</html>
`;

/** One chat server (in this process, or in one worker): `broker` carries the rooms across workers. */
function startChat({ broker, reusePort, onListening, onError }) {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });

  // Chat messages are small: refuse anything over 64 KiB (the connection is closed with 1009). A reader
  // that falls 1 MiB behind its room is closed with 1008 instead of growing the server's memory, and a
  // peer that stays silent through a ping is dropped after 30 s + 10 s.
  const wss = new WebSocketServer({
    server,
    path: '/chat',
    maxPayload: 64 * 1024,
    maxBufferedAmount: 1024 * 1024,
    heartbeat: { interval: 30_000, timeout: 10_000 },
    broker,
  });

  // A room is a topic, 'room:<name>'. {join} moves the client to a room; {name, text} goes to everyone
  // in it (the sender too), as is: the page only displays well-formed messages, as text.
  wss.on('connection', (ws, req) => {
    const who = req.socket.remoteAddress;
    let topic = null;
    ws.on('message', (data, isBinary) => {
      let message;
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof message?.join === 'string' && message.join.length > 0 && message.join.length <= 64) {
        if (topic !== null) {
          ws.unsubscribe(topic);
          wss.publish(topic, JSON.stringify({ notice: 'someone left' }));
        }
        topic = `room:${message.join}`;
        wss.publish(topic, JSON.stringify({ notice: `someone joined from ${who}` }));
        ws.subscribe(topic);
        ws.send(JSON.stringify({ notice: `you are in #${message.join} (server pid ${process.pid})` }));
      } else if (topic !== null) {
        wss.publish(topic, data, { binary: isBinary });
      }
    });
    ws.on('close', () => {
      if (topic !== null) wss.publish(topic, JSON.stringify({ notice: 'someone left' }));
    });
  });

  server.on('error', onError);
  // The WebSocketServer forwards the http server's errors too; the handler above deals with them.
  wss.on('error', () => {});
  server.listen({ port, reusePort, exclusive: reusePort }, () => onListening(server.address().port));

  return async () => {
    server.closeIdleConnections();
    // Every client gets a 1001 close frame and 2 s to answer; the rest are cut off.
    await wss.shutdown({ code: 1001, reason: 'server shutting down', timeout: 2000 });
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
}

const ready = (listening) => `rfc6455 chat on http://localhost:${listening}/ (open it in two browser tabs; Ctrl-C to stop)`;
const cannotStart = (error) => `cannot start the chat: ${error.message} (set PORT to use another port)`;

if (workers === 0) {
  const stop = startChat({
    broker: undefined,
    reusePort: false,
    onListening: (listening) => console.log(ready(listening)),
    onError: (error) => {
      console.error(cannotStart(error));
      process.exit(1);
    },
  });
  const onSignal = async (signal) => {
    console.log(`\n${signal}: shutting down`);
    await stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
} else {
  // In the primary: fork the workers (they run this script), say when all listen, stop them on a signal.
  // In a worker: run the chat with the ClusterBroker; the primary stops it with SIGTERM.
  const pool = runWorkers({
    workers,
    setup({ broker, reusePort }) {
      const stop = startChat({
        broker,
        // SO_REUSEPORT where Node has it (on a fixed port); else the primary hands out the connections.
        reusePort: reusePort && port !== 0,
        onListening: (listening) => process.send({ chat: 'listening', port: listening, pid: process.pid }),
        onError: (error) => {
          process.send({ chat: 'failed', message: cannotStart(error) });
          process.exit(1);
        },
      });
      process.on('SIGINT', () => {}); // Ctrl-C reaches every process of the group: the primary decides
      process.once('SIGTERM', () => stop());
    },
  });
  if (pool !== null) {
    const listening = new Set();
    cluster.on('message', (worker, message) => {
      if (message?.chat === 'listening') {
        console.log(`worker ${message.pid} listening`);
        listening.add(worker);
        if (listening.size === workers) console.log(`${ready(message.port)} [${workers} workers]`);
      } else if (message?.chat === 'failed') {
        console.error(message.message);
        pool.close().then(() => process.exit(1));
      }
    });
    const onSignal = async (signal) => {
      console.log(`\n${signal}: shutting down ${workers} worker(s)`);
      await pool.close();
      process.exit(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
}
