import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connectClient, parseTarget, type ClientOptions, type PendingHandshake } from './client.js';
import { isValidCloseCode } from './framing/close-payload.js';
import type { ResponseHead } from './handshake/head-parser.js';
import type { ProtocolError } from './framing/protocol-error.js';
import { ReadyState, type Role, type WriteCallback } from './protocol/connection.js';
import { SocketTransport, type TransportListener, type TransportOptions } from './transport/socket-transport.js';

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments';
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | number;

export interface SendOptions {
  /** Send as a binary message. Default: true unless `data` is a string. */
  binary?: boolean;
  /** Whether this is the last fragment of the message. Default true. */
  fin?: boolean;
  /** Accepted for `ws` compatibility; compression comes with permessage-deflate. */
  compress?: boolean;
  /** Accepted for `ws` compatibility: a client always masks, a server never does. */
  mask?: boolean;
}

/** Options shared by server-side and client sockets. */
export interface WebSocketCoreOptions {
  /** Max received message size in bytes; 0 = unlimited. Default 104857600 (100 MiB). */
  maxPayload?: number;
  /** Skip UTF-8 validation of received text messages. Default false. */
  skipUTF8Validation?: boolean;
  /** Answer pings with pongs automatically. Default true. */
  autoPong?: boolean;
  /** Milliseconds to wait for the closing handshake before destroying the socket. Default 30000. */
  closeTimeout?: number;
}

const EMPTY = Buffer.alloc(0);
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

/**
 * A WebSocket with the API of `ws` v8: the server side of an accepted connection, or a client
 * (see client.ts). Protocol work happens in the core; this class translates its events.
 */
export class WebSocket extends EventEmitter implements TransportListener {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  readonly CONNECTING = ReadyState.CONNECTING;
  readonly OPEN = ReadyState.OPEN;
  readonly CLOSING = ReadyState.CLOSING;
  readonly CLOSED = ReadyState.CLOSED;

  binaryType: BinaryType = 'nodebuffer';
  protected _url = '';
  protected _protocol = '';
  protected _extensions = '';
  protected _readyState: ReadyState = ReadyState.CONNECTING;
  protected _transport: SocketTransport | null = null;
  /** Bytes of sends attempted after the socket closed (reported by bufferedAmount, as `ws` does). */
  private _sentAfterClose = 0;
  private _pending: PendingHandshake | null = null;

  /**
   * `new WebSocket(url, protocols?, options?)` opens a client connection. Server-side sockets
   * are created by WebSocketServer (address null).
   */
  constructor(address?: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    if (address === undefined || address === null) return;
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
    const target = parseTarget(address);
    this._url = String(address);
    this._pending = connectClient(this, this._url, target, list, options ?? {});
  }

  get url(): string {
    return this._url;
  }
  get protocol(): string {
    return this._protocol;
  }
  get extensions(): string {
    return this._extensions;
  }
  get readyState(): ReadyState {
    return this._readyState;
  }
  get bufferedAmount(): number {
    return (this._transport?.bufferedAmount ?? 0) + this._sentAfterClose;
  }
  get isPaused(): boolean {
    return this._transport?.isPaused ?? false;
  }

  /** @internal Binds an upgraded socket; `head` holds bytes that followed the handshake. */
  _attach(
    socket: Socket,
    role: Role,
    head: Buffer,
    negotiated: { url: string; protocol: string; extensions: string },
    options: Partial<TransportOptions>,
  ): void {
    this._url = negotiated.url;
    this._protocol = negotiated.protocol;
    this._extensions = negotiated.extensions;
    this._transport = new SocketTransport(socket, role, this, options, head);
    this._readyState = ReadyState.OPEN;
  }

