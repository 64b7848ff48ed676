// Which topics keep history, and how much. History is opt-in, per topic or per topic prefix.

/** One entry of RedisBroker's `history` option: which topics keep history, how many publishes and how long. */
export interface HistoryRule {
  /** An exact topic... */
  topic?: string;
  /** ...or every topic starting with this prefix (the longest matching prefix applies; an exact topic wins). */
  prefix?: string;
  /** Publishes kept (the stream is trimmed with MAXLEN ~ size: Redis may keep a few more). */
  size: number;
  /** Seconds the history lives after the topic's last publish; once it expires the topic starts a new epoch. */
  ttl: number;
}

export interface HistoryLimits {
  size: number;
  ttl: number;
}

export class HistoryRules {
  private readonly exact = new Map<string, HistoryLimits>();
  /** Longest prefix first. */
  private readonly prefixes: Array<[string, HistoryLimits]> = [];

  /** TypeError for a malformed rule. */
  constructor(rules: readonly HistoryRule[]) {
    if (!Array.isArray(rules)) throw new TypeError('The "history" option must be an array of { topic | prefix, size, ttl }');
    for (const rule of rules) {
      const { topic, prefix, size, ttl } = rule ?? ({} as HistoryRule);
      if (!Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(ttl) || ttl < 1) {
        throw new TypeError('A history rule needs a positive integer "size" (messages) and "ttl" (seconds)');
      }
      if (typeof topic === 'string' && prefix === undefined) this.exact.set(topic, { size, ttl });
      else if (typeof prefix === 'string' && topic === undefined) this.prefixes.push([prefix, { size, ttl }]);
      else throw new TypeError('A history rule names either a "topic" or a "prefix" (a string)');
    }
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The limits of `topic`'s history, or null when it keeps none. */
  of(topic: string): HistoryLimits | null {
    const exact = this.exact.get(topic);
    if (exact !== undefined) return exact;
    for (const [prefix, limits] of this.prefixes) if (topic.startsWith(prefix)) return limits;
    return null;
  }
}
