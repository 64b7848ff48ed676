// ws's heartbeat recipe as written in TypeScript with module augmentation: `isAlive` on every socket.
// (Checked as an ES module only: @types/ws's CommonJS declarations hand out a class this cannot augment.)
import { WebSocket, WebSocketServer } from 'ws';

declare module 'ws' {
  interface WebSocket {
    isAlive: boolean;
  }
}

function heartbeat(this: WebSocket): void {
  this.isAlive = true;
}

const wss = new WebSocketServer({ port: 8080 });

wss.on('connection', function connection(ws) {
  ws.isAlive = true;
  ws.on('error', console.error);
  ws.on('pong', heartbeat);
});

const interval = setInterval(function ping() {
  wss.clients.forEach(function each(ws) {
    if (ws.isAlive === false) return ws.terminate();
    ws.isAlive = false;
    ws.ping();
  });
}, 30000);

wss.on('close', function close() {
  clearInterval(interval);
});
