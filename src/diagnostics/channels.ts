// The `node:diagnostics_channel` channels rfc6455 publishes on, named after undici's
// `undici:websocket:*` ones. Publishers check `hasSubscribers` before building a message, so a
// process that does not subscribe pays one property read per event.
import { channel } from 'node:diagnostics_channel';

/** The channels' names, for `subscribe(name, listener)` of node:diagnostics_channel. */
export const CHANNEL_NAMES = {
  /** A socket opened. */
  open: 'rfc6455:websocket:open',
  /** A socket closed. */
  close: 'rfc6455:websocket:close',
  /** An error ended a connection. */
  socketError: 'rfc6455:websocket:socket_error',
  /** A ping frame was received. */
  ping: 'rfc6455:websocket:ping',
  /** A pong frame was received. */
  pong: 'rfc6455:websocket:pong',
  /** A server accepted or refused an opening handshake. */
  handshake: 'rfc6455:server:handshake',
} as const;

/** A socket is open (server: the 101 was sent; client: the handshake completed): `{ websocket, address, protocol, extensions }`. */
export const openChannel = channel(CHANNEL_NAMES.open);
/** A socket closed (after its 'close' event): `{ websocket, code, reason }`. */
export const closeChannel = channel(CHANNEL_NAMES.close);
/** An error ends a connection (a TCP error, a peer's protocol violation, a limit tripped): `{ websocket, error }`. */
export const socketErrorChannel = channel(CHANNEL_NAMES.socketError);
/** A ping frame was received: `{ websocket, payload }`. */
export const pingChannel = channel(CHANNEL_NAMES.ping);
/** A pong frame was received: `{ websocket, payload }`. */
export const pongChannel = channel(CHANNEL_NAMES.pong);
/** A server accepted or refused an opening handshake: `{ server, socket, request, accepted, status, reason, websocket }`. */
export const handshakeChannel = channel(CHANNEL_NAMES.handshake);
