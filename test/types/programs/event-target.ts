// The EventTarget face: on<event> attributes, addEventListener with functions and handleEvent objects.
import WebSocket from 'ws';

const ws = new WebSocket('ws://localhost:8080');

ws.onopen = (event) => {
  console.log(event.type);
  event.target.send('hello');
};
ws.onmessage = (event) => {
  if (typeof event.data === 'string') console.log(event.data.toUpperCase());
  else console.log(event.data.toString());
  const parsed: unknown = JSON.parse(event.data.toString());
  console.log(parsed, event.target.readyState);
};
ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
ws.onerror = (event) => console.error(event.message, event.error);

function onMessage(event: WebSocket.MessageEvent): void {
  const data: WebSocket.Data = event.data;
  console.log(data);
}
ws.addEventListener('message', onMessage, { once: true });
ws.addEventListener('close', { handleEvent: (event) => console.log(event.code) });
ws.removeEventListener('message', onMessage);
ws.onmessage = null;
const map: Partial<WebSocket.WebSocketEventMap> = {};
console.log(map);
