import { Socket } from 'node:net';
import { CloseCode } from '../framing/close-codes.js';
import { ProtocolError } from '../framing/protocol-error.js';
import { readReceiverOf, readsShared, setReadReceiver, type ReadReceiver } from './shared-reads.js';
import { heartbeatMonitor, type HeartbeatMonitor, type HeartbeatOptions, type HeartbeatTarget } from './heartbeat.js';
import {
  ReadyState,
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  type Role,
  type WriteCallback,
} from '../protocol/connection.js';
import { writeBatch } from '../protocol/write-batch.js';
import type { SharedWrites, SharedWritesMember } from './shared-writes.js';
import { DeadlineQueue } from './deadline-queue.js';
import { socketErrorChannel } from '../diagnostics/channels.js';

/** Events the transport reports upward (to the public API object). */
export interface TransportListener {
  onMessage(data: Buffer, isBinary: boolean, fragmentEnds?: readonly number[] | null): void;
  onPing(payload: Buffer): void;
  /** ConnectionHandler.ownPong: true when the listener sends the automatic pong itself. */
  ownPong?(payload: Buffer, cb: WriteCallback): boolean;
  onPong(payload: Buffer): void;
  /** The peer broke the protocol; the connection is being failed with `error.closeCode`. */
  onProtocolError(error: ProtocolError): void;
  /** Once, after the TCP connection is gone: the peer's close code (1005: none in its frame, 1006: no close frame). */
  onClose(code: number, reason: Buffer): void;
  /** What was queued for sending has drained below the socket's high-water mark. */
  onDrain(): void;
}

