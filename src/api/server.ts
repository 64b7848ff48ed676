import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { negotiateExtensions, type Extension, type NegotiatedExtensions, type ServerExtensionNegotiator } from '../extensions/extension.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate.js';
import { formatExtensions } from '../handshake/token-list.js';
import { acceptKeyFor } from '../handshake/accept-key.js';
import { HandshakeError } from '../handshake/handshake-error.js';
import { RequestHeadParser, type HeadLimits } from '../handshake/head-parser.js';
import {
  buildAcceptResponse,
  buildErrorResponse,
  isUpgradeRequest,
  validateUpgradeRequest,
  type UpgradeRequest as ValidUpgrade,
} from '../handshake/server-handshake.js';
import { DeadlineQueue } from '../transport/deadline-queue.js';
import { EarlyReads } from '../transport/early-reads.js';
import { requestHeadOf, StandaloneRequest, type UpgradeRequest } from './upgrade-request.js';
import { DEFAULT_MAX_BUFFERED_CHUNKS, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD, ReadyState } from '../protocol/connection.js';
import { isValidCloseCode, MAX_CLOSE_REASON_BYTES } from '../framing/close-payload.js';
import { DEFAULT_CLOSE_TIMEOUT } from '../transport/socket-transport.js';
import { discardReads, readReceiverOf, readsShared, shareReads, shareReadsAfterUpgrade, type ReadReceiver } from '../transport/shared-reads.js';
import { transportOptionsFrom } from './core-options.js';
import { reusePortSupported } from './reuse-port.js';
import { WebSocket, type WebSocketCoreOptions } from './websocket.js';
import type { TransportOptions } from '../transport/socket-transport.js';
import { PreparedMessage } from '../pubsub/prepared-message.js';
import { TopicHub, type TopicHubOptions } from '../pubsub/topic-hub.js';
import type { SendData } from './websocket.js';
import { handshakeChannel } from '../diagnostics/channels.js';
import { ServerCounters, type HandshakeRejectReason, type ServerStats } from '../diagnostics/server-counters.js';

export type { UpgradeRequest } from './upgrade-request.js';

/** What `verifyClient` is told about a handshake. */
export interface VerifyClientInfo {
  /**
   * The Origin header (Sec-WebSocket-Origin for protocol version 8). Typed `string` as in `@types/ws`,
   * but undefined when the request has none.
   */
  origin: string;
  /** The request came over TLS. */
  secure: boolean;
  /** The upgrade request. */
  req: UpgradeRequest;
}

/** Extra response header fields of a refusal. */
export type VerifyClientHeaders = Record<string, string | number | readonly string[]>;

/**
 * The answer of an asynchronous `verifyClient`: refuse with `code` (default 401), `message` and
 * `headers`. An invalid code or header is the application's misuse: the peer gets 500 and this call
 * throws (RangeError, TypeError).
 */
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: VerifyClientHeaders) => void;

export interface WebSocketServerOptions<T extends typeof WebSocket = typeof WebSocket> extends WebSocketCoreOptions, TopicHubOptions {
  /** Standalone mode: listen on this port (0: any free port) with the built-in raw TCP listener. */
  port?: number;
  /** Standalone mode: the interface to bind. Default: all interfaces (as net.Server). */
  host?: string;
  /** Standalone mode: the length of the queue of pending connections. Default: net.Server's (511). */
  backlog?: number;
  /**
   * Standalone mode: listen with SO_REUSEPORT (and, in a cluster worker, on a socket of its own rather
   * than the primary's shared one), so that the kernel spreads connections over the processes that
   * listen on the port. Needs Node 22.12+ or 23.1+ on Linux or FreeBSD (`reusePortSupported()`); a
   * TypeError otherwise. Default: false.
   */
  reusePort?: boolean;
  /** Attach to this HTTP(S) server's 'upgrade' event (its 'listening' and 'error' are forwarded). */
  server?: HttpServer | HttpsServer;
  /** No listener at all: the application hands upgrades to `handleUpgrade()`. */
  noServer?: boolean;
  /** Accept only this path (the request target without its query); others get 400. Default: any. */
  path?: string;
  /**
   * Accept or refuse a handshake once it is valid: a sync `(info) => boolean` (false: 401), or with a
   * second parameter, an async `(info, cb)` that calls `cb(result, code?, message?, headers?)`.
   * The sync form may return a promise of the boolean (an `async (info) => ...`); a rejected promise,
   * or a throw, fails the handshake with 500 and is reported. Default: accept all.
   */
  verifyClient?(info: VerifyClientInfo, callback: VerifyClientCallback): unknown;
  /** Choose one of the offered subprotocols; a falsy result accepts none. Default: the first offered. */
  handleProtocols?(protocols: Set<string>, request: UpgradeRequest): string | false | null | undefined;
  /** Keep the open sockets in `clients`. Default true. */
  clientTracking?: boolean;
  /** permessage-deflate settings (true: the defaults). Default false. Stored; negotiation hooks in later. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The class of the server-side sockets: WebSocket or a subclass of it. Default WebSocket. */
  WebSocket?: T;
  /** Standalone mode: milliseconds a TCP connection gets to deliver its upgrade request; 0: no limit. Default 10000. */
  handshakeTimeout?: number;
  /** Standalone mode: limits of the HTTP head parser (431 when exceeded). Default DEFAULT_HEAD_LIMITS. */
  headLimits?: Partial<HeadLimits>;
  /** Open WebSocket connections at most; a handshake beyond it is refused with 503. 0 = unlimited (default). */
  maxConnections?: number;
}

