// The client's opt-in `reconnect` option: when a connection is lost (or an attempt fails), decide
// whether to come back, wait (backoff.ts), open a new connection to the first URL, and meanwhile keep
// the application's sends in a bounded queue that the next 'open' flushes in order. The WebSocket
// (websocket.ts) calls in at its few turning points; this module knows only the hooks it is given.
import { PreparedMessage } from '../pubsub/prepared-message.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

/** What shouldReconnect is told besides the close code and reason. */
export interface ReconnectContext {
  /** Attempts made since the last 'open' (0: an open connection was lost). */
  attempt: number;
  /** The HTTP status of a refused handshake (101 for a 101 that failed the checks); undefined otherwise. */
  status?: number;
  /** Why the attempt failed (handshake errors: `ws`'s messages); undefined for a closed connection. */
  error?: Error;
  /** The built-in decision (see README "Reconnecting client"): return it to keep the default. */
  defaultDecision: boolean;
}

/** `reconnect: true` or these options (each has the default given). */
export interface ReconnectOptions {
  /** Base delay (ms) before the first attempt after a loss. Default 1000. */
  initialDelay?: number;
  /** Longest delay (ms) between attempts. Default 5000. */
  maxDelay?: number;
  /** Growth of the base delay from one attempt to the next (>= 1). Default 2. */
  factor?: number;
  /** Randomization, 0..1: each delay is drawn in base × [1 − jitter, 1 + jitter], capped at maxDelay. Default 0.5. */
  jitter?: number;
  /** Attempts after a loss before giving up ('reconnectFailed', then 'close'). Default Infinity. */
  maxAttempts?: number;
  /** Sends kept while the socket is not open; 0 queues none (send() throws while CONNECTING, as in `ws`). Default 1000. */
  maxQueuedMessages?: number;
  /** Bytes of those sends (strings counted as UTF-8). Default 1048576 (1 MiB). */
  maxQueuedBytes?: number;
  /**
   * Decides, for each loss not asked for by the application, whether to try again (true) or end with
   * 'close' (false); its answer replaces the built-in one (`context.defaultDecision`). A throw ends
   * reconnection and is reported through 'error'. maxAttempts applies either way.
   */
  shouldReconnect?: (code: number, reason: string, context: ReconnectContext) => boolean;
}

/** The 'reconnecting' event: the socket waits `delay` ms, then makes attempt number `attempt`. */
export interface ReconnectingInfo {
  /** The number of the attempt about to be made (1 for the first retry). */
  attempt: number;
  /** Milliseconds until that attempt. */
  delay: number;
  /** The lost connection's close code (1006 when none was received, and for a failed attempt). */
  code: number;
  /** The close reason ('' when none). */
  reason: string;
  /** The HTTP status that failed the last handshake, if one did. */
  status?: number;
  /** The error that ended the last connection or attempt, if any. */
  error?: Error;
}

/** The 'reconnect' event: attempt number `attempt` opened (after its 'open'). */
export interface ReconnectInfo {
  /** The attempt that succeeded (1 for the first retry). */
  attempt: number;
}

/** The 'reconnectFailed' event: maxAttempts attempts failed; 'close' follows. */
export interface ReconnectFailedInfo {
  /** The attempts made. */
  attempts: number;
  /** The last close code (1006 when no close frame was received). */
  code: number;
  /** The last close reason. */
  reason: string;
  /** The HTTP status that failed the last handshake, if one did. */
  status?: number;
  /** The last error, if any. */
  error?: Error;
  /** Queued sends that were never sent (their callbacks get an error). */
  unsent: number;
}

interface ReconnectSettings extends BackoffPolicy {
  maxAttempts: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  shouldReconnect: ReconnectOptions['shouldReconnect'];
}

