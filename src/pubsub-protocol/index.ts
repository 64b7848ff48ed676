// rfc6455.pubsub.v1, the server side: a small JSON subprotocol over topics and their history, with
// each message's position, so that clients (client/pubsub-client.mjs) resume where they were.
export { PROTOCOL as PUBSUB_PROTOCOL } from './frames.js';
export { PubSubBroker } from './pubsub-broker.js';
export { servePubSub, type PubSubAction, type PubSubOptions, type PubSubServer } from './serve.js';
