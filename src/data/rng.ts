/**
 * A small seeded pseudo-random generator for data order and masking (mulberry32: 32-bit state,
 * period 2^32, passes the usual quick statistical checks; plenty for shuffling and 15% masking).
 * The same seed gives the same stream on every platform; Math.random is never used.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** A generator from any finite number (non-integers and negatives are hashed, not rejected). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  // fold the seed (it may exceed 32 bits or have a fraction) into 32 bits, then scramble it
  let state = (Math.floor(seed) ^ Math.floor(seed / 4294967296) ^ Math.round((seed % 1) * 1e9)) >>> 0;
  state = Math.imul(state ^ (state >>> 16), 0x85ebca6b) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
  };
}

/** The generator as a plain function returning uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  const r = createRng(seed);
  return () => r.next();
}

/** A shuffled copy (Fisher-Yates) of `items`. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A 32-bit seed derived from two numbers (for independent streams: `mixSeeds(seed, 1)`, ...). */
export function mixSeeds(a: number, b: number): number {
  const r = createRng(a);
  const x = Math.floor(r.next() * 4294967296);
  return createRng(x ^ Math.floor(b)).int(4294967296);
}
