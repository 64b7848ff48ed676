import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, sharedLimiter } from '../../src/extensions/concurrency-limiter.js';

describe('ConcurrencyLimiter', () => {
  it('runs at most `limit` jobs at once, the rest in FIFO order', () => {
    const limiter = new ConcurrencyLimiter(2);
    const started: number[] = [];
    const releases: Array<() => void> = [];
    for (let i = 0; i < 5; i++) {
      limiter.run((release) => {
        started.push(i);
        releases[i] = release;
      });
    }
    expect(started).toEqual([0, 1]);
    expect(limiter.active).toBe(2);
    expect(limiter.pending).toBe(3);
    releases[1]!();
    expect(started).toEqual([0, 1, 2]);
    releases[0]!();
    releases[2]!();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    releases[3]!();
    releases[4]!();
    expect(limiter.active).toBe(0);
    expect(limiter.pending).toBe(0);
  });

  it('ignores a second release of the same job', () => {
    const limiter = new ConcurrencyLimiter(1);
    let release: () => void = () => {};
    limiter.run((r) => (release = r));
    const started: number[] = [];
    limiter.run(() => started.push(1));
    limiter.run(() => started.push(2));
    release();
    release();
    expect(started).toEqual([1]);
    expect(limiter.active).toBe(1);
  });

  it('jobs released synchronously do not recurse (100 000 of them)', () => {
    const limiter = new ConcurrencyLimiter(1);
    let hold: () => void = () => {};
    limiter.run((r) => (hold = r));
    let count = 0;
    for (let i = 0; i < 100_000; i++) {
      limiter.run((release) => {
        count++;
        release();
      });
    }
    expect(count).toBe(0);
    hold();
    expect(count).toBe(100_000);
    expect(limiter.active).toBe(0);
    expect(limiter.pending).toBe(0);
  });

  it('keeps FIFO order across queue compaction', () => {
    const limiter = new ConcurrencyLimiter(1);
    const order: number[] = [];
    const releases: Array<() => void> = [];
    for (let i = 0; i < 5000; i++) {
      limiter.run((release) => {
        order.push(i);
        releases.push(release);
      });
    }
    // Release one at a time, queueing more on the way, so the head moves past the compaction point.
    for (let i = 0; i < 3000; i++) {
      releases[i]!();
      limiter.run((release) => {
        order.push(5000 + i);
        releases.push(release);
      });
    }
    for (let i = 3000; i < releases.length; i++) releases[i]!();
    expect(order).toEqual(Array.from({ length: 8000 }, (_, i) => i));
  });

  it('rejects a limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new ConcurrencyLimiter(limit)).toThrow(RangeError);
  });

  it('sharedLimiter: one process-wide instance per limit', () => {
    expect(sharedLimiter(3)).toBe(sharedLimiter(3));
    expect(sharedLimiter(3)).not.toBe(sharedLimiter(4));
    expect(sharedLimiter(4).limit).toBe(4);
  });
});
