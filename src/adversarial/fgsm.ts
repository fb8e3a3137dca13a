/**
 * The fast gradient sign method (FGSM) and the fast gradient method (FGM).
 *
 * Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015:
 *     x_adv = x + eps * sign(grad_x J(theta, x, y))
 * the linf-bounded step that increases the loss J the most to first order.
 *
 * The l2 variant (Miyato, Dai & Goodfellow, "Adversarial Training Methods for Semi-Supervised Text
 * Classification", ICLR 2017, who perturb word embeddings) normalises the gradient per example:
 *     x_adv = x + eps * g / ||g||_2,   g = grad_x J(theta, x, y)
 * with the l2 norm over the whole example (for text: the whole T x D embedding tensor).
 *
 * Both are generic over a loss function of the input, J(x) = lossFn(x). For a batch, lossFn may sum
 * or average the per-example losses: sign and per-example normalisation are unchanged by a positive
 * scale. Each example's loss must depend only on its own input (true for the models here).
 */
import * as tf from '@tensorflow/tfjs';
import { broadcastMask, normalizeGradient, NormType } from './perturbation';

export interface FgsmOptions {
  /** 'linf' gives FGSM (sign of the gradient), 'l2' the fast gradient method. Default 'linf'. */
  norm: NormType;
  /** Clip x_adv to a valid range, e.g. [0, 1] for images. Default: no clipping. */
  clip?: [number, number];
  /** A [B, T] float padding mask for [B, T, D] inputs (1 = token, 0 = padding): padding is never perturbed. */
  mask?: tf.Tensor;
  /** Also return grad_x J (the caller then owns it). Default false. */
  returnGrad: boolean;
}

export const FGSM_DEFAULTS: FgsmOptions = { norm: 'linf', returnGrad: false };

export interface FgsmResult<T extends tf.Tensor> {
  /** The adversarial input x + eps * direction, same shape as x. */
  xAdv: T;
  /** grad_x J(x), only when options.returnGrad. */
  grad?: T;
}

/**
 * One fast-gradient step of size eps from x on the loss lossFn. Returns tensors the caller owns;
 * everything else, including the loss value, is disposed.
 */
export function fastGradientMethod<T extends tf.Tensor>(
  lossFn: (x: T) => tf.Scalar,
  x: T,
  eps: number,
  options: Partial<FgsmOptions> = {},
): FgsmResult<T> {
  const { norm, clip, mask, returnGrad } = { ...FGSM_DEFAULTS, ...options };
  if (!(eps >= 0)) throw new Error(`eps must be a number >= 0, got ${eps}.`);
  if (clip && !(clip[0] <= clip[1])) throw new Error(`clip must be [lo, hi] with lo <= hi, got [${clip}].`);
  let grad: T | undefined;
  const xAdv = tf.tidy(() => {
    // A non-scalar loss is reported after the gradient pass: throwing inside tf.grad leaves
    // tensors on tfjs's gradient tape.
    let badShape: number[] | undefined;
    const g = tf.grad((xi: tf.Tensor) => {
      const J = lossFn(xi as T); // [] expected
      if (J.rank === 0) return J;
      badShape = J.shape;
      return tf.sum(J); // []
    })(x) as T; // same shape as x
    if (badShape) throw new Error(`lossFn must return a scalar loss J(x), got shape [${badShape}]; reduce it with tf.sum or tf.mean.`);
    const direction = normalizeGradient(g, norm, { mask, linfStep: 'sign' }); // [B, T, D]
    let adv = tf.add(x, tf.mul(direction, eps)); // [B, T, D]
    if (clip) {
      adv = tf.clipByValue(adv, clip[0], clip[1]); // [B, T, D]
      // Clipping must not move padding positions either.
      if (mask) adv = tf.add(x, tf.mul(tf.sub(adv, x), broadcastMask(mask, x))); // [B, T, D]
    }
    if (returnGrad) grad = tf.keep(g);
    return adv as T;
  });
  return returnGrad ? { xAdv, grad } : { xAdv };
}

/** FGSM: x_adv = clip(x + eps * sign(grad_x J(x))). See fastGradientMethod for the options. */
export function fgsm<T extends tf.Tensor>(
  lossFn: (x: T) => tf.Scalar,
  x: T,
  eps: number,
  options: Partial<Omit<FgsmOptions, 'norm'>> = {},
): FgsmResult<T> {
  return fastGradientMethod(lossFn, x, eps, { ...options, norm: 'linf' });
}

/** The fast gradient method with the l2 norm: x_adv = x + eps * g / ||g||_2 per example. */
export function fgm<T extends tf.Tensor>(
  lossFn: (x: T) => tf.Scalar,
  x: T,
  eps: number,
  options: Partial<Omit<FgsmOptions, 'norm'>> = {},
): FgsmResult<T> {
  return fastGradientMethod(lossFn, x, eps, { ...options, norm: 'l2' });
}
