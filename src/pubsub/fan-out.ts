// Writing a prepared message to one connection, and the backpressure check of a publish.
import { CloseCode } from '../framing/close-codes.js';
import { frameLength } from '../framing/frame-encoder.js';
import { ProtocolError } from '../framing/protocol-error.js';
import { ReadyState, type Connection, type WriteCallback } from '../protocol/connection.js';
import type { SharedWrites } from '../transport/shared-writes.js';
import type { SocketTransport } from '../transport/socket-transport.js';
import { hasRoom, type BackpressurePolicy } from './backpressure.js';
import type { PreparedMessage } from './prepared-message.js';

/** What the fan-out needs of a subscribed socket (the API's WebSocket provides it). */
export interface Subscriber {
  /** The socket's transport, or null when it has none (not open yet). */
  _publishTransport(): SocketTransport | null;
  /** A published message on `topic` was not sent to this socket: its queue was over the limit. */
  _publishDropped(topic: string, message: PreparedMessage): void;
}

/**
 * Send `message` on one connection, in call order with its other sends. A server connection takes
 * shared bytes: the plain frame, or, when it compresses this message without context
 * (server_no_context_takeover), the frame compressed once for every connection with the same
 * parameters. A client connection (it masks every frame, RFC 6455 §5.3) and one that compresses with
 * its own context frame it through the connection's own path.
 * Returns false, sending nothing, while the connection is in the middle of a fragmented message.
 */
export function sendPrepared(transport: SocketTransport, message: PreparedMessage, cb?: WriteCallback): boolean {
  const connection = transport.connection;
  if (connection.role === 'server') {
    const extension = connection.negotiatedExtension;
    if (!message.compress || extension === null || !extension.shouldCompress(message.data.length)) {
      return transport.sendEncoded(message.frame(), cb);
    }
    const key = extension.sharedCompressionKey;
    if (key !== undefined && key !== null) return transport.sendEncoded(message.compressedFrame(key, extension), cb);
  }
  if (connection.sendingFragments) return false;
  connection.send(message.data, message.binary, true, cb, message.compress);
  return true;
}

/** Whether `connection` sends `message` as its plain frame: a server connection that does not compress it. */
function takesPlainFrame(connection: Connection, message: PreparedMessage): boolean {
  if (connection.role !== 'server') return false;
  if (!message.compress) return true;
  const extension = connection.negotiatedExtension;
  return extension === null || !extension.shouldCompress(message.data.length);
}

/**
 * Deliver a published message to one subscriber unless its queue is over `limit` bytes; then the
 * policy applies ('skip': 'dropped' on the socket; 'close': the connection is dropped with 1008).
 * Returns whether the message was queued for it. `shared`: this tick's frames of the topic, of which
 * `index` is `message`'s frame, for a socket that takes the plain frame.
 */
export function deliver(
  subscriber: Subscriber,
  topic: string,
  message: PreparedMessage,
  limit: number,
  policy: BackpressurePolicy,
  shared: SharedWrites | null = null,
  index = 0,
): boolean {
  const transport = subscriber._publishTransport();
  if (transport === null) return false;
  const connection = transport.connection;
  // Closing, or terminated (its socket destroyed, the close not yet reported).
  if (connection.readyState !== ReadyState.OPEN || transport.socket.destroyed) return false;
  if (!hasRoom(transport.bufferedAmount, frameLength(message.data.length, false), limit)) {
    if (policy === 'close') {
      connection.abort(new ProtocolError(CloseCode.PolicyViolation, `more than ${limit} bytes waiting to be sent (maxBackpressure)`));
    } else {
      subscriber._publishDropped(topic, message);
    }
    return false;
  }
  // The messages published to one socket within a tick leave in one write: appended to the frames
  // shared by the topic's subscribers in this tick when the socket takes the plain frame as it comes.
  if (shared !== null && connection.writesEncodedNow && takesPlainFrame(connection, message)) {
    transport.queueShared(shared, index);
    return true;
  }
  transport.corkUntilTickEnd();
  if (sendPrepared(transport, message)) return true;
  subscriber._publishDropped(topic, message);
  return false;
}
