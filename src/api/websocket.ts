import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ClientHandshake, maskKeysFrom, type ClientOptions, type HandshakeRequest, type HandshakeResponse } from './client.js';
import {
  addEventListener,
  type AddEventListenerOptions,
  type CloseEvent,
  type ErrorEvent,
  type Event,
  type EventListenerLike,
  getEventAttribute,
  type MessageEvent,
  removeEventListener,
  setEventAttribute,
  type WebSocketEventListenerMap,
  type WebSocketEventType,
} from './event-target.js';
import { isValidCloseCode, MAX_CLOSE_REASON_BYTES } from '../framing/close-payload.js';
import type { ProtocolError } from '../framing/protocol-error.js';
import type { Extension } from '../extensions/extension.js';
import { ReadyState, type Role, type WriteCallback } from '../protocol/connection.js';
import type { HeartbeatOptions } from '../transport/heartbeat.js';
import { transportOptionsFrom } from './core-options.js';
import type { WebSocketServer } from './server.js';
import type * as api from './types.js';
import type { createWebSocketStream } from './stream.js';
import type { format as formatExtensionHeader, parse as parseExtensionHeader } from './ws-compat/extension-header.js';
import type { PerMessageDeflate } from './ws-compat/permessage-deflate.js';
import type { Receiver } from './ws-compat/receiver.js';
import type { parse as parseSubprotocolHeader } from './ws-compat/subprotocol-header.js';
import { SocketTransport, type TransportOptions } from '../transport/socket-transport.js';
import { sendPrepared } from '../pubsub/fan-out.js';
import { COPY_THRESHOLD, encodeFrame } from '../framing/frame-encoder.js';
import { Opcode } from '../framing/opcodes.js';
import { PreparedMessage } from '../pubsub/prepared-message.js';
import type { StreamPosition } from '../pubsub/recovery.js';
import type { TopicHub } from '../pubsub/topic-hub.js';
import { FrameSender, Sender } from './sender.js';
import { closeChannel, openChannel, pingChannel, pongChannel, socketErrorChannel } from '../diagnostics/channels.js';
import type { ServerCounters } from '../diagnostics/server-counters.js';
import { MessageIterator, type MessagesOptions, type WebSocketMessage } from './message-iterator.js';
import {
  Reconnector,
  reconnectSettings,
  type ReconnectFailedInfo,
  type ReconnectHooks,
  type ReconnectInfo,
  type ReconnectingInfo,
} from './reconnect.js';

/** How binary messages are delivered: Buffer, ArrayBuffer, Buffer[] (the fragments) or Blob. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
const BINARY_TYPES: readonly string[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

/**
 * A received message, by binaryType: a Buffer (text messages always, as UTF-8), an ArrayBuffer or the
 * fragments' Buffers. With binaryType 'blob' a binary message is a Blob, which this type leaves out
 * as `@types/ws`'s does, so that code narrowing Buffer / Buffer[] / ArrayBuffer compiles unchanged.
 */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/**
 * What send/ping/pong accept: strings (UTF-8), numbers (their decimal text), Buffers, typed arrays and
 * DataViews (their bytes, byteOffset/byteLength), ArrayBuffers, Blobs, and what `Buffer.from` takes
 * besides (arrays of byte values, objects whose valueOf or Symbol.toPrimitive gives one of these), as
 * `@types/ws` lists them: so a received RawData (Buffer[] included) can be sent back.
 */
export type SendData =
  | string
  | number
  | Buffer
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Blob
  | readonly unknown[]
  | {
      /** Gives the data to send. */
      valueOf(): ArrayBuffer;
    }
  | {
      /** Gives the data to send. */
      valueOf(): SharedArrayBuffer;
    }
  | {
      /** Gives the data to send. */
      valueOf(): Uint8Array;
    }
  | {
      /** Gives the data to send. */
      valueOf(): readonly number[];
    }
  | {
      /** Gives the data to send. */
      valueOf(): string;
    }
  | {
      /** Gives the text to send. */
      [Symbol.toPrimitive](hint: string): string;
    };

/**
 * The callback of send, ping and pong: called once, with an error when the data could not be written.
 * Its parameter is a method's (checked both ways), so that callbacks typed as `@types/ws` types them,
 * `(err?: Error) => void` for send and `(err: Error) => void` for ping and pong, are accepted too.
 */
export type SendCallback = {
  /** Called once the data was written (no argument, or null), or with the error that stopped it. */
  callback(error?: Error | null): void;
}['callback'];

/** The options of `send()`. */
export interface SendOptions {
  /** Send as a binary message. Default: false for a string (or number), true otherwise. */
  binary?: boolean;
  /** Whether this is the last fragment of the message. Default true. */
  fin?: boolean;
  /** Compress the message when permessage-deflate is negotiated. Default true. */
  compress?: boolean;
  /** Accepted for `ws` compatibility and ignored: a client always masks, a server never does (RFC 6455 §5.1). */
  mask?: boolean;
}

/** Options shared by server-side and client sockets. */
export interface WebSocketCoreOptions {
  /**
   * false: each 'message', 'ping' and 'pong' is emitted in its own turn of the event loop (the frames
   * behind it wait), as `ws` does. Default true: emitted as the bytes are processed.
   */
  allowSynchronousEvents?: boolean;
  /** Max received message size in bytes; 0 = unlimited. Default 104857600 (100 MiB). */
  maxPayload?: number;
  /** Skip UTF-8 validation of received text messages. Default false. */
  skipUTF8Validation?: boolean;
  /** Answer pings with pongs automatically. Default true. */
  autoPong?: boolean;
  /** Milliseconds to wait for the closing handshake before destroying the socket. Default 30000. */
  closeTimeout?: number;
  /** Max frames in one received message; 0 = unlimited. Beyond: close 1008. Default 131072. */
  maxFragments?: number;
  /**
   * Max received frames waiting behind a message being decompressed; 0 = unlimited. Beyond: close
   * 1008. Default 262144.
   */
  maxBufferedChunks?: number;
  /** Max automatic pongs not yet written; one more ping terminates the connection. 0 = unlimited. Default 60. */
  maxPendingAutoPongs?: number;
  /**
   * Max bytes queued for sending (bufferedAmount) beyond the largest message queued (one message of
   * any size always goes). Beyond it the peer is not reading: the connection is dropped at once, its
   * queue released ('error' with closeCode 1008, then 'close' 1006; pending and later sends' callbacks
   * get an error). Default: 16 MiB on a server's sockets, unlimited (0) on a client's, as in `ws`
   * (0 on a server lets a client that stops reading grow the process's memory without bound).
   */
  maxBufferedAmount?: number;
  /**
   * Ping a connection silent for `interval` ms, terminate it when nothing arrives within `timeout` ms
   * after that ping ('close' with 1006). Off by default. All connections with the same settings share
   * one coarse timer.
   */
  heartbeat?: HeartbeatOptions;
}

/** The constructor's options for a socket made without an address, to be given one by setSocket(). */
export interface AdoptedSocketOptions extends WebSocketCoreOptions {
  /** The role of the socket setSocket() will adopt. Default true (the server side, as in `ws`). */
  isServer?: boolean;
}

/** setSocket()'s options, as `ws`'s (the constructor's options give the rest). */
export interface SetSocketOptions
  extends Pick<WebSocketCoreOptions, 'allowSynchronousEvents' | 'maxPayload' | 'skipUTF8Validation' | 'maxFragments' | 'maxBufferedChunks'> {
  /** Fills the 4-byte masking key of each frame of a client socket. Default: the system CSPRNG. */
  generateMask?: (mask: Buffer) => void;
}

