// Options that servers and clients share, checked once when they are given.
import { checkHeartbeatOptions } from '../transport/heartbeat.js';
import type { TransportOptions } from '../transport/socket-transport.js';
import type { WebSocketCoreOptions } from './websocket.js';

/** The limits of WebSocketCoreOptions that must be non-negative numbers (0 = unlimited). */
const COUNT_OPTIONS = ['maxPayload', 'maxFragments', 'maxBufferedChunks', 'maxPendingAutoPongs', 'maxBufferedAmount', 'closeTimeout'] as const;

/**
 * @internal Check the options shared by servers and clients when they are given (a clear TypeError
 * then, rather than odd behavior on the first connection), and pick what the transport uses.
 */
export function transportOptionsFrom(options: WebSocketCoreOptions): Partial<TransportOptions> {
  for (const name of COUNT_OPTIONS) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0))) {
      throw new TypeError(`The "${name}" option must be a non-negative number, not ${String(value)}`);
    }
  }
  if (options.heartbeat !== undefined && options.heartbeat !== null) checkHeartbeatOptions(options.heartbeat);
  return {
    maxPayload: options.maxPayload,
    skipUtf8Validation: options.skipUTF8Validation,
    autoPong: options.autoPong,
    closeTimeout: options.closeTimeout,
    maxFragments: options.maxFragments,
    maxBufferedChunks: options.maxBufferedChunks,
    maxPendingAutoPongs: options.maxPendingAutoPongs,
    maxBufferedAmount: options.maxBufferedAmount,
    heartbeat: options.heartbeat ?? undefined,
    deferEvents: options.allowSynchronousEvents === false,
  };
}
