// `npm start`: a one-page chat with rooms. node:http serves the page; the rfc6455 WebSocketServer,
// attached to the same http server, subscribes each client to its room's topic and publishes every
// message to it; its 'subscription' events give the number of people online in each room. The page
// tells its own messages from the others', explains close codes, and reconnects by itself (exponential
// backoff with jitter) keeping its name and room, e.g. across a restart of this server.
// `npm start -- --workers 2` runs it in 2 worker processes on the one port: the topics span them
// (runWorkers + ClusterBroker), so two clients served by different workers chat as one.
// HOST (default 127.0.0.1) and PORT (default 8080; 0 picks a free one) choose where it listens.
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

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT takes a port number (0 for any free one), not ${process.env.PORT}`);
  process.exit(2);
}
const { values } = parseArgs({ options: { workers: { type: 'string' } } });
const workers = values.workers === undefined ? 0 : Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) {
  console.error(`--workers takes a positive integer, not ${values.workers}`);
  process.exit(2);
}

// Chat messages are small: the server refuses anything over 64 KiB (the connection is closed with 1009).
// The page learns the limit from its welcome and checks the size before sending.
const maxPayload = 64 * 1024;

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rfc6455 chat</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
  h1 { margin: 0; font-size: 1.4rem; }
  #status::before { content: '●'; margin-right: .3em; }
  #status[data-state="connected"] { color: #1a7f37; }
  #status[data-state="connecting"], #status[data-state="reconnecting"] { color: #b35900; }
  #online { color: #555; }
  #log { list-style: none; padding: .5rem; height: 60vh; overflow-y: auto; border: 1px solid #ccc; border-radius: 4px; }
  #log li { margin: .3rem 0; max-width: 80%; clear: both; }
  #log li.msg { padding: .3rem .6rem; border-radius: 8px; background: #eef1f5; float: left; }
  #log li.msg.own { background: #d6ecff; float: right; text-align: right; }
  #log li.notice { color: #777; font-style: italic; font-size: .9em; max-width: none; }
  #log li.problem { color: #b00020; font-style: normal; }
  #log time { color: #888; font-size: .8em; margin-right: .5em; }
  #log .who { font-weight: bold; margin-right: .4em; }
  #log .text { white-space: pre-wrap; overflow-wrap: anywhere; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #text { flex: 1; }
</style>
</head>
<body>
<header>
  <h1>rfc6455 chat</h1>
  <span id="status" data-state="connecting">connecting…</span>
  <span id="online"></span>
</header>
<ul id="log"></ul>
<form id="join" autocomplete="off">
  <input id="room" placeholder="room" size="10" required maxlength="64" value="lobby">
  <button>Join</button>
</form>
<form id="form" autocomplete="off">
  <input id="name" placeholder="name" size="10" required maxlength="32">
  <input id="text" placeholder="message" required>
  <button disabled>Send</button>
</form>
<script>
  const $ = (id) => document.getElementById(id);
  const log = $('log'), form = $('form'), join = $('join'), room = $('room'), name = $('name');
  const text = $('text'), status = $('status'), online = $('online'), send = form.querySelector('button');
  // ?name=...&room=... fill the form in (handy for links and tests); the defaults are a guest in the lobby.
  const params = new URLSearchParams(location.search);
  name.value = params.get('name') || 'guest' + Math.floor(Math.random() * 1000);
  room.value = params.get('room') || 'lobby';

  // What a close code means to the person chatting (RFC 6455 section 7.4.1; 1006 is never sent, the
  // browser reports it when the connection ended without a close frame).
  const closeReasons = {
    1000: 'the connection was closed normally',
    1001: 'the server is restarting or shutting down',
    1002: 'protocol error',
    1003: 'the server cannot take this kind of data',
    1006: 'connection lost (no close frame: the network or the server went away)',
    1007: 'the message was not valid UTF-8',
    1008: 'policy violation (e.g. this page read its messages too slowly)',
    1009: 'message too big',
    1011: 'the server hit an unexpected error',
    1012: 'the server is restarting',
    1013: 'the server is overloaded, try again later',
  };
  const describeClose = (code) => closeReasons[code] ?? 'closed with code ' + code;

  let socket = null;
  const mine = new Set();   // this page's connection ids (from the welcomes): its own messages
  let maxPayload = Infinity; // the server's limit on one message, in bytes (from the welcome)
  let onlineSeq = -1;       // the newest online count seen on this connection
  let attempt = 0;          // failed connection attempts since the last good one
  let countdown = null;

  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const kib = (bytes) => (bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1) + ' KiB';

  function setStatus(state, label) {
    status.dataset.state = state;
    status.textContent = label;
    send.disabled = state !== 'connected';
  }

  function notice(what, problem = false) {
    const item = document.createElement('li');
    item.className = problem ? 'notice problem' : 'notice';
    item.textContent = what;
    append(item);
  }

  function message({ from, name: who, text: what, at }) {
    const own = mine.has(from);
    const item = document.createElement('li');
    item.className = own ? 'msg own' : 'msg';
    const time = document.createElement('time');
    time.dateTime = new Date(at).toISOString();
    time.textContent = clock(at);
    const whoEl = document.createElement('span');
    whoEl.className = 'who';
    whoEl.textContent = own ? who + ' (you)' : who;
    const textEl = document.createElement('span');
    textEl.className = 'text';
    textEl.textContent = what; // as text: nobody's message is markup
    item.append(time, whoEl, textEl);
    append(item);
  }

  function append(item) {
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function connect() {
    setStatus(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting…' : 'reconnecting…');
    socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
    let welcomed = false;
    socket.addEventListener('open', () => {
      // The name and the room survive reconnections: they are the page's, not the connection's.
      socket.send(JSON.stringify({ join: room.value, name: name.value }));
    });
    socket.addEventListener('message', (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      if (data.welcome) {
        welcomed = true;
        attempt = 0;
        mine.add(data.welcome.id);
        maxPayload = data.welcome.maxPayload;
        onlineSeq = -1;
        setStatus('connected', 'connected');
        notice('you are in #' + data.welcome.room + ' (server pid ' + data.welcome.pid + ')');
      } else if (typeof data.online === 'number') {
        if (data.seq > onlineSeq) {
          onlineSeq = data.seq;
          online.textContent = data.online + ' online in #' + data.room;
        }
      } else if (typeof data.notice === 'string') {
        notice(data.notice);
      } else if (typeof data.name === 'string' && typeof data.text === 'string') {
        message(data);
      }
    });
    socket.addEventListener('close', (event) => {
      online.textContent = '';
      if (welcomed || attempt === 0) {
        let why = 'disconnected: ' + describeClose(event.code) + ' (' + event.code + (event.reason ? ', "' + event.reason + '"' : '') + ')';
        if (event.code === 1009) {
          why += ': the server takes messages of at most ' + kib(maxPayload) + ' and closed the connection on a bigger one';
        }
        notice(why, event.code !== 1000 && event.code !== 1001);
      }
      retry();
    });
  }

  // Exponential backoff with jitter: 0.5 s, 1 s, 2 s... up to 10 s, each a random 50-100% of that, so
  // that the pages of a restarted server do not all come back in the same instant.
  function retry() {
    const ceiling = Math.min(10_000, 500 * 2 ** attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    attempt++;
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      setStatus('reconnecting', 'reconnecting in ' + left + 's');
    };
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 250);
    setTimeout(() => {
      clearInterval(countdown);
      connect();
    }, delay);
  }

  join.addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ join: room.value, name: name.value }));
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket.readyState !== WebSocket.OPEN) return;
    const payload = JSON.stringify({ name: name.value, text: text.value });
    // The server closes the connection (1009) on a message over its maxPayload: say so before sending.
    const size = new TextEncoder().encode(payload).length;
    if (size > maxPayload) {
      notice('not sent: this message is ' + kib(size) + ', the server takes at most ' + kib(maxPayload) + ' (its maxPayload); shorten it', true);
      return;
    }
    socket.send(payload);
    text.value = '';
    text.focus();
  });

  connect();
</script>
</body>
</html>
`;