/** What `shutdown()` sends, and how long it waits for the clients' close frames. */
export interface ShutdownOptions {
  /** The close code sent to every client. Default 1001 (going away). */
  code?: number;
  /** The close reason (at most 123 bytes of UTF-8). Default none. */
  reason?: string;
  /** Milliseconds to wait for the closing handshakes before terminating the rest. Default 5000. */
  timeout?: number;
}

type Resolved<T extends typeof WebSocket> = Omit<WebSocketServerOptions<T>, 'WebSocket'> & { WebSocket: T };

/** How many distinct hook errors a server remembers having warned about; past it, each is warned again. */
const MAX_DISTINCT_WARNINGS = 64;
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const NOT_RUNNING = 'The server is not running';

// Server lifecycle: accepting upgrades -> close() called -> 'close' emitted.
type ServerState = 'running' | 'closing' | 'closed';

/** Sockets handed to some server's handleUpgrade(): a second call for one is a misconfiguration. */
const claimedSockets = new WeakSet<Duplex>();

/**
 * A WebSocket server with the API of `ws` v8, in one of three modes: standalone (its own raw
 * `node:net` listener with our HTTP head parser; plain HTTP requests get 426), attached to an
 * http(s) server's 'upgrade' event, or noServer (the application calls `handleUpgrade`).
 *
 * Events: 'connection' (ws, req), 'headers' (lines, req), 'listening', 'error' (error),
 * 'close', 'wsClientError' (error, socket, req).
 */
export class WebSocketServer<T extends typeof WebSocket = typeof WebSocket> extends EventEmitter {
  /** The open sockets; undefined with `clientTracking: false` (as in `ws`). */
  readonly clients: Set<InstanceType<T>>;
  /** The options the server was made with, defaults filled in. */
  readonly options: Resolved<T>;
  private readonly transportOptions: Partial<TransportOptions>;
  /** transportOptions with no extension, made once: every connection without one shares it (read only). */
  private plainTransportOptions: Partial<TransportOptions> | null = null;
  private server: NetServer | HttpServer | HttpsServer | null = null;
  private removeServerListeners: (() => void) | null = null;
  private state: ServerState = 'running';
  /** permessage-deflate when enabled; the handshake only knows the negotiator interface. */
  private readonly negotiators: ServerExtensionNegotiator[];
  /** close() was called in server/noServer mode: emit 'close' when the last client is gone. */
  private closeWhenEmpty = false;
  /** `clientTracking` (truthy, as `ws` reads it). */
  private readonly tracking: boolean;
  /**
   * Every open socket of this server, tracked or not (for maxConnections and shutdown): `clients` itself
   * when tracking (one set entry per connection, not two).
   */
  private readonly live: Set<WebSocket>;
  /** Standalone mode: TCP connections still sending their upgrade request, destroyed at handshakeTimeout. */
  private readonly pending: DeadlineQueue<Socket>;
  /** Called whenever `live` becomes empty. */
  private liveEmptied: Array<() => void> = [];

