// A node's interest in Redis channels: SUBSCRIBE a topic's channel only while the node has local
// subscribers. Changes are collected for a short debounce and sent as one SUBSCRIBE and one
// UNSUBSCRIBE (pipelined), net of churn: a topic joined and left within the window costs nothing.
// After a lost connection every wanted channel is subscribed again in one command.

export interface InterestTarget {
  subscribe(topics: readonly string[]): Promise<void>;
  unsubscribe(topics: readonly string[]): Promise<void>;
}

export class Interest {
  /** Topics with local subscribers. */
  private readonly wanted = new Set<string>();
  /** Topics SUBSCRIBE was sent for (and no UNSUBSCRIBE since). */
  private readonly requested = new Set<string>();
  /** Topics whose SUBSCRIBE Redis confirmed on the current connection. */
  private readonly active = new Set<string>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: InterestTarget,
    private readonly debounce: number,
  ) {}

  change(subscribed: readonly string[], unsubscribed: readonly string[]): void {
    for (const topic of subscribed) this.wanted.add(topic);
    for (const topic of unsubscribed) this.wanted.delete(topic);
    this.timer ??= setTimeout(() => this.flush(), this.debounce);
  }

  /** Resolves once Redis confirmed the subscription to `topic` (at once when it has). */
  whenActive(topic: string): Promise<void> {
    if (this.active.has(topic)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(topic);
      if (list === undefined) this.waiters.set(topic, [resolve]);
      else list.push(resolve);
    });
  }

  /** The connection was lost: Redis dropped every subscription of it. */
  lost(): void {
    this.active.clear();
  }

  /** The connection is back: subscribe to every wanted topic again, in one command. Resolves with those topics once confirmed. */
  async restore(): Promise<string[]> {
    const topics = [...this.wanted];
    this.requested.clear();
    for (const topic of topics) this.requested.add(topic);
    if (topics.length === 0) return topics;
    await this.target.subscribe(topics);
    this.confirmed(topics);
    return topics;
  }

  /** The topics subscribed to, or asked for (what close() leaves when the subscriber connection is shared). */
  subscribed(): string[] {
    return [...this.requested];
  }

  /** A topic no longer wanted: whoever waits for its subscription is released (and finds nothing to replay). */
  private release(topic: string): void {
    const list = this.waiters.get(topic);
    if (list === undefined) return;
    this.waiters.delete(topic);
    for (const resolve of list) resolve();
  }

  /** Stop: no more commands; whoever waits for a subscription is released (and finds the link closed). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const list of this.waiters.values()) for (const resolve of list) resolve();
    this.waiters.clear();
  }

  private flush(): void {
    this.timer = null;
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const topic of this.wanted) if (!this.requested.has(topic)) subscribe.push(topic);
    for (const topic of this.requested) if (!this.wanted.has(topic)) unsubscribe.push(topic);
    for (const topic of subscribe) this.requested.add(topic);
    for (const topic of unsubscribe) {
      this.requested.delete(topic);
      this.active.delete(topic);
      this.release(topic);
    }
    // Both leave before either answers: one round trip. A failure (lost connection) is mended by restore().
    if (subscribe.length > 0) this.target.subscribe(subscribe).then(() => this.confirmed(subscribe), () => undefined);
    if (unsubscribe.length > 0) this.target.unsubscribe(unsubscribe).catch(() => undefined);
  }

  private confirmed(topics: readonly string[]): void {
    for (const topic of topics) {
      if (!this.requested.has(topic)) continue;
      this.active.add(topic);
      this.release(topic);
    }
  }
}
