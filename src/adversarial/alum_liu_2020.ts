/**
 * ALUM: adversarial training for large neural language models (Liu, Cheng, He, Chen, Wang, Poon &
 * Gao, "Adversarial Training for Large Neural Language Models", arXiv:2004.08994, 2020, eq. 2 and
 * Algorithm 1), with the smoothness-inducing adversarial regulariser of SMART (Jiang, He, Chen, Liu,
 * Gao & Zhao, ACL 2020, eq. 3; see smart_loss.ts):
 *
 *   min_theta E_(x,y) [ L(f(x; theta), y) + alpha * max_{||delta||_inf <= eps} l_s(f(x; theta), f(x + delta; theta)) ]
 *
 * Algorithm 1, per minibatch:
 *   delta ~ N(0, sigma^2 I)
 *   for k = 1..K:   g = grad_delta KL(stop(p(x)) || p(x + delta));   delta = Proj_{||delta||_inf <= eps}(delta + eta g)
 *   g_theta = grad_theta [ L(f(x), y) + alpha KL_sym(f(x), f(x + delta)) ]
 *
 * `alpha` here is the WEIGHT of the adversarial term (in FreeLB and PGD alpha is a step size; ALUM's
 * step size is eta). The paper uses alpha = 1 for fine-tuning and alpha = 10 for (continual)
 * pre-training with the MLM loss; both are options (`alpha` for the task objective, `alphaMlm` for
 * the MLM objective), chosen by the objective the trainer asks for. For regression (STS-B) l_s is
 * the squared difference of the two predictions.
 *
 * Cost with the default K = 1: three forwards (clean, one ascent, final adversarial) and two
 * backwards: one to delta only (the ascent) and one full backward of the total loss, which runs back
 * through both the clean and the final adversarial forward. The ascent is computed inside the full
 * pass's forward (a nested gradient), so the clean forward serves both the ascent (as the fixed
 * target p(x)) and the parameter gradient; delta is detached after every ascent step, as in the
 * reference code, so no second-order term reaches theta.
 *
 * K counts ascent steps, as in the paper (K + 2 forwards per minibatch): not the number of
 * forward-backward passes as for FreeLB and PGD in this library.
 *
 * Paper vs reference code (mt-dnn, `SmartPerturbation` and `SymKlCriterion`):
 * - sigma: the paper calls sigma^2 = 1e-5 the variance of delta_0; mt-dnn's `adv_noise_var` = 1e-5
 *   multiplies a standard normal, i.e. it is used as a standard deviation. We follow the code:
 *   `sigma` = 1e-5 is the standard deviation.
 * - Step and constraint: the paper ascends with the raw gradient and projects onto the linf ball
 *   (variant 'paper', the default; eps = 1e-5, the perturbation size we read in the paper's section
 *   4.1 beside eta = 1e-3 and sigma = 1e-5; no copy of the paper was at hand to re-check it when this
 *   was written, so confirm before quoting). With raw gradients of a KL that is flat at delta = 0,
 *   delta stays near sigma and the term is tiny (about 1e-9 on our small models: see the metrics).
 *   Widening eps alone does not help: measured on the shipped SST-2 classifier (notebook 05, section
 *   3), one step with eta <= 0.1 leaves delta at its random start whatever eps; at eps 1e-2 the term
 *   is 4% of the task loss at eta = 10 and 46% at eta = 100. mt-dnn has no eps ball: it normalises each token's delta + eta g by its largest
 *   coordinate, delta = (delta + eta g) / (max_d |delta + eta g| + 1e-6) (variant 'reference'; its
 *   `adv_epsilon` = 1e-6 is that denominator's guard, not a radius; with sigma = 1e-5 and a tiny gradient
 *   the guard is not negligible: each token's largest coordinate ends near 1e-5 / (1e-5 + 1e-6) = 0.9).
 * - Where delta is added: the paper perturbs the word embeddings (x + delta); mt-dnn perturbs the
 *   embedding layer's output (after position/type embeddings, LayerNorm and dropout). Variant
 *   'paper' adds delta to the raw word embeddings (as every method of this library does); variant
 *   'reference' adds it to embeddingOutput(...) and runs encodeLayers from there.
 * - The ascent objective: mt-dnn ascends its `stable_kl` (a logit-odds divergence) summed over rows;
 *   we ascend KL(stop(p_clean) || p_adv) summed over rows (see smart_loss.ts `ascentObjective`).
 * - Dropout: mt-dnn's adversarial forwards draw fresh dropout masks; by default we replay the clean
 *   pass's masks so that only delta differs between the passes (`freshDropout: true` for mt-dnn's).
 * - Padding: mt-dnn's current code draws noise on padding tokens too (harmless: they are masked
 *   out of attention); we keep delta at zero there.
 * - mt-dnn skips the adversarial term when the ascent gradient is NaN or infinite; here the trainer
 *   stops on a NaN and names the term.
 * - Not implemented: SMART's Bregman proximal point (momentum teacher) term, which ALUM does not use.
 *
 * Metrics every step: `cleanLoss` (the task or MLM loss L(x, y)), `advTerm` (l_s, unweighted),
 * `deltaLinf` (mean over examples of ||delta||_inf after the ascent) and `embedAbsMean` (the mean
 * |coordinate| of what delta is added to, over real tokens: the scale eps should be read against).
 */
