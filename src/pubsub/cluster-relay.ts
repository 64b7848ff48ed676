// The primary side of multi-core pub/sub: keeps each worker's interest and forwards a worker's publish
// to the other workers interested in its topic, and to no other (not a broadcast to every worker).
import type { Worker } from 'node:cluster';
import { isPubSubMessage, TAG, type PrimaryMessage, type WorkerBatch, type WorkerMessage } from './cluster-messages.js';

/**
 * Runs in the cluster primary; `attach(worker)` each worker whose server uses a ClusterBroker (runWorkers
 * does it). The workers must be forked with `serialization: 'advanced'` (cluster.setupPrimary), so
 * envelopes cross as binary Buffers.
 */
export class ClusterRelay {
  /** topic -> the workers with subscribers on it. */
  private readonly interested = new Map<string, Set<Worker>>();
  /** worker -> the topics it was told some other worker wants (what its carries() answers true for). */
  private readonly carried = new Map<Worker, Set<string>>();
  private forwardedCount = 0;

  /** Envelopes forwarded to workers so far (one per receiving worker). */
  get forwarded(): number {
    return this.forwardedCount;
  }

  /** The number of workers with subscribers on `topic`. */
  interestIn(topic: string): number {
    return this.interested.get(topic)?.size ?? 0;
  }

  /** Relay `worker`'s pub/sub messages until it exits. */
  attach(worker: Worker): void {
    if (this.carried.has(worker)) return;
    this.carried.set(worker, new Set());
    const onMessage = (message: unknown): void => {
      if (isPubSubMessage(message) && message.type === 'batch') this.received(worker, (message as WorkerBatch).messages);
    };
    worker.on('message', onMessage);
    worker.once('exit', () => {
      worker.off('message', onMessage);
      this.leave(worker);
      this.carried.delete(worker);
    });
  }

  /** One worker's batch: its deliveries leave as one IPC message per receiving worker, in order. */
  private received(worker: Worker, messages: readonly WorkerMessage[]): void {
    const deliveries = new Map<Worker, Buffer[]>();
    for (const message of messages) this.handle(worker, message, deliveries);
    for (const [other, envelopes] of deliveries) {
      if (!other.isConnected()) continue;
      const deliver: PrimaryMessage = { tag: TAG, type: 'deliver', envelopes };
      other.send(deliver);
      this.forwardedCount += envelopes.length;
    }
  }

  private handle(worker: Worker, message: WorkerMessage, deliveries: Map<Worker, Buffer[]>): void {
    switch (message.type) {
      case 'hello':
        // What was sent before its broker listened may be lost: send the whole state again.
        this.carried.get(worker)!.clear();
        this.sendCarries(worker, [...this.interested.keys()]);
        return;
      case 'interest':
        for (const topic of message.subscribed) this.setInterest(worker, topic, true);
        for (const topic of message.unsubscribed) this.setInterest(worker, topic, false);
        return;
      case 'publish': {
        const workers = this.interested.get(message.topic);
        if (workers === undefined) return;
        for (const other of workers) {
          if (other === worker) continue;
          const envelopes = deliveries.get(other);
          if (envelopes === undefined) deliveries.set(other, [message.envelope]);
          else envelopes.push(message.envelope);
        }
        return;
      }
      case 'leave':
        this.leave(worker);
        return;
    }
  }

  private leave(worker: Worker): void {
    for (const [topic, workers] of this.interested) if (workers.has(worker)) this.setInterest(worker, topic, false);
  }

  private setInterest(worker: Worker, topic: string, interested: boolean): void {
    let workers = this.interested.get(topic);
    if (interested) {
      if (workers === undefined) this.interested.set(topic, (workers = new Set()));
      if (workers.has(worker)) return;
      workers.add(worker);
    } else {
      if (workers === undefined || !workers.delete(worker)) return;
      if (workers.size === 0) this.interested.delete(topic);
    }
    this.sendCarries(null, [topic]);
  }

  /**
   * Tell each worker (or only `only`) which of `topics` it should now send publishes of: those that
   * some other worker wants. Only changes are sent.
   */
  private sendCarries(only: Worker | null, topics: readonly string[]): void {
    for (const [worker, carried] of this.carried) {
      if (only !== null && worker !== only) continue;
      const added: string[] = [];
      const removed: string[] = [];
      for (const topic of topics) {
        const workers = this.interested.get(topic);
        const wanted = workers !== undefined && workers.size > (workers.has(worker) ? 1 : 0);
        if (wanted && !carried.has(topic)) {
          carried.add(topic);
          added.push(topic);
        } else if (!wanted && carried.delete(topic)) {
          removed.push(topic);
        }
      }
      if ((added.length > 0 || removed.length > 0) && worker.isConnected()) {
        const message: PrimaryMessage = { tag: TAG, type: 'carry', added, removed };
        worker.send(message);
      }
    }
  }
}
