/**
 * Shared perturbation primitives for adversarial training in embedding space (and for images).
 *
 * A perturbation delta has the shape of the input it is added to: [B, T, D] for word embeddings
 * (B examples, T tokens, D dimensions) or [B, ...] in general. Norms are per example, over
 * everything but the batch axis (for text: over the whole T x D tensor, as FreeLB's reference code
 * does). The padding mask is a float [B, T] tensor (1 = real token, 0 = padding); masked positions
 * never receive a perturbation.
 *
 * Methods built from these: PGD (Madry et al., ICLR 2018), FreeAT (Shafahi et al., NeurIPS 2019),
 * YOPO (Zhang et al., NeurIPS 2019), FreeLB (Zhu et al., ICLR 2020), ALUM (Liu et al. 2020).
 *
 * Every norm is clamped from below at NORM_CLAMP (1e-8) so a zero gradient or a zero delta never
 * divides by zero. All random functions take a seed.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../seeds';

/** Lower bound on every norm that is divided by. */
export const NORM_CLAMP = 1e-8;

/** The norm a perturbation is measured and constrained in. */
export type NormType = 'l2' | 'linf';

function checkMask(x: tf.Tensor, mask: tf.Tensor): void {
  const ok = mask.rank <= x.rank && mask.shape.every((s, i) => s === x.shape[i]);
  if (!ok) {
    throw new Error(
      `Padding mask of shape [${mask.shape}] does not match the leading axes of a tensor of shape [${x.shape}]; ` +
        `for [B, T, D] embeddings pass a [B, T] mask (1 = token, 0 = padding).`,
    );
  }
}

/** The mask with trailing axes of size 1 added so it broadcasts against `x` ([B, T] -> [B, T, 1]). */
export function broadcastMask(mask: tf.Tensor, x: tf.Tensor): tf.Tensor {
  checkMask(x, mask);
  return tf.tidy(() => {
    const shape = [...mask.shape, ...new Array(x.rank - mask.rank).fill(1)];
    return tf.cast(mask, 'float32').reshape(shape); // [B, T, 1]
  });
}

/** x with masked (padding) positions set to zero; a copy of x when there is no mask. */
export function applyMask<T extends tf.Tensor>(x: T, mask?: tf.Tensor): T {
  if (!mask) return x.clone();
  return tf.tidy(() => tf.mul(x, broadcastMask(mask, x)) as T); // [B, T, D]
}

/**
 * Per-example norm over every axis but the first, clamped at NORM_CLAMP: [B, ...] -> [B].
 * l2 = sqrt(sum x^2); linf = max |x|.
 */
export function perExampleNorm(x: tf.Tensor, norm: NormType): tf.Tensor1D {
  if (x.rank < 1) throw new Error('perExampleNorm needs a batch axis: a tensor of shape [B, ...].');
  return tf.tidy(() => {
    const flat = x.reshape([x.shape[0], -1]); // [B, T*D]
    const n = norm === 'l2' ? tf.sqrt(tf.sum(tf.square(flat), 1)) : tf.max(tf.abs(flat), 1); // [B]
    return tf.maximum(n, NORM_CLAMP) as tf.Tensor1D; // [B]
  });
}

/** The norm [B] reshaped to [B, 1, ..., 1] so it broadcasts against x. */
function normForBroadcast(x: tf.Tensor, norm: NormType): tf.Tensor {
  return perExampleNorm(x, norm).reshape([x.shape[0], ...new Array(x.rank - 1).fill(1)]); // [B, 1, 1]
}

/** N(mean, std^2) samples reproducible from any seed (0 included: see src/seeds.ts). */
export function seededRandomNormal(shape: number[], mean: number, std: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, mean, std, 'float32', deriveSeed(seed, 'normal')); // shape
}

export type DeltaInit =
  /** delta = 0. */
  | { kind: 'zeros' }
  /** delta ~ U(-mag, mag) per entry (FreeLB's linf init). */
  | { kind: 'uniform'; mag: number }
  /** delta ~ N(0, sigma^2) per entry (SMART/ALUM use sigma^2 = 1e-5). */
  | { kind: 'gaussian'; sigma: number }
  /**
   * FreeLB's l2 init: delta = U(-1, 1) * mask * mag / sqrt(L * D), L = number of real tokens of the
   * example, so E||delta||_2^2 = mag^2 / 3 whatever the sentence length (each U(-1,1) entry has
   * variance 1/3). Reference flag: --adv-init-mag.
   */
  | { kind: 'freelb-l2'; mag: number };

/**
 * An initial perturbation of `shape` ([B, T, D]) with padding positions zeroed by `mask` ([B, T]).
 * Random kinds are reproducible from `seed`.
 */