import * as tf from '@tensorflow/tfjs';
import {
  BertParams, DropoutContext, DropoutMasks, ModelBatch, NamedVariables, batchLogits, classificationLogits, embedTokens, embeddingOutput,
  encodeLayers, lossAndGradients, lossOfLogits, mlmLogits, namedParams,
} from '../model';
import { StepResult } from './method';
import { broadcastMask, initDelta } from './perturbation';
import { defineMethod } from './registry';
import { ascentObjective, smartAdversarialTerm } from './smart_loss';

export interface AlumConfig {
  /** Weight of the adversarial term for the task objective (fine-tuning). Paper: 1. */
  alpha: number;
  /** Weight of the adversarial term for the MLM objective (pre-training). Paper: 10. */
  alphaMlm: number;
  /** Standard deviation of delta_0 ~ N(0, sigma^2 I) (mt-dnn --adv_noise_var). */
  sigma: number;
  /** Ascent step size (mt-dnn --adv_step_size). */
  eta: number;
  /** Ascent steps per minibatch (mt-dnn --adv_k). */
  K: number;
  /** linf radius of delta (variant 'paper' only; <= 0: unconstrained). */
  eps: number;
  /** 'paper': raw word embeddings, raw gradient step, linf projection; 'reference': mt-dnn's. */
  variant: 'paper' | 'reference';
  /** Draw fresh dropout masks for every adversarial forward (mt-dnn) instead of replaying the clean pass's. */
  freshDropout: boolean;
}

export const ALUM_DEFAULTS: AlumConfig = { alpha: 1, alphaMlm: 10, sigma: 1e-5, eta: 1e-3, K: 1, eps: 1e-5, variant: 'paper', freshDropout: false };

/** Guard in the reference variant's per-token max normalisation (mt-dnn --adv_epsilon). */
const REFERENCE_NORM_GUARD = 1e-6;

/** A seed for the k-th adversarial forward's fresh dropout masks, distinct from every step's own seed. */
function forwardSeed(seed: number, k: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 2654435761) + Math.imul(k, 40503)) >>> 1;
}

/** The head's logits from final hidden states [B, T, D]: [B, C] for a task batch, [M, S] for an MLM batch. */
function headLogits(p: BertParams, batch: ModelBatch, hidden: tf.Tensor3D, dropout: DropoutContext | undefined): tf.Tensor2D {
  return batch.kind === 'mlm' ? mlmLogits(p, hidden, batch.positions, batch.outputIds) : classificationLogits(p, hidden, dropout); // [N, C]
}

