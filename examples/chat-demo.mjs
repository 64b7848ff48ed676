// `npm start`: a one-page chat. One process, one port: node:http serves the page, and the rfc6455
// WebSocketServer, attached to the same http server, relays every message to everyone connected.
import { createServer } from 'node:http';

let rfc6455;
try {
  rfc6455 = await import('../dist/esm/index.js');
} catch (error) {
  console.error(`cannot load the library from dist/ (${error.code ?? error.message}): run \`npm run build\` first`);
  process.exit(1);
}
const { WebSocket, WebSocketServer } = rfc6455;

const port = Number(process.env.PORT ?? 8080);

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
<form id="form" autocomplete="off">
  <input id="name" placeholder="name" size="10" required>
  <input id="text" placeholder="message" required>
  <button disabled>Send</button>
</form>
<script>
  const log = document.getElementById('log');
  const form = document.getElementById('form');
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
// that falls 1 MiB behind the broadcast is closed with 1008 instead of growing the server's memory,
// and a peer that stays silent through a ping is dropped after 30 s + 10 s.
const wss = new WebSocketServer({
  server,
  path: '/chat',
  maxPayload: 64 * 1024,
  maxBufferedAmount: 1024 * 1024,
  heartbeat: { interval: 30_000, timeout: 10_000 },
});

function broadcast(data, isBinary) {
  for (const client of wss.clients) {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  }
}

wss.on('connection', (ws, req) => {
  const who = req.socket.remoteAddress;
  broadcast(JSON.stringify({ notice: `someone joined from ${who} (${wss.clients.size} online)` }), false);
  // Every message goes to everyone, as is; the page only displays well-formed ones, as text.
  ws.on('message', (data, isBinary) => broadcast(data, isBinary));
  ws.on('close', () => broadcast(JSON.stringify({ notice: `someone left (${wss.clients.size} online)` }), false));
});

server.on('error', (error) => {
  console.error(`cannot start the chat: ${error.message} (set PORT to use another port)`);
  process.exit(1);
});
// The WebSocketServer forwards the http server's errors too; the handler above deals with them.
wss.on('error', () => {});

server.listen(port, () => {
  console.log(`rfc6455 chat on http://localhost:${server.address().port}/ (open it in two browser tabs; Ctrl-C to stop)`);
});

const stop = async (signal) => {
  console.log(`\n${signal}: shutting down`);
  server.closeIdleConnections();
  // Every client gets a 1001 close frame and 2 s to answer; the rest are cut off.
  await wss.shutdown({ code: 1001, reason: 'server shutting down', timeout: 2000 });
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
