/**
 * Every seed the project derives, in one place (no tfjs here; the model, the data and the methods
 * import it).
 *
 * - `deriveSeed(seed, ...parts)`: a 31-bit seed from a run seed and names or numbers (FNV-1a over
 *   them), e.g. one seed per parameter tensor ('bert.encoder.layer.0.attention.self.query.weight')
 *   or per dropout site. It is never 0, because tfjs 4.22's random ops treat seed 0 as "no seed"
 *   and fall back to Math.random: every seed handed to tfjs goes through here.
 * - `stepSeed(seed, step)`: the seed of one training step (dropout, delta initialisation).
 *
 * Dropout masks are keyed by (step seed, site, first example of the batch or shard): a batch run in
 * one piece uses first example 0. With worker threads sharding a batch, each shard draws its masks
 * from its own first example, so a sharded run draws different (equally distributed) masks than an
 * unsharded one; with dropout off the two agree to float tolerance.
 */

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;
const MODULUS = 2147483647; // 2^31 - 1

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

/** A seed in [1, 2^31 - 2] from a number and any names or numbers: deterministic, never 0. */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  let h = mixString(FNV_OFFSET, String(seed));
  for (const p of parts) h = mixString(Math.imul(h ^ 0x2f, FNV_PRIME) >>> 0, String(p));
  return (h % (MODULUS - 1)) + 1;
}

/** The seed of training step `step` of a run with seed `seed`. */
export function stepSeed(seed: number, step: number): number {
  return seed * 1000003 + step;
}
