// Broadcast to every other open client, keeping text as text and binary as binary.
import WebSocket, { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 8080, clientTracking: true, maxPayload: 1024 * 1024 });

wss.on('connection', function connection(ws) {
  ws.on('message', function message(data, isBinary) {
    wss.clients.forEach(function each(client) {
      if (client !== ws && client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    });
  });
});

export function broadcastAll(text: string): number {
  let sent = 0;
  wss.clients.forEach((client) => {
    if (client.readyState !== client.OPEN) return;
    client.send(text, (error) => {
      if (error) console.error(error.message);
    });
    sent++;
  });
  return sent;
}
