// The public type names of rfc6455 in one place, with those of `@types/ws` for code written against
// `ws`: `ServerOptions`, `Data`, `VerifyClientCallbackSync`... Each `ws` name is, or is built from, the
// rfc6455 type that already says the same thing (`ServerOptions` is `WebSocketServerOptions`), so both
// spellings stay interchangeable. websocket.ts repeats the `ws` names under the class
// (`WebSocket.RawData`), as @types/ws's namespace does; index.ts exports them all.
import type { UpgradeRequest, VerifyClientCallback, VerifyClientInfo, WebSocketServerOptions } from './server.js';
import type { AddEventListenerOptions, CloseEvent, ErrorEvent, Event, MessageEvent } from './event-target.js';
import type { RawData, WebSocket } from './websocket.js';

export type { BinaryType, RawData, SendCallback, SendData, SendOptions, WebSocket, WebSocketCoreOptions, WebSocketEvents } from './websocket.js';
export type {
  ShutdownOptions,
  UpgradeRequest,
  VerifyClientCallback,
  VerifyClientInfo,
  WebSocketServer,
  WebSocketServerOptions,
} from './server.js';
export type { ClientHeaders, ClientOptions, HandshakeRequest, HandshakeResponse } from './client.js';
export type { ReconnectContext, ReconnectFailedInfo, ReconnectInfo, ReconnectingInfo, ReconnectOptions } from './reconnect.js';
export type { AddEventListenerOptions, CloseEvent, ErrorEvent, Event, EventListenerLike, MessageEvent } from './event-target.js';
export type { HeartbeatOptions } from '../transport/heartbeat.js';
export type { PerMessageDeflateOptions } from '../extensions/permessage-deflate.js';
export type { AddressInfo } from 'node:net';

/** A received message as the EventTarget face delivers it: text as a string, binary by `binaryType`. */
export type Data = string | RawData;

/** `ws`'s name for the options of `new WebSocketServer(options)`. */
export type ServerOptions<T extends typeof WebSocket = typeof WebSocket> = WebSocketServerOptions<T>;

/** What `verifyClient` is told, with the request type as a parameter (as in `@types/ws`). */
type VerifyClientRequestInfo<Request extends UpgradeRequest> = VerifyClientInfo & { req: Request };

/** A synchronous `verifyClient`: true accepts the handshake, false refuses it with 401. */
export type VerifyClientCallbackSync<Request extends UpgradeRequest = UpgradeRequest> = (
  info: VerifyClientRequestInfo<Request>,
) => boolean;

/** An asynchronous `verifyClient`: calls `callback(result, code?, message?, headers?)` once. */
export type VerifyClientCallbackAsync<Request extends UpgradeRequest = UpgradeRequest> = (
  info: VerifyClientRequestInfo<Request>,
  callback: VerifyClientCallback,
) => void;

/** The events of the EventTarget face and their event objects. */
export interface WebSocketEventMap {
  /** The handshake completed. */
  open: Event;
  /** The connection failed or broke. */
  error: ErrorEvent;
  /** The connection ended. */
  close: CloseEvent;
  /** A message arrived. */
  message: MessageEvent;
}

/** `ws`'s name for the options of `addEventListener`. */
export type EventListenerOptions = AddEventListenerOptions;
