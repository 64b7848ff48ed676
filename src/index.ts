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
export { CloseEvent, ErrorEvent, Event, MessageEvent } from './api/event-target.js';
export { CloseCode } from './framing/close-codes.js';
export { ProtocolError } from './framing/protocol-error.js';
export { HandshakeError } from './handshake/handshake-error.js';
// The types: rfc6455's names and @types/ws's (ServerOptions, RawData, Data, VerifyClientCallbackSync...),
// also reachable under the class (`WebSocket.RawData`, see websocket.ts).
export type {
  AddEventListenerOptions,
  AddressInfo,
  BinaryType,
  ClientHeaders,
  ClientOptions,
  Data,
  EventListenerLike,
  EventListenerOptions,
  HandshakeRequest,
  HandshakeResponse,
  HeartbeatOptions,
  PerMessageDeflateOptions,
  RawData,
  SendCallback,
  SendData,
  SendOptions,
  ServerOptions,
  ShutdownOptions,
  UpgradeRequest,
  VerifyClientCallback,
  VerifyClientCallbackAsync,
  VerifyClientCallbackSync,
  VerifyClientInfo,
  WebSocketCoreOptions,
  WebSocketEventMap,
  WebSocketEvents,
  WebSocketServerOptions,
} from './api/types.js';
