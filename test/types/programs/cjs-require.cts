// CommonJS TypeScript: `import X = require(...)` is the class, carrying the server and the types.
import WebSocket = require('ws');

const wss = new WebSocket.Server({ port: 0 });
const typed: WebSocket.Server = wss;
const same: WebSocket.WebSocketServer = new WebSocket.WebSocketServer({ noServer: true });

typed.on('connection', (ws: WebSocket) => {
  ws.on('message', (data: WebSocket.RawData, isBinary) => ws.send(data, { binary: isBinary }));
});

const client: WebSocket = new WebSocket('ws://127.0.0.1:8080', { headers: { 'x-a': 'b' } });
client.on('open', () => client.send('hi'));
const stream = WebSocket.createWebSocketStream(client);
const { WebSocketServer } = WebSocket;
const options: WebSocket.ServerOptions = { noServer: true };
console.log(same, stream, new WebSocketServer(options), WebSocket.OPEN === client.OPEN);
