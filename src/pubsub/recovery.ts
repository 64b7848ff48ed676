// History and resume, the optional part of a broker: a broker that keeps a topic's recent publishes
// (RedisBroker with `history`) numbers them (an offset per topic, in an epoch) and can replay what a
// socket missed since a position it names. The topics layer drives the replay of one subscription:
// live messages for that socket wait while the replay runs, then go out unless the replay sent them.
import type { BrokerLink, BrokerNode } from './broker.js';
import type { PreparedMessage } from './prepared-message.js';

/** Where a topic's history stands: the offset of a publish and the epoch it was numbered in. */
export interface StreamPosition {
  /** The publish's number in its topic, counting from 1 in each epoch (0: before the first). */
  offset: number;
  /** Changes whenever the history was lost (expired, or the store restarted): offsets restart then. */
  epoch: string;
}

/** The outcome of a subscription with `since`, reported by the socket's 'recovery' event. */
export interface RecoveryResult {
  /** True when every publish after `since` was replayed; false when some were lost (trimmed, expired, new epoch) or the topic keeps no history. */
  recovered: boolean;
  /** The topic's position after the replay (null when it keeps no history or the broker could not be reached). */
  position: StreamPosition | null;
  /** The number of messages replayed. */
  replayed: number;
}

/** A broker link that keeps history. `publish` answers with the publish's position (null: not stored). */
export interface HistoryLink extends BrokerLink {
  /** As {@link BrokerLink.publish}, answering with the publish's position in the topic's history (null: not stored). */
  publish(topic: string, envelope: Buffer): Promise<StreamPosition | null> | void;
  /**
   * Replay the publishes of `topic` after `since`, oldest first, to `replay(envelope, offset)` in
   * bounded batches, once the link's interest in the topic is in force (so that the replay and the
   * live messages leave no hole between them). Resolves with the outcome; never rejects.
   */
  recover(topic: string, since: StreamPosition, replay: (envelope: Buffer, offset: number) => void): Promise<RecoveryResult>;
}

export function isHistoryLink(link: BrokerLink): link is HistoryLink {
  return typeof (link as Partial<HistoryLink>).recover === 'function';
}

/** A live message held for a recovering subscription, with its offset once known (null: unnumbered). */
interface Held {
  message: PreparedMessage;
  offset: number | null;
  numbered: Promise<unknown> | null;
}

/** The live messages of one recovering subscription, held until its replay is done. */
export class Recovery {
  private readonly held: Held[] = [];

  hold(message: PreparedMessage, offset: number | null, numbered: Promise<StreamPosition | null> | null): void {
    const held: Held = { message, offset, numbered: null };
    if (numbered !== null) {
      held.numbered = numbered.then(
        (position) => {
          if (position !== null) held.offset = position.offset;
        },
        () => undefined,
      );
    }
    this.held.push(held);
  }

  /** Resolves once every held local publish knows its offset (or failed), including those held meanwhile. */
  async settled(): Promise<void> {
    for (let waited = 0; waited < this.held.length; ) {
      const pending = this.held.slice(waited).map((held) => held.numbered);
      waited = this.held.length;
      await Promise.all(pending);
    }
  }

  /** The held messages the replay did not cover (above `lastReplayed`, or unnumbered), in arrival order. */
  drain(lastReplayed: number): PreparedMessage[] {
    const out: PreparedMessage[] = [];
    for (const held of this.held) if (held.offset === null || held.offset > lastReplayed) out.push(held.message);
    this.held.length = 0;
    return out;
  }
}

/** A node that takes history offsets with deliveries and hears of gaps (the TopicHub). */
export interface HistoryNode extends BrokerNode {
  /** `offset` and `epoch`: the publish's position in the topic's history (absent for a topic without). */
  deliver(envelope: Buffer, offset?: number, epoch?: string): void;
  /** The broker's connection was lost and is back: publishes on these topics may have been missed. */
  gap(topics: readonly string[]): void;
}
