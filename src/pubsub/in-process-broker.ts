// The default broker: the nodes (servers) of one thread that share an instance exchange publishes by
// interest; a server given none gets its own instance, that is local fan-out only.
import type { Broker, BrokerLink, BrokerNode } from './broker.js';

/**
 * Delivers synchronously, inside the publishing call, to every other connected node with interest in
 * the topic (so in publish order). Each node gets the envelope, a copy of the payload made once per
 * publish: the publisher may reuse its buffer as soon as publish() returns.
 */
export class InProcessBroker implements Broker {
  /** Each connected node and the topics it has interest in. */
  private readonly nodes = new Map<BrokerNode, Set<string>>();

  /** Links one more server of this thread to the others. */
  connect(node: BrokerNode): BrokerLink {
    const topics = new Set<string>();
    this.nodes.set(node, topics);
    const nodes = this.nodes;
    return {
      interest(subscribed, unsubscribed) {
        for (const topic of subscribed) topics.add(topic);
        for (const topic of unsubscribed) topics.delete(topic);
      },
      carries(topic) {
        for (const [other, interest] of nodes) if (other !== node && interest.has(topic)) return true;
        return false;
      },
      publish(topic, envelope) {
        for (const [other, interest] of nodes) {
          if (other !== node && interest.has(topic)) other.deliver(envelope);
        }
      },
      close() {
        nodes.delete(node);
      },
    };
  }
}