/** The EventEmitter events of a WebSocket and their arguments (`this` is the socket, as in `@types/ws`). */
export interface WebSocketEvents {
  /** The opening handshake completed: the socket can send. */
  open: (this: WebSocket) => void;
  /** A message: a Buffer (or ArrayBuffer, Buffer[] by `binaryType`); `isBinary` false for text. */
  message: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  /** The connection ended: the close code (1005 none, 1006 no close frame) and the reason's bytes. */
  close: (this: WebSocket, code: number, reason: Buffer) => void;
  /** A failed handshake, a peer's protocol violation (with `closeCode`), a limit tripped, a socket error. */
  error: (this: WebSocket, error: Error) => void;
  /** After send() returned false: bufferedAmount went back below the high-water mark. */
  drain: (this: WebSocket) => void;
  /** A ping from the peer (answered automatically unless `autoPong: false`). */
  ping: (this: WebSocket, data: Buffer) => void;
  /** A pong from the peer. */
  pong: (this: WebSocket, data: Buffer) => void;
  /** Client: the server's 101 response, before 'open'. */
  upgrade: (this: WebSocket, response: HandshakeResponse) => void;
  /** Client: the server answered without upgrading; with a listener, no 'error' is emitted for it. */
  'unexpected-response': (this: WebSocket, request: HandshakeRequest, response: HandshakeResponse) => void;
  /** Client, with `followRedirects`: about to follow a redirect to `url`. */
  redirect: (this: WebSocket, url: string, request: HandshakeRequest) => void;
  /** A message published to a topic was not sent to this socket: its queue was over maxBackpressure. */
  dropped: (this: WebSocket, topic: string, data: Buffer, isBinary: boolean) => void;
  /** With the `reconnect` option: the connection was lost (or an attempt failed); the next attempt follows `delay` ms later. */
  reconnecting: (this: WebSocket, info: ReconnectingInfo) => void;
  /** With the `reconnect` option: an attempt opened (emitted after its 'open'). */
  reconnect: (this: WebSocket, info: ReconnectInfo) => void;
  /** With the `reconnect` option: maxAttempts attempts failed; 'close' follows. */
  reconnectFailed: (this: WebSocket, info: ReconnectFailedInfo) => void;
}

/** EventEmitter's own listener type, for events not listed in WebSocketEvents. */
export type AnyListener = (...args: any[]) => void;

// Typed overloads for the events above; any other name falls through to EventEmitter's signature.
export interface WebSocket {
  /** Listen to one of the socket's events (see {@link WebSocketEvents}). */
  on<K extends keyof WebSocketEvents>(event: K, listener: WebSocketEvents[K]): this;
  /** Listen to any other event (EventEmitter's signature). */
  on(event: string | symbol, listener: AnyListener): this;
  /** Listen to the next emission of one of the socket's events. */
  once<K extends keyof WebSocketEvents>(event: K, listener: WebSocketEvents[K]): this;
  /** Listen to the next emission of any other event. */
  once(event: string | symbol, listener: AnyListener): this;
  /** Remove a listener of one of the socket's events. */
  off<K extends keyof WebSocketEvents>(event: K, listener: WebSocketEvents[K]): this;
  /** Remove a listener of any other event. */
  off(event: string | symbol, listener: AnyListener): this;
  /** Same as `on`. */
  addListener<K extends keyof WebSocketEvents>(event: K, listener: WebSocketEvents[K]): this;
  /** Same as `on`. */
  addListener(event: string | symbol, listener: AnyListener): this;
  /** Same as `off`. */
  removeListener<K extends keyof WebSocketEvents>(event: K, listener: WebSocketEvents[K]): this;
  /** Same as `off`. */
  removeListener(event: string | symbol, listener: AnyListener): this;
}

const EMPTY = Buffer.alloc(0);
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
const CLOSED_EARLY = 'WebSocket was closed before the connection was established';
/** RFC 6455 §5.5: control frame payloads are at most 125 bytes. */
const MAX_CONTROL_PAYLOAD = 125;

// WebSocket._flags
const PAUSED = 1;
const ERROR_EMITTED = 2;
const NEED_DRAIN = 4;

/** The fields of a WebSocket that only some sockets use (see WebSocket._rare). */
class RareState {
  handshake: ClientHandshake | null = null;
  sentAfterClose = 0;
  queue: QueuedSend[] | null = null;
  queuedBytes = 0;
  reconnect: Reconnector | null = null;
  leavesTopics = false;
  frameSender: FrameSender | null = null;
}

/** A send waiting behind a Blob being read, so that frames leave in call order (as in `ws`). */
interface QueuedSend {
  /** The Blob to read first, or null when `data` is ready. */
  blob: Blob | null;
  data: Buffer;
  bytes: number;
  error: Error | null;
  reading: boolean;
  write(data: Buffer): void;
  cb: WriteCallback | undefined;
}

/** @internal What a server that tracks its sockets is told when one closes. */
export interface ClientTracker {
  clientClosed(ws: WebSocket): void;
  /** What stats() reads: this socket's messages, limit trips and drops are counted there. */
  readonly counters: ServerCounters;
  /** The server's topics (subscribe/publish). */
  readonly topicHub: TopicHub<WebSocket>;
}

/**
 * The listener table of a WebSocket, in the shape EventEmitter expects (`_events[name]` is a listener,
 * an array of them, or undefined): an own slot per event most applications listen to, so that V8 keeps
 * it as a small object with fixed fields, and nothing inherited (a lookup of 'toString' finds nothing).
 */
const ListenerSlots = function (this: Record<string, unknown>): void {
  this.message = undefined;
  this.close = undefined;
  this.error = undefined;
  this.open = undefined;
  this.ping = undefined;
  this.pong = undefined;
} as unknown as new () => object;
ListenerSlots.prototype = Object.create(null);

/**
 * A WebSocket with the API of `ws` v8: the server side of an accepted connection, or a client
 * (`new WebSocket(url, protocols?, options?)`, see client.ts). Protocol work happens in the core;
 * this class translates its events. A peer's misbehavior never throws, with or without an 'error'
 * listener; the application's own misuse (sending before 'open', an invalid close code...) does.
 */