/**
 * One chat server (in this process, or in one worker): `broker` carries the rooms across workers;
 * `countOnline(topic, count)` hears each change of the number of this server's clients in a room.
 */
function startChat({ broker, reusePort, countOnline, onListening, onError }) {
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });

  // A reader that falls 1 MiB behind its room is closed with 1008 instead of growing the server's
  // memory, and a peer that stays silent through a ping is dropped after 30 s + 10 s.
  const wss = new WebSocketServer({
    server,
    path: '/chat',
    maxPayload,
    maxBufferedAmount: 1024 * 1024,
    heartbeat: { interval: 30_000, timeout: 10_000 },
    broker,
  });
  wss.on('subscription', (topic, newCount) => countOnline(wss, topic, newCount));

  // A room is a topic, 'room:<name>'. {join, name} moves the client to a room; {name, text} goes to
  // everyone in it (the sender too), stamped with the sender's connection id and the server's time.
  let connections = 0;
  wss.on('connection', (ws) => {
    const id = `${process.pid}-${++connections}`;
    let topic = null;
    let who = 'someone';
    ws.on('message', (data) => {
      let message;
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      const name = validName(message?.name);
      if (typeof message?.join === 'string' && message.join.length > 0 && message.join.length <= 64) {
        if (topic !== null) {
          ws.unsubscribe(topic);
          wss.publish(topic, JSON.stringify({ notice: `${who} left` }));
        }
        who = name ?? who;
        topic = `room:${message.join}`;
        wss.publish(topic, JSON.stringify({ notice: `${who} joined` }));
        ws.send(JSON.stringify({ welcome: { id, room: message.join, pid: process.pid, maxPayload } }));
        ws.subscribe(topic); // after the welcome: the page then hears the room's new count
      } else if (topic !== null && name !== null && typeof message.text === 'string') {
        wss.publish(topic, JSON.stringify({ from: id, name, text: message.text, at: Date.now() }));
      }
    });
    ws.on('close', () => {
      if (topic !== null) wss.publish(topic, JSON.stringify({ notice: `${who} left` }));
    });
  });

  server.on('error', onError);
  // The WebSocketServer forwards the http server's errors too; the handler above deals with them.
  wss.on('error', () => {});
  server.listen({ host, port, reusePort, exclusive: reusePort }, () => onListening(server.address()));

  const stop = async () => {
    server.closeIdleConnections();
    // Every client gets a 1001 close frame and 2 s to answer; the rest are cut off.
    await wss.shutdown({ code: 1001, reason: 'server shutting down', timeout: 2000 });
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  return { wss, stop };
}

