// The other heartbeat spelling: an interface extending WebSocket, and a subclass given to the server.
import WebSocket, { WebSocketServer } from 'ws';

interface ExtWebSocket extends WebSocket {
  alive: boolean;
}

class TaggedWebSocket extends WebSocket {
  tag = 'tagged';
}

const wss = new WebSocketServer({ port: 0, WebSocket: TaggedWebSocket });

wss.on('connection', (ws) => console.log(ws.tag.toUpperCase()));

const plain = new WebSocketServer({ port: 0 });
plain.on('connection', (ws) => {
  const extended = ws as ExtWebSocket;
  extended.alive = true;
  plain.clients.forEach((client) => console.log((client as ExtWebSocket).alive));
});

const address = wss.address() as WebSocket.AddressInfo;
console.log(address.port, address.family);
