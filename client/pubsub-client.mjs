// rfc6455/pubsub-client: the client of the rfc6455.pubsub.v1 subprotocol (docs/pubsub-protocol.md).
// One dependency-free ES module for browsers (the native WebSocket) and Node (pass rfc6455's
// WebSocket class, or Node 22's global one). It reconnects by itself (exponential backoff with
// jitter, through a list of server URLs in turn), queues publishes while disconnected (bounded),
// subscribes again after a reconnection from the last position it saw on each topic, drops any
// message it already had, and tells the application whether the missed messages were recovered.

export const PROTOCOL = 'rfc6455.pubsub.v1';
const LF = 10;

/** @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} State */

export class PubSubClient {
  /**
   * @param {string | string[]} urls one server URL, or several tried in turn after a disconnection
   * @param {object} [options]
   * @param {Function} [options.WebSocket] the WebSocket class (default: globalThis.WebSocket)
   * @param {number} [options.minDelay] first reconnection delay, ms (default 250)
   * @param {number} [options.maxDelay] longest reconnection delay, ms (default 10000)
   * @param {number} [options.maxQueue] publishes kept while disconnected (default 1000)
   * @param {number} [options.pingInterval] ms between pings; no answer within it closes and reconnects (default 30000, 0 = none)
   */
  constructor(urls, options = {}) {
    const list = Array.isArray(urls) ? [...urls] : [urls];
    if (list.length === 0 || list.some((url) => typeof url !== 'string' && !(url instanceof URL))) {
      throw new TypeError('PubSubClient needs a server URL or a non-empty array of them');
    }
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof Socket !== 'function') throw new TypeError('No WebSocket class: pass { WebSocket } (in Node: the one of rfc6455)');
    this.urls = list.map(String);
    this.WebSocket = Socket;
    this.minDelay = positive(options.minDelay ?? 250, 'minDelay');
    this.maxDelay = Math.max(this.minDelay, positive(options.maxDelay ?? 10_000, 'maxDelay'));
    this.maxQueue = positive(options.maxQueue ?? 1000, 'maxQueue');
    this.pingInterval = positive(options.pingInterval ?? 30_000, 'pingInterval', 0);
    /** @type {State} */
    this.state = 'connecting';
    /** The URL of the current (or last) connection. */
    this.url = this.urls[0];
    this.listeners = new Map();
    /** topic -> { handlers: Set, offset: number | null, epoch: string | null } */
    this.topics = new Map();
    this.queue = [];
    this.socket = null;
    this.index = 0;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.awaitingPong = false;
    this.connect();
  }

  /** Listen to 'state' (state), 'open' (url), 'close' (code, reason), 'message' (data, meta), 'recovered' ({ topic, replayed }), 'gap' ({ topic, reason }), 'error' (error). */
  on(event, listener) {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off(event, listener) {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  /**
   * Subscribe to `topic`; `onMessage(data, meta)` gets each message once: data is a string (text) or a
   * Uint8Array (binary); meta is { topic, offset, epoch, replayed }. Returns a function that removes this handler.
   */
  subscribe(topic, onMessage) {
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('A topic is a non-empty string');
    let entry = this.topics.get(topic);
    if (entry === undefined) {
      entry = { handlers: new Set(), offset: null, epoch: null };
      this.topics.set(topic, entry);
      if (this.state === 'open') this.sendSubscribe(topic, entry);
    }
    if (typeof onMessage === 'function') entry.handlers.add(onMessage);
    return () => {
      entry.handlers.delete(onMessage);
      if (entry.handlers.size === 0 && this.topics.get(topic) === entry) this.unsubscribe(topic);
    };
  }

  /** Leave `topic` (all its handlers). */
  unsubscribe(topic) {
    if (!this.topics.delete(topic)) return false;
    if (this.state === 'open') this.sendRaw(JSON.stringify({ type: 'unsubscribe', topic }));
    return true;
  }

  /** The last { offset, epoch } seen on `topic`, or null. */
  position(topic) {
    const entry = this.topics.get(topic);
    return entry === undefined || entry.epoch === null ? null : { offset: entry.offset, epoch: entry.epoch };
  }

  /**
   * Publish `data` (a string, or bytes: ArrayBuffer / Uint8Array) to `topic`. Sent at once when
   * connected, else queued; returns false when the queue is full (the publish is dropped).
   */
  publish(topic, data) {
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('A topic is a non-empty string');
    if (this.state === 'closed') throw new Error('publish(): the client is closed');
    let frame;
    if (typeof data === 'string') frame = JSON.stringify({ type: 'publish', topic, data });
    else {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes === null) throw new TypeError('publish(): data is a string, an ArrayBuffer or a Uint8Array');
      const header = new TextEncoder().encode(JSON.stringify({ type: 'publish', topic }));
      frame = new Uint8Array(header.length + 1 + bytes.length);
      frame.set(header, 0);
      frame[header.length] = LF;
      frame.set(bytes, header.length + 1);
    }
    if (this.state === 'open') return this.sendRaw(frame), true;
    if (this.queue.length >= this.maxQueue) return false;
    this.queue.push(frame);
    return true;
  }

  /** Stop for good: the connection closes, no reconnection. */
  close() {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    this.queue.length = 0;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      detach(socket);
      try {
        socket.close(1000);
      } catch {
        // already closing
      }
      this.emit('close', 1000, '');
    }
  }

  // ---- internals ----

  emit(event, ...args) {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        // An application listener that throws must not break the client: reported, asynchronously.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  connect() {
    this.timer = null;
    this.url = this.urls[this.index % this.urls.length];
    let socket;
    try {
      socket = new this.WebSocket(this.url, PROTOCOL);
    } catch (error) {
      this.emit('error', error);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      if (socket.protocol !== PROTOCOL) {
        this.emit('error', new Error(`${this.url} does not speak ${PROTOCOL}`));
        socket.close(1002);
        return;
      }
      this.attempt = 0;
      this.setState('open');
      this.emit('open', this.url);
      for (const [topic, entry] of this.topics) this.sendSubscribe(topic, entry);
      const queued = this.queue.splice(0);
      for (const frame of queued) this.sendRaw(frame);
      this.startPing();
    };
    socket.onmessage = (event) => this.received(event.data);
    // A failed connection (refused, or a server that does not select the subprotocol): reported, then retried.
    socket.onerror = () => this.emit('error', new Error(`the connection to ${socket.url ?? this.url} failed`));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      detach(socket);
      this.clearTimers();
      this.emit('close', event.code, event.reason);
      // The next attempt goes to the next URL.
      this.index++;
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.state === 'closed') return;
    this.setState('reconnecting');
    const ceiling = Math.min(this.maxDelay, this.minDelay * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // Equal jitter: half the delay fixed, half random, so that clients dropped together spread out.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  clearTimers() {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.pinger !== null) clearInterval(this.pinger);
    this.timer = null;
    this.pinger = null;
    this.awaitingPong = false;
  }

  startPing() {
    if (this.pingInterval === 0) return;
    this.pinger = setInterval(() => {
      if (this.awaitingPong) {
        // No answer for a whole interval: the connection is dead, whatever the socket says.
        this.socket?.close(4000, 'no pong');
        return;
      }
      this.awaitingPong = true;
      this.sendRaw(JSON.stringify({ type: 'ping' }));
    }, this.pingInterval);
  }

  sendRaw(frame) {
    this.socket?.send(frame);
  }

  sendSubscribe(topic, entry) {
    const message = { type: 'subscribe', topic };
    if (entry.epoch !== null) message.since = { offset: entry.offset, epoch: entry.epoch };
    entry.resuming = entry.epoch !== null;
    this.sendRaw(JSON.stringify(message));
  }

  received(raw) {
    let message;
    let payload = null;
    try {
      if (typeof raw === 'string') message = JSON.parse(raw);
      else {
        const bytes = new Uint8Array(raw);
        const end = bytes.indexOf(LF);
        message = JSON.parse(new TextDecoder().decode(bytes.subarray(0, end)));
        payload = bytes.slice(end + 1);
      }
    } catch {
      this.emit('error', new Error('a malformed message from the server'));
      return;
    }
    switch (message?.type) {
      case 'message':
        return this.deliver(message, payload ?? message.data);
      case 'subscribed':
        return this.subscribed(message);
      case 'pong':
        this.awaitingPong = false;
        return;
      case 'error':
        if (message.code === 'forbidden' && message.action === 'subscribe') this.topics.delete(message.topic);
        this.emit('error', Object.assign(new Error(message.message ?? message.code), { code: message.code, topic: message.topic, action: message.action, id: message.id }));
        return;
      default:
        this.emit(message?.type === 'published' || message?.type === 'unsubscribed' ? message.type : 'unknown', message);
    }
  }

  deliver(message, data) {
    const entry = this.topics.get(message.topic);
    if (entry === undefined) return;
    const { offset, epoch } = message;
    if (typeof offset === 'number' && typeof epoch === 'string') {
      if (epoch === entry.epoch) {
        // Seen already (a replay and a live message can overlap across a reconnection): dropped.
        if (offset <= entry.offset) return;
        if (offset > entry.offset + 1 && !entry.resuming) this.emit('gap', { topic: message.topic, reason: 'skipped', from: entry.offset + 1, to: offset - 1 });
      } else if (entry.epoch !== null && !entry.resuming) {
        // The history was lost (expired, or Redis restarted without persistence): a new count.
        this.emit('gap', { topic: message.topic, reason: 'new-epoch' });
      }
      entry.offset = offset;
      entry.epoch = epoch;
    }
    const meta = { topic: message.topic, offset: offset ?? null, epoch: epoch ?? null, replayed: message.replayed === true };
    for (const handler of [...entry.handlers]) {
      try {
        handler(data, meta);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
    this.emit('message', data, meta);
  }

  subscribed(message) {
    const entry = this.topics.get(message.topic);
    if (entry === undefined) return;
    entry.resuming = false;
    const { offset, epoch } = message;
    if (typeof offset === 'number' && typeof epoch === 'string') {
      if (epoch !== entry.epoch) {
        entry.epoch = epoch;
        entry.offset = offset;
      } else if (offset > entry.offset) entry.offset = offset;
    } else if (message.recovered === false) {
      // The topic has no history any more: the old position means nothing now.
      entry.epoch = null;
      entry.offset = null;
    }
    if (message.recovered === true) this.emit('recovered', { topic: message.topic, replayed: message.replayed ?? 0 });
    else if (message.recovered === false) this.emit('gap', { topic: message.topic, reason: 'not-recovered' });
    this.emit('subscribed', { topic: message.topic, offset: entry.offset, epoch: entry.epoch });
  }
}

function detach(socket) {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => undefined;
}

function positive(value, name, min = 1) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new TypeError(`The "${name}" option must be a number >= ${min}`);
  return value;
}
