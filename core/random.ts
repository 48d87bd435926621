/** A source of uniform numbers in [0, 1). Inject one to make jitter deterministic in tests. */
export type Random = () => number;

const batchSize = 256;

/**
 * Uniform numbers in [0, 1) from `crypto.getRandomValues`, drawn 256 at a time: one call costs
 * about as much as one batch, so a call per retry delay would dominate the retry path.
 */
export function createCryptoRandom(): Random {
  const buffer = new Uint32Array(batchSize);
  let next = batchSize;
  return () => {
    if (next === batchSize) {
      crypto.getRandomValues(buffer);
      next = 0;
    }
    return buffer[next++]! / 2 ** 32;
  };
}
