// An echo WebSocket server whose counters Prometheus scrapes: GET /metrics answers in Prometheus's text
// format (prom-client, this example's own dependency: `npm install prom-client`; rfc6455 needs none).
// The counters are WebSocketServer.stats(), read at each scrape; the errors that end connections come
// from the rfc6455:websocket:socket_error diagnostics channel.
//
//   node examples/prometheus-metrics.mjs            (PORT=8080 by default; PORT=0 picks a free port)
//   curl http://127.0.0.1:8080/metrics
import { subscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';

let rfc6455;
try {
  rfc6455 = await import('../dist/esm/index.js');
} catch (error) {
  console.error(`cannot load the library from dist/ (${error.code ?? error.message}): run \`npm run build\` first`);
  process.exit(1);
}
const { WebSocketServer, diagnosticsChannels } = rfc6455;
const { Counter, Gauge, Registry, collectDefaultMetrics } = await import('prom-client');

const http = createServer();
const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** A counter whose value is read from a stats() snapshot at each scrape (the server does the counting). */
function statsCounter(name, help, labelNames, read) {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read(wss.stats())) this.inc(labels, value);
    },
  });
}

new Gauge({
  name: 'rfc6455_connections',
  help: 'Open WebSocket connections',
  registers: [registry],
  collect() {
    this.set(wss.stats().connections);
  },
});
statsCounter('rfc6455_handshakes_accepted_total', 'Opening handshakes accepted', [], (stats) => [[{}, stats.handshakes.accepted]]);
statsCounter('rfc6455_handshakes_rejected_total', 'Opening handshakes refused or lost, by reason', ['reason'], (stats) =>
  Object.entries(stats.handshakes.rejectedBy).map(([reason, count]) => [{ reason }, count]),
);
statsCounter('rfc6455_messages_total', 'Whole messages received (in) and sent (out)', ['direction'], (stats) => [
  [{ direction: 'in' }, stats.messages.in],
  [{ direction: 'out' }, stats.messages.out],
]);
statsCounter('rfc6455_payload_bytes_total', 'Message payload bytes (decompressed)', ['direction'], (stats) => [
  [{ direction: 'in' }, stats.bytes.in],
  [{ direction: 'out' }, stats.bytes.out],
]);
statsCounter('rfc6455_wire_bytes_total', 'Bytes read and written by the TCP sockets (frames, compression, handshakes)', ['direction'], (stats) => [
  [{ direction: 'in' }, stats.bytes.wireIn],
  [{ direction: 'out' }, stats.bytes.wireOut],
]);
statsCounter('rfc6455_limit_trips_total', 'Connections ended because the peer exceeded a limit, by limit', ['limit'], (stats) =>
  Object.entries(stats.limits).map(([limit, count]) => [{ limit }, count]),
);
statsCounter('rfc6455_backpressure_drops_total', 'Published messages not sent to a subscriber over maxBackpressure', [], (stats) => [
  [{}, stats.backpressureDrops],
]);

// Counted as they happen, from the diagnostics channel (the error's code: WS_ERR_*, ECONNRESET...).
const socketErrors = new Counter({
  name: 'rfc6455_socket_errors_total',
  help: 'Errors that ended a connection, by error code',
  labelNames: ['code'],
  registers: [registry],
});
subscribe(diagnosticsChannels.socketError, ({ error }) => {
  socketErrors.inc({ code: String(error.code ?? error.name) });
});

http.on('request', async (req, res) => {
  if (req.method === 'GET' && req.url === '/metrics') {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
    return;
  }
  res.statusCode = 404;
  res.end('not found: try /metrics\n');
});

http.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = http.address();
  console.log(`echo on ws://127.0.0.1:${port}/, metrics on http://127.0.0.1:${port}/metrics`);
});

process.once('SIGTERM', () => {
  wss.shutdown().then(() => http.close());
});
