// PubSubBroker: wraps a server's broker so that what its topics carry are rfc6455.pubsub.v1 'message'
// frames with each publish's position ({ offset, epoch }, when the topic keeps history). The frame is
// built once per publish per node, as the envelope reaches the node, then framed once for all its
// subscribers like any publish. Protocol publishes go to the inner broker first and reach local
// subscribers as the broker numbered them (with a history broker: back from Redis, in offset order).
import { randomBytes } from 'node:crypto';
import type { Broker, BrokerLink, BrokerNode } from '../pubsub/broker.js';
import { decodeEnvelope, encodeEnvelope, FLAG_BINARY, FLAG_COMPRESS } from '../pubsub/envelope.js';
import { InProcessBroker } from '../pubsub/in-process-broker.js';
import { isHistoryLink, type HistoryLink, type HistoryNode, type StreamPosition } from '../pubsub/recovery.js';
import { encodeDelivery, type Delivery } from './frames.js';

/** A topic no application uses: publishing on it only makes the server connect its broker. */
export const CONNECT_TOPIC = '\u0000rfc6455.pubsub.v1:connect';

export class PubSubBroker implements Broker {
  /** The origin of protocol publishes: not the server's own id, so that they come back to it numbered. */
  private readonly origin = randomBytes(8);
  private link: BrokerLink | null = null;
  private node: BrokerNode | null = null;

  /** `inner`: the broker that carries publishes between nodes (default: an InProcessBroker, local only). */
  constructor(
    /** The broker that carries publishes between nodes. */
    readonly inner: Broker = new InProcessBroker(),
  ) {
    if (typeof inner !== 'object' || inner === null || typeof inner.connect !== 'function') {
      throw new TypeError('PubSubBroker wraps a broker: an object with a connect(node) method');
    }
  }

  /** Whether a server has connected to this broker. */
  get connected(): boolean {
    return this.link !== null;
  }

  connect(node: BrokerNode): BrokerLink {
    if (this.node !== null) throw new Error('A PubSubBroker serves one server: make one per WebSocketServer');
    this.node = node;
    const rewrite = (envelope: Buffer, delivery: Delivery): Buffer | null => {
      const decoded = decodeEnvelope(envelope);
      if (decoded === null) return null;
      // The server's own publishes (wss.publish) were delivered locally already, as they were.
      if (decoded.origin.equals(node.id)) return envelope;
      const binary = (decoded.flags & FLAG_BINARY) !== 0;
      return encodeEnvelope(decoded.origin, decoded.topic, decoded.flags, encodeDelivery(decoded.topic, decoded.payload, binary, delivery));
    };
    const wrapped: HistoryNode = {
      id: node.id,
      deliver: (envelope, offset, epoch) => {
        const out = rewrite(envelope, { offset, epoch });
        if (out !== null) (node as HistoryNode).deliver(out, offset);
      },
      gap: (topics) => (node as Partial<HistoryNode>).gap?.(topics),
    };
    const inner = this.inner.connect(wrapped);
    const link: HistoryLink = {
      interest: (subscribed, unsubscribed) => inner.interest(subscribed, unsubscribed),
      carries: (topic) => topic !== CONNECT_TOPIC && inner.carries(topic),
      publish: (topic, envelope) => inner.publish(topic, envelope),
      recover: async (topic, since, replay) => {
        if (!isHistoryLink(inner)) return { recovered: false, position: null, replayed: 0 };
        return inner.recover(topic, since, (envelope, offset) => {
          const out = rewrite(envelope, { offset, epoch: since.epoch, replayed: true });
          if (out !== null) replay(out, offset);
        });
      },
      close: () => {
        this.link = null;
        inner.close();
      },
    };
    this.link = link;
    // The inner link itself, for publish(): its history (if any) numbers the publish.
    this.publishLink = inner;
    return isHistoryLink(inner) ? link : { interest: link.interest, carries: link.carries, publish: link.publish, close: link.close };
  }

  private publishLink: BrokerLink | null = null;

  /**
   * A protocol publish: to every subscriber of `topic` on every node, as a 'message' frame. Resolves
   * with its position (null when the topic keeps no history, or the publish failed). Before the server
   * connected its broker (servePubSub does that) the publish goes nowhere and resolves null.
   */
  async publish(topic: string, data: Buffer, binary: boolean, compress = true): Promise<StreamPosition | null> {
    const link = this.publishLink;
    const node = this.node;
    if (link === null || node === null || this.link === null) return null;
    const flags = (binary ? FLAG_BINARY : 0) | (compress ? FLAG_COMPRESS : 0);
    const envelope = encodeEnvelope(this.origin, topic, flags, data);
    if (isHistoryLink(link)) {
      // A history broker (Redis) hands the publish back to this node too, numbered, in the order the
      // publishes of every node were numbered. A publish it could not take (Redis unreachable) answers
      // null: then the local subscribers get it at once, without a position, as any publish made while
      // the broker is down (at most once; the broker reports the failure with 'publishError').
      const numbered = link.publish(topic, envelope);
      if (numbered === undefined) return null;
      const position = await numbered;
      if (position === null) node.deliver(encodeEnvelope(this.origin, topic, flags, encodeDelivery(topic, data, binary, {})));
      return position;
    }
    // Local fan-out here, other nodes through the broker (which does not hand a publish back).
    const frame = encodeDelivery(topic, data, binary, {});
    node.deliver(encodeEnvelope(this.origin, topic, flags, frame));
    if (link.carries(topic)) link.publish(topic, envelope);
    return null;
  }
}
