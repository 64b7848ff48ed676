// Types of client/pubsub-client.mjs (rfc6455/pubsub-client).
export declare const PROTOCOL: 'rfc6455.pubsub.v1';

export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface MessageMeta {
  topic: string;
  /** The message's offset in the topic's history (null: the topic keeps none). */
  offset: number | null;
  epoch: string | null;
  /** True for a message the server replayed from history after a resume. */
  replayed: boolean;
}

export interface Position {
  offset: number;
  epoch: string;
}

export interface PubSubClientOptions {
  /** The WebSocket class (default: globalThis.WebSocket; in Node pass rfc6455's). */
  WebSocket?: unknown;
  minDelay?: number;
  maxDelay?: number;
  maxQueue?: number;
  pingInterval?: number;
}

export type MessageHandler = (data: string | Uint8Array, meta: MessageMeta) => void;

export declare class PubSubClient {
  constructor(urls: string | URL | Array<string | URL>, options?: PubSubClientOptions);
  readonly state: State;
  readonly url: string;
  on(event: 'state', listener: (state: State) => void): this;
  on(event: 'open', listener: (url: string) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  on(event: 'message', listener: MessageHandler): this;
  on(event: 'subscribed', listener: (info: { topic: string; offset: number | null; epoch: string | null }) => void): this;
  on(event: 'recovered', listener: (info: { topic: string; replayed: number }) => void): this;
  on(event: 'gap', listener: (info: { topic: string; reason: 'not-recovered' | 'skipped' | 'new-epoch'; from?: number; to?: number }) => void): this;
  on(event: 'error', listener: (error: Error & { code?: string; topic?: string }) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
  subscribe(topic: string, onMessage?: MessageHandler): () => void;
  unsubscribe(topic: string): boolean;
  position(topic: string): Position | null;
  publish(topic: string, data: string | ArrayBuffer | ArrayBufferView): boolean;
  close(): void;
}
