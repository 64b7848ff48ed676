// The messages a ClusterBroker (in a worker) and the ClusterRelay (in the primary) exchange over the
// cluster IPC channel. The channel must use `serialization: 'advanced'` (runWorkers sets it): envelopes
// then cross as binary Buffers, never as JSON arrays of numbers or base64.
//
// worker -> primary: a batch of these, in order (what one worker says within a tick travels as one
// IPC message: each message costs a serialization and a write, the batch amortizes them)
//   hello                    a broker started: send me the topics other workers want
//   interest                 topics this worker's subscriber count went 0 -> 1 / 1 -> 0 for, in order
//   publish                  a local publish, as an envelope, for the workers interested in the topic
//   leave                    the worker's server closed: drop all its interest
// primary -> worker
//   carry                    topics some other worker now wants / no other worker wants any more
//   deliver                  envelopes published by other workers on topics this worker wants, in order

export const TAG = 'rfc6455:pubsub';

export type WorkerMessage =
  | { type: 'hello' }
  | { type: 'interest'; subscribed: readonly string[]; unsubscribed: readonly string[] }
  | { type: 'publish'; topic: string; envelope: Buffer }
  | { type: 'leave' };

export interface WorkerBatch {
  tag: typeof TAG;
  type: 'batch';
  messages: WorkerMessage[];
}

export type PrimaryMessage =
  | { tag: typeof TAG; type: 'carry'; added: readonly string[]; removed: readonly string[] }
  | { tag: typeof TAG; type: 'deliver'; envelopes: Buffer[] };

/** Whether an IPC message is one of ours (the application may use the same channel for its own). */
export function isPubSubMessage(message: unknown): message is { tag: typeof TAG; type: string } {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === TAG;
}
