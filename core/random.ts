/**
 * An unguessable id (a version 4 UUID). `crypto.randomUUID` exists only in secure contexts, so a
 * page served over plain http falls back to `crypto.getRandomValues`.
 */
export function randomId(): string {
  if (typeof crypto.randomUUID === "function") return flat(crypto.randomUUID());
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return flat(
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  );
}

/**
 * The same string, stored in one piece. Built by concatenation (Node's `randomUUID` too), an id is a
 * rope of 14 pieces (~480 B in V8) that every run keeps; reading a character makes V8 flatten it
 * in place (~90 B).
 */
function flat(id: string): string {
  id.charCodeAt(0);
  return id;
}

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