export interface TransportOptions extends ConnectionOptions {
  /** How long to wait for the peer's close frame, then for TCP to end, before destroying the socket. Default 30 s. */
  closeTimeout: number;
  /**
   * Max bytes queued for sending and not yet written (socket buffer plus messages waiting for
   * compression), not counting the largest single frame queued: one message of any size always goes.
   * Beyond it the peer is not reading: the connection is dropped at once with an 'error' (1008) and its
   * queue released. 0 = unlimited (as in `ws`). Default 16 MiB.
   */
  maxBufferedAmount: number;
  /** Ping silent connections and terminate the ones that stay silent. Off when undefined. */
  heartbeat: HeartbeatOptions | undefined;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;
/** maxBufferedAmount's default on a server: a client that stops reading holds at most this (plus one message) of its memory. */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 16 * 1024 * 1024;

// SocketTransport.flags
/** The socket closed (onClose ran). */
const CLOSED = 1;
/** Paused by the application. */
const USER_PAUSED = 2;
/** Reading stopped by the connection (holdReading) while a message is decompressed. */
const READING_HELD = 4;
/** maxBufferedAmount was passed: the connection is being dropped. */
const OVER_LIMIT = 8;
/** Corked by corkUntilTickEnd() until the end of this tick. */
const CORKED_FOR_TICK = 16;
/**
 * Writes outside a read batch are held to the end of the tick: only on a net.Socket (TCP or TLS), whose
 * writes never reach the peer synchronously. Any other Duplex (an in-memory pair, as @fastify/websocket's
 * injectWS makes) may hand the bytes to the peer inside the uncork, where the peer's answer would
 * re-enter a stream that is still clearing its buffer.
 */
const CORKS_TICKS = 32;
/** Queued on the shared close timer of its closeTimeout (armCloseTimer). */
const CLOSE_QUEUED = 64;
/** Inside receive(): the socket is corked for the read's batch of writes. */
const IN_READ = 128;

/**
 * The transport of a socket that reads through 'data', for the socket event handlers below (shared by
 * all connections). A socket that reads into the shared buffer has its transport as its read receiver
 * instead (one property of ours on the socket, not two).
 */
const kTransport = Symbol('rfc6455.transport');
type TransportSocket = Socket & { [kTransport]?: SocketTransport };

function transportOf(socket: TransportSocket): SocketTransport {
  return socket[kTransport] ?? (readReceiverOf(socket) as SocketTransport);
}

function onSocketData(this: TransportSocket, chunk: Buffer): void {
  this[kTransport]!.onData(chunk);
}
/** End our side of TCP once: a second end() only builds an Error (ERR_STREAM_ALREADY_FINISHED) to drop it. */
function endOnce(socket: Socket): void {
  if (!socket.writableEnded) socket.end();
}
function onSocketEnd(this: TransportSocket): void {
  transportOf(this).onEnd();
  // Once our bytes are out, release the socket. A net.Socket does that itself (autoDestroy); a Duplex
  // without autoDestroy handed to handleUpgrade or setSocket (a PassThrough pair, as @fastify/websocket's
  // injectWS builds) would otherwise never emit 'close'.
  if (this.writableFinished) this.destroy();
  else this.once('finish', destroyAfterFinish);
}
/**
 * net.Socket's own 'end' listener (net.js `onReadableStreamEnd`: a socket that is not half-open gets a
 * `write` that fails once the peer has ended), taken from the first socket that has it alone.
 */
let nodeEndListener: ((this: Socket) => void) | null = null;
/** Node's 'end' listener, then ours: one listener in the socket's table instead of a list of two. */
function onSocketEndAfterNode(this: TransportSocket): void {
  nodeEndListener!.call(this);
  onSocketEnd.call(this);
}
/**
 * Listen to the socket's 'end'. A net.Socket listens to it itself; a second listener turns its table
 * entry into a list (about 56 bytes per idle connection), so where Node's listener is there alone it
 * is replaced by one that calls it first, then ours: the same calls in the same order.
 */
function listenToEnd(socket: Socket): void {
  const own = (socket as unknown as { _events?: Record<string, unknown> })._events?.end;
  if (typeof own === 'function' && (own === nodeEndListener || (nodeEndListener === null && own.name === 'onReadableStreamEnd'))) {
    nodeEndListener = own as (this: Socket) => void;
    socket.removeListener('end', nodeEndListener);
    socket.on('end', onSocketEndAfterNode);
  } else {
    socket.on('end', onSocketEnd);
  }
}
function destroyAfterFinish(this: Socket): void {
  this.destroy();
}
function onSocketError(this: TransportSocket, error: Error): void {
  // A socket error (reset, EPIPE...) is the peer's doing or the network's: the connection ends with
  // 1006 through 'close'; it never throws.
  const transport = transportOf(this);
  if (socketErrorChannel.hasSubscribers) socketErrorChannel.publish({ websocket: transport.listener, error });
  transport.destroy();
}
function onSocketClose(this: TransportSocket): void {
  transportOf(this).onClose();
}
function onSocketDrain(this: TransportSocket): void {
  transportOf(this).listener.onDrain();
}
function deliverFirstBytes(transport: SocketTransport): void {
  transport.deliverFirstBytes();
}
function deliverDeferredEvent(connection: Connection): void {
  connection.deliverDeferredEvent();
}

/**
 * Binds one socket to one protocol Connection: socket reads go to `connection.receive()`,
 * the frames the connection emits go to the socket, and TCP teardown follows the closing
 * handshake. Writes made while a read batch is processed leave in one `writev` (cork/uncork).
 * A socket that reads into the shared buffer (shared-reads.ts) calls back instead of emitting 'data'.
 */
export class SocketTransport implements ConnectionHandler, HeartbeatTarget, ReadReceiver, SharedWritesMember {
  readonly connection: Connection;
  /** CLOSED | USER_PAUSED | READING_HELD | OVER_LIMIT | CORKED_FOR_TICK | CORKS_TICKS | CLOSE_QUEUED: one field, not seven, in every idle connection. */
  private flags = 0;
  private readonly maxBufferedAmount: number;
  private readonly closeTimeout: number;
  /** The largest write since the socket's queue was last empty: the message maxBufferedAmount lets through. */
  private largestWrite = 0;
  /** Bumped by every read, for the heartbeat monitor. */
  activity = 0;
  private heartbeat: HeartbeatMonitor | null = null;
  /** Shared-read socket: bytes that came with the handshake, delivered once reading is allowed. */
  private firstBytes: Buffer | null = null;
  /** Bytes written since corkUntilTickEnd() corked. */
  private tickBytes = 0;
  /** Shared frames `sharedFrom` to `sharedTo` of `shared` are this socket's next bytes (see queueShared). */
  private shared: SharedWrites | null = null;
  private sharedFrom = 0;
  private sharedTo = 0;

