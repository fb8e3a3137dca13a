/**
 * FGSM and the fast gradient method (FGM) on the word embeddings of a BERT classifier.
 *
 * Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015:
 *     x_adv = x + eps * sign(grad_x J(theta, x, y))                       (norm 'linf')
 * Miyato, Dai & Goodfellow, "Adversarial Training Methods for Semi-Supervised Text Classification",
 * ICLR 2017, move the word embeddings X [T, D] of a sentence instead of pixels, by
 *     X_adv = X + eps * g / ||g||_2,   g = grad_X J(theta, X, y)            (norm 'l2', scope 'example')
 * with the l2 norm over the whole T x D tensor of the example (as FreeLB's reference code measures
 * its perturbations). Scope 'token' normalises each token's D-vector instead, so that every perturbed
 * token moves by exactly eps (convenient when asking which word a perturbed vector is closest to).
 *
 * Where the perturbation goes: the raw word embeddings X = embedTokens(ids), before position and
 * segment embeddings and LayerNorm (DESIGN.md section 2). Which tokens move:
 *  - padding never (the attention mask);
 *  - [CLS] and [SEP]: by default yes, as in FreeLB's reference code, whose mask is the attention mask;
 *    pass `frozenIds: [tok.clsId, tok.sepId]` to move only the words of the sentence.
 * Frozen and padding positions neither move nor count towards the norms.
 *
 * One gradient serves every radius: the step direction of FGSM / FGM does not depend on eps, so
 * `eps` may be a list and the result holds one entry per radius (the curve "how many predictions
 * flip as eps grows" then costs one backward pass). The model runs in evaluation mode (no dropout).
 * The gradient is that of the SUM of the per-example cross-entropies: each example's gradient is
 * the gradient of its own loss (examples of a batch do not interact in BERT), unscaled by B.
 */
import * as tf from '@tensorflow/tfjs';
import { embedTokens } from '../model/encoder';
import { classifierLogits } from '../model/forward';
import { crossEntropyPerExample } from '../model/losses';
import type { BertParams } from '../model/params';
import type { BertTokenizer } from '../tokenizer';
import { disposeBatch, makeBatch } from '../data/batch';
import type { Example } from '../data/glue';
import { broadcastMask, normalizeGradient, NormType } from './perturbation';

export interface EmbeddingFgsmOptions {
  /** The radius, or several radii (one gradient serves all). */
  eps: number | readonly number[];
  /** 'l2': the fast gradient method (Miyato et al. 2017; default). 'linf': FGSM, eps * sign(g). */
  norm: NormType;
  /**
   * For 'l2': 'example' = unit norm over the example's whole T x D tensor (default; the paper and
   * FreeLB); 'token' = unit norm per token (each perturbed token moves by eps). Ignored for 'linf'.
   */
  scope: 'example' | 'token';
  /** Token ids never perturbed, e.g. [tok.clsId, tok.sepId]. Default none (only padding is kept). */
  frozenIds: readonly number[];
  /** Keep X + delta [B, T, D] for each eps (the caller owns them: disposeEmbeddingFgsm). */
  returnEmbeddings: boolean;
}

export const EMBEDDING_FGSM_DEFAULTS: EmbeddingFgsmOptions = {
  eps: 1,
  norm: 'l2',
  scope: 'example',
  frozenIds: [],
  returnEmbeddings: false,
};

/** A labelled batch as made by makeBatch: ids [B, T], optional token types [B, T], mask [B, T], labels [B]. */
export interface EmbeddingFgsmBatch {
  inputIds: tf.Tensor;
  tokenTypeIds?: tf.Tensor;
  attentionMask: tf.Tensor;
  labels: tf.Tensor;
}

/** Per-example model outputs, plain numbers. */
export interface EmbeddingPredictions {
  /** Cross-entropy per example [B]. */
  loss: number[];
  /** Class probabilities [B][C]. */
  probs: number[][];
  /** argmax class [B]. */
  predictions: number[];
}

/** The outcome at one radius. */
export interface EmbeddingFgsmStep extends EmbeddingPredictions {
  eps: number;
  /** ||delta||_2 over the example's T x D tensor [B]. */
  exampleNorm: number[];
  /** ||delta||_inf of the example [B]. */
  exampleMaxAbs: number[];
  /** ||delta_t||_2 per real token [B][length_b] (0 at frozen tokens). */
  tokenNorm: number[][];
  /** X + delta [B, T, D], only with options.returnEmbeddings. */
  embeddings?: tf.Tensor3D;
}

export interface EmbeddingFgsmResult {
  eps: number[];
  labels: number[];
  /** Real (non-padding) tokens per example [B]. */
  lengths: number[];
  /** 1 where a token may move, 0 where it is frozen, per real token [B][length_b]. */
  perturbable: number[][];
  /** ||grad_X J||_2 per example over the perturbable tokens [B]. */
  gradNorm: number[];
  clean: EmbeddingPredictions;
  /** One entry per eps, in the order given. */
  adversarial: EmbeddingFgsmStep[];
}

