// ws's heartbeat recipe, with the `isAlive` flag on an interface extending the socket type.
// (A `declare module 'ws'` augmentation is no baseline: under node16 it breaks @types/ws itself.)
import { WebSocket, WebSocketServer } from 'ws';

interface LiveWebSocket extends WebSocket {
  isAlive?: boolean;
}

function heartbeat(this: LiveWebSocket): void {
  this.isAlive = true;
}

const wss = new WebSocketServer({ port: 8080 });

wss.on('connection', function connection(ws: LiveWebSocket) {
  ws.isAlive = true;
  ws.on('error', console.error);
  ws.on('pong', heartbeat);
  ws.on('ping', function (data) {
    (this as LiveWebSocket).isAlive = data.length >= 0;
  });
});

const interval = setInterval(function ping() {
  wss.clients.forEach(function each(ws: LiveWebSocket) {
    if (ws.isAlive === false) return ws.terminate();
    ws.isAlive = false;
    ws.ping();
  });
}, 30000);

wss.on('close', function close() {
  clearInterval(interval);
});