  constructor(
    readonly socket: Socket,
    role: Role,
    readonly listener: TransportListener,
    options: Partial<TransportOptions>,
    head: Buffer,
  ) {
    this.connection = new Connection(role, this, options);
    // Only what is needed later is kept: no per-connection options object stays alive.
    // On by default for a server's connections (any client can stop reading); a client queues without
    // limit unless told, as with `ws` (it decides itself what it sends, to one server).
    this.maxBufferedAmount = options.maxBufferedAmount ?? (role === 'server' ? DEFAULT_MAX_BUFFERED_AMOUNT : 0);
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    if (socket instanceof Socket) this.flags = CORKS_TICKS;
    // handleUpgrade may be given any Duplex, not only a net.Socket.
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
    // Bytes that arrived with the handshake belong to the frame stream: they are read first, and
    // (like 'data') not before the application has had this tick to attach its listeners.
    if (readsShared(socket)) {
      // (From now on the socket's receiver stays this transport: the handlers find it there.)
      setReadReceiver(socket, this);
      if (head.length > 0) {
        this.firstBytes = head;
        process.nextTick(deliverFirstBytes, this);
      }
    } else {
      (socket as TransportSocket)[kTransport] = this;
      if (head.length > 0) socket.unshift(head);
      socket.on('data', onSocketData);
    }
    listenToEnd(socket);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    socket.resume();
    if (options.heartbeat !== undefined) {
      this.heartbeat = heartbeatMonitor(options.heartbeat);
      this.heartbeat.add(this);
    }
  }

  /** Bytes queued on the socket and not yet handed to the kernel, plus those waiting for compression. */
  get bufferedAmount(): number {
    const shared = this.shared;
    const held = shared === null ? 0 : shared.bytes(this.sharedFrom, this.sharedTo);
    return this.socket.writableLength + this.connection.pendingBytes + held;
  }

  /** Above this many buffered bytes, send() reports backpressure (the socket's writableHighWaterMark). */
  get highWaterMark(): number {
    return this.socket.writableHighWaterMark;
  }

  /** Paused by the application (`pause()`), whatever the connection itself asks. */
  get isPaused(): boolean {
    return (this.flags & USER_PAUSED) !== 0;
  }

  pause(): void {
    this.flags |= USER_PAUSED;
    this.socket.pause();
  }

  resume(): void {
    this.flags &= ~USER_PAUSED;
    if ((this.flags & READING_HELD) === 0) this.resumeReading();
  }

  private resumeReading(): void {
    if (this.firstBytes !== null) process.nextTick(deliverFirstBytes, this);
    this.socket.resume();
  }

  /** The handshake's extra bytes of a shared-read socket, unless reading is paused. */
  deliverFirstBytes(): void {
    const bytes = this.firstBytes;
    if (bytes === null || (this.flags & (USER_PAUSED | READING_HELD | CLOSED)) !== 0) return;
    this.firstBytes = null;
    this.onData(bytes);
  }

  /**
   * Drop the connection at once, without a closing handshake. What was written before still leaves,
   * as with `ws` (which never holds writes): the frames batched while a read is processed, and a read
   * batch's or a tick's cork, are released first, else `destroy()` would discard them (a message
   * handler's send() then terminate(), as @fastify/websocket's default error handler does).
   */
  terminate(): void {
    const socket = this.socket;
    if (this.shared !== null) this.flushShared(this.shared);
    writeBatch(this);
    while (socket.writableCorked > 0) socket.uncork();
    this.destroy();
  }