/** Checks the option (TypeError/RangeError before any I/O); null when reconnection is off. */
export function reconnectSettings(option: boolean | ReconnectOptions | undefined): ReconnectSettings | null {
  if (option === undefined || option === false) return null;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new TypeError('The "reconnect" option must be a boolean or an object');
  }
  const given: ReconnectOptions = option === true ? {} : option;
  const settings: ReconnectSettings = {
    initialDelay: number(given.initialDelay, 'initialDelay', 1000, 0, false),
    maxDelay: number(given.maxDelay, 'maxDelay', 5000, 0, false),
    factor: number(given.factor, 'factor', 2, 1, false),
    jitter: number(given.jitter, 'jitter', 0.5, 0, false),
    maxAttempts: number(given.maxAttempts, 'maxAttempts', Infinity, 0, true),
    maxQueuedMessages: number(given.maxQueuedMessages, 'maxQueuedMessages', 1000, 0, true),
    maxQueuedBytes: number(given.maxQueuedBytes, 'maxQueuedBytes', 1048576, 0, true),
    shouldReconnect: given.shouldReconnect,
  };
  if (settings.jitter > 1) throw new RangeError('reconnect.jitter must be between 0 and 1');
  if (settings.shouldReconnect !== undefined && typeof settings.shouldReconnect !== 'function') {
    throw new TypeError('reconnect.shouldReconnect must be a function');
  }
  return settings;
}

function number(value: unknown, name: string, fallback: number, min: number, count: boolean): number {
  if (value === undefined) return fallback;
  const valid =
    typeof value === 'number' && value >= min && (count ? Number.isInteger(value) || value === Infinity : Number.isFinite(value));
  if (!valid) throw new RangeError(`reconnect.${name} must be ${count ? 'an integer or Infinity' : 'a finite number'}, at least ${min}`);
  return value;
}

/** RFC 6455 §7.4.1 and the IANA registry: the codes a peer sends when coming back later may work. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  1001, // going away (server shutdown or restart)
  1011, // unexpected condition on the server
  1012, // service restart
  1013, // try again later
  1014, // bad gateway
]);

/**
 * The built-in decision. A refused handshake: retry on 5xx, 408 and 429 only (another 4xx, a 3xx not
 * followed, or a 101 that fails the checks would be answered the same way again). A connection lost
 * without a close frame (1006: network error, timeout, server gone) is retried; a close frame is the
 * peer's decision, retried only for the codes above.
 */
export function defaultDecision(code: number, status: number | undefined): boolean {
  if (status !== undefined) return status >= 500 || status === 408 || status === 429;
  return code === 1006 || TRANSIENT_CODES.has(code);
}

/** What the reconnector needs from its socket. */
export interface ReconnectHooks {
  emit(event: string, info: unknown): void;
  /** Start a new opening handshake to the first URL (its failure comes back through lost()). */
  connect(): void;
  /** Waiting for the next attempt begins: the socket shows CONNECTING. */
  waiting(): void;
  /** Sends one flushed message as send() would (the socket is OPEN, or closing again). */
  send(data: unknown, options: unknown, cb: QueuedCallback | undefined): void;
  /** Reports an error through 'error'. */
  error(error: Error): void;
}

type QueuedCallback = (error?: Error | null) => void;

interface QueuedMessage {
  data: unknown;
  options: unknown;
  cb: QueuedCallback | undefined;
  bytes: number;
}

/** Thrown by send() when the queue is full: starts as `ws`'s error for a send while CONNECTING. */
export class ReconnectQueueFullError extends Error {
  readonly code = 'ERR_RECONNECT_QUEUE_FULL';
}

/** The reconnection state of one client WebSocket. */
export class Reconnector {
  /** Attempts made since the last 'open'. */
  private attempts = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private queue: QueuedMessage[] = [];
  /** Bytes of the queued sends (part of bufferedAmount). */
  queuedBytes = 0;

  constructor(
    private readonly settings: ReconnectSettings,
    private readonly hooks: ReconnectHooks,
    private readonly random: () => number = Math.random,
  ) {}

