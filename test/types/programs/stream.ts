// createWebSocketStream over a client socket.
import WebSocket, { createWebSocketStream } from 'ws';

const ws = new WebSocket('ws://localhost:8080');
const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
duplex.on('error', console.error);
duplex.pipe(process.stdout);
process.stdin.pipe(duplex);

const other = createWebSocketStream(new WebSocket('ws://localhost:8081'), { allowHalfOpen: false });
other.end();