  /**
   * Destroy the socket and tell the connection at once, not at 'close' (a loop turn later): a compression
   * or a Blob read that ends in between finds it closed, and what it owes fails as it would after 'close'.
   */
  destroy(): void {
    this.shared = null;
    this.socket.destroy();
    this.connection.transportClosed();
  }

  // ---- socket events ----------------------------------------------------------------------

  /** A chunk read from the socket ('data'). */
  onData(chunk: Buffer): void {
    this.receive(chunk, false);
  }

  /** A read into the shared buffer. */
  onSharedRead(chunk: Buffer): void {
    this.receive(chunk, true);
  }

  private receive(chunk: Buffer, borrowed: boolean): void {
    const socket = this.socket;
    this.activity++;
    const outer = this.flags & IN_READ;
    this.flags |= IN_READ;
    socket.cork();
    try {
      this.connection.receive(chunk, borrowed);
    } finally {
      // An exception from an application handler propagates, but the batched writes still leave.
      this.flags = (this.flags & ~IN_READ) | outer;
      socket.uncork();
      if (this.maxBufferedAmount > 0) this.checkBufferedAmount();
    }
  }

  /**
   * The peer half-closed: nothing more will arrive, so finish our side too (usually it has
   * already: we answered its close frame). Nothing more can leave either: the connection is over.
   */
  onEnd(): void {
    // (With the close timer: a peer that half-closes and stops reading cannot hold the socket open.)
    this.endTransport();
    this.connection.transportClosed();
  }

  /** The socket closed. */
  onClose(): void {
    if ((this.flags & CLOSED) !== 0) return;
    this.flags |= CLOSED;
    if ((this.flags & CLOSE_QUEUED) !== 0) {
      this.flags &= ~CLOSE_QUEUED;
      closeQueueFor(this.closeTimeout).delete(this);
    }
    if (this.heartbeat !== null) {
      this.heartbeat.delete(this);
      this.heartbeat = null;
    }
    const connection = this.connection;
    connection.transportClosed();
    this.listener.onClose(connection.closeCodeReceived, connection.closeReasonReceived);
  }

  // ---- ConnectionHandler --------------------------------------------------------------------

  write(data: Buffer, cb?: WriteCallback): void {
    if (this.socket.destroyed) {
      if (cb !== undefined) process.nextTick(cb, new Error('WebSocket is not open: the socket is closed'));
      return;
    }
    // Shared frames queued before this write go first.
    if (this.shared !== null) this.flushShared(this.shared);
    this.writeOut(data, cb);
  }

  /**
   * The write batch's test (write-batch.ts): a socket past its high-water mark gets its batches as
   * copies, so that a peer that stopped reading holds its own bytes and not a shared slab. (Below it, a
   * pending write can hold a slab too, at most 64 KiB, behind a kernel send buffer that is larger.)
   */
  writesWaiting(): boolean {
    return this.socket.writableNeedDrain;
  }

  private writeOut(data: Buffer, cb?: WriteCallback): void {
    const socket = this.socket;
    if (socket.writableLength === 0 || data.length > this.largestWrite) this.largestWrite = data.length;
    // A write outside a read batch (a send from another connection's handler, a timer, a loop over
    // wss.clients) is held until the end of the tick: the frames sent to this socket within one tick
    // leave in one system call instead of one each. Past TICK_CORK_BYTES they leave at once.
    if (socket.writableCorked === 0) {
      if ((this.flags & CORKS_TICKS) === 0) {
        socket.write(data, cb);
        if (this.maxBufferedAmount > 0) this.checkBufferedAmount();
        return;
      }
      this.corkUntilTickEnd();
      this.tickBytes = data.length;
    } else if ((this.flags & CORKED_FOR_TICK) !== 0 && (this.tickBytes += data.length) > TICK_CORK_BYTES) {
      socket.write(data, cb);
      this.uncorkForTick();
      return;
    }
    socket.write(data, cb);
    // A read's batch that holds READ_BATCH_BYTES leaves now: large messages gain nothing from waiting
    // for the rest of the read, and their echoes reach the peer while the next one is decoded.
    if ((this.flags & (IN_READ | CORKED_FOR_TICK)) === IN_READ && socket.writableLength >= READ_BATCH_BYTES && socket.writableCorked === 1) {
      socket.uncork();
      socket.cork();
    }
    // Inside a read batch (corked) the check waits for the uncork, when the batch has been tried.
    if (this.maxBufferedAmount > 0 && socket.writableCorked === 0) this.checkBufferedAmount();
  }