export class WebSocket extends EventEmitter {
  // Read-only, enumerable and non-configurable on the class and the prototype (set below), as in `ws`.
  /** readyState 0: the opening handshake is under way. */
  declare static readonly CONNECTING: typeof ReadyState.CONNECTING;
  /** readyState 1: open, messages flow. */
  declare static readonly OPEN: typeof ReadyState.OPEN;
  /** readyState 2: a close frame was sent or received. */
  declare static readonly CLOSING: typeof ReadyState.CLOSING;
  /** readyState 3: the connection has ended. */
  declare static readonly CLOSED: typeof ReadyState.CLOSED;
  // Aliases of `ws`'s CommonJS export, set by index.ts (no import cycle).
  /** {@link WebSocketServer}, under `ws`'s old name. */
  declare static Server: typeof WebSocketServer;
  /** {@link WebSocketServer}, for `require('rfc6455').WebSocketServer` as with `ws`. */
  declare static WebSocketServer: typeof WebSocketServer;
  /** The class itself, for `const { WebSocket } = require('rfc6455')`. */
  declare static WebSocket: typeof WebSocket;
  /** {@link createWebSocketStream}, as a property of the class as in `ws`. */
  declare static createWebSocketStream: typeof createWebSocketStream;
  /** Sec-WebSocket-Extensions parsing and formatting in `ws`'s shapes. */
  declare static extension: {
    /** A header value as extension name -> list of parameter objects. */
    parse: typeof parseExtensionHeader;
    /** A header value from extension name -> parameters. */
    format: typeof formatExtensionHeader;
  };
  /** Sec-WebSocket-Protocol parsing as `ws` does it. */
  declare static subprotocol: {
    /** The names of a header value, as a Set. */
    parse: typeof parseSubprotocolHeader;
  };
  /** `ws`'s PerMessageDeflate class, over our codec. */
  declare static PerMessageDeflate: typeof PerMessageDeflate;
  /** `ws`'s Receiver (a Writable that parses frames), over our decoder. */
  declare static Receiver: typeof Receiver;
  // On the prototype (see below), as in `ws`.
  /** 0, as the static. */
  declare readonly CONNECTING: typeof ReadyState.CONNECTING;
  /** 1, as the static. */
  declare readonly OPEN: typeof ReadyState.OPEN;
  /** 2, as the static. */
  declare readonly CLOSING: typeof ReadyState.CLOSING;
  /** 3, as the static. */
  declare readonly CLOSED: typeof ReadyState.CLOSED;

  /** @internal */
  protected _url = '';
  /** @internal */
  protected _protocol = '';
  /** @internal */
  protected _extensions = '';
  /** @internal */
  protected _readyState: ReadyState = ReadyState.CONNECTING;
  /** @internal */
  protected _transport: SocketTransport | null = null;
  private _binaryType: BinaryType = 'nodebuffer';
  /** PAUSED | ERROR_EMITTED | NEED_DRAIN: one field, not three, in every socket (read through the accessors below). */
  private _flags = 0;
  /** pause() was called (and not resume()). */
  private get _paused(): boolean {
    return (this._flags & PAUSED) !== 0;
  }
  private set _paused(value: boolean) {
    this._flags = value ? this._flags | PAUSED : this._flags & ~PAUSED;
  }
  private get _errorEmitted(): boolean {
    return (this._flags & ERROR_EMITTED) !== 0;
  }
  private set _errorEmitted(value: boolean) {
    this._flags = value ? this._flags | ERROR_EMITTED : this._flags & ~ERROR_EMITTED;
  }
  /** send() returned false: emit 'drain' once bufferedAmount is below the high-water mark. */
  private get _needDrain(): boolean {
    return (this._flags & NEED_DRAIN) !== 0;
  }
  private set _needDrain(value: boolean) {
    this._flags = value ? this._flags | NEED_DRAIN : this._flags & ~NEED_DRAIN;
  }
  /** @internal The server that tracks this socket until it closes (server side). */
  _tracker: ClientTracker | null = null;
  /**
   * The role, as `ws`'s field: true for a socket made without an address (a server's, unless the
   * constructor's `isServer` option says otherwise), false for a client. setSocket() follows it.
   */
  _isServer: boolean;
  /**
   * What only some sockets use (a client's handshake and reconnection, sends queued behind a Blob,
   * topics, pre-encoded frames...): made when one of them is first set, so that a server's idle socket
   * does not carry their fields. Read and written through the accessors below.
   */
  private _rare: RareState | null = null;
  /**
   * The constructor's options of a socket made without an address: what setSocket() adds to its own.
   * (A field of its own: a server gives its options to every socket it makes.)
   */
  private _adoptOptions: WebSocketCoreOptions | null = null;

  /** A client's opening handshake in progress, else null. */
  private get _handshake(): ClientHandshake | null {
    return this._rare === null ? null : this._rare.handshake;
  }
  private set _handshake(value: ClientHandshake | null) {
    if (value !== null || this._rare !== null) this._rareState().handshake = value;
  }
  /** Bytes of sends attempted after the socket closed (reported by bufferedAmount, as `ws` does). */
  private get _sentAfterClose(): number {
    return this._rare === null ? 0 : this._rare.sentAfterClose;
  }
  private set _sentAfterClose(value: number) {
    if (value !== 0 || this._rare !== null) this._rareState().sentAfterClose = value;
  }
  /** Sends waiting behind a Blob being read, else null. */
  private get _queue(): QueuedSend[] | null {
    return this._rare === null ? null : this._rare.queue;
  }
  private set _queue(value: QueuedSend[] | null) {
    if (value !== null || this._rare !== null) this._rareState().queue = value;
  }
  private get _queuedBytes(): number {
    return this._rare === null ? 0 : this._rare.queuedBytes;
  }
  private set _queuedBytes(value: number) {
    if (value !== 0 || this._rare !== null) this._rareState().queuedBytes = value;
  }
  /** A client's `reconnect` option at work (reconnect.ts); null without it. */
  private get _reconnect(): Reconnector | null {
    return this._rare === null ? null : this._rare.reconnect;
  }
  private set _reconnect(value: Reconnector | null) {
    if (value !== null || this._rare !== null) this._rareState().reconnect = value;
  }
  /** A 'close' listener leaves this socket's topics (added with its first subscription). */
  private get _leavesTopics(): boolean {
    return this._rare === null ? false : this._rare.leavesTopics;
  }
  private set _leavesTopics(value: boolean) {
    if (value || this._rare !== null) this._rareState().leavesTopics = value;
  }
  private get _frameSender(): FrameSender | null {
    return this._rare === null ? null : this._rare.frameSender;
  }
  private set _frameSender(value: FrameSender | null) {
    if (value !== null || this._rare !== null) this._rareState().frameSender = value;
  }
  private _rareState(): RareState {
    return (this._rare ??= new RareState());
  }

  /**
   * `new WebSocket(url, protocols?, options?)` opens a client connection (ws:, wss:, http:, https:,
   * ws+unix:). Throws SyntaxError for an invalid URL or subprotocol, RangeError for an unsupported
   * protocolVersion, TypeError for an invalid header. Server-side sockets are created by
   * WebSocketServer (no address).
   */
  constructor(
    address?: string | URL | null,
    protocols?: string | readonly string[] | ClientOptions | null,
    options?: ClientOptions & AdoptedSocketOptions,
  ) {
    super();
    // EventEmitter's own table is a null-prototype object, which V8 keeps as a hash table (about 280
    // bytes per WebSocket); this one has a slot per common event and stays compact.
    (this as unknown as { _events: object })._events = new ListenerSlots();
    if (address === undefined || address === null) {
      this._isServer = options?.isServer ?? true;
      if (options !== undefined && options !== null) this._adoptOptions = options;
      return;
    }
    this._isServer = false;
    if (protocols !== undefined && protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as ClientOptions;
      protocols = undefined;
    }
    const opts = options ?? {};
    // As `ws`: any other second argument is the subprotocol list (null included), checked by the handshake.
    const subprotocols = protocols === undefined ? opts.protocols : protocols;
    const reconnect = reconnectSettings(opts.reconnect);
    if (reconnect !== null) this._reconnect = new Reconnector(reconnect, this._reconnectHooks(address, subprotocols, opts));
    this._handshake = new ClientHandshake(this, address, subprotocols, opts);
    this._url = this._handshake.url;
  }

  /** The URL the client connected to (after redirects); '' on a server-side socket. */
  get url(): string {
    return this._url;
  }

