/**
 * Projected gradient descent on the loss in an l-infinity ball around an input: the "stronger
 * attack" a model trained against one-step FGSM must also be evaluated with.
 *
 * Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to Adversarial
 * Attacks", ICLR 2018, section 2.1 (their equation for PGD on the negative loss):
 *     x^{t+1} = Proj_{x + S}( x^t + alpha * sign(grad_x J(theta, x^t, y)) ),   S = {delta : ||delta||_inf <= eps}
 * started from x^0 = x + U(-eps, eps) (their random start; without it and with K = 1, alpha = eps
 * this is exactly FGSM). Kurakin, Goodfellow & Bengio's basic iterative method (ICLR 2017 workshop,
 * "Adversarial Examples in the Physical World") is the same loop from x^0 = x. Here the projection
 * onto x + S is a clamp of every entry to [x - eps, x + eps], followed by the clip to the valid
 * input range (images: [0, 1]); both are projections onto boxes, so their composition is the
 * projection onto the intersection.
 *
 * Generic over a loss of the input, like `fgsm` (src/adversarial/fgsm.ts), whose sign step it
 * reuses: for the digits classifier, lossFn = (x) => imageClassifierLoss(p, x, y). A batch loss
 * (sum or mean over examples) is fine: each example's loss depends only on its own input, and the
 * sign step ignores a positive scale.
 */
import * as tf from '@tensorflow/tfjs';
import { fgsm } from '../adversarial/fgsm';
import { deriveSeed } from '../seeds';

export interface PgdLinfOptions {
  /** The radius of the l-infinity ball around x. */
  eps: number;
  /** Ascent steps K (each one forward and one backward pass). */
  steps: number;
  /** Step size alpha; default 2.5 * eps / steps (Madry et al.'s rule of thumb). */
  alpha?: number;
  /** Start from a uniform point of the ball (Madry et al.) instead of x itself (the basic iterative method). */
  randomStart: boolean;
  /** Seed of the random start. */
  seed: number;
  /** The valid input range, e.g. [0, 1] for images; default none. */
  clip?: [number, number];
}

export const PGD_LINF_DEFAULTS: PgdLinfOptions = { eps: 0.1, steps: 10, randomStart: true, seed: 0 };

/**
 * PGD in the l-infinity ball of radius eps around x (see the file header). Returns the adversarial
 * input x^K, which the caller owns; every intermediate tensor is disposed.
 */
export function pgdLinf<T extends tf.Tensor>(lossFn: (x: T) => tf.Scalar, x: T, options: Partial<PgdLinfOptions> = {}): T {
  const o = { ...PGD_LINF_DEFAULTS, ...options };
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) throw new Error(`pgdLinf: eps must be a finite number >= 0, got ${o.eps}`);
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new Error(`pgdLinf: steps must be an integer >= 1, got ${o.steps}`);
  const alpha = o.alpha ?? (2.5 * o.eps) / o.steps;
  if (!(Number.isFinite(alpha) && alpha >= 0)) throw new Error(`pgdLinf: alpha must be a finite number >= 0, got ${alpha}`);
  if (o.clip && !(o.clip[0] < o.clip[1])) throw new Error(`pgdLinf: clip must be [low, high] with low < high, got [${o.clip}]`);
  const project = (xt: tf.Tensor): T =>
    tf.tidy(() => {
      const inBall = tf.minimum(tf.maximum(xt, tf.sub(x, o.eps)), tf.add(x, o.eps)); // x.shape: clamp to [x - eps, x + eps]
      return (o.clip ? tf.clipByValue(inBall, o.clip[0], o.clip[1]) : inBall) as T; // x.shape
    });
  let xt: T = o.randomStart
    ? tf.tidy(() => project(tf.add(x, tf.randomUniform(x.shape, -o.eps, o.eps, 'float32', deriveSeed(o.seed, 'pgd-linf-start'))))) // x.shape
    : (x.clone() as T);
  for (let t = 0; t < o.steps; t++) {
    const { xAdv: stepped } = fgsm(lossFn, xt, alpha); // x^t + alpha * sign(grad J(x^t))
    xt.dispose();
    xt = project(stepped);
    stepped.dispose();
  }
  return xt;
}
