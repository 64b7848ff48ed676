// Heartbeat (dropping peers that stopped answering) and a graceful shutdown on SIGTERM.
//
//   npm run build && node examples/heartbeat-shutdown.mjs
//
// It runs a server with a short heartbeat, connects a healthy client and one that never answers pings
// (autoPong: false stands for a peer whose network vanished), waits for the heartbeat to drop the silent
// one, then sends itself SIGTERM as systemd, Docker or Kubernetes would: the handler closes every
// client with 1001, waits for their close frames (at most 5 s), and exits 0.
// In production use the defaults' order of magnitude: { interval: 30_000, timeout: 10_000 }.
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'rfc6455';

const wss = new WebSocketServer({
  port: Number(process.env.PORT ?? 0),
  host: '127.0.0.1',
  // Ping a connection that received nothing for `interval` ms; drop it if nothing arrives within `timeout` ms.
  heartbeat: { interval: 500, timeout: 500 },
});
wss.on('connection', (ws) => {
  ws.on('close', (code) => console.log(`server: a connection closed with ${code}; ${wss.clients.size} left`));
});

process.once('SIGTERM', async () => {
  console.log('server: SIGTERM, shutting down');
  await wss.shutdown({ code: 1001, reason: 'restarting', timeout: 5000 });
  console.log('heartbeat-shutdown ok: every client closed, server closed');
  process.exit(0);
});

await once(wss, 'listening');
const url = `ws://127.0.0.1:${wss.address().port}`;
const healthy = new WebSocket(url);
const silent = new WebSocket(url, { autoPong: false });
healthy.on('close', (code, reason) => console.log(`healthy client: closed by the server with ${code} ${reason}`));
await Promise.all([once(healthy, 'open'), once(silent, 'open')]);
console.log(`server ready on ${url} (pid ${process.pid})`);

const [silentCode] = await once(silent, 'close'); // the server terminated it: no close frame, 1006
console.log(`silent client: dropped by the heartbeat (${silentCode})`);
process.kill(process.pid, 'SIGTERM');
