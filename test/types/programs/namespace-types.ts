// ws's types under the class's name: WebSocket.RawData, WebSocket.Data, WebSocket.ServerOptions...
import WebSocket, { WebSocketServer } from 'ws';

export function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function toText(data: WebSocket.Data): string {
  return typeof data === 'string' ? data : toBuffer(data).toString('utf8');
}

const serverOptions: WebSocket.ServerOptions = { port: 0, perMessageDeflate: { threshold: 512 } };
const server = new WebSocketServer(serverOptions);
const clientOptions: WebSocket.ClientOptions = { perMessageDeflate: false };
const sockets: WebSocket[] = [];
server.clients.forEach((client) => sockets.push(client));
const deflate: WebSocket.PerMessageDeflateOptions = { serverNoContextTakeover: true };

server.on('connection', (ws: WebSocket, request) => {
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    console.log(isBinary ? toBuffer(data).length : toText(data), request.url);
  });
});
console.log(clientOptions, sockets.length, deflate, WebSocket.OPEN, WebSocket.CLOSED);
