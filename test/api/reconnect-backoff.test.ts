// The pure parts of the client's `reconnect` option: delays, the option's checks, the built-in decision.
import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../src/api/backoff.js';
import { defaultDecision, reconnectSettings } from '../../src/api/reconnect.js';
import { WebSocket } from '../../src/index.js';

const policy = { initialDelay: 1000, maxDelay: 5000, factor: 2, jitter: 0.5 };

describe('backoffDelay', () => {
  test('grows by factor from initialDelay, capped at maxDelay (no jitter)', () => {
    const flat = { ...policy, jitter: 0 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(flat, n, 0.9))).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  test('jitter spreads each delay over base × [1 − jitter, 1 + jitter], still capped', () => {
    expect(backoffDelay(policy, 1, 0)).toBe(500);
    expect(backoffDelay(policy, 1, 0.5)).toBe(1000);
    expect(backoffDelay(policy, 1, 0.999999)).toBe(1500);
    expect(backoffDelay(policy, 2, 0)).toBe(1000);
    // At the cap the spread stays below it (no herd of clients all waiting exactly maxDelay).
    expect(backoffDelay(policy, 10, 0)).toBe(2500);
    expect(backoffDelay(policy, 10, 0.999999)).toBe(5000);
    expect(backoffDelay(policy, 2000, 0.25)).toBe(3750);
  });

  test('every draw stays within [0, maxDelay] whatever the attempt', () => {
    for (let attempt = 1; attempt <= 200; attempt++) {
      for (const random of [0, 0.1, 0.5, 0.9, 0.999]) {
        const delay = backoffDelay(policy, attempt, random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(5000);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });
});

describe('reconnect option', () => {
  test('true gives the defaults (socket.io-client\'s delays, unlimited attempts, a bounded queue)', () => {
    const settings = reconnectSettings(true)!;
    expect(settings).toMatchObject({ initialDelay: 1000, maxDelay: 5000, factor: 2, jitter: 0.5, maxAttempts: Infinity, maxQueuedMessages: 1000, maxQueuedBytes: 1048576 });
    expect(reconnectSettings(false)).toBeNull();
    expect(reconnectSettings(undefined)).toBeNull();
  });

  test.each([
    [{ initialDelay: -1 }, RangeError],
    [{ maxDelay: Infinity }, RangeError],
    [{ factor: 0.5 }, RangeError],
    [{ jitter: 1.5 }, RangeError],
    [{ maxAttempts: 1.5 }, RangeError],
    [{ maxQueuedBytes: -1 }, RangeError],
    [{ maxQueuedMessages: '10' }, RangeError],
    [{ shouldReconnect: 'yes' }, TypeError],
    ['yes', TypeError],
  ])('%j is refused by the constructor before any I/O', (option, type) => {
    expect(() => new WebSocket('ws://127.0.0.1:1/', { reconnect: option as never })).toThrow(type);
  });
});

describe('the built-in decision', () => {
  test('handshake statuses: 5xx, 408 and 429 retry; other answers stop', () => {
    for (const status of [500, 502, 503, 504, 408, 429]) expect(defaultDecision(1006, status)).toBe(true);
    for (const status of [101, 200, 301, 400, 401, 403, 404, 426]) expect(defaultDecision(1006, status)).toBe(false);
  });

  test('close codes: lost (1006) and the transient ones retry; a peer\'s other codes stop', () => {
    for (const code of [1006, 1001, 1011, 1012, 1013, 1014]) expect(defaultDecision(code, undefined)).toBe(true);
    for (const code of [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 3000, 4000, 4999]) expect(defaultDecision(code, undefined)).toBe(false);
  });
});
