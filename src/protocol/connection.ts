import { CloseCode } from '../framing/close-codes.js';
import { encodeClosePayload } from '../framing/close-payload.js';
import { FrameDecoder, type FrameSink } from '../framing/frame-decoder.js';
import { encodeFrame } from '../framing/frame-encoder.js';
import { Opcode } from '../framing/opcodes.js';
import type { ProtocolError } from '../framing/protocol-error.js';
import { cryptoMaskKeySource, type MaskKeySource } from './random-source.js';

export type Role = 'server' | 'client';

/** RFC 6455 §4.1 / WHATWG readyState values. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

export type WriteCallback = (error?: Error | null) => void;

/** What the core asks of its environment (the transport) and tells it. All calls are synchronous. */
export interface ConnectionHandler {
  /** Bytes to put on the wire, in order. `cb` runs once they are written (or failed). */
  write(data: Buffer, cb?: WriteCallback): void;
  onMessage(data: Buffer, isBinary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer violated the protocol; a close frame with `error.closeCode` has been queued. */
  onProtocolError(error: ProtocolError): void;
  /** We sent a close frame and now wait for the peer's: start the close timeout. */
  awaitPeerClose(): void;
  /** The WebSocket closing handshake is over (or the connection failed): half-close TCP now. */
  endTransport(): void;
}

export interface ConnectionOptions {
  /** Max message size in bytes, 0 = unlimited. Default 100 MiB, as in `ws`. */
  maxPayload: number;
  /** Skip UTF-8 validation of received text (only for trusted peers). Default false. */
  skipUtf8Validation: boolean;
  /** Answer pings automatically with a pong carrying the same payload. Default true. */
  autoPong: boolean;
  /** Masking keys for client frames. Default: the system CSPRNG. */
  maskKeys: MaskKeySource;
}

export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/**
 * The sans-I/O state machine of one WebSocket connection (RFC 6455 §5-7): bytes in through
 * `receive()`, events and bytes out through the handler. The role decides the masking rules.
 */
export class Connection implements FrameSink {
  readyState: ReadyState = ReadyState.OPEN;
  /** The code and reason of the peer's close frame, once received. */
  closeCodeReceived: number = CloseCode.Abnormal;
  closeReasonReceived: Buffer = EMPTY;
  closeFrameSent = false;
  closeFrameReceived = false;

  private readonly decoder: FrameDecoder;
  private readonly maskKeys: MaskKeySource | null;
  private readonly autoPong: boolean;
  /** Opcode of a message sent with fin=false and not yet finished, else -1. */
  private openSendOpcode = -1;
  private readonly out: Buffer[] = [];

  constructor(
    readonly role: Role,
    private readonly handler: ConnectionHandler,
    options: Partial<ConnectionOptions> = {},
  ) {
    this.decoder = new FrameDecoder(this, {
      role,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      allowRsv1: false,
      skipUtf8Validation: options.skipUtf8Validation ?? false,
    });
    // RFC 6455 §5.1: a client masks every frame it sends, a server never does.
    this.maskKeys = role === 'client' ? (options.maskKeys ?? cryptoMaskKeySource()) : null;
    this.autoPong = options.autoPong ?? true;
  }

  /** Feed bytes read from the transport. Never throws. */
  receive(chunk: Buffer): void {
    if (this.readyState === ReadyState.CLOSED || this.closeFrameReceived) return;
    this.decoder.push(chunk);
  }

  /** Send a data message (or one fragment of it when `fin` is false). Returns bytes queued. */
  send(data: Buffer, isBinary: boolean, fin = true, cb?: WriteCallback): number {
    let opcode: number;
    if (this.openSendOpcode === -1) {
      opcode = isBinary ? Opcode.Binary : Opcode.Text;
      if (!fin) this.openSendOpcode = opcode;
    } else {
      opcode = Opcode.Continuation;
      if (fin) this.openSendOpcode = -1;
    }
    return this.writeFrame(opcode, data, fin, cb);
  }

  ping(payload: Buffer, cb?: WriteCallback): number {
    return this.writeFrame(Opcode.Ping, payload, true, cb);
  }

  pong(payload: Buffer, cb?: WriteCallback): number {
    return this.writeFrame(Opcode.Pong, payload, true, cb);
  }

  /**
   * Start (or complete) the closing handshake (RFC 6455 §7.1.2). `code` undefined sends a close
   * frame without a payload. The caller validates code and reason.
   */
  close(code?: number, reason?: string | Buffer, cb?: WriteCallback): void {
    if (this.closeFrameSent || this.readyState === ReadyState.CLOSED) return;
    const payload = encodeClosePayload(code, reason); // throws on a misuse, before any state changes
    this.closeFrameSent = true;
    this.readyState = ReadyState.CLOSING;
    this.writeFrame(Opcode.Close, payload, true, cb);
    if (this.closeFrameReceived) {
      this.handler.endTransport();
    } else {
      this.handler.awaitPeerClose();
    }
  }

  /** The transport is gone (TCP closed or destroyed). */
  transportClosed(): void {
    this.readyState = ReadyState.CLOSED;
    this.decoder.stop();
  }

  private writeFrame(opcode: number, payload: Buffer, fin: boolean, cb?: WriteCallback): number {
    const out = this.out;
    const bytes = encodeFrame(out, opcode, payload, fin, false, this.maskKeys === null ? null : this.maskKeys());
    const last = out.length - 1;
    for (let i = 0; i < last; i++) this.handler.write(out[i]!);
    this.handler.write(out[last]!, cb);
    out.length = 0;
    return bytes;
  }

  // ---- FrameSink: events from the decoder -------------------------------------------------

  onMessage(data: Buffer, isBinary: boolean): void {
    this.handler.onMessage(data, isBinary);
  }

  onPing(payload: Buffer): void {
    // RFC 6455 §5.5.2-3: answer a ping with a pong carrying the same application data,
    // unless we already sent our close frame.
    if (this.autoPong && !this.closeFrameSent) this.pong(payload);
    this.handler.onPing(payload);
  }

  onPong(payload: Buffer): void {
    // RFC 6455 §5.5.3: an unsolicited pong is delivered and never answered.
    this.handler.onPong(payload);
  }

  onClose(code: number, reason: Buffer): void {
    this.closeFrameReceived = true;
    this.closeCodeReceived = code;
    this.closeReasonReceived = reason;
    if (this.closeFrameSent) {
      // RFC 6455 §7.1.2: both close frames exchanged; the TCP connection can go.
      this.handler.endTransport();
    } else {
      // RFC 6455 §5.5.1: echo the status code (1000 when the peer sent none).
      this.close(code === CloseCode.NoStatus ? CloseCode.Normal : code);
    }
  }

  onError(error: ProtocolError): void {
    // RFC 6455 §7.1.7: fail the connection: send a close frame with the code, then drop TCP.
    if (!this.closeFrameSent) {
      this.closeFrameSent = true;
      this.readyState = ReadyState.CLOSING;
      this.writeFrame(Opcode.Close, encodeClosePayload(error.closeCode, undefined), true);
    }
    this.handler.onProtocolError(error);
    this.handler.endTransport();
  }
}

const EMPTY = Buffer.alloc(0);