  constructor(options: WebSocketServerOptions<T> = {}, callback?: () => void) {
    super();
    const modes = Number(options.port != null) + Number(Boolean(options.server)) + Number(Boolean(options.noServer));
    if (modes !== 1) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    // As in `ws`, `options` shows the defaults of the options the sockets use.
    this.options = {
      allowSynchronousEvents: true,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      skipUTF8Validation: false,
      autoPong: true,
      closeTimeout: DEFAULT_CLOSE_TIMEOUT,
      clientTracking: true,
      ...options,
      WebSocket: options.WebSocket ?? (WebSocket as T),
      perMessageDeflate: options.perMessageDeflate === true ? {} : (options.perMessageDeflate ?? false),
    };

    // `ws` has no `clients` without tracking; `live` still counts for maxConnections and shutdown.
    this.tracking = Boolean(this.options.clientTracking);
    this.live = new Set();
    this.clients = (this.tracking ? this.live : undefined) as Set<InstanceType<T>>;
    this.transportOptions = transportOptionsFrom(this.options);
    this.topicHub = new TopicHub(
      this.options,
      (topic, newCount, oldCount) => this.emit('subscription', topic, newCount, oldCount),
      (topic) => this.emit('gap', topic),
    );
    this.pending = new DeadlineQueue<Socket>(this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, (socket) => this.handshakeTimedOut(socket));
    const maxConnections = this.options.maxConnections;
    if (maxConnections !== undefined && (typeof maxConnections !== 'number' || !(maxConnections >= 0))) {
      throw new TypeError(`The "maxConnections" option must be a non-negative number, not ${String(maxConnections)}`);
    }
    const deflate = this.options.perMessageDeflate;
    this.negotiators = deflate === false || deflate === undefined ? [] : [new PerMessageDeflate(deflate)];

    let server: NetServer | HttpServer | HttpsServer;
    const onUpgrade = (req: UpgradeRequest, socket: Duplex, head: Buffer): void => {
      this.handleUpgrade(req, socket, head, this.emitConnection);
    };
    if (options.port != null) {
      // Our own listener hands over whole sockets (acceptSocket), not upgrades, and unread, so that
      // they can be made to read into the shared buffer.
      const reusePort = options.reusePort === true;
      if (reusePort && !reusePortSupported()) {
        throw new TypeError(`The "reusePort" option needs Node 22.12+ or 23.1+ on Linux or FreeBSD (this is Node ${process.versions.node} on ${process.platform})`);
      }
      const listener = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.acceptSocket(socket));
      const listenOptions = { port: options.port, host: options.host, backlog: options.backlog, reusePort, exclusive: reusePort };
      listener.listen(listenOptions, callback);
      server = listener;
    } else if (options.server) {
      server = options.server;
      server.on('upgrade', onUpgrade);
    } else {
      return;
    }
    const onListening = (): void => {
      this.emit('listening');
    };
    const onError = (error: Error): void => {
      this.emit('error', error);
    };
    server.on('listening', onListening);
    server.on('error', onError);
    this.server = server;
    this.removeServerListeners = () => {
      server.removeListener('listening', onListening);
      server.removeListener('error', onError);
      server.removeListener('upgrade', onUpgrade);
    };
  }

  /**
   * `ws`'s `_server`, which libraries reach (livereload closes it): the server given or, standalone,
   * our listener (a `net.Server`); null once closed, undefined with `noServer` (as in `ws`).
   */
  get _server(): NetServer | HttpServer | HttpsServer | null | undefined {
    return this.options.noServer ? undefined : this.server;
  }

  /** The listener's address; null once closed; throws in noServer mode (as `ws`). */
  address(): AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return this.server === null ? null : this.server.address();
  }

  /**
   * Stop accepting upgrades (later ones get 503) and stop listening in standalone mode. Open
   * sockets stay open; 'close' is emitted once the listener is closed (standalone: after its
   * last connection ends) or, in the other modes, once the last tracked client is gone.
   * Called again after 'close', `callback` gets an error.
   */
  close(callback?: (error?: Error) => void): void {
    if (this.state === 'closed') {
      if (callback !== undefined) this.once('close', () => callback(new Error(NOT_RUNNING)));
      process.nextTick(() => this.emitClose());
      return;
    }
    if (callback !== undefined) this.once('close', callback);
    if (this.state === 'closing') return;
    this.state = 'closing';

    const server = this.server;
    this.removeServerListeners?.();
    this.removeServerListeners = null;
    this.server = null;
    if (server !== null && server !== this.options.server) {
      server.close(() => this.emitClose());
    } else if (this.tracking && this.clients.size > 0) {
      this.closeWhenEmpty = true;
    } else {
      process.nextTick(() => this.emitClose());
    }
  }

  /**
   * Graceful shutdown: stop accepting (as close()), send a close frame with `code` (1001) and `reason`
   * to every open socket, wait up to `timeout` ms (5000) for their closing handshakes, terminate the
   * sockets still open then (and any connection still in its opening handshake), and resolve once
   * every socket is closed and the server has emitted 'close'. Throws (synchronously) a TypeError or
   * RangeError for an invalid code or reason.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const code = options.code ?? 1001;
    const reason = options.reason;
    const timeout = options.timeout ?? 5000;
    if (typeof code !== 'number' || !isValidCloseCode(code)) throw new TypeError(`invalid close code: ${String(code)}`);
    if (reason !== undefined && (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES)) {
      throw new RangeError(`The close reason must be a string of at most ${MAX_CLOSE_REASON_BYTES} bytes`);
    }
    if (typeof timeout !== 'number' || !(timeout >= 0)) throw new TypeError(`invalid timeout: ${String(timeout)}`);

    const serverClosed = new Promise<void>((resolve) => {
      if (this.state === 'closed') resolve();
      else this.close(() => resolve());
    });
    const socketsClosed = new Promise<void>((resolve) => {
      if (this.live.size === 0) resolve();
      else this.liveEmptied.push(resolve);
    });
    for (const ws of this.live) {
      if (ws.readyState === ReadyState.OPEN) ws.close(code, reason);
    }
    const timer = setTimeout(() => {
      for (const ws of this.live) ws.terminate();
      for (const socket of this.pending.keys()) socket.destroy();
    }, timeout);
    // Connections in their opening handshake get 503 once it completes; none may hold the listener open.
    for (const socket of this.pending.keys()) socket.destroy();
    return Promise.all([serverClosed, socketsClosed]).then(() => clearTimeout(timer));
  }

  /** Whether this server takes the request: by default, when `path` is unset or matches. */
  shouldHandle(req: UpgradeRequest): boolean {
    const path = this.options.path;
    if (!path) return true;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  /**
   * Run the opening handshake on an upgrade request (RFC 6455 §4.2): validate it, then
   * `shouldHandle`, `verifyClient`, `handleProtocols`, the 'headers' event, the 101 response,
   * and `callback(ws, req)` with the open socket. A failed handshake is answered with its HTTP
   * status and the socket closed, or handed to 'wsClientError' listeners when there are any.
   * What an application hook throws or wrongly returns while a peer's handshake is handled ends that
   * handshake (500, or close 1011 once the connection is open) and is reported (see `reportError`);
   * it never throws from here or from a socket callback.
   */
  handleUpgrade(req: UpgradeRequest, socket: Duplex, head: Buffer, callback: (ws: InstanceType<T>, req: UpgradeRequest) => void): void {
    if (claimedSockets.has(socket)) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    claimedSockets.add(socket);
    socket.on('error', destroyOnError);
    this.upgrade(req, socket, head, callback);
  }

  /**
   * handleUpgrade() once the socket is known to be new (the standalone listener's own sockets are) and
   * has destroyOnError as its 'error' listener (removed once the connection takes the socket over).
   */
  private upgrade(req: UpgradeRequest, socket: Duplex, head: Buffer, callback: (ws: InstanceType<T>, req: UpgradeRequest) => void): void {
    // A plain TCP socket from an http.Server reads into the shared buffer from now on, as the
    // standalone server's do from the start.
    if (!readsShared(socket)) shareReadsAfterUpgrade(socket as Socket);

    const request = requestHeadOf(req);
    // RFC 6455 §4.1, §4.2.1 (1): the handshake is an HTTP/1.1 request (node:http also upgrades 1.0).
    const upgrade = isHttp11OrLater(request.version)
      ? validateUpgradeRequest(request, { hostRequired: StandaloneRequest.headOf(req) !== undefined, extensions: this.negotiators.length > 0 })
      : new HandshakeError(505, `HTTP/${request.version} is not supported: a WebSocket handshake needs HTTP/1.1`);
    if (upgrade instanceof HandshakeError) {
      this.handshakeRejected(socket, req, 'invalid', upgrade.status);
      this.refuse(upgrade, req, socket);
      return;
    }
    let handled: boolean;
    try {
      handled = this.shouldHandle(req);
    } catch (error) {
      this.failHandshake(socket, error, req);
      return;
    }
    if (!handled) {
      this.handshakeRejected(socket, req, 'path', 400);
      rejectSocket(socket, 400);
      return;
    }

    const accept = (rest: Buffer): void => this.completeUpgrade(upgrade, req, socket, rest, callback);
    if (this.options.verifyClient === undefined) accept(head);
    else this.verify(upgrade, req, socket, head, accept);
  }

  /**
   * Ask `verifyClient`, in either form, and act on its first answer: `accept` with the bytes that
   * follow the head, a refusal, or a failure (a throw, a rejected promise) answered 500 and reported.
   * While an asynchronous answer is awaited the socket reads on (EarlyReads), so a peer gone meanwhile
   * is seen.
   */
  private verify(upgrade: ValidUpgrade, req: UpgradeRequest, socket: Duplex, head: Buffer, accept: (rest: Buffer) => void): void {
    const verifyClient = this.options.verifyClient!;
    const withCallback = verifyClient.length >= 2;
    const tls = (req.socket ?? socket) as Partial<TLSSocket>;
    const info: VerifyClientInfo = {
      origin: upgrade.origin as string,
      secure: Boolean(tls.authorized || tls.encrypted),
      req,
    };
    let early: EarlyReads | null = null;
    let decided = false;
    const decide = (verdict: 'accept' | 'refuse' | 'fail', error?: unknown, code?: number, message?: string, headers?: VerifyClientHeaders): void => {
      if (decided) {
        this.reportError(error ?? new Error('verifyClient answered more than once: the later answer is ignored'));
        return;
      }
      decided = true;
      const rest = early === null ? head : early.release(head);
      if (verdict === 'accept') accept(rest);
      else if (verdict === 'fail') this.failHandshake(socket, error, req);
      else {
        this.handshakeRejected(socket, req, 'verifyClient', typeof code === 'number' && code > 0 ? code : Number(code) || 401);
        refuseWith(socket, code || 401, message, headers);
      }
    };
    let verdict: unknown;
    try {
      verdict = withCallback
        ? verifyClient.call(this.options, info, (result, code, message, headers) => decide(result ? 'accept' : 'refuse', undefined, code, message, headers))
        : (verifyClient as (info: VerifyClientInfo) => unknown).call(this.options, info);
    } catch (error) {
      decide('fail', error);
      return;
    }
    const promise = isThenable(verdict) ? verdict : null;
    if (!withCallback && promise === null) {
      decide(verdict ? 'accept' : 'refuse');
      return;
    }
    if (!decided && readsShared(socket)) early = new EarlyReads(socket as Socket);
    if (promise !== null) {
      // An async function: the sync form's promise is its answer; the callback form answers through its
      // callback, and what it throws (a rejection) fails the handshake.
      const settle = withCallback ? () => undefined : (result: unknown) => decide(result ? 'accept' : 'refuse');
      promise.then(settle, (error: unknown) => decide('fail', error));
    }
  }

  private completeUpgrade(
    upgrade: ValidUpgrade,
    req: UpgradeRequest,
    socket: Duplex,
    head: Buffer,
    callback: (ws: InstanceType<T>, req: UpgradeRequest) => void,
  ): void {
    // The peer went away (or half-closed) while verifyClient was deciding.
    if (!socket.readable || !socket.writable) {
      this.handshakeRejected(socket, req, 'aborted', 0);
      socket.destroy();
      return;
    }
    if (this.state !== 'running') {
      this.handshakeRejected(socket, req, 'serverClosing', 503);
      rejectSocket(socket, 503);
      return;
    }
    const maxConnections = this.options.maxConnections ?? 0;
    if (maxConnections > 0 && this.live.size >= maxConnections) {
      this.handshakeRejected(socket, req, 'maxConnections', 503);
      rejectSocket(socket, 503, 'Too many connections');
      return;
    }

    let protocol: string;
    let negotiated: NegotiatedExtensions | undefined;
    let response: Buffer;
    let ws: InstanceType<T>;
    try {
      protocol = this.chooseProtocol(upgrade.protocols, req);
      // RFC 6455 §9.1: the server accepts at most the extensions it supports, from the client's offers.
      negotiated = negotiateExtensions(this.negotiators, upgrade.extensions);
      const extensions = formatExtensions(negotiated.responses);
      response =
        this.listenerCount('headers') === 0
          ? buildAcceptResponse(upgrade.key, protocol, extensions)
          : buildAcceptResponse(upgrade.key, protocol, extensions, this.extraHeaders(upgrade.key, protocol, extensions, req));
      // As in `ws`, the class gets the server's options (a subclass may read them).
      ws = new this.options.WebSocket(null, undefined, this.options as ConstructorParameters<T>[2]) as InstanceType<T>;
    } catch (error) {
      negotiated?.extensions[0]?.close();
      this.failHandshake(socket, error, req);
      return;
    }
    socket.write(response);
    socket.removeListener('error', destroyOnError);

    const outcome = { url: req.url ?? '', protocol, extensions: negotiated.extensions.length === 0 ? '' : negotiated.extensions.map((e) => e.name).join(',') };
    const extension = negotiated.extensions[0] ?? null;
    if (ws.setSocket === WebSocket.prototype.setSocket) {
      const options = extension === null ? (this.plainTransportOptions ??= { ...this.transportOptions, extension: null }) : { ...this.transportOptions, extension };
      ws._attach(socket as Socket, 'server', head, outcome, options);
    } else if (!this.attachThroughSetSocket(ws, socket, head, outcome, extension)) {
      this.handshakeRejected(socket, req, 'hookError', 0);
      return;
    }
    this.live.add(ws); // (`clients` when tracking)
    this.counters.accepted++;
    if (handshakeChannel.hasSubscribers) {
      handshakeChannel.publish({ server: this, socket, request: req, accepted: true, status: 101, reason: null, websocket: ws });
    }
    // One shared listener, not a closure per socket: it finds this server through the socket.
    ws._tracker = this;
    ws.on('close', onTrackedClose);
    try {
      callback(ws, req);
    } catch (error) {
      // RFC 6455 §7.4.1: 1011, the server met a condition that kept it from serving the connection.
      this.reportError(error);
      if (ws.readyState === ReadyState.OPEN) ws.close(1011);
    }
  }

  /**
   * A `WebSocket` subclass that overrides setSocket() gets the call `ws` makes, with `ws`'s options.
   * An override that throws, or returns without adopting the socket, ends that connection (reported).
   */
  private attachThroughSetSocket(
    ws: WebSocket,
    socket: Duplex,
    head: Buffer,
    outcome: { url: string; protocol: string; extensions: string },
    extension: Extension | null,
  ): boolean {
    const options = this.options;
    let adopted = false;
    try {
      adopted = ws._attachThroughSetSocket(socket, head, outcome, extension, {
        allowSynchronousEvents: options.allowSynchronousEvents,
        maxBufferedChunks: options.maxBufferedChunks ?? DEFAULT_MAX_BUFFERED_CHUNKS,
        maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
        maxPayload: options.maxPayload,
        skipUTF8Validation: options.skipUTF8Validation,
      });
      if (!adopted) throw new Error('The WebSocket class\'s setSocket() did not adopt the socket');
    } catch (error) {
      this.reportError(error);
      if (adopted) ws.terminate();
      else {
        extension?.close();
        socket.destroy();
      }
      return false;
    }
    return true;
  }

  /**
   * RFC 6455 §4.2.2 (5.3): the subprotocol of the answer, one of the client's offers ('' for none).
   * What `handleProtocols` returns must be one of them (or falsy): anything else is the application's
   * bug, thrown here as a TypeError to fail the handshake, never sent to the peer.
   */
  private chooseProtocol(offered: readonly string[], req: UpgradeRequest): string {
    if (offered.length === 0) return '';
    const choose = this.options.handleProtocols;
    const chosen: unknown = choose == null ? offered[0] : choose.call(this.options, new Set(offered), req);
    if (!chosen) return '';
    if (typeof chosen !== 'string' || !offered.includes(chosen)) {
      throw new TypeError(`handleProtocols returned ${describe(chosen)}, which the client did not offer`);
    }
    return chosen;
  }

  /** An invalid handshake: to the 'wsClientError' listeners when there are any, else answered here. */
  private refuse(error: HandshakeError, req: UpgradeRequest, socket: Duplex): void {
    if (this.listenerCount('wsClientError') === 0) {
      rejectSocket(socket, error.status, error.message, error.headers);
      return;
    }
    // The listener answers and ends the socket; a shared-read one must read on to see the peer's FIN.
    if (readsShared(socket)) discardReads(socket as Socket);
    try {
      this.emit('wsClientError', error, socket, req);
    } catch (thrown) {
      this.reportError(thrown);
      socket.destroy();
    }
  }

  /** An application hook failed this handshake: 500 to the peer, the error to the application. */
  private failHandshake(socket: Duplex, error: unknown, req: UpgradeRequest): void {
    this.handshakeRejected(socket, req, 'hookError', 500);
    rejectSocket(socket, 500);
    this.reportError(error);
  }

  /**
   * Report an application error met while a peer's handshake was handled: to the server's 'error'
   * listeners, or as a process warning when there are none (an 'error' emit without a listener would
   * throw). Never throws.
   */
  /** Messages already given to process.emitWarning (created on the first one). */
  private warned: Set<string> | null = null;

  private reportError(error: unknown): void {
    let report = error instanceof Error ? error : new Error(`a WebSocketServer hook threw ${describe(error)}`);
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', report);
        return;
      } catch (thrown) {
        report = thrown instanceof Error ? thrown : new Error(`an 'error' listener threw ${describe(thrown)}`);
      }
    }
    // A peer can trigger the same application bug on every handshake: warn once per message, so that
    // it cannot flood the process's stderr (an 'error' listener still sees every occurrence).
    const warned = (this.warned ??= new Set());
    if (warned.has(report.message)) return;
    if (warned.size < MAX_DISTINCT_WARNINGS) warned.add(report.message);
    process.emitWarning(report);
  }

  // ---- diagnostics ----------------------------------------------------------------------------

  /** @internal The counters stats() reads (bumped by the server and its sockets). */
  readonly counters = new ServerCounters();

  /**
   * A snapshot of this server's counters: open connections, handshakes accepted and refused (by
   * reason), messages and bytes in and out, connections ended by a limit (by limit), published
   * messages dropped by backpressure. Cheap: plain counters, plus a read of each open socket's byte
   * counts.
   */
  stats(): ServerStats {
    return this.counters.snapshot(this.live, this.live.size);
  }

  /** A refused (or lost) handshake: counted, and published on `rfc6455:server:handshake`. */
  private handshakeRejected(socket: Duplex, req: UpgradeRequest | undefined, reason: HandshakeRejectReason, status: number): void {
    this.counters.rejectedBy[reason]++;
    if (handshakeChannel.hasSubscribers) {
      handshakeChannel.publish({ server: this, socket, request: req, accepted: false, status, reason, websocket: null });
    }
  }

  /** Standalone: the request head did not arrive in time. */
  private handshakeTimedOut(socket: Socket): void {
    this.handshakeRejected(socket, undefined, 'timeout', 0);
    socket.destroy();
  }

  /** @internal A socket this server handed out has closed. */
  clientClosed(ws: WebSocket): void {
    this.counters.socketClosed(ws._socket);
    this.live.delete(ws);
    if (this.live.size === 0 && this.liveEmptied.length > 0) for (const resolve of this.liveEmptied.splice(0)) resolve();
    if (!this.tracking) return;
    if (this.closeWhenEmpty && this.clients.size === 0) process.nextTick(() => this.emitClose());
  }

  /**
   * The 'headers' event: listeners get the 101 response's lines ("HTTP/1.1 101 ...", then
   * "Name: value") and may append lines. Returns the appended fields; changing the handshake's own
   * lines is misuse (TypeError), as is a line that is not "Name: value".
   */
  private extraHeaders(key: string, protocol: string, extensions: string, req: UpgradeRequest): Array<[string, string]> {
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKeyFor(key)}`,
    ];
    if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    if (extensions !== '') lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
    const own = lines.slice();
    this.emit('headers', lines, req);
    for (let i = 0; i < own.length; i++) {
      if (lines[i] !== own[i]) throw new TypeError('a "headers" listener may only append lines to the response');
    }
    const extra: Array<[string, string]> = [];
    for (let i = own.length; i < lines.length; i++) {
      const line = lines[i];
      const colon = typeof line === 'string' ? line.indexOf(':') : -1;
      if (colon === -1) throw new TypeError(`a response header line must be "Name: value", not ${JSON.stringify(line)}`);
      // RFC 9112 §5.1: field-name ":" OWS field-value OWS.
      extra.push([line.slice(0, colon), trimOws(line, colon + 1)]);
    }
    return extra;
  }

  /**
   * Standalone mode: read the request head with our parser, then hand the upgrade over. The socket
   * reads into the shared buffer where possible (then the bytes after the head are copied out of it),
   * else through 'data'.
   */
  private acceptSocket(socket: Socket): void {
    const parser = new RequestHeadParser(this.options.headLimits);
    const pending = this.pending;
    let done = false;
    const onHead = (chunk: Buffer, borrowed: boolean): void => {
      if (done) {
        // Reading is paused once the head is complete; bytes now would have nowhere to go.
        socket.destroy();
        return;
      }
      const result = parser.push(chunk);
      if (result.kind === 'incomplete') return;
      done = true;
      pending.delete(socket);
      socket.removeListener('close', onClose);
      if (!borrowed) {
        socket.removeListener('data', onData);
        socket.pause();
      }
      if (result.kind === 'error') {
        this.handshakeRejected(socket, undefined, 'invalid', result.error.status);
        rejectSocket(socket, result.error.status, result.error.message, result.error.headers);
      } else if (!isUpgradeRequest(result.head)) {
        // A plain HTTP request (what node:http would not hand to 'upgrade'): this endpoint speaks
        // WebSocket only (RFC 9110 §15.5.22).
        this.handshakeRejected(socket, undefined, 'notWebSocket', 426);
        rejectSocket(socket, 426, undefined, [['Upgrade', 'websocket']]);
      } else {
        const rest = borrowed ? Buffer.from(result.rest) : result.rest;
        this.upgrade(new StandaloneRequest(result.head, socket), socket, rest, this.emitConnection);
      }
      // A shared-read socket is not paused between its head and its connection (a pause and a resume
      // are two epoll_ctl calls per handshake): it reads on into what took it over (the connection,
      // EarlyReads, discardReads). Where nothing did (a refusal, a failed hook) reading stops here.
      if (borrowed && readReceiverOf(socket) === receiver) socket.pause();
    };
    const receiver: ReadReceiver = { onSharedRead: (chunk) => onHead(chunk, true) };
    const onData = (chunk: Buffer): void => onHead(chunk, false);
    // One timer for every connection still sending its head (DeadlineQueue), not a setTimeout each.
    pending.add(socket);
    const onClose = (): void => {
      pending.delete(socket);
    };
    if (!shareReads(socket, receiver)) socket.on('data', onData);
    socket.on('error', destroyOnError);
    socket.on('close', onClose);
    socket.resume();
  }

  private readonly emitConnection = (ws: InstanceType<T>, req: UpgradeRequest): void => {
    this.emit('connection', ws, req);
  };

  private emitClose(): void {
    this.state = 'closed';
    this.topicHub.close();
    this.emit('close');
  }

  // ---- typed events (any other name falls through to EventEmitter's signature) ----------

  /** A client completed its handshake: its socket and the upgrade request. */
  override on(event: 'connection', listener: (this: this, ws: InstanceType<T>, req: UpgradeRequest) => void): this;
  /** The 101 response's header lines, which the listener may change, before they are sent. */
  override on(event: 'headers', listener: (this: this, headers: string[], req: UpgradeRequest) => void): this;
  /** A handshake failed (with a listener, the application answers the socket itself). */
  override on(event: 'wsClientError', listener: (this: this, error: HandshakeError, socket: Duplex, req: UpgradeRequest) => void): this;
  /** An error of the underlying HTTP server. */
  override on(event: 'error', listener: (this: this, error: Error) => void): this;
  /** 'listening': the server is bound; 'close': the server has closed. */
  override on(event: 'listening' | 'close', listener: (this: this) => void): this;
  /** Any other event (EventEmitter's signature), e.g. 'subscription' and 'gap'. */
  override on(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /** A client completed its handshake: its socket and the upgrade request. */
  override once(event: 'connection', listener: (this: this, ws: InstanceType<T>, req: UpgradeRequest) => void): this;
  /** The 101 response's header lines, which the listener may change, before they are sent. */
  override once(event: 'headers', listener: (this: this, headers: string[], req: UpgradeRequest) => void): this;
  /** A handshake failed (with a listener, the application answers the socket itself). */
  override once(event: 'wsClientError', listener: (this: this, error: HandshakeError, socket: Duplex, req: UpgradeRequest) => void): this;
  /** An error of the underlying HTTP server. */
  override once(event: 'error', listener: (this: this, error: Error) => void): this;
  /** 'listening': the server is bound; 'close': the server has closed. */
  override once(event: 'listening' | 'close', listener: (this: this) => void): this;
  /** Any other event (EventEmitter's signature), e.g. 'subscription' and 'gap'. */
  override once(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  // ---- topics (pub/sub) ----------------------------------------------------------------------
  // Events: 'subscription' (topic, newCount, oldCount) whenever a topic's local subscriber count changes;
  // 'gap' (topic) when the broker lost its connection and is back: publishes on the topic may have been missed.

  /** @internal The subscriptions of this server's sockets and its link to the broker. */
  readonly topicHub: TopicHub<WebSocket>;

  /**
   * Publish to every local subscriber of `topic` (each under the backpressure policy) and, through the
   * broker, to the other nodes with subscribers. The message is framed once; with `compress` and
   * permessage-deflate it is compressed once per parameter set where server_no_context_takeover was
   * negotiated, else per socket. `binary` defaults to false for a string, true otherwise;
   * `compress` to true. Returns the number of local subscribers reached.
   */
  publish(topic: string, data: Exclude<SendData, Blob> | PreparedMessage, options?: { binary?: boolean; compress?: boolean }): number {
    const message = data instanceof PreparedMessage ? data : WebSocket.prepare(data, options);
    const reached = this.topicHub.publish(topic, message, null);
    this.counters.messagesOut += reached;
    this.counters.bytesOut += reached * message.data.length;
    return reached;
  }

  /** The number of local sockets subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.topicHub.count(topic);
  }
}

function onTrackedClose(this: WebSocket): void {
  this._tracker?.clientClosed(this);
}

function destroyOnError(this: Duplex): void {
  // A reset or timeout before the handshake is done: the connection just ends, nothing throws.
  this.destroy();
}

/**
 * Answer a failed handshake with `status` (body: `message`, default the reason phrase) and close
 * the socket once the answer is out. `Connection`, `Content-Type` and `Content-Length` are ours.
 */
function rejectSocket(socket: Duplex, status: number, message?: string, headers: ReadonlyArray<[string, string]> = []): void {
  endWith(socket, buildErrorResponse(status, message, headers));
}

/**
 * The refusal of `verifyClient`. An invalid status or header is the application's misuse: the peer
 * gets 500 and the error is thrown to the caller of the verifyClient callback.
 */
function refuseWith(socket: Duplex, status: number | string, message: string | undefined, headers: VerifyClientHeaders | undefined): void {
  let response: Buffer;
  try {
    // As with ws (which writes it into the status line), a status given as its digits ('403') is taken.
    const code = typeof status === 'string' && /^[1-5][0-9][0-9]$/.test(status) ? Number(status) : (status as number);
    response = buildErrorResponse(code, message, headerPairs(headers));
  } catch (error) {
    rejectSocket(socket, 500);
    throw error;
  }
  endWith(socket, response);
}

function endWith(socket: Duplex, response: Buffer): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.end(response);
}

/** RFC 6455 §4.1: HTTP/1.1 or a later 1.x (the version as the request line gives it: "1.1"). */
function isHttp11OrLater(version: string): boolean {
  const dot = version.indexOf('.');
  const major = Number(version.slice(0, dot === -1 ? version.length : dot));
  const minor = dot === -1 ? 0 : Number(version.slice(dot + 1));
  return major > 1 || (major === 1 && minor >= 1);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A value in an error message (a hook's odd return value). */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? 'an object' : String(value);
}

/** line[start..] without leading and trailing SP/HTAB (RFC 9110 §5.6.3 OWS). */
function trimOws(line: string, start: number): string {
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  return line.slice(start, end);
}

/** `verifyClient`'s headers object as fields (a list value gives one line per element). */
function headerPairs(headers: VerifyClientHeaders | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (headers == null) return pairs;
  for (const name of Object.keys(headers)) {
    // The response's framing fields are set by rejectSocket.
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'content-length' || lower === 'content-type') continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) pairs.push([name, String(item)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}
