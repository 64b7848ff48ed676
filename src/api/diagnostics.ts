// The messages rfc6455 publishes on `node:diagnostics_channel` (channel names in
// ../diagnostics/channels.ts), typed for subscribers:
//   import { subscribe } from 'node:diagnostics_channel';
//   subscribe('rfc6455:websocket:close', (message) => { const { websocket, code } = message as WebSocketCloseMessage; });
import type { Duplex } from 'node:stream';
import type { HandshakeRejectReason } from '../diagnostics/server-counters.js';
import type { WebSocketServer } from './server.js';
import type { UpgradeRequest } from './upgrade-request.js';
import type { WebSocket } from './websocket.js';

/** `rfc6455:websocket:open`: a socket is open (server side: the 101 was sent; client: the handshake completed). */
export interface WebSocketOpenMessage {
  websocket: WebSocket;
  /** The peer's address (undefined fields for a socket that is not a net.Socket). */
  address: { address: string | undefined; family: string | undefined; port: number | undefined };
  /** The negotiated subprotocol ('' for none). */
  protocol: string;
  /** The negotiated extensions' names ('' for none). */
  extensions: string;
}

/** `rfc6455:websocket:close`: a socket closed; published just before its 'close' event. */
export interface WebSocketCloseMessage {
  websocket: WebSocket;
  code: number;
  reason: Buffer;
}

/**
 * `rfc6455:websocket:socket_error`: an error ends a connection: its TCP socket's error (ECONNRESET,
 * EPIPE...), a protocol violation by the peer, or a limit exceeded (maxPayload, maxBufferedAmount...).
 * Published whether or not the socket has an 'error' listener.
 */
export interface WebSocketSocketErrorMessage {
  websocket: WebSocket;
  error: Error;
}

/** `rfc6455:websocket:ping` and `rfc6455:websocket:pong`: a ping (pong) frame was received. */
export interface WebSocketPingMessage {
  websocket: WebSocket;
  payload: Buffer;
}

/**
 * `rfc6455:server:handshake`: a server accepted (`accepted: true`, status 101, `websocket` set) or
 * refused an opening handshake (`reason`, and the HTTP status answered: 0 when none was, for
 * 'aborted', 'timeout', or a 'hookError' after the 101 when a subclass's setSocket() failed).
 * `request` is undefined when the request head itself was refused (standalone listener).
 */
export interface ServerHandshakeMessage {
  server: WebSocketServer;
  socket: Duplex;
  request: UpgradeRequest | undefined;
  accepted: boolean;
  status: number;
  reason: HandshakeRejectReason | null;
  websocket: WebSocket | null;
}
