// The echo server and client in CommonJS: require('rfc6455') is the WebSocket class with the other
// exports on it, as require('ws') is, so `const WebSocket = require('ws')` programs change one line.
//
//   npm run build && node examples/commonjs-echo.cjs   # runs, prints, exits 0
'use strict';
const WebSocket = require('rfc6455');
const { WebSocketServer } = require('rfc6455'); // also WebSocket.Server, WebSocket.WebSocketServer

const wss = new WebSocketServer({ port: Number(process.env.PORT || 0), host: '127.0.0.1' }, () => {
  const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  ws.on('open', () => ws.send('hello from CommonJS'));
  ws.on('message', (data) => {
    console.log('client: got', String(data));
    ws.close(1000);
  });
  ws.on('close', (code) => {
    wss.close(() => {
      if (code !== 1000) throw new Error(`closed with ${code}`);
      console.log('commonjs-echo ok: WebSocket.Server === WebSocketServer:', WebSocket.Server === WebSocketServer);
    });
  });
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