  /** The events that have listeners (the table's empty slots are not events). */
  override eventNames(): Array<string | symbol> {
    const table = (this as unknown as { _events: Record<string | symbol, unknown> })._events;
    return Reflect.ownKeys(table).filter((name) => table[name] !== undefined);
  }

  /** The subprotocol the server selected; '' when none. */
  get protocol(): string {
    return this._protocol;
  }

  /** The negotiated extensions' names, comma-separated. */
  get extensions(): string {
    return this._extensions;
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): ReadyState {
    const state = this._readyState;
    // A close frame sent or received (by the core, e.g. echoing the peer's) means CLOSING.
    if (state === ReadyState.OPEN && this._transport!.connection.readyState !== ReadyState.OPEN) return ReadyState.CLOSING;
    return state;
  }

  /** How binary messages are given: 'nodebuffer' (default), 'arraybuffer', 'fragments' (Buffer[]) or 'blob'. */
  get binaryType(): BinaryType {
    return this._binaryType;
  }

  /** An unknown type is ignored, as in `ws`. */
  set binaryType(type: BinaryType) {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type;
    if (this._transport !== null) this._transport.connection.recordFragments = type === 'fragments';
  }

  /** Bytes queued and not yet written to the socket (plus, as `ws`, bytes sent after the close). */
  get bufferedAmount(): number {
    const buffered = this._transport?.bufferedAmount ?? 0;
    const rare = this._rare;
    return rare === null ? buffered : buffered + rare.queuedBytes + rare.sentAfterClose + (rare.reconnect?.queuedBytes ?? 0);
  }

  /** Whether reading is paused by `pause()`. */
  get isPaused(): boolean {
    return this._paused;
  }

  /** The underlying socket (as `ws`'s `_socket`), null before 'open'. */
  get _socket(): Socket | null {
    return this._transport?.socket ?? null;
  }

  /** @internal Both close frames were exchanged (CloseEvent.wasClean). */
  get _wasClean(): boolean {
    const connection = this._transport?.connection;
    return connection !== undefined && connection.closeFrameSent && connection.closeFrameReceived;
  }

  // ---- WHATWG EventTarget face ---------------------------------------------------------------

  /** The 'open' event handler of the browser-style API (one at a time, as in browsers). */
  get onopen(): ((event: Event) => void) | null {
    return getEventAttribute(this, 'open') as ((event: Event) => void) | null;
  }
  /** Sets the 'open' handler (null removes it). */
  set onopen(handler: ((event: Event) => void) | null) {
    setEventAttribute(this, 'open', handler);
  }
  /** The 'message' event handler of the browser-style API. */
  get onmessage(): ((event: MessageEvent) => void) | null {
    return getEventAttribute(this, 'message') as ((event: MessageEvent) => void) | null;
  }
  /** Sets the 'message' handler (null removes it). */
  set onmessage(handler: ((event: MessageEvent) => void) | null) {
    setEventAttribute(this, 'message', handler);
  }
  /** The 'close' event handler of the browser-style API. */
  get onclose(): ((event: CloseEvent) => void) | null {
    return getEventAttribute(this, 'close') as ((event: CloseEvent) => void) | null;
  }
  /** Sets the 'close' handler (null removes it). */
  set onclose(handler: ((event: CloseEvent) => void) | null) {
    setEventAttribute(this, 'close', handler);
  }
  /** The 'error' event handler of the browser-style API. */
  get onerror(): ((event: ErrorEvent) => void) | null {
    return getEventAttribute(this, 'error') as ((event: ErrorEvent) => void) | null;
  }
  /** Sets the 'error' handler (null removes it). */
  set onerror(handler: ((event: ErrorEvent) => void) | null) {
    setEventAttribute(this, 'error', handler);
  }

  /** Browser-style listening to 'open', 'message', 'close' or 'error' (`{ once: true }` supported). */
  addEventListener<K extends WebSocketEventType>(type: K, listener: WebSocketEventListenerMap[K], options?: AddEventListenerOptions): void;
  /** Any other type is accepted and never fires, as in `ws`. */
  addEventListener(type: string, listener: EventListenerLike<never>, options?: AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerLike<never>, options?: AddEventListenerOptions): void {
    addEventListener(this, type, listener, options);
  }

  /** Removes a listener added with addEventListener. */
  removeEventListener<K extends WebSocketEventType>(type: K, listener: WebSocketEventListenerMap[K]): void;
  /** Removes a listener of any other type (a no-op). */
  removeEventListener(type: string, listener: EventListenerLike<never>): void;
  removeEventListener(type: string, listener: EventListenerLike<never>): void {
    removeEventListener(this, type, listener);
  }

  // ---- sending -------------------------------------------------------------------------------

