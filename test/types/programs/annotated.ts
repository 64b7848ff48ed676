// Listeners and callbacks annotated with the types @types/ws gives them.
import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0 });

wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
  console.log(request.headers.host);
  ws.on('message', (data: Buffer, isBinary: boolean) => console.log(data.length, isBinary));
  ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString()));
  ws.on('error', (error: Error) => console.error(error));
  ws.send('text', (error?: Error) => console.log(error?.message));
  ws.send(Buffer.alloc(1), { binary: true }, (error?: Error) => console.log(error?.message));
  ws.ping(undefined, undefined, (error: Error) => console.log(error));
  ws.pong('x', false, (error: Error) => console.log(error));
});
wss.on('error', (error: Error) => console.error(error));
wss.on('headers', (headers: string[], request: IncomingMessage) => headers.push(`X-Url: ${request.url}`));
wss.close((error?: Error) => console.log(error));

const client = new WebSocket('ws://127.0.0.1:8080');
client.on('upgrade', (response: IncomingMessage) => console.log(response.headers));
client.on('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {
  console.log(request.path, response.statusCode);
  request.destroy();
});
client.on('open', function (this: WebSocket) {
  this.send('hi');
});
