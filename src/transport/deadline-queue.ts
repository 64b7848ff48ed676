// Deadlines that all have the same length, with one timer for all of them.
//
// A server gives every new TCP connection the same time to send its request head. With a setTimeout per
// connection each accept would create, insert and later remove a timer; here a connection is an entry of
// one insertion-ordered Map (the oldest first, so it is also the earliest deadline) and one unref'd timer
// is armed for the oldest. When it fires, every expired entry at the front is expired and the timer is
// armed again for the next one. An entry removed before its deadline costs a Map delete only: the timer
// armed for it may fire for nothing once, and re-arms for whatever is oldest then.

/** The timer's slack: entries that expire within this many milliseconds of each other share one firing. */
const SLACK = 1;
/** setTimeout's longest delay; a longer deadline is re-armed for when this one fires. */
const MAX_DELAY = 0x7fffffff;

export class DeadlineQueue<K> {
  private readonly deadlines = new Map<K, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly fire = (): void => this.expireDue();

  /**
   * @param timeout milliseconds from add() to expiry; 0: never (the queue is then only a set)
   * @param expire called once for each key whose deadline passed while it was still queued (removed first)
   */
  constructor(
    readonly timeout: number,
    private readonly expire: (key: K) => void,
  ) {}

  get size(): number {
    return this.deadlines.size;
  }

  /** Queue `key`, to expire `timeout` ms from now unless deleted first. */
  add(key: K): void {
    if (!(this.timeout > 0)) {
      this.deadlines.set(key, Infinity);
      return;
    }
    this.deadlines.set(key, performance.now() + this.timeout);
    if (this.timer === null) this.arm(this.timeout);
  }

  /** Unqueue `key` (no-op when it is not queued). */
  delete(key: K): void {
    this.deadlines.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.deadlines.keys();
  }

  private arm(delay: number): void {
    this.timer = setTimeout(this.fire, Math.min(MAX_DELAY, Math.max(SLACK, Math.ceil(delay))));
    // The queued connections keep the process alive themselves; a stale timer must not.
    this.timer.unref();
  }

  private expireDue(): void {
    this.timer = null;
    const now = performance.now() + SLACK;
    for (const [key, deadline] of this.deadlines) {
      if (deadline > now) {
        this.arm(deadline - now + SLACK);
        return;
      }
      this.deadlines.delete(key);
      // An expire callback that throws must not leave the rest unexpired nor the timer unarmed.
      try {
        this.expire(key);
      } catch (error) {
        if (this.deadlines.size > 0 && this.timer === null) this.arm(SLACK);
        throw error;
      }
    }
  }
}
