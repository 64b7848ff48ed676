// The delays of a reconnecting client: exponential backoff with jitter, as a pure function of the
// attempt number and a random draw (no timers, no Math.random here), so tests can pin both.

/** The shape of the delays (milliseconds). Defaults: see ReconnectOptions in reconnect.ts. */
export interface BackoffPolicy {
  /** Base delay of attempt 1. */
  initialDelay: number;
  /** No delay is longer. */
  maxDelay: number;
  /** Each attempt's base delay is the previous one's times this (>= 1). */
  factor: number;
  /** 0..1: the delay is drawn in base × [1 − jitter, 1 + jitter] (then capped at maxDelay). */
  jitter: number;
}

/**
 * The delay before attempt `attempt` (1 for the first after a loss), for `random` in [0, 1):
 * base = min(maxDelay, initialDelay × factor^(attempt − 1)), then base × (1 + jitter × (2·random − 1)),
 * capped at maxDelay and rounded to whole milliseconds. The cap applies to the base first, so delays
 * stay spread (between maxDelay × (1 − jitter) and maxDelay) once the base has reached it.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** Math.max(0, attempt - 1));
  const delay = base * (1 + policy.jitter * (2 * random - 1));
  return Math.round(Math.max(0, Math.min(policy.maxDelay, delay)));
}
