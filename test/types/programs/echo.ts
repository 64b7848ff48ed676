// The echo server of ws's README: a received message goes back as it came (text or binary).
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 8080 });

wss.on('connection', (ws, request) => {
  console.log('connected from', request.socket.remoteAddress, request.headers['user-agent']);
  ws.on('error', console.error);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => console.log('closed', code, reason.toString()));
  ws.send('hello');
});
