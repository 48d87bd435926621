/** Random bytes for ids, refilled from `crypto.getRandomValues` 256 ids at a time. */
const idBytes = new Uint8Array(16 * 256);
let idOffset = idBytes.length;
const hexDigits = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0));
const idChars: number[] = new Array(36);

/**
 * An unguessable id (a version 4 UUID) from `crypto.getRandomValues`, which, unlike
 * `crypto.randomUUID`, exists outside secure contexts too. Built as one flat string: a run keeps its
 * id, and a concatenated one is a rope of many pieces (~480 B in V8 instead of ~56 B).
 */
export function randomId(): string {
  if (idOffset === idBytes.length) {
    crypto.getRandomValues(idBytes);
    idOffset = 0;
  }
  let at = 0;
  for (let i = 0; i < 16; i++) {
    let byte = idBytes[idOffset + i]!;
    if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
    if (i === 8) byte = (byte & 0x3f) | 0x80; // RFC 4122 variant
    if (i === 4 || i === 6 || i === 8 || i === 10) idChars[at++] = 0x2d; // "-"
    idChars[at++] = hexDigits[byte >> 4]!;
    idChars[at++] = hexDigits[byte & 0x0f]!;
  }
  idOffset += 16;
  return String.fromCharCode(...idChars);
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
