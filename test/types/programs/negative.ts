// Misuse that both type declarations refuse (each line must be an error, or tsc reports the directive).
import WebSocket, { WebSocketServer } from 'ws';

const ws = new WebSocket('ws://localhost:8080');
// @ts-expect-error: send needs data
ws.send();
// @ts-expect-error: readyState is read-only
ws.readyState = WebSocket.OPEN;
// @ts-expect-error: a close code is a number
ws.close('1000');
// @ts-expect-error: not a binaryType
ws.binaryType = 'text';
// @ts-expect-error: a port is a number
new WebSocketServer({ port: '8080' });
// @ts-expect-error: a string is no RawData
const raw: WebSocket.RawData = 'text';
// @ts-expect-error: the message event's data is no number
const count: number = (null as unknown as WebSocket.MessageEvent).data;
console.log(raw, count);
// Internal members stay out of the declarations (ws has none of these either).
// @ts-expect-error: internal
ws._attach();
// @ts-expect-error: internal
console.log(ws._tracker);
// @ts-expect-error: internal
ws.onMessage(Buffer.alloc(0), false);
