// The messages a ClusterBroker (in a worker) and the ClusterRelay (in the primary) exchange over the
// cluster IPC channel. The channel must use `serialization: 'advanced'` (runWorkers sets it): envelopes
// then cross as binary Buffers, never as JSON arrays of numbers or base64.
//
// worker -> primary
//   hello                    a broker started: send me the topics other workers want
//   interest                 topics this worker's subscriber count went 0 -> 1 / 1 -> 0 for, in order
//   publish                  a local publish, as an envelope, for the workers interested in the topic
//   leave                    the worker's server closed: drop all its interest
// primary -> worker
//   carry                    topics some other worker now wants / no other worker wants any more
//   deliver                  an envelope published by another worker on a topic this worker wants

export const TAG = 'rfc6455:pubsub';

export type WorkerMessage =
  | { tag: typeof TAG; type: 'hello' }
  | { tag: typeof TAG; type: 'interest'; subscribed: readonly string[]; unsubscribed: readonly string[] }
  | { tag: typeof TAG; type: 'publish'; topic: string; envelope: Buffer }
  | { tag: typeof TAG; type: 'leave' };

export type PrimaryMessage =
  | { tag: typeof TAG; type: 'carry'; added: readonly string[]; removed: readonly string[] }
  | { tag: typeof TAG; type: 'deliver'; envelope: Buffer };

/** Whether an IPC message is one of ours (the application may use the same channel for its own). */
export function isPubSubMessage(message: unknown): message is { tag: typeof TAG; type: string } {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === TAG;
}