  send(data: SendData, options?: SendOptions | WriteCallback, cb?: WriteCallback): void {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._readyState === ReadyState.CONNECTING) {
      throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    }
    const buffer = toBuffer(data);
    const binary = options?.binary ?? typeof data !== 'string';
    const transport = this._transport;
    if (this._readyState !== ReadyState.OPEN || transport === null) {
      this._failSend(buffer.length, cb);
      return;
    }
    transport.connection.send(buffer, binary, options?.fin ?? true, cb);
  }

  ping(data?: SendData, mask?: boolean | WriteCallback, cb?: WriteCallback): void {
    this._control(data, mask, cb, true);
  }

  pong(data?: SendData, mask?: boolean | WriteCallback, cb?: WriteCallback): void {
    this._control(data, mask, cb, false);
  }

  /** Start the closing handshake (RFC 6455 §7.1.2). */
  close(code?: number, reason?: string | Buffer): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (code !== undefined && (typeof code !== 'number' || !isValidCloseCode(code))) {
      throw new TypeError('First argument must be a valid error code number');
    }
    const reasonBuffer = reason === undefined ? EMPTY : typeof reason === 'string' ? Buffer.from(reason) : reason;
    if (reasonBuffer.length > 123) {
      throw new RangeError('The close reason must not be greater than 123 bytes');
    }
    if (code === undefined && reasonBuffer.length > 0) {
      throw new TypeError('A close reason needs a close code');
    }
    if (this._readyState === ReadyState.CONNECTING) {
      this._abortHandshake();
      return;
    }
    const transport = this._transport;
    if (transport === null) return;
    transport.connection.close(code, reasonBuffer);
    this._readyState = ReadyState.CLOSING;
  }

  /** Destroy the connection at once, without a closing handshake. */
  terminate(): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (this._readyState === ReadyState.CONNECTING) {
      this._abortHandshake();
      return;
    }
    this._readyState = ReadyState.CLOSING;
    this._transport?.terminate();
  }

  pause(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._transport?.pause();
  }

  resume(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._transport?.resume();
  }

  /** @internal The client handshake completed. */
  _opened(): void {
    this._pending = null;
    this.emit('open');
  }

  /** @internal The client handshake failed: 'error' (when listened to), then 'close' with 1006. */
  _handshakeFailed(error: Error, response?: ResponseHead): void {
    this._pending = null;
    this._readyState = ReadyState.CLOSING;
    if (response !== undefined) this.emit('unexpected-response', response);
    this._emitError(error);
    this._readyState = ReadyState.CLOSED;
    this.emit('close', 1006, EMPTY);
  }

  private _abortHandshake(): void {
    this._pending?.abort();
  }

  /** Emit 'error' only when someone listens: a peer's misbehavior must never throw. */
  protected _emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private _control(data: SendData | undefined, mask: boolean | WriteCallback | undefined, cb: WriteCallback | undefined, ping: boolean): void {
    if (typeof mask === 'function') cb = mask;
    if (this._readyState === ReadyState.CONNECTING) {
      throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    }
    const buffer = data === undefined ? EMPTY : toBuffer(data);
    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    if (buffer.length > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    const transport = this._transport;
    if (this._readyState !== ReadyState.OPEN || transport === null) {
      this._failSend(buffer.length, cb);
      return;
    }
    if (ping) transport.connection.ping(buffer, cb);
    else transport.connection.pong(buffer, cb);
  }

  private _failSend(length: number, cb: WriteCallback | undefined): void {
    this._sentAfterClose += length;
    if (cb !== undefined) {
      const state = STATE_NAMES[this._readyState];
      process.nextTick(cb, new Error(`WebSocket is not open: readyState ${this._readyState} (${state})`));
    }
  }

  // ---- TransportListener ------------------------------------------------------------------

  onMessage(data: Buffer, isBinary: boolean): void {
    this.emit('message', isBinary ? convertBinary(data, this.binaryType) : data, isBinary);
  }

  onPing(payload: Buffer): void {
    this.emit('ping', payload);
  }

  onPong(payload: Buffer): void {
    this.emit('pong', payload);
  }

  onProtocolError(error: ProtocolError): void {
    this._readyState = ReadyState.CLOSING;
    this._emitError(error);
  }

  onClose(code: number, reason: Buffer): void {
    this._readyState = ReadyState.CLOSED;
    this.emit('close', code, reason);
  }
}

function toBuffer(data: SendData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'number') return Buffer.from(String(data));
  throw new TypeError('The data argument must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}

function convertBinary(data: Buffer, binaryType: BinaryType): Buffer | ArrayBuffer | Buffer[] {
  switch (binaryType) {
    case 'arraybuffer':
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    case 'fragments':
      return [data];
    default:
      return data;
  }
}
