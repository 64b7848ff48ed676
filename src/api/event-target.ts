// The WHATWG-style face of a WebSocket (https://websockets.spec.whatwg.org/#the-websocket-interface):
// `addEventListener`/`removeEventListener` and the `on<event>` attributes, translated onto the
// EventEmitter events of the socket, with event objects shaped like the browser's (as `ws` v8 does).
import type { EventEmitter } from 'node:events';
import type { Data } from './types.js';
import type { WebSocket } from './websocket.js';

// The events' state lives under module-private symbols, as in `ws` (not in #private fields, which
// would put `#private` into the declarations and make them unusable for targets below ES2015).
const kType = Symbol('kType');
const kTarget = Symbol('kTarget');
const kData = Symbol('kData');
const kCode = Symbol('kCode');
const kReason = Symbol('kReason');
const kWasClean = Symbol('kWasClean');
const kError = Symbol('kError');
const kMessage = Symbol('kMessage');

/** Sets the target of an event being dispatched (module-internal: the target is read-only outside). */
function setTarget(event: Event, target: EventSocket): void {
  event[kTarget] = target;
}

/** A basic event: `type` and `target` (the socket that dispatched it; null before). */
export class Event {
  /** @internal */
  readonly [kType]: string;
  /** @internal */
  [kTarget]: EventSocket | null = null;

  constructor(type: string) {
    this[kType] = type;
  }

  /** The event's name: 'open', 'message', 'close' or 'error'. */
  get type(): string {
    return this[kType];
  }

  /** The WebSocket that dispatched the event (typed as in `@types/ws`, which has no null). */
  get target(): WebSocket {
    return this[kTarget] as WebSocket;
  }
}

/** The fields are enumerable (`for...in` lists them), as the WHATWG interfaces' attributes are and `ws`'s are. */
function enumerate(prototype: object, names: readonly string[]): void {
  for (const name of names) Object.defineProperty(prototype, name, { enumerable: true });
}
enumerate(Event.prototype, ['type', 'target']);

/** The fields of a new {@link MessageEvent}. */
export interface MessageEventInit {
  /** The message. */
  data?: Data;
}

/** A received message: `data` is a string for text, the `binaryType` form for binary. */
export class MessageEvent extends Event {
  /** @internal */
  readonly [kData]: Data;

  constructor(type: string, init: MessageEventInit = {}) {
    super(type);
    this[kData] = init.data === undefined ? (null as unknown as Data) : init.data;
  }

  /** The message: a string for text, else a Buffer, ArrayBuffer, Buffer[] or Blob by `binaryType`. */
  get data(): Data {
    return this[kData];
  }
}
enumerate(MessageEvent.prototype, ['data']);

/** The fields of a new {@link CloseEvent}. */
export interface CloseEventInit {
  /** The close code. */
  code?: number;
  /** The close reason. */
  reason?: string;
  /** Whether the closing handshake completed. */
  wasClean?: boolean;
}

/** The connection closed: `wasClean` when both close frames were exchanged. */
export class CloseEvent extends Event {
  /** @internal */
  readonly [kCode]: number;
  /** @internal */
  readonly [kReason]: string;
  /** @internal */
  readonly [kWasClean]: boolean;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type);
    this[kCode] = init.code ?? 0;
    this[kReason] = init.reason ?? '';
    this[kWasClean] = init.wasClean ?? false;
  }

  /** The close code (1005 when the close frame had none, 1006 when there was no close frame). */
  get code(): number {
    return this[kCode];
  }

  /** The close reason, decoded as UTF-8 ('' when none). */
  get reason(): string {
    return this[kReason];
  }

  /** Whether the closing handshake completed (close frames both ways) before the socket ended. */
  get wasClean(): boolean {
    return this[kWasClean];
  }
}
enumerate(CloseEvent.prototype, ['code', 'reason', 'wasClean']);

/** The fields of a new {@link ErrorEvent}. */
export interface ErrorEventInit {
  /** The error. */
  error?: unknown;
  /** Its message. */
  message?: string;
}

export class ErrorEvent extends Event {
  /** @internal */
  readonly [kError]: unknown;
  /** @internal */
  readonly [kMessage]: string;

  constructor(type: string, init: ErrorEventInit = {}) {
    super(type);
    this[kError] = init.error === undefined ? null : init.error;
    this[kMessage] = init.message ?? '';
  }

  /** What was thrown or emitted (`any`, as in `@types/ws`: usually an Error). */
  get error(): any {
    return this[kError];
  }

  /** The error's message. */
  get message(): string {
    return this[kMessage];
  }
}
enumerate(ErrorEvent.prototype, ['error', 'message']);

/** A listener is a function or an object with `handleEvent` (WHATWG EventListener). */
/** A listener for `addEventListener`: a function, or an object with a `handleEvent` method. */
export type EventListenerLike<E extends Event = Event> =
  | ((event: E) => void)
  | {
      /** Called with the event. */
      handleEvent(event: E): void;
    };