  /**
   * One slow reader must not hold the memory of a busy sender. Past the limit (beyond the largest
   * message queued) the peer is not reading what it is sent, so a closing handshake could not complete:
   * a close frame could only wait behind the bytes it does not read. The connection is dropped at once
   * and its queue released: 'error' (1008), then 'close' 1006; what was owed fails once.
   */
  private checkBufferedAmount(): void {
    if ((this.flags & OVER_LIMIT) !== 0 || this.bufferedAmount - this.largestWrite <= this.maxBufferedAmount) return;
    this.flags |= OVER_LIMIT;
    this.connection.abort(
      new ProtocolError(CloseCode.PolicyViolation, `more than ${this.maxBufferedAmount} bytes waiting to be sent (maxBufferedAmount)`),
    );
  }

  heartbeatPing(): void {
    if (this.connection.readyState === ReadyState.OPEN && !this.connection.closeFrameSent) this.connection.ping(EMPTY);
  }

  abort(): void {
    this.destroy();
  }

  scheduleDeferredEvent(): void {
    setImmediate(deliverDeferredEvent, this.connection);
  }

  onWritesFlushed(): void {
    if (!this.socket.writableNeedDrain) this.listener.onDrain();
  }

  onMessage(data: Buffer, isBinary: boolean, fragmentEnds?: readonly number[] | null): void {
    this.listener.onMessage(data, isBinary, fragmentEnds);
  }

  onPing(payload: Buffer): void {
    this.listener.onPing(payload);
  }

  ownPong(payload: Buffer, cb: WriteCallback): boolean {
    return this.listener.ownPong?.(payload, cb) === true;
  }

  onPong(payload: Buffer): void {
    this.listener.onPong(payload);
  }

  onProtocolError(error: ProtocolError): void {
    this.listener.onProtocolError(error);
  }

  awaitPeerClose(): void {
    this.armCloseTimer();
  }

  holdReading(hold: boolean): void {
    if (((this.flags & READING_HELD) !== 0) === hold) return;
    this.flags ^= READING_HELD;
    if (hold) this.socket.pause();
    else if ((this.flags & USER_PAUSED) === 0) this.resumeReading();
  }

  endTransport(): void {
    if (this.shared !== null) this.flushShared(this.shared);
    endOnce(this.socket);
    this.armCloseTimer();
  }

  /**
   * Write an already encoded frame (its buffers, in order) through the connection, in call order with
   * the other sends; the pieces leave in one writev. Returns false when it cannot go now (see
   * Connection.sendEncoded).
   */
  sendEncoded(frame: readonly Buffer[], cb?: WriteCallback): boolean {
    const socket = this.socket;
    if (frame.length === 1) return this.connection.sendEncoded(frame, cb);
    socket.cork();
    try {
      return this.connection.sendEncoded(frame, cb);
    } finally {
      socket.uncork();
      if (this.maxBufferedAmount > 0) this.checkBufferedAmount();
    }
  }

  /**
   * Hold this socket's writes until the end of the current tick (cork), so that the messages published
   * to it within one tick leave in one write, as uWebSockets corks. Idempotent within a tick.
   */
  corkUntilTickEnd(): void {
    if ((this.flags & CORKED_FOR_TICK) !== 0) return;
    this.flags |= CORKED_FOR_TICK;
    this.tickBytes = 0;
    this.socket.cork();
    if (tickCorked.push(this) === 1) process.nextTick(uncorkTick);
  }

