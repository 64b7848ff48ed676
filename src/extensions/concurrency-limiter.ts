/**
 * A first-in first-out limit on how many asynchronous jobs run at once. zlib work runs on libuv's small
 * thread pool, and many concurrent zlib streams fragment memory badly, so the compression extension
 * routes every zlib operation of the process through one shared limiter.
 */

/** A job receives `release`, which it calls exactly once when it is finished. */
export type LimitedJob = (release: () => void) => void;

export class ConcurrencyLimiter {
  private running = 0;
  /** Waiting jobs from `head` on; the array is compacted once its consumed prefix is large. */
  private readonly waiting: LimitedJob[] = [];
  private head = 0;
  /** Set while `drain` runs, so a job released synchronously does not recurse into it. */
  private draining = false;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`invalid concurrency limit: ${String(limit)}`);
  }

  /** Jobs started and not yet released. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get pending(): number {
    return this.waiting.length - this.head;
  }

  /** Run `job` now if a slot is free, else when the jobs queued before it have made room. */
  run(job: LimitedJob): void {
    this.waiting.push(job);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      this.startWaiting();
    } finally {
      this.draining = false;
    }
  }

  private startWaiting(): void {
    while (this.running < this.limit && this.head < this.waiting.length) {
      const job = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as LimitedJob;
      if (this.head === this.waiting.length) {
        this.waiting.length = 0;
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.running++;
      let released = false;
      job(() => {
        if (released) return;
        released = true;
        this.running--;
        this.drain();
      });
    }
  }
}

const shared = new Map<number, ConcurrencyLimiter>();

/**
 * The process-wide limiter for `limit` concurrent jobs: every extension instance configured with the
 * same limit shares one queue.
 */
export function sharedLimiter(limit: number): ConcurrencyLimiter {
  let limiter = shared.get(limit);
  if (limiter === undefined) {
    limiter = new ConcurrencyLimiter(limit);
    shared.set(limit, limiter);
  }
  return limiter;
}
