import { createWebSocketStream } from './api/stream.js';
import { WebSocketServer } from './api/server.js';
import { WebSocket } from './api/websocket.js';

// `ws`'s CommonJS export is the WebSocket class carrying the rest as properties; the same aliases
// are set here, where both classes are loaded (websocket.ts cannot import server.ts: it imports us).
WebSocket.Server = WebSocketServer;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.WebSocket = WebSocket;
WebSocket.createWebSocketStream = createWebSocketStream;

export { WebSocket, WebSocketServer, createWebSocketStream };
export default WebSocket;
export type {
  BinaryType,
  RawData,
  SendData,
  SendOptions,
  WebSocketCoreOptions,
  WebSocketEvents,
} from './api/websocket.js';
export type { ShutdownOptions, UpgradeRequest, VerifyClientInfo, WebSocketServerOptions } from './api/server.js';
export type { HeartbeatOptions } from './transport/heartbeat.js';
export type { ClientHeaders, ClientOptions, HandshakeRequest, HandshakeResponse } from './api/client.js';
export { CloseEvent, ErrorEvent, Event, MessageEvent } from './api/event-target.js';
export type { AddEventListenerOptions, EventListenerLike } from './api/event-target.js';
export { CloseCode } from './framing/close-codes.js';
export { ProtocolError } from './framing/protocol-error.js';
export { HandshakeError } from './handshake/handshake-error.js';