  /** @internal The end of the tick (or TICK_CORK_BYTES held): write what corkUntilTickEnd() held. */
  uncorkForTick(): void {
    if ((this.flags & CORKED_FOR_TICK) === 0) return;
    this.flags &= ~CORKED_FOR_TICK;
    this.socket.uncork();
    if (this.maxBufferedAmount > 0) this.checkBufferedAmount();
  }

  /**
   * Make frame `index` of `writes` (one encoded, whole message) this socket's next bytes, without
   * writing it yet: at the end of the tick the socket writes the run of shared frames it holds in one
   * write, and any other write first writes that run. The caller checked that the connection writes
   * encoded frames as they come (Connection.writesEncodedNow) and that the socket is open.
   */
  queueShared(writes: SharedWrites, index: number): void {
    // Frames batched before this one (this connection is processing a read) go first; their write
    // first writes the shared frames held before them.
    writeBatch(this);
    if (this.shared === writes && this.sharedTo === index - 1) {
      this.sharedTo = index;
      return;
    }
    if (this.shared !== null) this.flushShared(this.shared);
    this.shared = writes;
    this.sharedFrom = index;
    this.sharedTo = index;
    writes.join(this);
  }

  /** Write the run of `writes`' frames this socket holds (nothing when it holds none of them). */
  flushShared(writes: SharedWrites): void {
    if (this.shared !== writes) return;
    this.shared = null;
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const bytes = writes.slice(this.sharedFrom, this.sharedTo);
    if (writes.finished) {
      // The end of the tick: written at once, not corked for a tick that is ending.
      const socket = this.socket;
      if (socket.writableLength === 0 || bytes.length > this.largestWrite) this.largestWrite = bytes.length;
      socket.write(bytes);
      if (this.maxBufferedAmount > 0 && socket.writableCorked === 0) this.checkBufferedAmount();
    } else {
      this.writeOut(bytes);
    }
  }

  private armCloseTimer(): void {
    if ((this.flags & (CLOSE_QUEUED | CLOSED)) !== 0) return;
    this.flags |= CLOSE_QUEUED;
    closeQueueFor(this.closeTimeout).add(this);
  }
}

/**
 * The close timers: one DeadlineQueue (one timer) per closeTimeout value in use, instead of a setTimeout
 * per closing connection. 0 or less (or NaN) waits 1 ms, as setTimeout would.
 */
const closeQueues = new Map<number, DeadlineQueue<SocketTransport>>();

function closeQueueFor(timeout: number): DeadlineQueue<SocketTransport> {
  const ms = timeout > 0 ? timeout : 1;
  let queue = closeQueues.get(ms);
  if (queue === undefined) {
    queue = new DeadlineQueue<SocketTransport>(ms, destroyTransport);
    closeQueues.set(ms, queue);
  }
  return queue;
}

function destroyTransport(transport: SocketTransport): void {
  transport.destroy();
}

const EMPTY = Buffer.alloc(0);

/**
 * A socket corked until the end of the tick is uncorked as soon as this many bytes were written to it:
 * the bytes of a loop that sends much to one socket reach the kernel as they would without the cork.
 */
const TICK_CORK_BYTES = 64 * 1024;

/**
 * The writes of a read's batch leave before the read is processed to its end once they hold this many
 * bytes (2026-12-05, 64 KiB echo 10x2, interleaved against holding the whole read: 31.5k, 31.8k and
 * 25.7k msg/s vs 24.5k, 25.9k and 26.4k; that scenario moves by ±20% from round to round).
 */
const READ_BATCH_BYTES = 16 * 1024;

/** The transports corked for the current tick, uncorked together at its end. */
const tickCorked: SocketTransport[] = [];

function uncorkTick(): void {
  // (One corked again while this runs is appended, and uncorked by this same loop.)
  let i = 0;
  try {
    for (; i < tickCorked.length; i++) tickCorked[i]!.uncorkForTick();
  } finally {
    // Should an uncork throw, the sockets after it are still uncorked, on a tick of their own.
    if (i >= tickCorked.length) tickCorked.length = 0;
    else {
      tickCorked.splice(0, i + 1);
      process.nextTick(uncorkTick);
    }
  }
}