/**
 * Copies a tensor's values into a new tensor that no gradient tape connects to anything (detach).
 * Why a read-back: the ascent's gradient ops run inside the outer parameter-gradient call, so its
 * tape records them and delta would depend on theta. tfjs has no stop-gradient op; a customGrad
 * that returns zeros would cut the gradient but the backward pass would still run through the
 * whole ascent graph multiplying zeros, which costs more than this copy of B x T x D floats (on wasm
 * and CPU a memory copy; on a GPU backend one sync per ascent step).
 */
function detached(x: tf.Tensor): tf.Tensor {
  return tf.tensor(x.dataSync() as Float32Array, x.shape, 'float32'); // x.shape
}

export interface AlumStepOptions {
  /** delta_0, [B, T, D] (the caller owns it). */
  delta0: tf.Tensor;
  /** Dropout seed of the step; absent: no dropout (evaluation mode, for parity tests). */
  seed?: number;
}

/**
 * One ALUM step on a batch (the method's step with delta_0 given): loss = L + weight * l_s, the
 * parameter gradients from one backward, and the metrics. `weight` is alpha or alphaMlm.
 */
export function alumStep(p: BertParams, named: NamedVariables, batch: ModelBatch, config: AlumConfig, weight: number, o: AlumStepOptions): StepResult {
  const { delta0, seed } = o;
  const masks = new DropoutMasks();
  // forward 0 is the clean pass (records the masks), 1..K the ascent passes, K + 1 the final one
  const dropoutFor = (k: number): DropoutContext | undefined =>
    seed === undefined ? undefined : config.freshDropout ? { seed: k === 0 ? seed : forwardSeed(seed, k) } : { seed, masks };
  const mask = batch.attentionMask; // [B, T] or absent
  const metrics: Record<string, tf.Scalar> = {};
  try {
    const { loss, grads, inputGrads } = lossAndGradients(named, () => {
      const X = embedTokens(p, batch.inputIds); // [B, T, D]
      // base: what delta is added to; logitsAt(d, k): the head's logits with delta d on the k-th forward
      let base: tf.Tensor3D;
      let logitsAt: (d: tf.Tensor | null, k: number) => tf.Tensor2D;
      if (config.variant === 'paper') {
        base = X;
        logitsAt = (d, k) => batchLogits(p, batch, { embeds: d ? tf.add(X, d) : X, dropout: dropoutFor(k) }); // [N, C]
      } else {
        base = embeddingOutput(p, X, { tokenTypeIds: batch.tokenTypeIds, dropout: dropoutFor(0) }); // [B, T, D]
        const h0 = base;
        logitsAt = (d, k) =>
          tf.tidy(() => headLogits(p, batch, encodeLayers(p, d ? tf.add(h0, d) : h0, { attentionMask: mask, dropout: dropoutFor(k) }).hidden, dropoutFor(k))); // [N, C]
      }
      const m3 = mask ? broadcastMask(mask, base) : tf.onesLike(tf.slice(base, [0, 0, 0], [-1, -1, 1])); // [B, T, 1]
      const zc = logitsAt(null, 0); // [N, C]
      let delta: tf.Tensor = delta0; // [B, T, D]
      for (let k = 1; k <= config.K; k++) {
        const d = delta;
        // g = grad_delta KL(stop(p(x)) || p(x + delta))   (summed over rows: smart_loss.ts)
        const r = lossAndGradients([], () => ascentObjective(zc, logitsAt(d, k)), [d]);
        const g = tf.mul(r.inputGrads[0], m3); // [B, T, D], zero on padding
        const stepped = tf.add(d, tf.mul(g, config.eta)); // [B, T, D]  delta + eta g
        let next: tf.Tensor;
        if (config.variant === 'paper') {
          // delta = Proj_{||delta||_inf <= eps}(delta + eta g)
          next = config.eps > 0 ? tf.clipByValue(stepped, -config.eps, config.eps) : stepped; // [B, T, D]
        } else {
          // delta = (delta + eta g) / (max_d |delta + eta g| + 1e-6), per token
          next = tf.div(stepped, tf.add(tf.max(tf.abs(stepped), -1, true), REFERENCE_NORM_GUARD)); // [B, T, D]
        }
        delta = detached(next); // [B, T, D], no path back to theta (the reference code's .detach())
        tf.dispose([r.loss, ...r.inputGrads]);
      }
      const za = logitsAt(delta, config.K + 1); // [N, C]
      const L = lossOfLogits(batch, zc); // []
      const adv = smartAdversarialTerm(zc, za); // []
      const B = base.shape[0];
      metrics.cleanLoss = tf.keep(L);
      metrics.advTerm = tf.keep(adv);
      metrics.deltaLinf = tf.keep(tf.mean(tf.max(tf.reshape(tf.abs(delta), [B, -1]), 1)) as tf.Scalar); // []
      const realCoords = tf.mul(tf.sum(m3), base.shape[2]); // []
      metrics.embedAbsMean = tf.keep(tf.div(tf.sum(tf.mul(tf.abs(base), m3)), realCoords) as tf.Scalar); // []
      // loss = L(f(x), y) + alpha * l_s(f(x), f(x + delta))
      return tf.add(L, tf.mul(adv, weight)) as tf.Scalar; // []
    });
    inputGrads.forEach((t) => t.dispose());
    return { loss, grads, metrics };
  } catch (e) {
    tf.dispose(Object.values(metrics));
    throw e;
  } finally {
    masks.dispose();
  }
}