export function initDelta(shape: number[], init: DeltaInit, options: { mask?: tf.Tensor; seed?: number } = {}): tf.Tensor {
  const { mask, seed = 0 } = options;
  return tf.tidy(() => {
    let delta: tf.Tensor;
    switch (init.kind) {
      case 'zeros':
        delta = tf.zeros(shape); // [B, T, D]
        break;
      case 'uniform':
        delta = tf.randomUniform(shape, -init.mag, init.mag, 'float32', deriveSeed(seed, 'uniform')); // [B, T, D]
        break;
      case 'gaussian':
        delta = seededRandomNormal(shape, 0, init.sigma, seed); // [B, T, D]
        break;
      case 'freelb-l2': {
        const u = tf.randomUniform(shape, -1, 1, 'float32', deriveSeed(seed, 'uniform')); // [B, T, D]
        const B = shape[0];
        const perToken = shape.slice(2).reduce((a, b) => a * b, 1); // D
        const lengths = mask
          ? tf.sum(tf.cast(mask, 'float32').reshape([B, -1]), 1) // [B]  L = real tokens
          : tf.fill([B], shape.length >= 2 ? shape[1] : 1); // [B]
        const scale = tf.div(init.mag, tf.sqrt(tf.maximum(tf.mul(lengths, perToken), 1))); // [B]
        delta = tf.mul(u, scale.reshape([B, ...new Array(shape.length - 1).fill(1)])); // [B, T, D]
        break;
      }
      default:
        throw new Error(`Unknown delta init '${(init as { kind: string }).kind}'; use zeros, uniform, gaussian or freelb-l2.`);
    }
    return mask ? tf.mul(delta, broadcastMask(mask, delta)) : delta; // [B, T, D]
  });
}

/**
 * How a linf ascent step is normalised:
 * - 'max':  g / ||g||_inf per example (FreeLB's reference code, linf branch): the largest entry moves
 *           by exactly the step size, the others proportionally;
 * - 'sign': sign(g) (FGSM / PGD of Madry et al.): every entry moves by the step size, the steepest ascent
 *           direction for the linf ball.
 */
export type LinfStep = 'max' | 'sign';

/**
 * The normalised ascent direction for gradient g [B, ...]:
 * l2: g / ||g||_2 per example (unit l2 norm over the whole T x D tensor);
 * linf: see LinfStep. Padding positions are zeroed before normalising, so they neither move nor
 * count towards the norm.
 */
export function normalizeGradient(
  g: tf.Tensor,
  norm: NormType,
  options: { mask?: tf.Tensor; linfStep?: LinfStep } = {},
): tf.Tensor {
  const { mask, linfStep = 'max' } = options;
  return tf.tidy(() => {
    const gm = mask ? tf.mul(g, broadcastMask(mask, g)) : g; // [B, T, D]
    if (norm === 'linf' && linfStep === 'sign') return tf.sign(gm); // [B, T, D] (exact on wasm too: see backend_wasm_kernels.ts)
    return tf.div(gm, normForBroadcast(gm, norm)); // [B, T, D]
  });
}

/**
 * One ascent step: delta + stepSize * normalizeGradient(g). Does not project (see projectDelta).
 * stepSize is a neutral name because the papers disagree: alpha in PGD and FreeLB (reference flag
 * --adv-lr), eta in ALUM/SMART; FGSM is one step with stepSize = eps.
 */
export function ascentStep(
  delta: tf.Tensor,
  g: tf.Tensor,
  stepSize: number,
  norm: NormType,
  options: { mask?: tf.Tensor; linfStep?: LinfStep } = {},
): tf.Tensor {
  return tf.tidy(() => tf.add(delta, tf.mul(normalizeGradient(g, norm, options), stepSize))); // [B, T, D]
}

/**
 * Projection onto the eps-ball around 0, per example.
 * l2: delta * min(1, eps / ||delta||_2): rescaled only when outside, unchanged inside.
 * linf: clamp every entry to [-eps, eps].
 * eps <= 0 means unconstrained: a copy of delta is returned. (FreeLB reference flag: --adv-max-norm,
 * where 0 also means unconstrained.)
 */
export function projectDelta(delta: tf.Tensor, eps: number, norm: NormType): tf.Tensor {
  if (eps <= 0) return delta.clone();
  return tf.tidy(() => {
    if (norm === 'linf') return tf.clipByValue(delta, -eps, eps); // [B, T, D]
    const scale = tf.minimum(tf.div(eps, normForBroadcast(delta, 'l2')), 1); // [B, 1, 1]
    return tf.mul(delta, scale); // [B, T, D]
  });
}
