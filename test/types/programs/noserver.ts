// noServer mode behind node:http, with the README's authentication step and a third argument to 'connection'.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

interface Client {
  name: string;
}

function authenticate(request: IncomingMessage, next: (error: Error | null, client?: Client) => void): void {
  const token = request.headers.authorization;
  if (token === undefined) next(new Error('no token'));
  else next(null, { name: token.slice(7) });
}

function onSocketError(error: Error): void {
  console.error(error);
}

const server = createServer();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 1024 } });

wss.on('connection', function connection(ws: WebSocket, request: IncomingMessage, client: Client) {
  ws.on('message', function message(data) {
    console.log(`Received ${data.toString()} from ${client.name} at ${request.url}`);
  });
});

server.on('upgrade', function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
  socket.on('error', onSocketError);
  authenticate(request, function next(error, client) {
    if (error || !client) {
      socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
      socket.destroy();
      return;
    }
    socket.removeListener('error', onSocketError);
    if (!wss.shouldHandle(request)) return;
    wss.handleUpgrade(request, socket, head, function done(ws) {
      wss.emit('connection', ws, request, client);
    });
  });
});

server.listen(8080);
