import type { Socket } from 'node:net';
import type { ProtocolError } from '../framing/protocol-error.js';
import {
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  type Role,
  type WriteCallback,
} from '../protocol/connection.js';

/** Events the transport reports upward (to the public API object). */
export interface TransportListener {
  onMessage(data: Buffer, isBinary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer broke the protocol; the connection is being failed with `error.closeCode`. */
  onProtocolError(error: ProtocolError): void;
  /** Once, after the TCP connection is gone: the peer's close code (1005: none in its frame, 1006: no close frame). */
  onClose(code: number, reason: Buffer): void;
}

export interface TransportOptions extends ConnectionOptions {
  /** How long to wait for the peer's close frame, then for TCP to end, before destroying the socket. Default 30 s. */
  closeTimeout: number;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;

/**
 * Binds one socket to one protocol Connection: socket reads go to `connection.receive()`,
 * the frames the connection emits go to the socket, and TCP teardown follows the closing
 * handshake. Writes made while a read batch is processed leave in one `writev` (cork/uncork).
 */
export class SocketTransport implements ConnectionHandler {
  readonly connection: Connection;
  private closeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private userPaused = false;
  private readingHeld = false;

  constructor(
    readonly socket: Socket,
    role: Role,
    private readonly listener: TransportListener,
    private readonly options: Partial<TransportOptions>,
    head: Buffer,
  ) {
    this.connection = new Connection(role, this, options);
    // handleUpgrade may be given any Duplex, not only a net.Socket.
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
    // Bytes that arrived with the handshake belong to the frame stream: they are read first.
    if (head.length > 0) socket.unshift(head);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.resume();
  }

  /** Bytes queued on the socket and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Paused by the application (`pause()`), whatever the connection itself asks. */
  get isPaused(): boolean {
    return this.userPaused;
  }

  pause(): void {
    this.userPaused = true;
    this.socket.pause();
  }

  resume(): void {
    this.userPaused = false;
    if (!this.readingHeld) this.socket.resume();
  }

  /** Drop the connection at once, without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  // ---- socket events ----------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    const socket = this.socket;
    socket.cork();
    try {
      this.connection.receive(chunk);
    } finally {
      // An exception from an application handler propagates, but the batched writes still leave.
      socket.uncork();
    }
  };

  private readonly onEnd = (): void => {
    // The peer half-closed: nothing more will arrive, so finish our side too.
    this.socket.end();
  };

  private readonly onSocketError = (): void => {
    // A socket error (reset, EPIPE...) is the peer's doing or the network's: the connection
    // ends with 1006 through 'close'; it never throws.
    this.socket.destroy();
  };

  private readonly onSocketClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    const connection = this.connection;
    connection.transportClosed();
    this.listener.onClose(connection.closeCodeReceived, connection.closeReasonReceived);
  };

  // ---- ConnectionHandler --------------------------------------------------------------------

  write(data: Buffer, cb?: WriteCallback): void {
    if (this.socket.destroyed) {
      if (cb !== undefined) process.nextTick(cb, new Error('WebSocket is not open: the socket is closed'));
      return;
    }
    this.socket.write(data, cb);
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.listener.onMessage(data, isBinary);
  }

  onPing(payload: Buffer): void {
    this.listener.onPing(payload);
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
    if (this.readingHeld === hold) return;
    this.readingHeld = hold;
    if (hold) this.socket.pause();
    else if (!this.userPaused) this.socket.resume();
  }

  endTransport(): void {
    this.socket.end();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== undefined || this.closed) return;
    const socket = this.socket;
    this.closeTimer = setTimeout(() => socket.destroy(), this.options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    this.closeTimer.unref?.();
  }
}
