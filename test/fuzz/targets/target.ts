// The shape of one fuzz target: a fast-check property the runner executes in batches until the
// target's share of the time budget is used.
import type fc from 'fast-check';

/** Thrown by a property to report a broken invariant (the message says which). */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Fail the current run with `message` unless `condition` holds. */
export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}

export type FuzzTarget =
  | {
      name: string;
      /** Relative share of the time budget. */
      weight: number;
      kind: 'sync';
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      property(): fc.IProperty<any>;
    }
  | {
      name: string;
      weight: number;
      kind: 'async';
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      property(): fc.IAsyncProperty<any>;
    };
