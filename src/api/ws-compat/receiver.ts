// `ws`'s `Receiver` export: a Writable that takes the bytes of a WebSocket stream and emits
// 'message' (data, isBinary), 'ping', 'pong', 'conclude' (code, reason) and 'error', as `ws`'s does.
// A thin adapter over our protocol core (Connection and its FrameDecoder): no second parser. It
// only reads: the core's answers (a close frame echoed) go nowhere, and pings are not answered.
import { Writable } from 'node:stream';
import type { ProtocolError } from '../../framing/protocol-error.js';
import { Connection, type ConnectionHandler, type WriteCallback } from '../../protocol/connection.js';
import { convertBinary, type BinaryType } from '../websocket.js';
import { PerMessageDeflate } from './permessage-deflate.js';

/** `ws`'s Receiver constructor options. */
export interface ReceiverOptions {
  /** false: each 'message', 'ping' and 'pong' in its own turn of the event loop, as `ws`. Default true. */
  allowSynchronousEvents?: boolean;
  /** How binary messages are delivered. Default 'nodebuffer'. */
  binaryType?: BinaryType;
  /** The negotiated extensions by name; a PerMessageDeflate that accept()ed inflates messages. */
  extensions?: Record<string, unknown>;
  /** Server side: frames must be masked (client side: must not be). Default false. */
  isServer?: boolean;
  /** Max frames waiting behind a message being inflated; 0 = unlimited (default, as `ws`). */
  maxBufferedChunks?: number;
  /** Max frames in one message; 0 = unlimited (default, as `ws`). */
  maxFragments?: number;
  /** Max message size in bytes; 0 = unlimited (default, as `ws`). */
  maxPayload?: number;
  /** Skip UTF-8 validation of text messages and close reasons. Default false. */
  skipUTF8Validation?: boolean;
}

type Done = (error?: Error | null) => void;

/** `ws`'s Receiver: a Writable that parses frames and emits 'message', 'ping', 'pong', 'conclude' and 'error'; built on our decoder. */
export class Receiver extends Writable {
  // TypeScript-private, not #private: `#private` in the declarations would break older targets.
  /** @internal */
  private readonly _connection: Connection;
  /** @internal */
  private readonly _adapter: ReceiverEvents;

  constructor(options: ReceiverOptions = {}) {
    super();
    const deflate = options.extensions?.[PerMessageDeflate.extensionName];
    this._adapter = new ReceiverEvents(this, options.binaryType ?? 'nodebuffer');
    this._connection = new Connection(options.isServer === true ? 'server' : 'client', this._adapter, {
      maxPayload: options.maxPayload ?? 0,
      maxFragments: options.maxFragments ?? 0,
      maxBufferedChunks: options.maxBufferedChunks ?? 0,
      skipUtf8Validation: options.skipUTF8Validation === true,
      autoPong: false,
      deferEvents: options.allowSynchronousEvents === false,
      extension: deflate instanceof PerMessageDeflate ? deflate._extension : null,
    });
    this._connection.recordFragments = options.binaryType === 'fragments';
    this._adapter.connection = this._connection;
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: Done): void {
    this._connection.receive(chunk);
    this._adapter.written(done);
  }
}

/** What the core reports, turned into the Receiver's events. */
class ReceiverEvents implements ConnectionHandler {
  connection: Connection | null = null;
  private error: ProtocolError | null = null;
  /** The write callback held while a message is inflated: the next chunk waits for it. */
  private held: Done | null = null;
  private holding = false;

  constructor(
    private readonly receiver: Receiver,
    private readonly binaryType: BinaryType,
  ) {}

  /** A chunk was processed: let the next one come, unless a message is being inflated. */
  written(done: Done): void {
    if (this.holding) this.held = done;
    else done(this.error);
  }

  /** The core's own frames (a close echoed): a receiver does not send. */
  write(_data: Buffer, cb?: WriteCallback): void {
    if (cb !== undefined) process.nextTick(cb);
  }

  onMessage(data: Buffer, isBinary: boolean, fragmentEnds?: readonly number[] | null): void {
    const binaryType = this.binaryType;
    this.receiver.emit('message', isBinary && binaryType !== 'nodebuffer' ? convertBinary(data, binaryType, fragmentEnds) : data, isBinary);
  }

  onPing(payload: Buffer): void {
    this.receiver.emit('ping', payload);
  }

  onPong(payload: Buffer): void {
    this.receiver.emit('pong', payload);
  }

  onProtocolError(error: ProtocolError): void {
    this.error ??= error;
  }

  awaitPeerClose(): void {}

  /** The closing handshake is over for the core: after a close frame received, `ws`'s 'conclude'. */
  endTransport(): void {
    const connection = this.connection!;
    if (this.error !== null || !connection.closeFrameReceived) return;
    this.receiver.emit('conclude', connection.closeCodeReceived, connection.closeReasonReceived);
    this.receiver.end();
  }

  scheduleDeferredEvent(): void {
    setImmediate(deliverDeferredEvent, this.connection!);
  }

  /** While a message is inflated (or an event deferred), the next chunk waits (its write callback is held). */
  holdReading(hold: boolean): void {
    this.holding = hold;
    const done = this.held;
    if (hold || done === null) return;
    this.held = null;
    done(this.error);
  }

  abort(error: ProtocolError): void {
    this.error ??= error;
  }

  onWritesFlushed(): void {}
}

function deliverDeferredEvent(connection: Connection): void {
  connection.deliverDeferredEvent();
}
