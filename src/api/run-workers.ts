// runWorkers: one server on every core. The primary forks the workers, relays their publishes by
// interest (ClusterRelay) and restarts the ones that die; each worker runs the application's setup
// with a ClusterBroker for its server.
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { ClusterBroker } from '../pubsub/cluster-broker.js';
import { ClusterRelay } from '../pubsub/cluster-relay.js';
import { reusePortSupported } from './reuse-port.js';

/** What `setup` gets in each worker. */
export interface WorkerContext {
  /** Give it to the worker's server: `new WebSocketServer({ ..., broker })`. */
  broker: ClusterBroker;
  /**
   * Whether to listen with SO_REUSEPORT (`new WebSocketServer({ port, reusePort })`, or
   * `http.Server.listen({ port, reusePort, exclusive: reusePort })`): true where Node supports it. With
   * it, listen on a fixed port (port 0 would give each worker a port of its own); without it, the
   * cluster primary accepts the connections and hands them to the workers in turn.
   */
  reusePort: boolean;
  /** The worker's number, 1..workers, kept by its replacement after a restart. */
  slot: number;
}

/** The options of {@link runWorkers}. */
export interface RunWorkersOptions {
  /** How many worker processes (e.g. `os.availableParallelism()`). */
  workers: number;
  /** Runs in each worker: start the server there. */
  setup(context: WorkerContext): void;
}

/** A worker that died is replaced at once, unless its slot has been restarted this often in the window. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * The primary's handle on its workers. Event: 'exit' (worker, code, signal, restarted) when one ends,
 * and whether it was replaced. (A worker listening with reusePort binds its own socket: the primary does
 * not see it listen, so readiness is the worker's to report, e.g. with process.send.)
 */
export class WorkerPool extends EventEmitter {
  /** Carries publishes between the workers, by interest (the primary's side of the ClusterBroker). */
  readonly relay = new ClusterRelay();
  private readonly slots = new Map<Worker, number>();
  private readonly restarts = new Map<number, number[]>();
  private closing = false;

  /** @internal */
  constructor(workers: number) {
    super();
    for (let slot = 1; slot <= workers; slot++) this.fork(slot);
  }

  /** The live workers. */
  get workers(): Worker[] {
    return [...this.slots.keys()];
  }

  /** Stop every worker (SIGTERM: a server that handles it can close its clients with 1001) and restart none. */
  async close(): Promise<void> {
    this.closing = true;
    const exits = this.workers.map((worker) => new Promise<void>((resolve) => {
      if (worker.isDead()) resolve();
      else worker.process.once('exit', () => resolve());
    }));
    for (const worker of this.workers) worker.process.kill('SIGTERM');
    await Promise.all(exits);
  }

  private fork(slot: number): void {
    const worker = cluster.fork({ RFC6455_WORKER_SLOT: String(slot) });
    this.slots.set(worker, slot);
    this.relay.attach(worker);
    worker.on('error', () => {}); // an IPC failure; its 'exit' follows
    worker.once('exit', (code, signal) => {
      this.slots.delete(worker);
      const restarted = !this.closing && this.mayRestart(slot);
      if (restarted) this.fork(slot);
      this.emit('exit', worker, code, signal, restarted);
    });
  }

  private mayRestart(slot: number): boolean {
    const now = Date.now();
    const recent = (this.restarts.get(slot) ?? []).filter((time) => now - time < RESTART_WINDOW_MS);
    if (recent.length >= MAX_RESTARTS) return false;
    recent.push(now);
    this.restarts.set(slot, recent);
    return true;
  }
}

/**
 * Run `setup` in `workers` worker processes that share topics. Call it from the top of the program: in
 * the primary it forks the workers (they run the same script, see cluster.setupPrimary to run another)
 * and returns the WorkerPool; in a worker it calls `setup` and returns null.
 *
 * Throws a TypeError for a `workers` that is not a positive integer or a `setup` that is not a function.
 */
export function runWorkers(options: RunWorkersOptions): WorkerPool | null {
  const { workers, setup } = options;
  if (!Number.isInteger(workers) || workers < 1) throw new TypeError(`The "workers" option must be a positive integer, not ${String(workers)}`);
  if (typeof setup !== 'function') throw new TypeError('The "setup" option must be a function');
  if (cluster.isPrimary) {
    // Envelopes cross the IPC channel as binary Buffers only with the advanced serialization.
    cluster.setupPrimary({ serialization: 'advanced' });
    return new WorkerPool(workers);
  }
  setup({ broker: new ClusterBroker(), reusePort: reusePortSupported(), slot: Number(process.env.RFC6455_WORKER_SLOT) });
  return null;
}
