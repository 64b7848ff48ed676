// A server's counters: plain number fields bumped where the work happens anyway (a handshake's
// outcome, a message delivered or sent, a limit tripped), read by `WebSocketServer.stats()`.

/** Why a server refused (or lost) an opening handshake. */
export type HandshakeRejectReason =
  /** The request was not a valid WebSocket upgrade (4xx/505: bad head, missing or bad fields, head too large). */
  | 'invalid'
  /** A plain HTTP request to the standalone listener (426). */
  | 'notWebSocket'
  /** `shouldHandle` (the `path` option) said no (400). */
  | 'path'
  /** `verifyClient` refused (its status, default 401). */
  | 'verifyClient'
  /** An application hook threw or answered wrongly (500). */
  | 'hookError'
  /** The server was closing (503). */
  | 'serverClosing'
  /** `maxConnections` were open (503). */
  | 'maxConnections'
  /** The peer left before the handshake completed (no answer sent). */
  | 'aborted'
  /** Standalone: the request head did not arrive within `handshakeTimeout` (no answer sent). */
  | 'timeout';

/** The limits that end a connection when a peer exceeds them. */
export type LimitKind = 'maxPayload' | 'maxFragments' | 'maxBufferedChunks' | 'maxPendingAutoPongs' | 'maxBufferedAmount' | 'maxBackpressure';

/** A snapshot of a WebSocketServer's counters (`wss.stats()`); every count is since the server was made. */
export interface ServerStats {
  /** Open connections now. */
  connections: number;
  /** Opening handshakes since the server was made. */
  handshakes: {
    /** Accepted (101 sent). */
    accepted: number;
    /** Refused (or lost) handshakes, all reasons together. */
    rejected: number;
    /** Refused (or lost) handshakes by reason. */
    rejectedBy: Record<HandshakeRejectReason, number>;
  };
  /** Whole messages received, and sent (send() with fin, plus each local subscriber a publish reached). */
  messages: {
    /** Received. */
    in: number;
    /** Sent. */
    out: number;
  };
  /**
   * Bytes. `in`/`out`: message payloads as the application sees them (after decompression, before
   * compression). `wireIn`/`wireOut`: what the TCP sockets read and wrote (frame headers, compression
   * and the HTTP handshake included), of the closed connections and of the open ones.
   */
  bytes: {
    /** Payload bytes received (decompressed). */
    in: number;
    /** Payload bytes sent (before compression). */
    out: number;
    /** Bytes the TCP sockets read. */
    wireIn: number;
    /** Bytes the TCP sockets wrote. */
    wireOut: number;
  };
  /** Connections ended because the peer exceeded a limit, by limit. */
  limits: Record<LimitKind, number>;
  /** Published messages not sent to a subscriber over `maxBackpressure` (policy 'skip'). */
  backpressureDrops: number;
}

/** @internal */
export class ServerCounters {
  accepted = 0;
  readonly rejectedBy: Record<HandshakeRejectReason, number> = {
    invalid: 0,
    notWebSocket: 0,
    path: 0,
    verifyClient: 0,
    hookError: 0,
    serverClosing: 0,
    maxConnections: 0,
    aborted: 0,
    timeout: 0,
  };
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Wire bytes of the connections already closed (the open ones are read from their sockets). */
  wireInClosed = 0;
  wireOutClosed = 0;
  readonly limits: Record<LimitKind, number> = {
    maxPayload: 0,
    maxFragments: 0,
    maxBufferedChunks: 0,
    maxPendingAutoPongs: 0,
    maxBufferedAmount: 0,
    maxBackpressure: 0,
  };
  backpressureDrops = 0;

  /** A connection ended on `error` (its 'error'): counted when a limit was exceeded. */
  connectionFailed(error: Error): void {
    const kind = limitKindOf(error);
    if (kind !== null) this.limits[kind]++;
  }

  /** A connection closed: its socket's byte counts join the closed ones. */
  socketClosed(socket: { bytesRead?: number; bytesWritten?: number } | null): void {
    if (socket === null) return;
    this.wireInClosed += socket.bytesRead ?? 0;
    this.wireOutClosed += socket.bytesWritten ?? 0;
  }

  snapshot(open: Iterable<{ readonly _socket: { bytesRead?: number; bytesWritten?: number } | null }>, connections: number): ServerStats {
    let wireIn = this.wireInClosed;
    let wireOut = this.wireOutClosed;
    for (const ws of open) {
      const socket = ws._socket;
      if (socket === null) continue;
      wireIn += socket.bytesRead ?? 0;
      wireOut += socket.bytesWritten ?? 0;
    }
    let rejected = 0;
    for (const key of Object.keys(this.rejectedBy) as HandshakeRejectReason[]) rejected += this.rejectedBy[key];
    return {
      connections,
      handshakes: { accepted: this.accepted, rejected, rejectedBy: { ...this.rejectedBy } },
      messages: { in: this.messagesIn, out: this.messagesOut },
      bytes: { in: this.bytesIn, out: this.bytesOut, wireIn, wireOut },
      limits: { ...this.limits },
      backpressureDrops: this.backpressureDrops,
    };
  }
}

/** The limit an error that ends a connection reports, from its `code` or the limit named in its message. */
export function limitKindOf(error: Error): LimitKind | null {
  const code = (error as { code?: unknown }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'maxPayload';
  const message = error.message;
  if (message.endsWith('(maxBufferedAmount)')) return 'maxBufferedAmount';
  if (message.endsWith('(maxBackpressure)')) return 'maxBackpressure';
  if (code === 'WS_ERR_TOO_MANY_BUFFERED_PARTS') return message.includes('fragments') ? 'maxFragments' : 'maxBufferedChunks';
  if (message.includes('automatic pongs')) return 'maxPendingAutoPongs';
  return null;
}
