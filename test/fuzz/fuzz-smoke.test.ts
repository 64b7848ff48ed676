// A quick check that every fuzz target runs and holds for a fixed, seeded number of inputs (the
// time-based campaign is `npm run fuzz`).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { targets } from './targets/index.js';

describe('fuzz targets (smoke: fixed runs, fixed seed)', () => {
  for (const target of targets) {
    it(target.name, async () => {
      if (target.kind === 'sync') fc.assert(target.property(), { numRuns: 300, seed: 6455 });
      else await fc.assert(target.property(), { numRuns: 40, seed: 6455 });
    });
  }
});