export const alum = defineMethod<AlumConfig>({
  name: 'alum',
  summary: 'ALUM / SMART: clean loss + alpha * symmetric KL between clean and adversarially perturbed outputs (task or MLM)',
  citation: 'Liu et al., Adversarial Training for Large Neural Language Models, arXiv:2004.08994, 2020; Jiang et al., SMART, ACL 2020',
  objectives: ['task', 'mlm'],
  defaults: ALUM_DEFAULTS,
  options: {
    alpha: { kind: 'number', help: 'weight of the adversarial term when fine-tuning (task objective); the paper uses 1 (a loss weight, not a step size)', min: 0 },
    alphaMlm: { kind: 'number', help: 'weight of the adversarial term when pre-training (MLM objective); the paper uses 10', min: 0 },
    sigma: { kind: 'number', help: 'standard deviation of the initial perturbation delta_0 ~ N(0, sigma^2) (mt-dnn adv_noise_var, used as a standard deviation)', min: 0 },
    eta: { kind: 'number', help: 'ascent step size on delta (mt-dnn adv_step_size)', min: 0 },
    K: { kind: 'number', help: 'ascent steps on delta per minibatch (K + 2 forwards)', integer: true, min: 0 },
    eps: { kind: 'number', help: "linf radius of delta, variant 'paper' (<= 0: unconstrained); the paper's 1e-5", min: 0 },
    variant: { kind: 'string', help: "'paper': word embeddings, raw-gradient step, linf projection; 'reference': mt-dnn's per-token max-normalised delta on the embedding-layer output", choices: ['paper', 'reference'] },
    freshDropout: { kind: 'boolean', help: "fresh dropout masks for each adversarial forward (mt-dnn); default false replays the clean pass's masks" },
  },
  makeStep: (config, ctx) => {
    const p = ctx.params;
    const named = namedParams(p);
    const weight = ctx.objective === 'mlm' ? config.alphaMlm : config.alpha;
    return {
      replays: 1,
      params: [],
      step: (batch, info) => {
        const [B, T] = batch.inputIds.shape;
        const delta0 = initDelta([B, T, p.config.hiddenSize], { kind: 'gaussian', sigma: config.sigma }, { mask: batch.attentionMask, seed: info.seed }); // [B, T, D]
        try {
          return alumStep(p, named, batch, config, weight, { delta0, seed: info.seed });
        } finally {
          delta0.dispose();
        }
      },
      dispose: () => {},
    };
  },
});