  /**
   * Send a message (or, with `fin: false`, a fragment of one). `cb` runs once the bytes are written,
   * or with an error when they cannot be (after the close: on the next tick, as `ws`).
   * Throws while CONNECTING. Returns false when bufferedAmount is at or above the socket's high-water
   * mark (then 'drain' follows once it is below), true otherwise; `ws` returns nothing, so code
   * written for it is unaffected.
   */
  send(data: SendData | PreparedMessage, options?: SendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) {
      if (this._reconnect === null) throw notOpen(state);
      this._reconnect.enqueue(data, options, cb);
      return true;
    }
    if (typeof data === 'number') data = String(data);
    if (state !== ReadyState.OPEN) {
      this._sendAfterClose(data instanceof PreparedMessage ? data.data : data, cb);
      return false;
    }
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin ?? true;
    const connection = this._transport!.connection;
    // As in `ws`: compress by default when permessage-deflate was negotiated (`compress: false` opts out).
    const compress = options?.compress !== false;
    let buffer: Buffer;
    if (typeof data === 'string') {
      // (The string framed last in this tick: its bytes are in the frame.)
      buffer = data === lastData && lastPayload !== null ? lastPayload : Buffer.from(data);
    } else if (Buffer.isBuffer(data)) {
      buffer = data;
    } else if (isBlob(data)) {
      this._countSent(data.size, fin ? 1 : 0);
      this._enqueue(data, EMPTY, (bytes) => connection.send(bytes, binary, fin, cb, compress), cb);
      return this._belowHighWaterMark();
    } else if (data instanceof PreparedMessage) {
      this._countSent(data.data.length, 1);
      return this._sendPrepared(data, cb);
    } else {
      buffer = toBuffer(data!);
    }
    const tracker = this._tracker;
    if (tracker !== null) {
      const counters = tracker.counters;
      counters.bytesOut += buffer.length;
      if (fin) counters.messagesOut++;
    }
    if (this._queue !== null) {
      this._enqueue(null, buffer, () => connection.send(buffer, binary, fin, cb, compress), cb);
      return this._belowHighWaterMark();
    }
    // A whole small message a server connection sends as it is (no compression): framed once per tick
    // for all the sockets it is sent to (a loop over wss.clients), see tickFrame.
    // The first send of some data goes through the connection's write batch (an echo sends each message
    // once: framing it apart would cost a buffer per message); a second send of the same data in the tick
    // takes the shared frame.
    if (data === sentData && binary === sentBinary) {
      if (fin && buffer.length <= COPY_THRESHOLD && connection.role === 'server' && (!compress || connection.negotiatedExtension === null) && connection.writesEncodedNow) {
        this._transport!.sendEncoded(tickFrame(data, buffer, binary), cb);
        return this._belowHighWaterMark();
      }
    } else {
      if (sentData === null) process.nextTick(forgetSentData);
      sentData = data;
      sentBinary = binary;
    }
    connection.send(buffer, binary, fin, cb, compress);
    return this._belowHighWaterMark();
  }

  /** Counts sent messages and their payload bytes on the server's counters (server sockets). */
  private _countSent(bytes: number, messages: number): void {
    const tracker = this._tracker;
    if (tracker === null) return;
    tracker.counters.bytesOut += bytes;
    tracker.counters.messagesOut += messages;
  }

  /** The answer of send(): false (and 'drain' owed) at or above the high-water mark. */
  private _belowHighWaterMark(): boolean {
    const transport = this._transport;
    if (transport === null || this.bufferedAmount < transport.highWaterMark) return true;
    this._needDrain = true;
    return false;
  }

  /** Send a ping (at most 125 bytes, else RangeError). `mask` is accepted and ignored. */
  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this._control(true, data, mask, cb);
  }

  /** Send a pong (at most 125 bytes, else RangeError). `mask` is accepted and ignored. */
  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this._control(false, data, mask, cb);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2). The code and reason are checked as `ws` checks
   * them (see checkCloseCode, checkCloseReason): TypeError for a code that may not be sent or a
   * reason that cannot be, RangeError for a reason over 123 bytes. Without a code, the close frame
   * is empty and the reason is ignored (as in `ws`).
   * Before the connection opened, aborts the handshake ('error', then 'close').
   */
  close(code?: number, reason?: string | Buffer | Uint8Array): void {
    const state = this.readyState;
    if (state === ReadyState.CLOSED) return;
    if (state === ReadyState.CONNECTING) {
      this._abortHandshake();
      return;
    }
    if (state === ReadyState.CLOSING) {
      this._reconnect?.stop();
      return;
    }
    const wireCode = code === undefined ? undefined : checkCloseCode(code);
    const reasonBuffer = wireCode === undefined ? undefined : checkCloseReason(reason);
    this._reconnect?.stop();
    this._readyState = ReadyState.CLOSING;
    const connection = this._transport!.connection;
    if (this._queue !== null) {
      this._enqueue(null, EMPTY, () => connection.close(wireCode, reasonBuffer), undefined);
      return;
    }
    connection.close(wireCode, reasonBuffer);
  }

  /** Destroy the connection at once, without a closing handshake. */
  terminate(): void {
    const state = this.readyState;
    if (state === ReadyState.CLOSED) return;
    if (state === ReadyState.CONNECTING) {
      this._abortHandshake();
      return;
    }
    this._reconnect?.stop();
    this._readyState = ReadyState.CLOSING;
    this._transport!.terminate();
  }

  /** Stop reading from the socket (messages already received are still delivered). */
  pause(): void {
    const state = this.readyState;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this._paused = true;
    this._transport!.pause();
  }

  /** Resume reading after `pause()`. */
  resume(): void {
    const state = this.readyState;
    if (state === ReadyState.CONNECTING || state === ReadyState.CLOSED) return;
    this._paused = false;
    this._transport!.resume();
  }

  /**
   * The messages received from now on, as an async iterator of `{ data, isBinary }` (see
   * message-iterator.ts and the README): reading pauses while `highWaterMark` messages wait; the
   * iteration ends after a close with 1000, 1001 or 1005 and throws a ConnectionClosedError after any
   * other; leaving the loop does not close the socket. One iterator at a time (else an Error).
   */
  messages(options?: MessagesOptions): AsyncIterableIterator<WebSocketMessage> {
    return new MessageIterator(this, options);
  }

  /** `for await (const { data, isBinary } of ws)`: `messages()` with its defaults. */
  [Symbol.asyncIterator](): AsyncIterableIterator<WebSocketMessage> {
    return new MessageIterator(this, undefined);
  }

  // ---- server and client setup (internal) ----------------------------------------------------

  /**
   * Adopt a socket whose HTTP upgrade was done elsewhere (a net.Socket, a TLS socket or any Duplex),
   * as `ws`'s `setSocket`: the connection is open at once and 'open' is emitted. The role follows
   * `_isServer`; `head` holds the bytes read after the upgrade's head. No extension is in use on
   * this path. Throws when the socket already has a connection or a handshake.
   */
  setSocket(socket: Duplex, head: Buffer, options?: SetSocketOptions): void {
    if (this._transport !== null || this._handshake !== null) {
      throw new Error('setSocket() needs a WebSocket made without an address and not yet given a socket');
    }
    const merged = { ...this._adoptOptions, ...options };
    const transportOptions = transportOptionsFrom(merged);
    if (merged.generateMask !== undefined) transportOptions.maskKeys = maskKeysFrom(merged.generateMask);
    const handshake = serverHandshake;
    serverHandshake = null;
    if (handshake !== null) {
      transportOptions.extension = handshake.extension;
      this._attach(socket as Socket, 'server', head, handshake.negotiated, transportOptions);
    } else {
      const negotiated = { url: this._url, protocol: this._protocol, extensions: '' };
      this._attach(socket as Socket, this._isServer ? 'server' : 'client', head, negotiated, transportOptions);
    }
    this.emit('open');
  }

  /**
   * @internal A server adopts its upgraded socket through a subclass's setSocket() override, as `ws`
   * calls setSocket() (the override gets `ws`'s arguments; the base method, given the handshake's
   * outcome here, attaches it as a server socket). False when the override did not adopt it.
   */
  _attachThroughSetSocket(
    socket: Duplex,
    head: Buffer,
    negotiated: { url: string; protocol: string; extensions: string },
    extension: Extension | null,
    options: SetSocketOptions,
  ): boolean {
    serverHandshake = { negotiated, extension };
    try {
      this.setSocket(socket, head, options);
    } finally {
      serverHandshake = null;
    }
    return this._transport !== null;
  }

  /** @internal Binds an upgraded socket; `head` holds bytes that followed the handshake. */
  _attach(
    socket: Socket,
    role: Role,
    head: Buffer,
    negotiated: { url: string; protocol: string; extensions: string },
    options: Partial<TransportOptions>,
  ): void {
    this._isServer = role === 'server';
    this._adoptOptions = null;
    this._url = negotiated.url;
    this._protocol = negotiated.protocol;
    this._extensions = negotiated.extensions;
    this._transport = new SocketTransport(socket, role, this, options, head);
    if (this._binaryType === 'fragments') this._transport.connection.recordFragments = true;
    this._readyState = ReadyState.OPEN;
    if (openChannel.hasSubscribers) {
      const address = { address: socket.remoteAddress, family: socket.remoteFamily, port: socket.remotePort };
      openChannel.publish({ websocket: this, address, protocol: this._protocol, extensions: this._extensions });
    }
  }

  /** @internal The client handshake completed. */
  _opened(): void {
    this._handshake = null;
    const reconnect = this._reconnect;
    if (reconnect === null) {
      this.emit('open');
      return;
    }
    // A new connection of a reconnecting socket: a pause of the application's carries over.
    if (this._paused) this._transport!.pause();
    try {
      this.emit('open');
    } finally {
      reconnect.opened();
    }
  }

  /** @internal */
  _redirected(url: string, request: HandshakeRequest): void {
    this._url = url;
    this.emit('redirect', url, request);
  }

  /** @internal */
  _upgradeResponse(response: HandshakeResponse | IncomingMessage): void {
    this.emit('upgrade', response);
  }

  /** @internal Returns whether the application listens for the response (and so handles it). */
  _unexpectedResponse(request: HandshakeRequest | ClientRequest, response: HandshakeResponse | IncomingMessage): boolean {
    return this.emit('unexpected-response', request, response);
  }

  /**
   * @internal The client handshake failed (`status`: of the answer that failed it): 'error' (when
   * listened to), then 'close' with 1006, on the next tick; with `reconnect`, maybe another attempt.
   */
  _handshakeFailed(error: Error, status?: number): void {
    this._handshake = null;
    if (this._reconnect !== null && this._reconnect.lost(1006, '', error, status)) return;
    this._readyState = ReadyState.CLOSING;
    process.nextTick(() => {
      this._emitError(error);
      this._emitClose(1006, EMPTY);
    });
  }

  private _abortHandshake(): void {
    // Waiting for a reconnection attempt: ended as a handshake closed early would be.
    if (this._reconnect !== null && this._reconnect.stop()) {
      this._handshakeFailed(new Error(CLOSED_EARLY));
      return;
    }
    this._handshake?.abort(CLOSED_EARLY);
  }

  /** What the `reconnect` option's Reconnector does to this socket. */
  private _reconnectHooks(address: string | URL, protocols: unknown, options: ClientOptions): ReconnectHooks {
    return {
      emit: (event, info) => {
        this.emit(event, info);
      },
      connect: () => {
        // The first URL again (redirects are followed anew); a throw is that attempt's failure.
        try {
          this._handshake = new ClientHandshake(this, address, protocols, options);
          this._url = this._handshake.url;
        } catch (error) {
          this._handshakeFailed(error instanceof Error ? error : new Error(String(error)));
        }
      },
      waiting: () => {
        this._readyState = ReadyState.CONNECTING;
        // Each connection (or attempt) reports its own error; what was owed 'drain' is not any more.
        this._errorEmitted = false;
        this._needDrain = false;
        this._sentAfterClose = 0;
        this._frameSender = null;
      },
      send: (data, sendOptions, cb) => {
        this.send(data as SendData, sendOptions as SendOptions | undefined, cb);
      },
      error: (error) => this._emitError(error),
    };
  }

  /** @internal Emit 'error' only when someone listens, and once: a peer's misbehavior must never throw. */
  protected _emitError(error: Error): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private _emitClose(code: number, reason: Buffer): void {
    this._readyState = ReadyState.CLOSED;
    if (closeChannel.hasSubscribers) closeChannel.publish({ websocket: this, code, reason });
    this.emit('close', code, reason);
  }

  private _control(ping: boolean, data: SendData | WriteCallback | undefined, mask: boolean | WriteCallback | undefined, cb: WriteCallback | undefined): void {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) throw notOpen(state);
    if (typeof data === 'number') data = String(data);
    if (state !== ReadyState.OPEN) {
      this._sendAfterClose(data, cb);
      return;
    }
    const connection = this._transport!.connection;
    if (isBlob(data)) {
      if (data.size > MAX_CONTROL_PAYLOAD) throw controlTooLong();
      this._enqueue(data, EMPTY, (bytes) => (ping ? connection.ping(bytes, cb) : connection.pong(bytes, cb)), cb);
      return;
    }
    const buffer = data === undefined || data === null ? EMPTY : toBuffer(data);
    if (buffer.length > MAX_CONTROL_PAYLOAD) throw controlTooLong();
    if (this._queue !== null) {
      this._enqueue(null, buffer, () => (ping ? connection.ping(buffer, cb) : connection.pong(buffer, cb)), cb);
      return;
    }
    if (ping) connection.ping(buffer, cb);
    else connection.pong(buffer, cb);
  }

  /** `ws`: after the close, data counts in bufferedAmount and the callback gets an error on the next tick. */
  private _sendAfterClose(data: SendData | null | undefined, cb: WriteCallback | undefined): void {
    if (data !== undefined && data !== null && data !== '') {
      this._sentAfterClose += isBlob(data) ? data.size : toBuffer(data).length;
    }
    if (cb !== undefined) process.nextTick(cb, notOpen(this.readyState));
  }

  // ---- the queue behind a Blob ---------------------------------------------------------------

  private _enqueue(blob: Blob | null, data: Buffer, write: (data: Buffer) => void, cb: WriteCallback | undefined): void {
    const bytes = blob === null ? data.length : blob.size;
    const op: QueuedSend = { blob, data, bytes, error: null, reading: false, write, cb };
    this._queuedBytes += bytes;
    if (this._queue === null) this._queue = [];
    this._queue.push(op);
    if (this._queue.length === 1) this._drainQueue();
  }

  /** Runs the queued sends in order, reading each Blob before its frame is written. */
  private _drainQueue(): void {
    const queue = this._queue!;
    while (queue.length > 0) {
      const op = queue[0]!;
      if (op.blob !== null) {
        if (!op.reading) {
          op.reading = true;
          op.blob.arrayBuffer().then(
            (buffer) => {
              op.blob = null;
              op.data = Buffer.from(buffer);
              process.nextTick(() => this._drainQueue());
            },
            (error: unknown) => {
              op.blob = null;
              op.error = error instanceof Error ? error : new Error(String(error));
              process.nextTick(() => this._drainQueue());
            },
          );
        }
        return;
      }
      queue.shift();
      this._queuedBytes -= op.bytes;
      const connection = this._transport!.connection;
      if (op.error !== null) {
        // As `ws`: a Blob that cannot be read fails the connection, and its error is what every send
        // queued behind it gets.
        const error = op.error;
        const owed = queue.splice(0);
        this._queuedBytes = 0;
        // Terminated first: a send made from one of these callbacks is refused, not queued.
        this.terminate();
        op.cb?.(error);
        for (const behind of owed) behind.cb?.(error);
        this._emitError(error);
      } else if (connection.closeFrameSent || connection.readyState === ReadyState.CLOSED) {
        op.cb?.(new Error('The socket was closed while the blob was being read'));
      } else {
        op.write(op.data);
      }
    }
    this._queue = null;
    this.onDrain();
  }

  // ---- TransportListener (checked where the transport is created; not part of the declarations) --

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean, fragmentEnds?: readonly number[] | null): void {
    const tracker = this._tracker;
    if (tracker !== null) {
      tracker.counters.messagesIn++;
      tracker.counters.bytesIn += data.length;
    }
    if (isBinary && this._binaryType !== 'nodebuffer') {
      this.emit('message', convertBinary(data, this._binaryType, fragmentEnds), true);
    } else {
      this.emit('message', data, isBinary);
    }
  }

  /** @internal */
  onPing(payload: Buffer): void {
    if (pingChannel.hasSubscribers) pingChannel.publish({ websocket: this, payload });
    this.emit('ping', payload);
  }

  /** @internal As `ws`, an automatic pong goes through pong() when the application has replaced it (checked per ping). */
  ownPong(payload: Buffer, cb: WriteCallback): boolean {
    if (this.pong === WebSocket.prototype.pong) return false;
    this.pong(payload, !this._isServer, cb);
    return true;
  }

  /** @internal */
  onPong(payload: Buffer): void {
    if (pongChannel.hasSubscribers) pongChannel.publish({ websocket: this, payload });
    this.emit('pong', payload);
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    if (this._readyState === ReadyState.OPEN) this._readyState = ReadyState.CLOSING;
    this._tracker?.counters.connectionFailed(error);
    if (socketErrorChannel.hasSubscribers) socketErrorChannel.publish({ websocket: this, error });
    this._emitError(error);
  }

  /** @internal */
  onDrain(): void {
    if (!this._needDrain || this.bufferedAmount >= this._transport!.highWaterMark) return;
    this._needDrain = false;
    this.emit('drain');
  }

  /** @internal */
  onClose(code: number, reason: Buffer): void {
    // The reason is a view into a received chunk: copy it so that the chunk is not kept alive.
    let copy = EMPTY;
    if (reason.length > 0) {
      copy = Buffer.allocUnsafeSlow(reason.length);
      copy.set(reason);
    }
    if (this._reconnect !== null && this._reconnect.lost(code, copy.toString(), undefined, undefined)) return;
    this._emitClose(code, copy);
  }

  // ---- topics (pub/sub) and pre-encoded frames -----------------------------------------------

  /** The `ws` Sender class (its static `frame()` frames a message once for many sockets). */
  static Sender = Sender;

  /** @internal The topics of the server that accepted this socket (its tracker's); null for a client socket. */
  get _topicHub(): TopicHub<WebSocket> | null {
    const tracker = this._tracker;
    return tracker === null ? null : tracker.topicHub;
  }

  /**
   * A message framed once, that any number of sockets can `send()` (and `publish()` takes) with one
   * encoding: `binary` (default: false for a string, true otherwise) and `compress` (default true: a
   * socket with permessage-deflate compresses it) are fixed here; send()'s options do not apply to it.
   * `data` is kept, not copied: do not change it while the message is in use.
   */
  static prepare(data: Exclude<SendData, Blob>, options?: { binary?: boolean; compress?: boolean }): PreparedMessage {
    if (isBlob(data)) throw new TypeError('A Blob cannot be prepared (its bytes are read asynchronously): prepare its arrayBuffer()');
    if (typeof data === 'number') data = String(data);
    const binary = options?.binary ?? typeof data !== 'string';
    return new PreparedMessage(toBuffer(data), binary, options?.compress !== false);
  }

  /**
   * Subscribe this socket to `topic` (any string). Returns true when it was not subscribed yet, false
   * when it was or the socket is closed. A closed socket leaves all its topics. Throws for a client
   * socket (topics belong to a WebSocketServer).
   *
   * `since` (a position `{ offset, epoch }` of a topic whose broker keeps history, such as RedisBroker
   * with `history`): a new subscription first gets the publishes after that position, in order and
   * before any live message, then the socket emits 'recovery' (topic, { recovered, position, replayed }).
   */
  subscribe(topic: string, options?: { since?: StreamPosition }): boolean {
    const hub = this._topicHub;
    if (hub === null) throw new Error('subscribe(): topics are for the sockets of a WebSocketServer');
    if (this._readyState === ReadyState.CLOSED) return false;
    const since = options?.since;
    if (since !== undefined) checkPosition(since);
    const added = since === undefined ? hub.subscribe(this, topic) : hub.subscribe(this, topic, since, (result) => this.emit('recovery', topic, result));
    if (added && !this._leavesTopics) {
      this._leavesTopics = true;
      this.once('close', leaveTopics);
    }
    return added;
  }

  /** Returns true when this socket was subscribed to `topic`. */
  unsubscribe(topic: string): boolean {
    return this._topicHub?.unsubscribe(this, topic) ?? false;
  }

  /** Whether this socket is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this._topicHub?.isSubscribed(this, topic) ?? false;
  }

  /** This socket's topics, in the order it subscribed to them. */
  getTopics(): string[] {
    return this._topicHub?.topicsOf(this) ?? [];
  }

  /**
   * Publish to every subscriber of `topic` except this socket (as uWebSockets and Bun), and through
   * the server's broker to other nodes. Returns the number of local subscribers reached. Throws for
   * a client socket.
   */
  publish(topic: string, data: Exclude<SendData, Blob> | PreparedMessage, options?: { binary?: boolean; compress?: boolean }): number {
    const hub = this._topicHub;
    if (hub === null) throw new Error('publish(): topics are for the sockets of a WebSocketServer');
    const message = data instanceof PreparedMessage ? data : WebSocket.prepare(data, options);
    const reached = hub.publish(topic, message, this);
    this._countSent(message.data.length * reached, reached);
    return reached;
  }

  /** `ws`'s `_sender`: `sendFrame(list, cb)` writes a frame made by `Sender.frame`. Null before open. */
  get _sender(): FrameSender | null {
    const transport = this._transport;
    if (transport === null) return null;
    return (this._frameSender ??= new FrameSender(transport));
  }

  /** @internal Subscriber: the transport that published messages go to. */
  _publishTransport(): SocketTransport | null {
    return this._transport;
  }

  /** @internal Subscriber: a published message was not sent to this socket (backpressure). */
  _publishDropped(topic: string, message: PreparedMessage): void {
    if (this._tracker !== null) this._tracker.counters.backpressureDrops++;
    // On the next tick: the fan-out (possibly of a broker's message, inside a Redis client's or the IPC
    // channel's handler) goes on to the other subscribers whatever a listener does.
    if (this.listenerCount('dropped') > 0) process.nextTick(emitDropped, this, topic, message);
  }

  private _sendPrepared(message: PreparedMessage, cb: WriteCallback | undefined): boolean {
    if (this._queue !== null) {
      this._enqueue(null, message.data, () => this._writePrepared(message, cb, false), cb);
    } else {
      this._writePrepared(message, cb, true);
    }
    return this._belowHighWaterMark();
  }

  /** A prepared message is a whole message: it cannot go between the fragments of one being sent. */
  private _writePrepared(message: PreparedMessage, cb: WriteCallback | undefined, canThrow: boolean): void {
    if (sendPrepared(this._transport!, message, cb)) return;
    const error = new Error('A prepared message cannot be sent while a fragmented message is being sent');
    if (canThrow) throw error;
    cb?.(error);
  }
}

