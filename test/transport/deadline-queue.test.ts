import { describe, expect, test } from 'vitest';
import { DeadlineQueue } from '../../src/transport/deadline-queue.js';

/** Resolves once `n` keys have expired (bounded by vitest's test timeout). */
function expiries<K>(timeout: number, n: number): { queue: DeadlineQueue<K>; expired: K[]; done: Promise<void> } {
  const expired: K[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const queue = new DeadlineQueue<K>(timeout, (key) => {
    expired.push(key);
    if (expired.length === n) resolve();
  });
  return { queue, expired, done };
}

describe('DeadlineQueue', () => {
  test('expires every key still queued, oldest first, once each; deleted keys never', async () => {
    const { queue, expired, done } = expiries<string>(5, 3);
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('d');
    queue.add('e');
    queue.delete('b');
    queue.delete('d');
    expect(queue.size).toBe(3);
    await done;
    expect(expired).toEqual(['a', 'c', 'e']);
    expect(queue.size).toBe(0);
  });

  test('keys added after a firing get a timer of their own', async () => {
    const first = expiries<number>(2, 1);
    first.queue.add(1);
    await first.done;
    const later: number[] = [];
    await new Promise<void>((resolve) => {
      const queue = new DeadlineQueue<number>(2, (key) => {
        later.push(key);
        if (later.length === 2) resolve();
      });
      queue.add(1);
      queue.delete(1);
      queue.add(2);
      queue.add(3);
    });
    expect(later).toEqual([2, 3]);
  });

  test('timeout 0 (or NaN) never expires: the queue is a set', () => {
    for (const timeout of [0, Number.NaN, -1]) {
      const queue = new DeadlineQueue<number>(timeout, () => {
        throw new Error('expired');
      });
      queue.add(1);
      queue.add(2);
      expect([...queue.keys()]).toEqual([1, 2]);
      queue.delete(1);
      expect([...queue.keys()]).toEqual([2]);
    }
  });

  test('an expire callback that throws does not stop the others from expiring later', async () => {
    const expired: number[] = [];
    const errors: unknown[] = [];
    const onError = (error: unknown): void => {
      errors.push(error);
    };
    process.on('uncaughtException', onError);
    try {
      await new Promise<void>((resolve) => {
        const queue = new DeadlineQueue<number>(2, (key) => {
          expired.push(key);
          if (key === 1) throw new Error('boom');
          if (key === 3) resolve();
        });
        queue.add(1);
        queue.add(2);
        queue.add(3);
      });
    } finally {
      process.removeListener('uncaughtException', onError);
    }
    expect(expired).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(1);
  });
});
