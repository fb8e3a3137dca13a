/**
 * Small pieces shared by the embedding-space methods PGD (pgd_madry_2018.ts), FreeAT
 * (freeat_shafahi_2019.ts) and FreeLB (freelb_zhu_2020.ts): the loss at X + delta, the reference
 * code's initialisation, the projected ascent step, which positions may move, and the symmetric KL
 * regulariser of FreeLB's reference code. The primitives themselves (init, normalise, project, norms)
 * live in perturbation.ts.
 *
 * Notation: X = V Z are the raw word embeddings [B, T, D] (before positions, token types and
 * LayerNorm, where FreeLB's reference code adds delta); delta has the same shape, zero on padding.
 */
import * as tf from '@tensorflow/tfjs';
import { BertParams, DropoutContext, ModelBatch, batchLogits, embedTokens, lossOfLogits } from '../model';
import { DeltaInit, LinfStep, NormType, ascentStep, perExampleNorm, projectDelta } from './perturbation';

/**
 * The reference code's initial perturbation for a given norm and magnitude (FreeLB repository,
 * --adv-init-mag in the HF script, --rand-init-mag in the fairseq scripts):
 *   l2:   delta0 = U(-1, 1) * mask * mag / sqrt(L * D)   (L = real tokens of the example)
 *   linf: delta0 = U(-mag, mag) * mask
 *   mag = 0: delta0 = 0.
 */
export function referenceInit(norm: NormType, mag: number): DeltaInit {
  if (mag <= 0) return { kind: 'zeros' };
  return norm === 'l2' ? { kind: 'freelb-l2', mag } : { kind: 'uniform', mag };
}

/** Which tokens a perturbation may touch: 'none' frozen (both reference codes) or [CLS]/[SEP] frozen. */
export type FrozenTokens = 'none' | 'cls-sep';

/**
 * The positions delta may be non-zero on, [B, T] float32 (1 = may move): the attention mask, and with
 * frozen = 'cls-sep' also without [CLS] and [SEP]. [CLS]/[SEP] are found from the batch layout, not
 * from token ids: position 0, the last real token, and (for sentence pairs) the last token of segment
 * A, i.e. the last position whose token type is 0 before a token of type 1. Caller disposes.
 */
export function perturbableMask(batch: ModelBatch, frozen: FrozenTokens = 'none'): tf.Tensor2D {
  const [B, T] = batch.inputIds.shape as [number, number];
  return tf.tidy(() => {
    const real = batch.attentionMask ? tf.cast(batch.attentionMask, 'float32') : tf.ones([B, T]); // [B, T]
    if (frozen === 'none') return real as tf.Tensor2D;
    const pos = tf.range(0, T, 1, 'float32').reshape([1, T]); // [1, T]
    const lengths = tf.sum(real, 1, true); // [B, 1]
    const isCls = tf.equal(pos, 0); // [1, T]
    const isLast = tf.equal(pos, tf.sub(lengths, 1)); // [B, T]
    let special = tf.logicalOr(isCls, isLast); // [B, T]
    if (batch.tokenTypeIds) {
      // the last token of segment A: type 0 here, type 1 at the next position (pairs only)
      const types = tf.cast(batch.tokenTypeIds, 'float32'); // [B, T]
      const next = tf.concat([tf.slice(types, [0, 1], [B, T - 1]), tf.zeros([B, 1])], 1); // [B, T]
      special = tf.logicalOr(special, tf.logicalAnd(tf.equal(types, 0), tf.equal(next, 1))); // [B, T]
    }
    return tf.mul(real, tf.sub(1, tf.cast(special, 'float32'))) as tf.Tensor2D; // [B, T]
  });
}

/** The logits at word embeddings X + delta (X recomputed from the ids, so parameter gradients reach V). */
export function logitsAtDelta(p: BertParams, batch: ModelBatch, delta: tf.Tensor, dropout?: DropoutContext): tf.Tensor2D {
  return tf.tidy(() => batchLogits(p, batch, { embeds: tf.add(embedTokens(p, batch.inputIds), delta), dropout })); // [B, C] or [M, S]
}

/** L(f(X + delta), y), the batch's mean loss at the perturbed embeddings. */
export function lossAtDelta(p: BertParams, batch: ModelBatch, delta: tf.Tensor, dropout?: DropoutContext): tf.Scalar {
  return tf.tidy(() => lossOfLogits(batch, logitsAtDelta(p, batch, delta, dropout)));
}

export interface AscentConfig {
  /** Step size (alpha). */
  alpha: number;
  /** Radius of the ball (<= 0: unconstrained). */
  eps: number;
  norm: NormType;
  linfStep?: LinfStep;
}

/**
 * One projected ascent step:
 *   delta' = Proj_{||delta|| <= eps}( delta + alpha * g / ||g|| )
 * with g zeroed outside `mask` before normalising, so frozen and padding positions never move.
 */
export function ascendAndProject(delta: tf.Tensor, g: tf.Tensor, c: AscentConfig, mask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => projectDelta(ascentStep(delta, g, c.alpha, c.norm, { mask, linfStep: c.linfStep }), c.eps, c.norm)); // [B, T, D]
}

/** Mean over examples of ||delta|| (per example over the whole T x D tensor), a scalar. */
export function meanDeltaNorm(delta: tf.Tensor, norm: NormType): tf.Scalar {
  return tf.tidy(() => tf.mean(perExampleNorm(delta, norm)) as tf.Scalar);
}

/**
 * The smoothness term of FreeLB's reference code (fairseq criterion, --reg-weight), per example and
 * averaged over the batch (the reference sums, as its loss does):
 *   classification / MLM: KL_sym(P, Q) = 1/2 sum_c (P_c - Q_c)(log P_c - log Q_c),  P = softmax(clean), Q = softmax(adv)
 *   regression (one output): 1/2 (f_adv - f_clean)^2
 * Neither side is detached (as in the reference).
 */
export function freelbSymmetricKl(clean: tf.Tensor2D, adv: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    if (clean.shape[1] === 1) return tf.mean(tf.mul(tf.square(tf.sub(adv, clean)), 0.5)) as tf.Scalar; // []
    const logP = tf.logSoftmax(clean); // [N, C]
    const logQ = tf.logSoftmax(adv); // [N, C]
    const perRow = tf.sum(tf.mul(tf.sub(tf.exp(logP), tf.exp(logQ)), tf.sub(logP, logQ)), 1); // [N]
    return tf.mul(tf.mean(perRow), 0.5) as tf.Scalar; // []
  });
}
