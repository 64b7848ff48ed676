export { WebSocket } from './websocket.js';
export type { BinaryType, SendData, SendOptions, WebSocketCoreOptions } from './websocket.js';
export { WebSocketServer } from './server.js';
export type { UpgradeRequest, WebSocketServerOptions } from './server.js';
export type { ClientOptions } from './client.js';
export { CloseCode } from './framing/close-codes.js';
export { ProtocolError } from './framing/protocol-error.js';
export { HandshakeError } from './handshake/handshake-error.js';
