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
  /** The socket that opened. */
  websocket: WebSocket;
  /** The peer's address (undefined fields for a socket that is not a net.Socket). */
  address: {
    /** The peer's IP address. */
    address: string | undefined;
    /** 'IPv4' or 'IPv6'. */
    family: string | undefined;
    /** The peer's port. */
    port: number | undefined;
  };
  /** The negotiated subprotocol ('' for none). */
  protocol: string;
  /** The negotiated extensions' names ('' for none). */
  extensions: string;
}

/** `rfc6455:websocket:close`: a socket closed; published just before its 'close' event. */
export interface WebSocketCloseMessage {
  /** The socket that closed. */
  websocket: WebSocket;
  /** The close code, as the 'close' event gives it (1005: none in the close frame, 1006: no close frame). */
  code: number;
  /** The close reason's bytes. */
  reason: Buffer;
}

/**
 * `rfc6455:websocket:socket_error`: an error ends a connection: its TCP socket's error (ECONNRESET,
 * EPIPE...), a protocol violation by the peer, or a limit exceeded (maxPayload, maxBufferedAmount...).
 * Published whether or not the socket has an 'error' listener.
 */
export interface WebSocketSocketErrorMessage {
  /** The socket whose connection the error ends. */
  websocket: WebSocket;
  /** The error: a socket error (`code` ECONNRESET...), or a violation or limit (`code` WS_ERR_*, `closeCode`). */
  error: Error;
}

/** `rfc6455:websocket:ping` and `rfc6455:websocket:pong`: a ping (pong) frame was received. */
export interface WebSocketPingMessage {
  /** The socket that received the frame. */
  websocket: WebSocket;
  /** The frame's payload (at most 125 bytes). */
  payload: Buffer;
}

/**
 * `rfc6455:server:handshake`: a server accepted (`accepted: true`, status 101, `websocket` set) or
 * refused an opening handshake (`reason`, and the HTTP status answered: 0 when none was, for
 * 'aborted', 'timeout', or a 'hookError' after the 101 when a subclass's setSocket() failed).
 * `request` is undefined when the request head itself was refused (standalone listener).
 */
export interface ServerHandshakeMessage {
  /** The server that handled the handshake. */
  server: WebSocketServer;
  /** The connection's socket (as handleUpgrade got it). */
  socket: Duplex;
  /** The upgrade request; undefined when its head was refused before it was parsed (standalone). */
  request: UpgradeRequest | undefined;
  /** Whether the handshake was accepted. */
  accepted: boolean;
  /** The HTTP status answered: 101 when accepted; 0 when no answer was sent. */
  status: number;
  /** Why it was refused; null when accepted. */
  reason: HandshakeRejectReason | null;
  /** The open socket when accepted, else null. */
  websocket: WebSocket | null;
}