function checkPosition(since: StreamPosition): void {
  if (typeof since !== 'object' || since === null || !Number.isSafeInteger(since.offset) || since.offset < 0 || typeof since.epoch !== 'string') {
    throw new TypeError('The "since" option must be { offset: a non-negative integer, epoch: a string }');
  }
}

/** The 'close' listener of a subscribed socket (one function for all). */
function leaveTopics(this: WebSocket): void {
  this._topicHub?.unsubscribeAll(this);
}

// `ws`'s property descriptors: the readyState constants read-only, enumerable and non-configurable
// on the class and the prototype; the accessors enumerable, so that for...in over a socket lists them.
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

/**
 * The type names of `ws` under the class, as `@types/ws` declares them: `WebSocket.RawData`,
 * `WebSocket.ServerOptions`, `WebSocket.Server`... (types only; the values `WebSocket.Server`,
 * `WebSocket.WebSocketServer`, `WebSocket.WebSocket` and `WebSocket.createWebSocketStream` are the
 * statics of the class).
 */
export declare namespace WebSocket {
  /** Same as {@link api.RawData}. */
  type RawData = api.RawData;
  /** Same as {@link api.Data}. */
  type Data = api.Data;
  /** Same as {@link api.ClientOptions}. */
  type ClientOptions = api.ClientOptions;
  /** Same as {@link api.ServerOptions}. */
  type ServerOptions<T extends typeof api.WebSocket = typeof api.WebSocket> = api.ServerOptions<T>;
  /** Same as {@link api.PerMessageDeflateOptions}. */
  type PerMessageDeflateOptions = api.PerMessageDeflateOptions;
  /** Same as {@link api.VerifyClientCallbackSync}. */
  type VerifyClientCallbackSync<Request extends api.UpgradeRequest = api.UpgradeRequest> = api.VerifyClientCallbackSync<Request>;
  /** Same as {@link api.VerifyClientCallbackAsync}. */
  type VerifyClientCallbackAsync<Request extends api.UpgradeRequest = api.UpgradeRequest> = api.VerifyClientCallbackAsync<Request>;
  /** The address of a socket, as `net.AddressInfo`. */
  type AddressInfo = api.AddressInfo;
  /** Same as {@link api.Event}. */
  type Event = api.Event;
  /** Same as {@link api.ErrorEvent}. */
  type ErrorEvent = api.ErrorEvent;
  /** Same as {@link api.CloseEvent}. */
  type CloseEvent = api.CloseEvent;
  /** Same as {@link api.MessageEvent}. */
  type MessageEvent = api.MessageEvent;
  /** Same as {@link api.WebSocketEventMap}. */
  type WebSocketEventMap = api.WebSocketEventMap;
  /** Same as {@link api.EventListenerOptions}. */
  type EventListenerOptions = api.EventListenerOptions;
  /** Same as {@link api.WebSocketServer}. */
  type Server<T extends typeof api.WebSocket = typeof api.WebSocket> = api.WebSocketServer<T>;
  /** Same as {@link api.WebSocketServer}. */
  type WebSocketServer<T extends typeof api.WebSocket = typeof api.WebSocket> = api.WebSocketServer<T>;
  /** Same as {@link api.WebSocket}. */
  type WebSocket = api.WebSocket;
}
// (`ws` also assigns addEventListener and removeEventListener, and inherits eventNames, as enumerable methods.)
const ENUMERABLE_ON_PROTOTYPE = [
  'binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url',
  'onopen', 'onerror', 'onclose', 'onmessage', 'addEventListener', 'removeEventListener', 'eventNames',
];
for (const name of ENUMERABLE_ON_PROTOTYPE) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

