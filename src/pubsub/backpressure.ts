// What happens to a published message when its subscriber does not read fast enough: a slow reader
// must not hold memory or delay the others.

/**
 * `'skip'`: the subscriber misses the message (its socket emits 'dropped'); `'close'`: the connection
 * is dropped at once with 1008, its queue released (a peer that does not read could not complete a
 * closing handshake anyway).
 */
export type BackpressurePolicy = 'skip' | 'close';

/** The server options that bound what a slow subscriber can hold: `new WebSocketServer({ maxBackpressure, backpressurePolicy })`. */
export interface BackpressureOptions {
  /**
   * Max bytes queued for a socket (its bufferedAmount) for a published message to be added to them;
   * 0 = unlimited. Default 1048576 (1 MiB). A message goes to a socket with an empty queue whatever
   * its size.
   */
  maxBackpressure?: number;
  /** What happens past `maxBackpressure`. Default 'skip'. */
  backpressurePolicy?: BackpressurePolicy;
}

export const DEFAULT_MAX_BACKPRESSURE = 1024 * 1024;

/** The options resolved; throws a TypeError for an invalid one (the application's misuse). */
export function backpressureFrom(options: BackpressureOptions): { limit: number; policy: BackpressurePolicy } {
  const limit = options.maxBackpressure ?? DEFAULT_MAX_BACKPRESSURE;
  if (typeof limit !== 'number' || !(limit >= 0)) {
    throw new TypeError(`The "maxBackpressure" option must be a non-negative number, not ${String(limit)}`);
  }
  const policy = options.backpressurePolicy ?? 'skip';
  if (policy !== 'skip' && policy !== 'close') {
    throw new TypeError(`The "backpressurePolicy" option must be 'skip' or 'close', not ${String(policy)}`);
  }
  return { limit, policy };
}

/** Whether `queued` bytes leave room for `length` more under `limit`. */
export function hasRoom(queued: number, length: number, limit: number): boolean {
  return limit === 0 || queued === 0 || queued + length <= limit;
}
