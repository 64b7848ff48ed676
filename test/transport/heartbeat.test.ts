import { afterEach, describe, expect, test, vi } from 'vitest';
import { checkHeartbeatOptions, HeartbeatMonitor, heartbeatMonitor, type HeartbeatTarget } from '../../src/transport/heartbeat.js';

class Target implements HeartbeatTarget {
  activity = 0;
  log: string[] = [];
  heartbeatPing(): void {
    this.log.push('ping');
  }
  terminate(): void {
    this.log.push('terminate');
  }
}

let now = 0;
afterEach(() => {
  vi.restoreAllMocks();
});

function monitor(interval: number, timeout: number): HeartbeatMonitor {
  now = 1000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  return new HeartbeatMonitor({ interval, timeout });
}

describe('HeartbeatMonitor (sweeps driven by hand)', () => {
  test('a quiet target is pinged after interval, terminated after timeout more; an active one never', () => {
    const m = monitor(100, 50);
    const quiet = new Target();
    const busy = new Target();
    m.add(quiet);
    m.add(busy);
    for (let t = 0; t < 10; t++) {
      now += 25;
      busy.activity++;
      m.sweep();
    }
    // 250 ms: pinged at 100 ms of silence, terminated 50 ms after the ping.
    expect(quiet.log).toEqual(['ping', 'terminate']);
    expect(busy.log).toEqual([]);
    expect(m.size).toBe(1);
    m.delete(busy);
    expect(m.size).toBe(0);
  });

  test('anything received after the ping (a pong) cancels the termination, and silence starts again', () => {
    const m = monitor(100, 50);
    const t = new Target();
    m.add(t);
    now += 100;
    m.sweep();
    expect(t.log).toEqual(['ping']);
    now += 25;
    t.activity++; // the pong
    m.sweep();
    now += 60;
    m.sweep();
    expect(t.log).toEqual(['ping']);
    now += 100;
    m.sweep();
    expect(t.log).toEqual(['ping', 'ping']);
    m.delete(t);
  });

  test('one timer for every target, running only while there is one; the tick is a quarter of the shorter period, 10 ms to 1 s', () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const clearInterval = vi.spyOn(globalThis, 'clearInterval');
    const m = monitor(30_000, 10_000);
    expect(m.tick).toBe(1000);
    expect(new HeartbeatMonitor({ interval: 20, timeout: 20 }).tick).toBe(10);
    expect(new HeartbeatMonitor({ interval: 400, timeout: 1000 }).tick).toBe(100);
    const targets = Array.from({ length: 1000 }, () => new Target());
    for (const t of targets) m.add(t);
    expect(setInterval).toHaveBeenCalledTimes(1);
    for (const t of targets) m.delete(t);
    expect(clearInterval).toHaveBeenCalledTimes(1);
  });

  test('connections with the same settings share a monitor; invalid settings throw TypeError', () => {
    expect(heartbeatMonitor({ interval: 500, timeout: 200 })).toBe(heartbeatMonitor({ interval: 500, timeout: 200 }));
    expect(heartbeatMonitor({ interval: 500, timeout: 200 })).not.toBe(heartbeatMonitor({ interval: 500, timeout: 300 }));
    for (const bad of [null, 5, {}, { interval: 0, timeout: 1 }, { interval: 1, timeout: -1 }, { interval: Number.NaN, timeout: 1 }, { interval: '5', timeout: 1 }]) {
      expect(() => checkHeartbeatOptions(bad)).toThrow(TypeError);
    }
  });
});