/** The listener type for each event of the browser-style API. */
export interface WebSocketEventListenerMap {
  /** Listens to 'open'. */
  open: EventListenerLike<Event>;
  /** Listens to 'message'. */
  message: EventListenerLike<MessageEvent>;
  /** Listens to 'close'. */
  close: EventListenerLike<CloseEvent>;
  /** Listens to 'error'. */
  error: EventListenerLike<ErrorEvent>;
}

export type WebSocketEventType = keyof WebSocketEventListenerMap;

/** Options of `addEventListener`. */
export interface AddEventListenerOptions {
  /** Remove the listener after its first call. Default false. */
  once?: boolean;
}

/** What the translation needs from the socket: its emitter and whether the close was clean. */
export interface EventSocket extends EventEmitter {
  /** Both close frames were exchanged (CloseEvent.wasClean). */
  readonly _wasClean: boolean;
}

const kHandler = Symbol('handler');
const kAttribute = Symbol('attribute');

type EmitterListener = (this: EventSocket, ...args: any[]) => void;

/** The EventEmitter listener registered for one WHATWG listener. */
interface Wrapper extends EmitterListener {
  [kHandler]: unknown;
  /** Registered through an `on<event>` attribute rather than addEventListener. */
  [kAttribute]: boolean;
}

function isWrapper(listener: unknown): listener is Wrapper {
  return typeof listener === 'function' && kHandler in listener;
}

function call(handler: EventListenerLike<never>, thisArg: unknown, event: Event): void {
  if (typeof handler === 'function') (handler as (this: unknown, e: Event) => void).call(thisArg, event);
  else (handler as { handleEvent(e: Event): void }).handleEvent(event);
}

function makeWrapper(type: WebSocketEventType, handler: EventListenerLike<never>): Wrapper | null {
  let wrapper: EmitterListener;
  switch (type) {
    case 'message':
      wrapper = function (this: EventSocket, data: unknown, isBinary: boolean): void {
        // Text arrives as a Buffer on the emitter side; the event carries a string.
        const event = new MessageEvent('message', { data: isBinary ? (data as Data) : String(data) });
        setTarget(event, this);
        call(handler, this, event);
      };
      break;
    case 'close':
      wrapper = function (this: EventSocket, code: number, reason: Buffer): void {
        const event = new CloseEvent('close', { code, reason: reason.toString(), wasClean: this._wasClean });
        setTarget(event, this);
        call(handler, this, event);
      };
      break;
    case 'error':
      wrapper = function (this: EventSocket, error: Error): void {
        const event = new ErrorEvent('error', { error, message: error.message });
        setTarget(event, this);
        call(handler, this, event);
      };
      break;
    case 'open':
      wrapper = function (this: EventSocket): void {
        const event = new Event('open');
        setTarget(event, this);
        call(handler, this, event);
      };
      break;
    default:
      return null;
  }
  return Object.assign(wrapper, { [kHandler]: handler, [kAttribute]: false });
}

/**
 * `addEventListener(type, listener, { once })` for 'open', 'message', 'close' and 'error'; other
 * types are ignored, and adding the same listener twice adds it once (both as in `ws`).
 */
export function addEventListener(
  target: EventSocket,
  type: string,
  handler: EventListenerLike<never> | null | undefined,
  options: AddEventListenerOptions = {},
  attribute = false,
): void {
  if (handler === null || handler === undefined) return;
  if (typeof handler !== 'function' && typeof (handler as { handleEvent?: unknown }).handleEvent !== 'function') return;
  if (!attribute) {
    for (const listener of target.listeners(type)) {
      if (isWrapper(listener) && listener[kHandler] === handler && !listener[kAttribute]) return;
    }
  }
  const wrapper = makeWrapper(type as WebSocketEventType, handler);
  if (wrapper === null) return;
  wrapper[kAttribute] = attribute;
  if (options.once === true) target.once(type, wrapper);
  else target.on(type, wrapper);
}

/** Removes a listener added with addEventListener (not one set through an `on<event>` attribute). */
export function removeEventListener(target: EventSocket, type: string, handler: unknown): void {
  for (const listener of target.listeners(type)) {
    if (isWrapper(listener) && listener[kHandler] === handler && !listener[kAttribute]) {
      target.removeListener(type, listener);
      return;
    }
  }
}

/** The current `on<type>` handler, or null. */
export function getEventAttribute(target: EventSocket, type: WebSocketEventType): unknown {
  for (const listener of target.listeners(type)) {
    if (isWrapper(listener) && listener[kAttribute]) return listener[kHandler];
  }
  return null;
}

/** Sets the `on<type>` handler, replacing the previous one; a non-function clears it. */
export function setEventAttribute(target: EventSocket, type: WebSocketEventType, handler: unknown): void {
  for (const listener of target.listeners(type)) {
    if (isWrapper(listener) && listener[kAttribute]) {
      target.removeListener(type, listener);
      break;
    }
  }
  if (typeof handler !== 'function') return;
  addEventListener(target, type, handler as EventListenerLike<never>, {}, true);
}