  /** A send while CONNECTING: queued (a copy of its bytes), or ReconnectQueueFullError. */
  enqueue(data: unknown, options: unknown, cb: QueuedCallback | undefined): void {
    const [kept, bytes] = keptCopy(data);
    const { maxQueuedMessages, maxQueuedBytes } = this.settings;
    if (this.queue.length >= maxQueuedMessages || this.queuedBytes + bytes > maxQueuedBytes) {
      throw new ReconnectQueueFullError(
        `WebSocket is not open: readyState 0 (CONNECTING), and the reconnect queue is full (${this.queue.length} messages, ` +
          `${this.queuedBytes} bytes; maxQueuedMessages ${maxQueuedMessages}, maxQueuedBytes ${maxQueuedBytes})`,
      );
    }
    this.queue.push({ data: kept, options, cb, bytes });
    this.queuedBytes += bytes;
  }

  /**
   * A connection closed, or an attempt failed, without the application asking: true when another
   * attempt is scheduled (the socket stays CONNECTING, 'reconnecting' was emitted), false when the
   * socket ends as without the option ('reconnectFailed' first when maxAttempts ran out).
   */
  lost(code: number, reason: string, error: Error | undefined, status: number | undefined): boolean {
    if (this.stopped) return false;
    const fallback = defaultDecision(code, status);
    let retry = fallback;
    const decide = this.settings.shouldReconnect;
    if (decide !== undefined) {
      try {
        retry = decide(code, reason, { attempt: this.attempts, status, error, defaultDecision: fallback }) === true;
      } catch (thrown) {
        this.end();
        this.hooks.error(thrown instanceof Error ? thrown : new Error(`shouldReconnect threw ${String(thrown)}`));
        return false;
      }
    }
    if (retry && this.attempts >= this.settings.maxAttempts) {
      const unsent = this.queue.length;
      this.end();
      this.hooks.emit('reconnectFailed', { attempts: this.attempts, code, reason, status, error, unsent } satisfies ReconnectFailedInfo);
      return false;
    }
    if (!retry) {
      this.end();
      return false;
    }
    const attempt = ++this.attempts;
    const delay = backoffDelay(this.settings, attempt, this.random());
    this.hooks.waiting();
    this.timer = setTimeout(this.attempt, delay);
    this.hooks.emit('reconnecting', { attempt, delay, code, reason, status, error } satisfies ReconnectingInfo);
    return true;
  }

  private readonly attempt = (): void => {
    this.timer = null;
    this.hooks.connect();
  };

  /** A connection opened ('open' was emitted): flush the queue in order, then 'reconnect'. */
  opened(): void {
    const attempt = this.attempts;
    this.attempts = 0;
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const message of queue) {
      try {
        this.hooks.send(message.data, message.options, message.cb);
      } catch (error) {
        // (A fragment that cannot follow what the new connection sent, for instance.)
        if (message.cb !== undefined) process.nextTick(message.cb, error);
        else this.hooks.error(error as Error);
      }
    }
    if (attempt > 0) this.hooks.emit('reconnect', { attempt } satisfies ReconnectInfo);
  }

  /** The application closed or terminated the socket: no more attempts. True when it was waiting for one. */
  stop(): boolean {
    const waiting = this.timer !== null;
    this.end();
    return waiting;
  }

  private end(): void {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    const error = new Error('WebSocket is closed: the message queued while reconnecting was not sent');
    for (const message of queue) if (message.cb !== undefined) process.nextTick(message.cb, error);
  }
}

/**
 * What a queued send keeps, and its size: strings, Blobs and prepared messages as they are (they do
 * not change), other bytes copied (the caller may reuse its buffer once send() returns).
 */
function keptCopy(data: unknown): [unknown, number] {
  if (typeof data === 'string') return [data, Buffer.byteLength(data)];
  if (typeof data === 'number') {
    const text = String(data);
    return [text, text.length];
  }
  if (data === undefined || data === null || data === false) return [data, 0];
  if (data instanceof PreparedMessage) return [data, data.data.length];
  if (typeof Blob !== 'undefined' && data instanceof Blob) return [data, data.size];
  let copy: Buffer;
  if (ArrayBuffer.isView(data)) copy = Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  else if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) copy = Buffer.from(new Uint8Array(data));
  else copy = Buffer.from(data as string); // arrays of bytes, valueOf/toPrimitive objects (else TypeError, as send())
  return [copy, copy.length];
}
