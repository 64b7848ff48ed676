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

// ---- ws 8.20+'s helper exports, also properties of the class (thin adapters over our core) ----
import { format as formatExtensionHeader, parse as parseExtensionHeader } from './api/ws-compat/extension-header.js';
import { PerMessageDeflate } from './api/ws-compat/permessage-deflate.js';
import { Receiver } from './api/ws-compat/receiver.js';
import { parse as parseSubprotocolHeader } from './api/ws-compat/subprotocol-header.js';

/** Sec-WebSocket-Extensions in `ws`'s shapes: `parse(header)` and `format(extensions)`. */
const extension = {
  /** A Sec-WebSocket-Extensions value as `ws` parses it: extension name -> list of parameter objects. */
  parse: parseExtensionHeader,
  /** The inverse of `parse`: a header value from extension name -> parameters. */
  format: formatExtensionHeader,
};
/** Sec-WebSocket-Protocol as `ws` reads it: `parse(header)` returns a Set of names. */
const subprotocol = {
  /** The subprotocol names of a Sec-WebSocket-Protocol value, as a Set; throws a SyntaxError for an invalid one. */
  parse: parseSubprotocolHeader,
};
WebSocket.extension = extension;
WebSocket.subprotocol = subprotocol;
WebSocket.PerMessageDeflate = PerMessageDeflate;
WebSocket.Receiver = Receiver;
export { extension, subprotocol, PerMessageDeflate, Receiver };
export type { AdoptedSocketOptions, SetSocketOptions } from './api/websocket.js';
export { ConnectionClosedError } from './api/message-iterator.js';
export type { MessagesOptions, WebSocketMessage } from './api/message-iterator.js';
// Diagnostics: WebSocketServer.stats() and the node:diagnostics_channel channels' names and messages.
export { CHANNEL_NAMES as diagnosticsChannels } from './diagnostics/channels.js';
export type { HandshakeRejectReason, LimitKind, ServerStats } from './diagnostics/server-counters.js';
export type {
  ServerHandshakeMessage,
  WebSocketCloseMessage,
  WebSocketOpenMessage,
  WebSocketPingMessage,
  WebSocketSocketErrorMessage,
} from './api/diagnostics.js';
export type { ExtensionParams, ParsedExtensions } from './api/ws-compat/extension-header.js';
export type { DeflateParamsObject, WsPerMessageDeflateOptions } from './api/ws-compat/permessage-deflate.js';
export type { ReceiverOptions } from './api/ws-compat/receiver.js';
export { CloseEvent, ErrorEvent, Event, MessageEvent } from './api/event-target.js';
export type { CloseEventInit, ErrorEventInit, MessageEventInit, WebSocketEventListenerMap } from './api/event-target.js';
export { CloseCode } from './framing/close-codes.js';
export { ProtocolError } from './framing/protocol-error.js';
export { HandshakeError } from './handshake/handshake-error.js';

// Topics (pub/sub): prepared messages, brokers and their envelope, and ws's Sender face.
export { PreparedMessage } from './pubsub/prepared-message.js';
export { InProcessBroker } from './pubsub/in-process-broker.js';
export type { Broker, BrokerLink, BrokerNode } from './pubsub/broker.js';
export type { HistoryLink, HistoryNode, RecoveryResult, StreamPosition } from './pubsub/recovery.js';
export { decodeEnvelope, encodeEnvelope, FLAG_BINARY, FLAG_COMPRESS } from './pubsub/envelope.js';
export type { Envelope } from './pubsub/envelope.js';
export type { BackpressureOptions, BackpressurePolicy } from './pubsub/backpressure.js';
export { Sender } from './api/sender.js';
export type { SenderFrameOptions } from './api/sender.js';

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
  ReconnectContext,
  ReconnectFailedInfo,
  ReconnectInfo,
  ReconnectingInfo,
  ReconnectOptions,
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

// Multi-core: one server on every core, topics shared through the cluster primary.
export { ClusterBroker } from './pubsub/cluster-broker.js';
export { ClusterRelay } from './pubsub/cluster-relay.js';
export { runWorkers, WorkerPool } from './api/run-workers.js';
export type { RunWorkersOptions, WorkerContext } from './api/run-workers.js';
export { reusePortSupported } from './api/reuse-port.js';

// rfc6455.pubsub.v1: topics with resume for browser and Node clients (client/pubsub-client.mjs).
export { PUBSUB_PROTOCOL, PubSubBroker, servePubSub } from './pubsub-protocol/index.js';
export type { PubSubAction, PubSubOptions, PubSubServer } from './pubsub-protocol/index.js';
