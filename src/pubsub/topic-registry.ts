// Who is subscribed to what: topic -> subscribers and subscriber -> topics, kept in step. Topics are
// opaque strings (no wildcard or hierarchy), compared exactly.

/** Told of every change of a topic's subscriber count. */
export type CountListener = (topic: string, newCount: number, oldCount: number) => void;

export class TopicRegistry<S extends object> {
  private readonly byTopic = new Map<string, Set<S>>();
  private readonly bySubscriber = new Map<S, Set<string>>();

  constructor(private readonly onCount: CountListener) {}

  /** Returns true when `subscriber` was not yet subscribed to `topic`. */
  subscribe(subscriber: S, topic: string): boolean {
    let topics = this.bySubscriber.get(subscriber);
    if (topics === undefined) {
      topics = new Set();
      this.bySubscriber.set(subscriber, topics);
    } else if (topics.has(topic)) {
      return false;
    }
    topics.add(topic);
    let subscribers = this.byTopic.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.byTopic.set(topic, subscribers);
    }
    subscribers.add(subscriber);
    this.onCount(topic, subscribers.size, subscribers.size - 1);
    return true;
  }

  /** Returns true when `subscriber` was subscribed to `topic`. */
  unsubscribe(subscriber: S, topic: string): boolean {
    const topics = this.bySubscriber.get(subscriber);
    if (topics === undefined || !topics.delete(topic)) return false;
    if (topics.size === 0) this.bySubscriber.delete(subscriber);
    this.leave(subscriber, topic);
    return true;
  }

  /** Unsubscribe `subscriber` from every topic at once (it closed). */
  unsubscribeAll(subscriber: S): void {
    const topics = this.bySubscriber.get(subscriber);
    if (topics === undefined) return;
    this.bySubscriber.delete(subscriber);
    for (const topic of topics) this.leave(subscriber, topic);
  }

  isSubscribed(subscriber: S, topic: string): boolean {
    return this.bySubscriber.get(subscriber)?.has(topic) ?? false;
  }

  /** The topics of `subscriber`, in the order it subscribed to them. */
  topicsOf(subscriber: S): string[] {
    const topics = this.bySubscriber.get(subscriber);
    return topics === undefined ? [] : [...topics];
  }

  /** The subscribers of `topic` (live: members removed during an iteration are skipped), or undefined. */
  subscribersOf(topic: string): ReadonlySet<S> | undefined {
    return this.byTopic.get(topic);
  }

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  private leave(subscriber: S, topic: string): void {
    const subscribers = this.byTopic.get(topic)!;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.byTopic.delete(topic);
    this.onCount(topic, subscribers.size, subscribers.size + 1);
  }
}
