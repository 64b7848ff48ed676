// servePubSub(wss, options): the server side of rfc6455.pubsub.v1. Sockets whose client offered the
// subprotocol (and got it) are served by it: subscribe (with resume), unsubscribe, publish, ping.
// Other sockets of the server are left alone: apps that use raw messages keep working unchanged.
import type { IncomingMessage } from 'node:http';
import type { WebSocketServer } from '../api/server.js';
import type { WebSocket } from '../api/websocket.js';
import type { RecoveryResult, StreamPosition } from '../pubsub/recovery.js';
import { encodeControl, MalformedMessage, parseClientMessage, PROTOCOL, type ClientMessage, type MessageId } from './frames.js';
import { CONNECT_TOPIC, PubSubBroker } from './pubsub-broker.js';

/** The servers served already: a second servePubSub would answer every message twice. */
const served = new WeakSet<WebSocketServer>();

/** What a client asks to do on a topic, as `authorize` is told. */
export type PubSubAction = 'subscribe' | 'publish';

/** The options of {@link servePubSub}. */
export interface PubSubOptions {
  /**
   * May `ws` (opened by `request`) subscribe or publish to `topic`? true allows; false (or a promise
   * of false) answers the client with an 'error' of code 'forbidden'. A throw (or a rejection) closes
   * that connection with 1011. Default: everything is allowed.
   */
  authorize?(ws: WebSocket, topic: string, action: PubSubAction, request: IncomingMessage): boolean | Promise<boolean>;
  /** Topics one connection may hold at once. Default 100. */
  maxTopics?: number;
}

/** What {@link servePubSub} returns: the server side of the protocol. */
export interface PubSubServer {
  /** Publish `data` to `topic` for the protocol's clients on every node. Resolves with its position (null: no history). */
  publish(topic: string, data: string | Buffer | Uint8Array, options?: { binary?: boolean; compress?: boolean }): Promise<StreamPosition | null>;
  /** The connections served by the protocol. */
  readonly clients: ReadonlySet<WebSocket>;
}

/**
 * Serve rfc6455.pubsub.v1 on `wss`, whose `broker` option must be a PubSubBroker (it puts positions in
 * the frames). Throws a TypeError otherwise.
 */
export function servePubSub(wss: WebSocketServer, options: PubSubOptions = {}): PubSubServer {
  const broker = (wss.options as { broker?: unknown }).broker;
  if (!(broker instanceof PubSubBroker)) {
    throw new TypeError('servePubSub(wss): create the server with { broker: new PubSubBroker(innerBroker) }');
  }
  if (served.has(wss)) throw new Error('servePubSub(wss): this server is served already');
  const authorize = options.authorize ?? (() => true);
  if (typeof authorize !== 'function') throw new TypeError('The "authorize" option must be a function');
  const maxTopics = options.maxTopics ?? 100;
  if (!Number.isSafeInteger(maxTopics) || maxTopics < 1) throw new TypeError('The "maxTopics" option must be a positive integer');
  // Publishing nowhere makes the server connect its broker, so that protocol publishes can leave.
  if (!broker.connected) wss.publish(CONNECT_TOPIC, '');
  served.add(wss);
  const clients = new Set<WebSocket>();

  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    if (ws.protocol !== PROTOCOL) return;
    clients.add(ws);
    const resuming = new Map<string, boolean>();
    /** Messages are handled one after another, in arrival order, though authorize() may be async. */
    let queue: Promise<void> = Promise.resolve();
    const send = (message: Record<string, unknown>): void => {
      if (ws.readyState === 1) ws.send(encodeControl(message));
    };
    const fail = (code: number, reason: string): void => {
      if (ws.readyState === 1) ws.close(code, reason.slice(0, 120));
    };
    const allowed = async (topic: string, action: PubSubAction): Promise<boolean | null> => {
      try {
        return (await authorize(ws, topic, action, request)) === true;
      } catch {
        fail(1011, 'authorize failed');
        return null;
      }
    };

    const handle = async (message: ClientMessage): Promise<void> => {
      switch (message.type) {
        case 'ping':
          send(message.id === null ? { type: 'pong' } : { type: 'pong', id: message.id });
          return;
        case 'unsubscribe':
          resuming.delete(message.topic);
          if (ws.unsubscribe(message.topic)) send({ type: 'unsubscribed', topic: message.topic });
          else send({ type: 'error', code: 'not-subscribed', topic: message.topic, message: 'not subscribed to this topic' });
          return;
        case 'subscribe': {
          const { topic, since } = message;
          if (ws.isSubscribed(topic)) return send({ type: 'error', code: 'subscribed', topic, message: 'already subscribed to this topic' });
          if (ws.getTopics().length >= maxTopics) return send({ type: 'error', code: 'too-many-topics', topic, message: `at most ${maxTopics} topics per connection` });
          const ok = await allowed(topic, 'subscribe');
          if (ok === null || ws.readyState !== 1) return;
          if (!ok) return send({ type: 'error', code: 'forbidden', topic, action: 'subscribe', message: 'not allowed' });
          if (ws.isSubscribed(topic)) return;
          resuming.set(topic, since !== null);
          // Always with a position: without one, an epoch no topic has gives the current position and no replay.
          ws.subscribe(topic, { since: since ?? { offset: 0, epoch: '' } });
          return;
        }
        case 'publish': {
          const { topic, data, binary, id } = message;
          const ok = await allowed(topic, 'publish');
          if (ok === null || ws.readyState !== 1) return;
          if (!ok) return send({ type: 'error', code: 'forbidden', topic, action: 'publish', ...(id === null ? {} : { id }), message: 'not allowed' });
          const position = await broker.publish(topic, typeof data === 'string' ? Buffer.from(data) : data, binary);
          if (id !== null) acknowledge(id, position);
          return;
        }
      }
    };
    const acknowledge = (id: MessageId, position: StreamPosition | null): void => {
      send({ type: 'published', id, offset: position?.offset ?? null, epoch: position?.epoch ?? null });
    };

    ws.on('recovery', (topic: string, result: RecoveryResult) => {
      const resumed = resuming.get(topic);
      if (resumed === undefined || !ws.isSubscribed(topic)) return;
      resuming.delete(topic);
      send({
        type: 'subscribed',
        topic,
        recovered: resumed ? result.recovered : null,
        offset: result.position?.offset ?? null,
        epoch: result.position?.epoch ?? null,
        replayed: result.replayed,
      });
    });
    ws.on('message', (data: unknown, isBinary: boolean) => {
      let message: ClientMessage;
      try {
        message = parseClientMessage(bytesOf(data), isBinary);
      } catch (error) {
        if (error instanceof MalformedMessage) fail(error.code, error.message);
        else fail(1011, 'unexpected error');
        return;
      }
      queue = queue.then(() => handle(message)).catch(() => fail(1011, 'unexpected error'));
    });
    ws.on('close', () => clients.delete(ws));
  });

  return {
    clients,
    publish(topic, data, publishOptions = {}) {
      if (typeof topic !== 'string') throw new TypeError(`A topic must be a string, not ${typeof topic}`);
      const binary = publishOptions.binary ?? typeof data !== 'string';
      const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      return broker.publish(topic, bytes, binary, publishOptions.compress ?? true);
    },
  };
}

/** The bytes of a received message, whatever the socket's binaryType. */
function bytesOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(String(data));
}