function emitDropped(ws: WebSocket, topic: string, message: PreparedMessage): void {
  ws.emit('dropped', topic, message.data, message.binary);
}

function notOpen(state: ReadyState): Error {
  return new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
}

function controlTooLong(): RangeError {
  return new RangeError(`The data size must not be greater than ${MAX_CONTROL_PAYLOAD} bytes`);
}

/**
 * The close code that goes on the wire. As `ws`: a number in 1000-1014 or 3000-4999 (fractions
 * included) is sent without its fraction; but never a code RFC 6455 §7.4.1 forbids in a close frame
 * (1004-1006: `ws` sends 1004.5 as 1004). Else TypeError.
 */
/** The handshake's outcome while a server calls a setSocket() override (see _attachThroughSetSocket). */
let serverHandshake: { negotiated: { url: string; protocol: string; extensions: string }; extension: Extension | null } | null = null;

function checkCloseCode(code: unknown): number {
  const wire = typeof code === 'number' ? Math.trunc(code) : NaN;
  if (!isValidCloseCode(wire) || (code as number) > (wire < 3000 ? 1014 : 4999)) {
    throw new TypeError('First argument must be a valid error code number');
  }
  return wire;
}

/**
 * The close reason's bytes, or undefined for none. As `ws`: a value without a length (a number, a
 * plain object, '') is no reason; a string is encoded; `null`, or a value with a length that is not
 * a string or a Uint8Array, is a TypeError. A Uint8Array that is not UTF-8 is a TypeError too (`ws`
 * sends it): RFC 6455 §5.5.1 makes the reason UTF-8, and the peer fails the connection with 1007.
 */
