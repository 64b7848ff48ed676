// Async iteration over a WebSocket's messages (`for await (const { data, isBinary } of ws)`), with
// backpressure: while the consumer lags, the socket stops reading, so the peer's writes back up in
// TCP instead of in our memory.
import { ReadyState } from '../protocol/connection.js';
import type { RawData, WebSocket } from './websocket.js';

/** One received message, as the 'message' event gives it (`data` follows binaryType). */
export interface WebSocketMessage {
  /** The message, in the shape binaryType asks for (a text message: a Buffer of its UTF-8). */
  data: RawData;
  /** Whether it came as a binary message (else text). */
  isBinary: boolean;
}

/** The options of `ws.messages()`. */
export interface MessagesOptions {
  /**
   * Messages the iterator holds before it pauses the socket (`pause()`); it resumes it once the
   * consumer has taken the queue down to a quarter of this. Default 16. The frames of the chunk being
   * read when the queue fills are still delivered, so the queue may exceed this by one read's worth.
   */
  highWaterMark?: number;
}

/**
 * Thrown by a message iterator when the connection ended abnormally: a close code other than 1000,
 * 1001 or 1005 (a close frame without a code), 1006 included (no close frame: reset, terminate(),
 * a limit tripped), or after an 'error' on the socket (`cause`).
 */
export class ConnectionClosedError extends Error {
  /** 'ConnectionClosedError'. */
  override readonly name = 'ConnectionClosedError';
  /** The close code ('close' event's first argument). */
  readonly code: number;
  /** The close reason, as text. */
  readonly reason: string;

  constructor(code: number, reason: string, cause?: Error) {
    super(`WebSocket connection closed abnormally (code ${code}${reason === '' ? '' : `, reason ${JSON.stringify(reason)}`})`, cause === undefined ? undefined : { cause });
    this.code = code;
    this.reason = reason;
  }
}

export const DEFAULT_MESSAGES_HIGH_WATER_MARK = 16;

/** The sockets with an iterator in use (one at a time). */
const iterating = new WeakSet<WebSocket>();
/** Messages an iterator had received and not yielded when the loop left it: the next iterator's first. */
const leftovers = new WeakMap<WebSocket, WebSocketMessage[]>();

type Waiter = { resolve(result: IteratorResult<WebSocketMessage, undefined>): void; reject(error: unknown): void };

const DONE: IteratorResult<WebSocketMessage, undefined> = Object.freeze({ done: true, value: undefined });

/** @internal Made by WebSocket.prototype.messages(). */
export class MessageIterator implements AsyncIterableIterator<WebSocketMessage, undefined, undefined> {
  private queue: WebSocketMessage[];
  private waiter: Waiter | null = null;
  /** The socket closed: the queue is what is left, then `failure` (or the end). */
  private closed = false;
  private failure: ConnectionClosedError | null = null;
  /** return() was called, or the end was reported: no more results. */
  private finished = false;
  private pausedByUs = false;
  /** Listening to the socket (from the constructor to the close or return()). */
  private attached = false;
  private lastError: Error | undefined = undefined;
  private readonly highWaterMark: number;
  private readonly lowWaterMark: number;
  private readonly onMessage = (data: RawData, isBinary: boolean): void => this.received(data, isBinary);
  private readonly onClose = (code: number, reason: Buffer): void => this.socketClosed(code, reason);
  private readonly onError = (error: Error): void => {
    this.lastError = error;
  };

  constructor(
    private readonly ws: WebSocket,
    options: MessagesOptions | undefined,
  ) {
    const highWaterMark = options?.highWaterMark ?? DEFAULT_MESSAGES_HIGH_WATER_MARK;
    if (typeof highWaterMark !== 'number' || !Number.isInteger(highWaterMark) || highWaterMark < 1) {
      throw new TypeError(`The "highWaterMark" option must be a positive integer, not ${String(highWaterMark)}`);
    }
    if (iterating.has(ws)) {
      throw new Error('This WebSocket already has a message iterator in use: leave its loop (or call its return()) first');
    }
    this.highWaterMark = highWaterMark;
    this.lowWaterMark = Math.floor(highWaterMark / 4);
    this.queue = leftovers.get(ws) ?? [];
    leftovers.delete(ws);
    if (ws.readyState === ReadyState.CLOSED) {
      // Nothing more will arrive, and how it ended was reported before: what was kept, then the end.
      this.closed = true;
      return;
    }
    iterating.add(ws);
    this.attached = true;
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
    ws.on('error', this.onError);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WebSocketMessage, undefined>> {
    if (this.waiter !== null) {
      return Promise.reject(new Error('next() was called again before the previous call\'s promise settled'));
    }
    if (this.queue.length > 0) {
      const value = this.queue.shift()!;
      if (this.pausedByUs && this.queue.length <= this.lowWaterMark) this.resumeReading();
      return Promise.resolve({ done: false, value });
    }
    if (this.finished) return Promise.resolve(DONE);
    if (this.closed) return this.end();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Leave the iteration (what `break`, `return` and a throw in the loop's body call): the socket stays
   * open and reads again if the iterator had paused it; the messages received and not yet yielded are
   * kept for the socket's next iterator.
   */
  return(): Promise<IteratorResult<WebSocketMessage, undefined>> {
    if (!this.finished) {
      this.finished = true;
      this.detach();
      if (this.queue.length > 0) leftovers.set(this.ws, this.queue);
      this.queue = [];
      if (this.pausedByUs) this.resumeReading();
    }
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve(DONE);
    return Promise.resolve(DONE);
  }

  private received(data: RawData, isBinary: boolean): void {
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter.resolve({ done: false, value: { data, isBinary } });
      return;
    }
    if (this.queue.push({ data, isBinary }) >= this.highWaterMark && !this.pausedByUs && !this.ws.isPaused) {
      this.pausedByUs = true;
      this.ws.pause();
    }
  }

  private socketClosed(code: number, reason: Buffer): void {
    this.detach();
    this.closed = true;
    this.pausedByUs = false;
    if (this.lastError !== undefined || !(code === 1000 || code === 1001 || code === 1005)) {
      this.failure = new ConnectionClosedError(code, reason.toString(), this.lastError);
    }
    const waiter = this.waiter;
    if (waiter === null) return;
    this.waiter = null;
    this.end().then(waiter.resolve, waiter.reject);
  }

  /** The queue is empty and the socket closed: the end, or the abnormal close (once). */
  private end(): Promise<IteratorResult<WebSocketMessage, undefined>> {
    this.finished = true;
    const failure = this.failure;
    if (failure === null) return Promise.resolve(DONE);
    this.failure = null;
    return Promise.reject(failure);
  }

  private resumeReading(): void {
    this.pausedByUs = false;
    this.ws.resume();
  }

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    iterating.delete(this.ws);
    this.ws.off('message', this.onMessage);
    this.ws.off('close', this.onClose);
    this.ws.off('error', this.onError);
  }
}
