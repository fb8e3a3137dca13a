/**
 * The smoothness-inducing adversarial loss of SMART (Jiang, He, Chen, Liu, Gao & Zhao, "SMART: Robust
 * and Efficient Fine-Tuning for Pre-trained Natural Language Models through Principled Regularized
 * Optimization", ACL 2020, eq. 3), which ALUM (Liu et al. 2020, arXiv:2004.08994, eq. 2) adds to
 * the training loss:
 *
 *   l_s(f(x), f(x + delta)) = KL_sym(f(x), f(x + delta))            classification, MLM
 *                           = (f(x) - f(x + delta))^2               regression
 *
 * as the reference code computes it (mt-dnn, `SymKlCriterion`):
 *
 *   KL_sym(z_c, z_a) = (1/N) sum_rows [ KL(stop(p_a) || p_c) + KL(stop(p_c) || p_a) ],
 *   p_c = softmax(z_c), p_a = softmax(z_a), N = rows (examples, or masked tokens for MLM)
 *
 * Each KL has its "teacher" distribution detached, so
 *   d KL_sym / d z_c = (p_c - p_a) / N,   d KL_sym / d z_a = (p_a - p_c) / N,
 * which is not the gradient of the symmetric KL's value (that would also differentiate the detached
 * distributions). The value itself is (1/N) sum (p_a - p_c) (log p_a - log p_c) >= 0.
 *
 * The perturbation is found by ascending KL(stop(p_c) || p_a) in delta (the direction the adversary
 * controls); see `ascentObjective`.
 */
import * as tf from '@tensorflow/tfjs';

/** The logits' row count must agree: [N, C] each. */
function checkPair(zc: tf.Tensor, za: tf.Tensor, what: string): void {
  if (zc.rank !== 2 || za.rank !== 2 || !tf.util.arraysEqual(zc.shape, za.shape)) {
    throw new Error(`${what}: clean and adversarial logits must both be [N, C] and of the same shape, got [${zc.shape}] and [${za.shape}]`);
  }
}

type Pair = (zc: tf.Tensor, za: tf.Tensor) => tf.Tensor;

/**
 * KL_sym with the mt-dnn detaches, as a custom gradient (tfjs has no stop-gradient op):
 *   value = (1/N) sum (p_a - p_c)(log p_a - log p_c),  grads (p_c - p_a)/N and (p_a - p_c)/N.
 */
const symKlDetached = tf.customGrad(((zc: tf.Tensor, za: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
  const N = zc.shape[0];
  const lc = tf.logSoftmax(zc); // [N, C]
  const la = tf.logSoftmax(za); // [N, C]
  const pc = tf.exp(lc); // [N, C]
  const pa = tf.exp(la); // [N, C]
  save([pc, pa]);
  const value = tf.div(tf.sum(tf.mul(tf.sub(pa, pc), tf.sub(la, lc))), N); // []
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sc, sa] = saved;
      const d = tf.div(tf.mul(dy, tf.sub(sc, sa)), N); // [N, C]  (p_c - p_a) / N
      return [d, tf.neg(d)]; // [N, C], [N, C]
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Pair;

/**
 * KL(stop(p_a) || p_c) + KL(stop(p_c) || p_a), mean over rows (mt-dnn's SymKlCriterion, reduction
 * 'batchmean'). zc, za: logits [N, C]. Zero when the two are equal; gradients as in the header.
 */
export function smartSymmetricKl(zc: tf.Tensor2D, za: tf.Tensor2D): tf.Scalar {
  checkPair(zc, za, 'smartSymmetricKl');
  return tf.tidy(() => symKlDetached(zc, za) as tf.Scalar); // []
}

/**
 * SMART's adversarial term l_s for a head's outputs [N, C]: the symmetric KL for classification and
 * MLM (C > 1); for regression (C = 1) the mean squared difference of the two predictions, with
 * gradients through both (mt-dnn: MseCriterion between the clean and adversarial outputs).
 */
export function smartAdversarialTerm(zc: tf.Tensor2D, za: tf.Tensor2D): tf.Scalar {
  checkPair(zc, za, 'smartAdversarialTerm');
  if (zc.shape[1] === 1) return tf.tidy(() => tf.mean(tf.square(tf.sub(zc, za))) as tf.Scalar); // []
  return smartSymmetricKl(zc, za);
}

/**
 * What the adversary ascends, summed over rows so that each example's (or masked token's) gradient
 * does not depend on the batch size:
 *   classification / MLM   sum_rows KL(p_c || p_a)      (p_c treated as a constant)
 *   regression             sum_rows (z_a - z_c)^2
 * zc must not depend on delta (it is the clean pass's output); its gradient here is never used.
 *
 * Paper vs reference code: the paper writes the ascent on l_s itself; mt-dnn ascends its
 * `stable_kl(adv, clean)` (a logit-odds form, 2 sum p_a (logit(p_a) - logit(p_c)) with the odds
 * detached), summed over rows, and for regression the summed squared error. We ascend the KL the
 * adversarial term contains, KL(p_c || p_a).
 */
export function ascentObjective(zc: tf.Tensor2D, za: tf.Tensor2D): tf.Scalar {
  checkPair(zc, za, 'ascentObjective');
  return tf.tidy(() => {
    if (zc.shape[1] === 1) return tf.sum(tf.square(tf.sub(za, zc))) as tf.Scalar; // []
    const lc = tf.logSoftmax(zc); // [N, C]
    const la = tf.logSoftmax(za); // [N, C]
    return tf.sum(tf.mul(tf.exp(lc), tf.sub(lc, la))) as tf.Scalar; // []
  });
}