/** A name of 1 to 32 characters, or null. */
function validName(name) {
  return typeof name === 'string' && name.trim().length > 0 && name.length <= 32 ? name.trim() : null;
}

/** The online count of a room as the pages get it; `seq` orders the counts of one server (or primary). */
const onlineMessage = (topic, count, seq) => JSON.stringify({ online: count, room: topic.slice('room:'.length), seq });

/** The URL to print for the address the server really got (all interfaces: localhost works). */
function urlOf({ address, family, port: actual }) {
  const all = address === '0.0.0.0' || address === '::';
  const name = all ? 'localhost' : family === 'IPv6' || family === 6 ? `[${address}]` : address;
  return `http://${name}:${actual}/${all ? ` (all interfaces, ${address})` : ''}`;
}

const ready = (address) => `rfc6455 chat on ${urlOf(address)} (open it in two browser tabs; Ctrl-C to stop)`;
const cannotStart = (error) => `cannot start the chat on ${host}:${port}: ${error.message} (set PORT or HOST to use another)`;

if (workers === 0) {
  let seq = 0;
  const { stop } = startChat({
    broker: undefined,
    reusePort: false,
    // One process: the local count is the room's count; tell the room.
    countOnline: (wss, topic, count) => wss.publish(topic, onlineMessage(topic, count, ++seq)),
    onListening: (address) => console.log(ready(address)),
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
  // In the primary: fork the workers (they run this script), say when all listen, add up the online
  // counts of the workers, stop them on a signal. In a worker: run the chat with the ClusterBroker;
  // the primary stops it with SIGTERM.
  const pool = runWorkers({
    workers,
    setup({ broker, reusePort }) {
      const { wss, stop } = startChat({
        broker,
        // SO_REUSEPORT where Node has it (on a fixed port); else the primary hands out the connections.
        reusePort: reusePort && port !== 0,
        // Each worker knows its own clients only: it reports its count, the primary answers with the
        // room's total, which this worker publishes to the room (the ClusterBroker carries it to the others).
        countOnline: (_wss, topic, count) => process.connected && process.send({ chat: 'count', topic, count }),
        onListening: (address) => process.send({ chat: 'listening', address, pid: process.pid }),
        onError: (error) => {
          process.send({ chat: 'failed', message: cannotStart(error) });
          process.exit(1);
        },
      });
      process.on('message', (message) => {
        if (message?.chat === 'online') wss.publish(message.topic, onlineMessage(message.topic, message.total, message.seq));
      });
      process.on('SIGINT', () => {}); // Ctrl-C reaches every process of the group: the primary decides
      process.once('SIGTERM', () => stop());
    },
  });
  if (pool !== null) {
    const listening = new Set();
    const counts = new Map(); // topic -> Map(worker id -> its count)
    let seq = 0;
    cluster.on('message', (worker, message) => {
      if (message?.chat === 'listening') {
        console.log(`worker ${message.pid} listening`);
        listening.add(worker);
        if (listening.size === workers) console.log(`${ready(message.address)} [${workers} workers]`);
      } else if (message?.chat === 'count') {
        let perWorker = counts.get(message.topic);
        if (perWorker === undefined) counts.set(message.topic, (perWorker = new Map()));
        if (message.count > 0) perWorker.set(worker.id, message.count);
        else perWorker.delete(worker.id);
        let total = 0;
        for (const count of perWorker.values()) total += count;
        if (perWorker.size === 0) counts.delete(message.topic);
        if (worker.isConnected()) worker.send({ chat: 'online', topic: message.topic, total, seq: ++seq });
      } else if (message?.chat === 'failed') {
        console.error(message.message);
        pool.close().then(() => process.exit(1));
      }
    });
    cluster.on('exit', (worker) => {
      for (const [topic, perWorker] of counts) if (perWorker.delete(worker.id) && perWorker.size === 0) counts.delete(topic);
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
