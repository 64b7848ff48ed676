// The worker side of multi-core pub/sub: a Broker that carries a worker's publishes to the primary's
// ClusterRelay over the cluster IPC channel, and hands the envelopes the relay forwards to its server.
import type { Broker, BrokerLink, BrokerNode } from './broker.js';
import { isPubSubMessage, TAG, type PrimaryMessage, type WorkerBatch, type WorkerMessage } from './cluster-messages.js';

/**
 * One per worker process, given to that worker's WebSocketServer as its `broker`. The primary runs a
 * ClusterRelay (runWorkers does both). The relay forwards a publish only to the workers that have
 * subscribers on its topic, and a worker sends a publish to the relay only when some other worker has.
 *
 * Guarantees (those of the Broker interface): at most once; the publishes of one worker on one topic
 * reach every other worker in the order they were made; a subscription takes effect in the other
 * workers once its interest has crossed to the primary and back (a publish made meanwhile may miss it);
 * a worker that dies loses its subscribers and what was in flight to it.
 *
 * Throws a TypeError when the process has no IPC channel (it is not a cluster worker or forked child).
 */
export class ClusterBroker implements Broker {
  /** Topics some other worker has subscribers on (the relay keeps this up to date). */
  private readonly carried = new Set<string>();
  private node: BrokerNode | null = null;
  private readonly onMessage = (message: unknown): void => this.received(message);
  /** What this tick has to say to the relay, sent as one IPC message at the end of the tick. */
  private queue: WorkerMessage[] | null = null;
  private readonly flush = (): void => {
    const batch: WorkerBatch = { tag: TAG, type: 'batch', messages: this.queue! };
    this.queue = null;
    // A primary that is gone (the channel closed) has nobody to forward to: publishes stay local.
    if (process.connected) process.send!(batch);
  };

  /** A server connected (the broker serves one, for its lifetime). */
  private used = false;

  constructor() {
    if (typeof process.send !== 'function') {
      throw new TypeError('A ClusterBroker runs in a cluster worker (a process with an IPC channel to its primary)');
    }
    // Listening from now, not from connect(): a server connects on its first subscribe or publish,
    // and must by then know which topics the other workers want.
    process.on('message', this.onMessage);
    this.send({ type: 'hello' });
  }

  /** Throws an Error when a server is or was connected: one server per ClusterBroker, for its lifetime. */
  connect(node: BrokerNode): BrokerLink {
    // (After its server closed, the broker no longer listens to the primary: a second server would be deaf.)
    if (this.used) throw new Error('A ClusterBroker serves one server, once; give each server its own');
    this.used = true;
    this.node = node;
    const carried = this.carried;
    let open = true;
    return {
      interest: (subscribed, unsubscribed) => {
        if (open) this.send({ type: 'interest', subscribed, unsubscribed });
      },
      carries: (topic) => open && carried.has(topic),
      publish: (topic, envelope) => {
        if (open) this.send({ type: 'publish', topic, envelope });
      },
      close: () => {
        if (!open) return;
        open = false;
        this.node = null;
        process.off('message', this.onMessage);
        this.send({ type: 'leave' });
      },
    };
  }

  private send(message: WorkerMessage): void {
    if (this.queue === null) {
      this.queue = [];
      queueMicrotask(this.flush);
    }
    this.queue.push(message);
  }

  private received(message: unknown): void {
    if (!isPubSubMessage(message)) return;
    const incoming = message as PrimaryMessage;
    if (incoming.type === 'deliver') {
      for (const envelope of incoming.envelopes) this.node?.deliver(envelope);
    } else if (incoming.type === 'carry') {
      for (const topic of incoming.added) this.carried.add(topic);
      for (const topic of incoming.removed) this.carried.delete(topic);
    }
  }
}
