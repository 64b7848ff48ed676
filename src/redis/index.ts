// rfc6455/redis: publishes across processes and machines through Redis, with the application's own
// ioredis or node-redis client (optional peer dependencies: this entry point imports neither).
export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export type { HistoryRule } from './history.js';
export type { RecoveryResult, StreamPosition } from '../pubsub/recovery.js';