function checkCloseReason(reason: unknown): Buffer | undefined {
  if (reason === undefined) return undefined;
  if (reason === null) throw new TypeError('Second argument must be a string or a Uint8Array');
  if (!(reason as { length?: unknown }).length) return undefined;
  let buffer: Buffer;
  if (typeof reason === 'string') {
    buffer = Buffer.from(reason);
  } else if (reason instanceof Uint8Array) {
    buffer = Buffer.isBuffer(reason) ? reason : Buffer.from(reason.buffer, reason.byteOffset, reason.byteLength);
    if (!isUtf8(buffer)) throw new TypeError('The close reason must be valid UTF-8');
  } else {
    throw new TypeError('Second argument must be a string or a Uint8Array');
  }
  if (buffer.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`The message must not be greater than ${MAX_CLOSE_REASON_BYTES} bytes`);
  }
  return buffer;
}

function isBlob(data: unknown): data is Blob {
  return typeof Blob !== 'undefined' && data instanceof Blob;
}

/** The bytes of `data` (a view when it is binary already; typed arrays by byteOffset/byteLength). */
function toBuffer(data: SendData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  // No data (undefined, null, false): an empty payload, as `ws` sends `data || EMPTY_BUFFER`.
  if (!data) return EMPTY;
  // Arrays of byte values and objects with valueOf/toPrimitive, as Buffer.from takes them (else TypeError).
  return Buffer.from(data as unknown as string);
}

/** A received binary message in the shape `binaryType` asks for (also used by the ws-compat Receiver). */
export function convertBinary(data: Buffer, binaryType: BinaryType, fragmentEnds: readonly number[] | null | undefined): RawData | Blob {
  switch (binaryType) {
    case 'arraybuffer':
      if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data.buffer as ArrayBuffer;
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    case 'fragments': {
      // One Buffer per frame, as views of the joined message (a compressed message: one piece).
      if (fragmentEnds === undefined || fragmentEnds === null) return [data];
      const pieces: Buffer[] = [];
      let start = 0;
      for (const end of fragmentEnds) {
        pieces.push(data.subarray(start, end));
        start = end;
      }
      if (start < data.length) pieces.push(data.subarray(start));
      return pieces;
    }
    case 'blob':
      return new Blob([data]);
    default:
      return data;
  }
}

// The frame send() built last, kept until the end of the tick: a loop that sends the same data to many
// sockets (wss.clients.forEach(send)) frames it once, and every socket writes the same bytes. It is
// reused only for the same data (the same string, or the same object whose bytes are still those of
// the frame: a Buffer may have been changed since) and the same type (text/binary).
/** The data of the last small whole message a server socket sent in this tick (see send()). */
let sentData: unknown = null;
let sentBinary = false;

function forgetSentData(): void {
  sentData = null;
}

let lastData: unknown = null;
let lastBinary = false;
/** The payload's bytes inside lastFrame. */
let lastPayload: Buffer | null = null;
let lastFrame: Buffer[] | null = null;

function forgetTickFrame(): void {
  lastData = null;
  lastPayload = null;
  lastFrame = null;
}

/** The unmasked frame of a whole message of `buffer` (the bytes of `data`, at most COPY_THRESHOLD). */
function tickFrame(data: unknown, buffer: Buffer, binary: boolean): Buffer[] {
  if (lastFrame !== null && data === lastData && binary === lastBinary && (typeof data === 'string' || buffer.equals(lastPayload!))) {
    return lastFrame;
  }
  if (lastFrame === null) process.nextTick(forgetTickFrame);
  const frame: Buffer[] = [];
  encodeFrame(frame, binary ? Opcode.Binary : Opcode.Text, buffer, true, false, null);
  const bytes = frame[0]!;
  lastData = data;
  lastBinary = binary;
  lastFrame = frame;
  lastPayload = bytes.subarray(bytes.length - buffer.length);
  return frame;
}