function checkOptions(o: EmbeddingFgsmOptions): number[] {
  const eps = typeof o.eps === 'number' ? [o.eps] : [...o.eps];
  if (eps.length === 0) throw new Error('eps is an empty list: give at least one radius.');
  eps.forEach((e) => {
    if (!(Number.isFinite(e) && e >= 0)) throw new Error(`every eps must be a finite number >= 0, got ${e}.`);
  });
  if (o.norm !== 'l2' && o.norm !== 'linf') throw new Error(`norm must be 'l2' or 'linf', got '${o.norm}'.`);
  if (o.scope !== 'example' && o.scope !== 'token') throw new Error(`scope must be 'example' or 'token', got '${o.scope}'.`);
  return eps;
}

/**
 * 1 at tokens that may be perturbed, 0 at padding and at tokens whose id is in frozenIds: [B, T] float32.
 */
export function perturbableMask(inputIds: tf.Tensor, attentionMask: tf.Tensor, frozenIds: readonly number[] = []): tf.Tensor2D {
  if (inputIds.rank !== 2 || !tf.util.arraysEqual(inputIds.shape, attentionMask.shape)) {
    throw new Error(`inputIds and attentionMask must both be [B, T]; got [${inputIds.shape}] and [${attentionMask.shape}].`);
  }
  return tf.tidy(() => {
    let m = tf.cast(attentionMask, 'float32'); // [B, T]
    const ids = tf.cast(inputIds, 'int32'); // [B, T]
    for (const id of frozenIds) m = tf.mul(m, tf.cast(tf.notEqual(ids, id), 'float32')); // [B, T]
    return m as tf.Tensor2D;
  });
}

/**
 * The unit ascent direction for a gradient g [B, T, D] with perturbable mask [B, T]:
 * 'linf': sign(g); 'l2' + 'example': g / ||g||_2 over T x D; 'l2' + 'token': g_t / ||g_t||_2 per token.
 * Masked positions are zero (and do not count towards any norm).
 */
export function embeddingAscentDirection(g: tf.Tensor3D, mask: tf.Tensor, norm: NormType, scope: 'example' | 'token' = 'example'): tf.Tensor3D {
  return tf.tidy(() => {
    if (norm === 'linf' || scope === 'example') {
      return normalizeGradient(g, norm, { mask, linfStep: 'sign' }) as tf.Tensor3D; // [B, T, D]
    }
    const [B, T, D] = g.shape;
    const gm = tf.mul(g, broadcastMask(mask, g)); // [B, T, D]
    const perToken = normalizeGradient(tf.reshape(gm, [B * T, D]), 'l2'); // [B*T, D], unit rows (zero rows stay zero)
    return tf.reshape(perToken, [B, T, D]) as tf.Tensor3D; // [B, T, D]
  });
}

function rows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

function trimmed(m: number[][], lengths: number[]): number[][] {
  return m.map((r, b) => r.slice(0, lengths[b]));
}

/**
 * FGSM / FGM on the word embeddings of one labelled batch (see the file header). Returns plain
 * numbers; with returnEmbeddings also X + delta per eps, which the caller owns.
 */
