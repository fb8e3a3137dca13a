/**
 * The random control of the fast gradient method in word-embedding space, over a list of sentences:
 * each sentence's words moved by eps in a random direction instead of the gradient's, with the same
 * norm (l2 over the sentence's T x D tensor) and the same frozen tokens as `embeddingFgsmExamples`
 * (src/adversarial/embedding_fgsm.ts). If FGM flipped predictions only because the classifier is
 * fragile everywhere, this control would flip as many (Goodfellow, Shlens & Szegedy, ICLR 2015,
 * section 3, made the same comparison for images). The direction is `randomDirection` (random.ts),
 * the one implementation of this control; as for FGM, one direction per sentence serves every
 * radius, so the result at eps_1 < eps_2 lies on one ray. Notebook 02 section 5 puts it beside FGM.
 *
 * Batch by batch, in the given order, reproducible from `seed`; plain numbers out, no tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertParams } from '../../model/params';
import { embedTokens } from '../../model/encoder';
import { classifierLogits } from '../../model/forward';
import { crossEntropyPerExample } from '../../model/losses';
import type { BertTokenizer } from '../../tokenizer';
import { disposeBatch, makeBatch } from '../../data/batch';
import type { Example } from '../../data/glue';
import { EmbeddingPredictions, perturbableMask } from '../../adversarial/embedding_fgsm';
import { deriveSeed } from '../../seeds';
import { randomDirection } from './random';

export interface RandomDirectionExamplesOptions {
  /** The radius, or several radii (one direction per sentence serves all). */
  eps: number | readonly number[];
  /** Token ids never moved, e.g. [tok.clsId, tok.sepId] (padding never moves). */
  frozenIds: readonly number[];
  batchSize: number;
  /** Tokenizer truncation (word pieces including [CLS] and [SEP]). */
  maxLength: number;
  seed: number;
}

export const RANDOM_DIRECTION_EXAMPLES_DEFAULTS: RandomDirectionExamplesOptions = { eps: 1, frozenIds: [], batchSize: 64, maxLength: 128, seed: 0 };

/** The outcome at one radius. */
export interface RandomDirectionStep extends EmbeddingPredictions {
  eps: number;
  /** ||delta||_2 over each sentence's T x D tensor (eps, up to float rounding) [N]. */
  exampleNorm: number[];
}

export interface RandomDirectionExamplesResult {
  eps: number[];
  labels: number[];
  clean: EmbeddingPredictions;
  /** One entry per eps, in the order given. */
  random: RandomDirectionStep[];
}

function predictionsOf(logits: tf.Tensor2D, labels: tf.Tensor): EmbeddingPredictions {
  const [loss, probs, pred] = tf.tidy(() => [crossEntropyPerExample(logits, labels), tf.softmax(logits), tf.argMax(logits, 1)]); // [B], [B, C], [B]
  const out = { loss: Array.from(loss.dataSync()), probs: probs.arraySync() as number[][], predictions: Array.from(pred.dataSync() as Int32Array) };
  tf.dispose([loss, probs, pred]);
  return out;
}

/** Random directions of norm eps on the word embeddings of each sentence (see the file header). */
export function randomDirectionExamples(
  p: BertParams,
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  options: Partial<RandomDirectionExamplesOptions> = {},
): RandomDirectionExamplesResult {
  const o = { ...RANDOM_DIRECTION_EXAMPLES_DEFAULTS, ...options };
  const epsList = typeof o.eps === 'number' ? [o.eps] : [...o.eps];
  if (epsList.length === 0) throw new Error('randomDirectionExamples: eps is an empty list: give at least one radius');
  epsList.forEach((e) => {
    if (!(Number.isFinite(e) && e >= 0)) throw new Error(`randomDirectionExamples: every eps must be a finite number >= 0, got ${e}`);
  });
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new Error(`randomDirectionExamples: batchSize must be a positive integer, got ${o.batchSize}`);
  if (!p.classifier) throw new Error('randomDirectionExamples needs a classifier: load the checkpoint with numLabels (e.g. loadCheckpoint(dir, {numLabels: 2}))');
  const out: RandomDirectionExamplesResult = {
    eps: epsList,
    labels: [],
    clean: { loss: [], probs: [], predictions: [] },
    random: epsList.map((eps) => ({ eps, loss: [], probs: [], predictions: [], exampleNorm: [] })),
  };
  const append = (into: EmbeddingPredictions, from: EmbeddingPredictions) => {
    into.loss.push(...from.loss);
    into.probs.push(...from.probs);
    into.predictions.push(...from.predictions);
  };
  for (let start = 0; start < examples.length; start += o.batchSize) {
    const b = makeBatch(tokenizer, examples.slice(start, start + o.batchSize), 'classification', { maxLength: o.maxLength });
    const [B, T] = b.inputIds.shape;
    const mask = perturbableMask(b.inputIds, b.attentionMask, o.frozenIds); // [B, T]
    const X = embedTokens(p, b.inputIds); // [B, T, D]
    const unit = randomDirection([B, T, p.config.hiddenSize], 1, { mask, seed: deriveSeed(o.seed, 'random-direction-examples', start) }); // [B, T, D], unit l2 per sentence
    try {
      out.labels.push(...Array.from(b.labels.dataSync()));
      const clean = classifierLogits(p, b); // [B, C]
      append(out.clean, predictionsOf(clean, b.labels));
      clean.dispose();
      epsList.forEach((eps, k) => {
        const delta = tf.mul(unit, eps); // [B, T, D]
        const logits = tf.tidy(() => classifierLogits(p, b, { embeds: tf.add(X, delta) })); // [B, C]
        const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(delta), [1, 2]))); // [B]
        append(out.random[k], predictionsOf(logits, b.labels));
        out.random[k].exampleNorm.push(...Array.from(norms.dataSync()));
        tf.dispose([delta, logits, norms]);
      });
    } finally {
      tf.dispose([mask, X, unit]);
      disposeBatch(b);
    }
  }
  return out;
}
