/**
 * Random controls for attacks: the same budget spent in a random direction instead of the
 * gradient's. If an attack worked merely because the input is fragile, random noise of the same
 * size would do as much damage (Goodfellow, Shlens & Szegedy, ICLR 2015, section 3, for images;
 * the control every embedding-space attack of this library reports).
 *
 * - `randomDirection`: the l2 control in embedding space. A Gaussian direction over the positions
 *   that may move (zero on padding and frozen tokens), normalised per example over its whole
 *   T x D tensor, then scaled to a given per-example norm (e.g. the norm of PGD's delta, so that the
 *   control spends exactly what the attack spent). Gaussian entries normalised give a direction
 *   uniform on the sphere. This is the one implementation; notebooks and the PGD attack use it.
 * - `randomPointInBall`: a point uniform in the l2 ball of radius eps (random starts of PGD):
 *   a uniform direction with radius eps * u^(1/n), u ~ U(0, 1), n = the example's perturbable
 *   coordinates (the radius of a uniform point of an n-ball has CDF (r / eps)^n).
 * - `randomSigns`: the linf control, x + eps * sign(u) with u ~ U(-1, 1) per entry, optionally
 *   clipped to a valid range (images: [0, 1]); what notebook 02 compares FGSM with.
 *
 * All reproducible from a seed.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../data/rng';
import { deriveSeed } from '../../seeds';
import { normalizeGradient, seededRandomNormal } from '../../adversarial/perturbation';

/** Per-example values as a [B] float tensor (numbers are broadcast to every example). */
function perExample(values: number | ArrayLike<number> | tf.Tensor, B: number, what: string): tf.Tensor1D {
  if (values instanceof tf.Tensor) {
    if (values.rank !== 1 || values.shape[0] !== B) throw new Error(`${what} must be [${B}] (one per example), got [${values.shape}]`);
    return tf.cast(values, 'float32') as tf.Tensor1D;
  }
  const arr = typeof values === 'number' ? new Array(B).fill(values) : Array.from(values);
  if (arr.length !== B) throw new Error(`${what} has ${arr.length} values for ${B} examples`);
  arr.forEach((v, i) => {
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${what}[${i}] must be a finite number >= 0, got ${v}`);
  });
  return tf.tensor1d(arr, 'float32');
}

/**
 * A random direction of `shape` [B, T, D] scaled to `norms` per example (l2 over T x D), zero where
 * `mask` [B, T] is 0. `norms`: one number for all examples, or [B] numbers / a [B] tensor.
 * The caller owns the result.
 */
export function randomDirection(
  shape: readonly number[],
  norms: number | ArrayLike<number> | tf.Tensor,
  options: { mask?: tf.Tensor; seed?: number } = {},
): tf.Tensor {
  if (shape.length < 2 || !shape.every((s) => Number.isInteger(s) && s > 0)) throw new Error(`randomDirection: shape must be [B, ...] of positive integers, got [${shape}]`);
  const B = shape[0];
  const { mask, seed = 0 } = options;
  return tf.tidy(() => {
    const r = perExample(norms, B, 'randomDirection: norms'); // [B]
    const u = seededRandomNormal([...shape], 0, 1, deriveSeed(seed, 'random-direction')); // [B, T, D]
    const unit = normalizeGradient(u, 'l2', { mask }); // [B, T, D], unit l2 per example (0 on masked positions)
    return tf.mul(unit, r.reshape([B, ...new Array(shape.length - 1).fill(1)])); // [B, T, D]
  });
}

/** Positions that may move per example: the row sums of a [B, T] mask, as numbers. */
export function perturbableCounts(mask: tf.Tensor): number[] {
  const sums = tf.tidy(() => tf.sum(tf.reshape(tf.cast(mask, 'float32'), [mask.shape[0], -1]), 1)); // [B]
  const out = Array.from(sums.dataSync()).map(Math.round);
  sums.dispose();
  return out;
}

/**
 * A point uniform in the l2 ball of radius eps (per example, over the positions `mask` [B, T] lets
 * move): randomDirection with radius eps * u^(1/n), n = perturbable positions x D. The radius is
 * drawn from the seed (one u per example, in order). The caller owns the result.
 */
export function randomPointInBall(shape: readonly number[], eps: number, options: { mask?: tf.Tensor; seed?: number } = {}): tf.Tensor {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`randomPointInBall: eps must be a finite number >= 0, got ${eps}`);
  const B = shape[0];
  const perPosition = shape.slice(2).reduce((a, b) => a * b, 1); // D
  const counts = options.mask ? perturbableCounts(options.mask) : new Array(B).fill(shape.length >= 2 ? shape[1] : 1);
  if (counts.length !== B) throw new Error(`randomPointInBall: mask has ${counts.length} rows for ${B} examples`);
  const rng = createRng(deriveSeed(options.seed ?? 0, 'ball-radius'));
  const radii = counts.map((c) => {
    const u = rng.next();
    const n = Math.max(1, Math.round(c) * perPosition);
    return eps * Math.pow(u, 1 / n);
  });
  return randomDirection(shape, radii, options);
}

/**
 * x + eps * sign(u), u ~ U(-1, 1) per entry from `seed` (passed to tfjs as given, so a notebook that
 * drew `tf.randomUniform(shape, -1, 1, 'float32', seed)` gets the same signs), clipped to `clip`
 * when given. Works on any shape. The caller owns the result.
 */
export function randomSigns(x: tf.Tensor, eps: number, options: { seed?: number; clip?: [number, number] } = {}): tf.Tensor {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`randomSigns: eps must be a finite number >= 0, got ${eps}`);
  const { seed = 1, clip } = options;
  if (clip && !(clip[0] < clip[1])) throw new Error(`randomSigns: clip must be [low, high] with low < high, got [${clip}]`);
  return tf.tidy(() => {
    const signs = tf.sign(tf.randomUniform(x.shape, -1, 1, 'float32', seed)); // x.shape
    const moved = tf.add(x, tf.mul(signs, eps)); // x.shape
    return clip ? tf.clipByValue(moved, clip[0], clip[1]) : moved; // x.shape
  });
}