export function embeddingFgsm(p: BertParams, batch: EmbeddingFgsmBatch, options: Partial<EmbeddingFgsmOptions> = {}): EmbeddingFgsmResult {
  const o = { ...EMBEDDING_FGSM_DEFAULTS, ...options };
  const epsList = checkOptions(o);
  if (!p.classifier) throw new Error('embeddingFgsm needs a classifier: load the checkpoint with numLabels (e.g. loadCheckpoint(dir, {numLabels: 2})).');
  if (p.classifier.weight.shape[0] < 2) throw new Error('embeddingFgsm attacks a classifier (numLabels >= 2); this model is a regression head (numLabels = 1).');
  const { inputIds, attentionMask, tokenTypeIds, labels } = batch;
  if (labels.rank !== 1 || labels.shape[0] !== inputIds.shape[0]) {
    throw new Error(`labels must be [B] with B = ${inputIds.shape[0]} (the batch size), got [${labels.shape}].`);
  }
  const logitsOf = (x: tf.Tensor) => classifierLogits(p, batch, { embeds: x }); // [B, C]
  const core = tf.tidy(() => {
    const mask = perturbableMask(inputIds, attentionMask, o.frozenIds); // [B, T]
    const X = embedTokens(p, inputIds); // [B, T, D]
    const g = tf.grad((x: tf.Tensor) => tf.sum(crossEntropyPerExample(logitsOf(x), labels)))(X) as tf.Tensor3D; // [B, T, D]
    const gm = tf.mul(g, broadcastMask(mask, g)); // [B, T, D]
    const gradNorm = tf.sqrt(tf.sum(tf.square(gm), [1, 2])); // [B]
    const direction = embeddingAscentDirection(g, mask, o.norm, o.scope); // [B, T, D]
    const cleanLogits = logitsOf(X); // [B, C]
    const lengths = tf.sum(tf.cast(attentionMask, 'float32'), 1); // [B]
    return { mask, X, direction, gradNorm, cleanLogits, lengths };
  });
  const outputsOf = (logits: tf.Tensor2D): EmbeddingPredictions => {
    const [loss, probs, pred] = tf.tidy(() => [crossEntropyPerExample(logits, labels), tf.softmax(logits), tf.argMax(logits, 1)]); // [B], [B, C], [B]
    const out = { loss: Array.from(loss.dataSync()), probs: rows(probs), predictions: Array.from(pred.dataSync() as Int32Array) };
    tf.dispose([loss, probs, pred]);
    return out;
  };
  try {
    const lengths = Array.from(core.lengths.dataSync()).map(Math.round);
    const result: EmbeddingFgsmResult = {
      eps: epsList,
      labels: Array.from(labels.dataSync()),
      lengths,
      perturbable: trimmed(rows(core.mask), lengths),
      gradNorm: Array.from(core.gradNorm.dataSync()),
      clean: outputsOf(core.cleanLogits),
      adversarial: [],
    };
    for (const eps of epsList) {
      const step = tf.tidy(() => {
        const delta = tf.mul(core.direction, eps); // [B, T, D]
        const xAdv = tf.add(core.X, delta) as tf.Tensor3D; // [B, T, D]
        return {
          xAdv,
          logits: logitsOf(xAdv), // [B, C]
          exampleNorm: tf.sqrt(tf.sum(tf.square(delta), [1, 2])), // [B]
          exampleMaxAbs: tf.max(tf.abs(delta), [1, 2]), // [B]
          tokenNorm: tf.sqrt(tf.sum(tf.square(delta), 2)), // [B, T]
        };
      });
      result.adversarial.push({
        eps,
        ...outputsOf(step.logits),
        exampleNorm: Array.from(step.exampleNorm.dataSync()),
        exampleMaxAbs: Array.from(step.exampleMaxAbs.dataSync()),
        tokenNorm: trimmed(rows(step.tokenNorm), lengths),
        ...(o.returnEmbeddings ? { embeddings: step.xAdv } : {}),
      });
      tf.dispose([step.logits, step.exampleNorm, step.exampleMaxAbs, step.tokenNorm]);
      if (!o.returnEmbeddings) step.xAdv.dispose();
    }
    return result;
  } finally {
    tf.dispose([core.mask, core.X, core.direction, core.gradNorm, core.cleanLogits, core.lengths]);
  }
}

/** Disposes the perturbed embeddings a result holds (returnEmbeddings: true). */
export function disposeEmbeddingFgsm(result: EmbeddingFgsmResult): void {
  for (const s of result.adversarial) s.embeddings?.dispose();
}

export interface EmbeddingFgsmExamplesOptions extends Omit<EmbeddingFgsmOptions, 'returnEmbeddings'> {
  batchSize: number;
  /** Tokenizer truncation (word pieces including [CLS] and [SEP]). */
  maxLength: number;
}

export const EMBEDDING_FGSM_EXAMPLES_DEFAULTS: EmbeddingFgsmExamplesOptions = {
  ...EMBEDDING_FGSM_DEFAULTS,
  batchSize: 64,
  maxLength: 128,
};

/**
 * embeddingFgsm over a list of examples, batch by batch in the given order; the per-example arrays
 * are concatenated (row i belongs to examples[i]). No tensors are returned.
 */
export function embeddingFgsmExamples(
  p: BertParams,
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  options: Partial<EmbeddingFgsmExamplesOptions> = {},
): EmbeddingFgsmResult {
  const { batchSize, maxLength, ...rest } = { ...EMBEDDING_FGSM_EXAMPLES_DEFAULTS, ...options };
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${batchSize}.`);
  if (examples.length === 0) throw new Error('embeddingFgsmExamples needs at least one example.');
  const epsList = checkOptions({ ...rest, returnEmbeddings: false });
  const all: EmbeddingFgsmResult = {
    eps: epsList,
    labels: [],
    lengths: [],
    perturbable: [],
    gradNorm: [],
    clean: { loss: [], probs: [], predictions: [] },
    adversarial: epsList.map((eps) => ({ eps, loss: [], probs: [], predictions: [], exampleNorm: [], exampleMaxAbs: [], tokenNorm: [] })),
  };
  const append = (into: EmbeddingPredictions, from: EmbeddingPredictions) => {
    into.loss.push(...from.loss);
    into.probs.push(...from.probs);
    into.predictions.push(...from.predictions);
  };
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = makeBatch(tokenizer, examples.slice(start, start + batchSize), 'classification', { maxLength });
    try {
      const r = embeddingFgsm(p, batch, { ...rest, returnEmbeddings: false });
      all.labels.push(...r.labels);
      all.lengths.push(...r.lengths);
      all.perturbable.push(...r.perturbable);
      all.gradNorm.push(...r.gradNorm);
      append(all.clean, r.clean);
      r.adversarial.forEach((s, i) => {
        const into = all.adversarial[i];
        append(into, s);
        into.exampleNorm.push(...s.exampleNorm);
        into.exampleMaxAbs.push(...s.exampleMaxAbs);
        into.tokenNorm.push(...s.tokenNorm);
      });
    } finally {
      disposeBatch(batch);
    }
  }
  return all;
}
