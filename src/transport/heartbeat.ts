// Keep-alive for many connections at the cost of one timer: instead of a setTimeout per connection,
// a monitor sweeps its connections a few times per period and compares each one's activity counter
// (bumped by every read) with what it saw last time.

/** The `heartbeat` option: ping a silent connection, drop it when the ping goes unanswered. */
export interface HeartbeatOptions {
  /** Milliseconds of silence (nothing received) after which the connection is pinged. */
  interval: number;
  /** Milliseconds after that ping within which something must arrive, else the connection is terminated. */
  timeout: number;
}

/** What the monitor needs of a connection. */
export interface HeartbeatTarget {
  /** A counter that changes whenever bytes are received. */
  readonly activity: number;
  /** Send a ping (skipped when the connection is closing). */
  heartbeatPing(): void;
  /** Drop the connection without a closing handshake. */
  terminate(): void;
}

interface Watch {
  /** The target's activity counter at the last sweep. */
  seen: number;
  /** When the counter last changed (or the target was added). */
  quietSince: number;
  /** When the ping went out, -1 when none is outstanding. */
  pingedAt: number;
}

/** The shortest sweep period, so that tiny test intervals cannot spin the event loop. */
const MIN_TICK = 10;
/** The longest sweep period, so that long intervals are still checked at a useful precision. */
const MAX_TICK = 1000;

/**
 * Watches a set of connections with one unref'd interval timer that runs only while the set is not
 * empty. A silent connection is pinged between `interval` and `interval` + one tick after its last
 * read, and terminated between `timeout` and `timeout` + one tick after the ping; a tick is a quarter
 * of the smaller of the two (10 ms to 1 s).
 */
export class HeartbeatMonitor {
  private readonly watches = new Map<HeartbeatTarget, Watch>();
  private timer: NodeJS.Timeout | null = null;
  readonly tick: number;

  constructor(readonly options: Readonly<HeartbeatOptions>) {
    checkHeartbeatOptions(options);
    this.tick = Math.min(MAX_TICK, Math.max(MIN_TICK, Math.floor(Math.min(options.interval, options.timeout) / 4)));
  }

  get size(): number {
    return this.watches.size;
  }

  add(target: HeartbeatTarget): void {
    this.watches.set(target, { seen: target.activity, quietSince: performance.now(), pingedAt: -1 });
    if (this.timer === null) {
      this.timer = setInterval(this.sweep, this.tick);
      this.timer.unref();
    }
  }

  delete(target: HeartbeatTarget): void {
    if (!this.watches.delete(target) || this.watches.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over every connection: ping the quiet ones, terminate those whose ping went unanswered. */
  readonly sweep = (): void => {
    const now = performance.now();
    const { interval, timeout } = this.options;
    for (const [target, watch] of this.watches) {
      const activity = target.activity;
      if (activity !== watch.seen) {
        watch.seen = activity;
        watch.quietSince = now;
        watch.pingedAt = -1;
      } else if (watch.pingedAt < 0) {
        if (now - watch.quietSince >= interval) {
          watch.pingedAt = now;
          target.heartbeatPing();
        }
      } else if (now - watch.pingedAt >= timeout) {
        this.watches.delete(target);
        target.terminate();
      }
    }
    if (this.watches.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };
}

/** Throws a TypeError for options that are not two positive finite numbers of milliseconds. */
export function checkHeartbeatOptions(options: unknown): asserts options is HeartbeatOptions {
  const o = options as Partial<HeartbeatOptions> | null;
  if (typeof o !== 'object' || o === null) throw new TypeError('heartbeat must be an object { interval, timeout }');
  for (const name of ['interval', 'timeout'] as const) {
    const value = o[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`heartbeat.${name} must be a positive number of milliseconds, not ${String(value)}`);
    }
  }
}

/** Connections with the same settings share one monitor (and so one timer) per process. */
const monitors = new Map<string, HeartbeatMonitor>();

export function heartbeatMonitor(options: HeartbeatOptions): HeartbeatMonitor {
  checkHeartbeatOptions(options);
  const key = `${options.interval}/${options.timeout}`;
  let monitor = monitors.get(key);
  if (monitor === undefined) {
    monitor = new HeartbeatMonitor({ interval: options.interval, timeout: options.timeout });
    monitors.set(key, monitor);
  }
  return monitor;
}
