import { randomFillSync } from 'node:crypto';

/** Yields 32-bit masking keys (RFC 6455 §5.3: fresh and unpredictable for every client frame). */
export type MaskKeySource = () => number;

const POOL_SIZE = 4096;

/**
 * Masking keys from the system CSPRNG, drawn in 4 KiB batches so that a frame costs
 * a buffer read rather than a call into the random generator.
 */
export function cryptoMaskKeySource(): MaskKeySource {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let offset = POOL_SIZE;
  return () => {
    if (offset === POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    const key = pool.readUInt32BE(offset);
    offset += 4;
    return key;
  };
}
