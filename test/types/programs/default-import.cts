// TypeScript compiled to CommonJS with a default import: the class, with the server and the stream
// helper as its properties and ws's types under its name (WebSocket.Server, WebSocket.WebSocket...).
import WebSocket, { WebSocketServer } from 'ws';

const wss = new WebSocket.Server({ port: 0 }, () => console.log('listening'));
const server: WebSocket.Server = wss;
const other: WebSocketServer = new WebSocket.WebSocketServer({ port: 0 });
const same: WebSocket.WebSocketServer = other;
const Ctor: typeof WebSocket = WebSocket.WebSocket;
const sockets: WebSocket.WebSocket[] = [];

server.on('connection', (ws: WebSocket.WebSocket) => {
  sockets.push(ws);
  const duplex = WebSocket.createWebSocketStream(ws, { encoding: 'utf8' });
  duplex.on('data', (chunk: string) => console.log(chunk));
});
wss.on('listening', () => {
  const client = new Ctor('ws://127.0.0.1:0');
  client.on('open', () => client.close());
});
wss.close((error) => console.log(error?.message));
same.close();
