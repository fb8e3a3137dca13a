/**
 * Task heads on top of the encoder's hidden states [B, T, D]:
 * - pooler: tanh(W h_[CLS] + b), the sentence representation BERT classifies from;
 * - classification / regression: a linear layer on the (dropped-out) pooled output;
 * - MLM: dense -> GELU -> LayerNorm, then logits against the tied word embeddings plus a bias,
 *   over the whole vocabulary or over an `OutputVocabulary` (a subset of it).
 */
import * as tf from '@tensorflow/tfjs';
import { DropoutContext, dropout } from './dropout';
import { gelu, layerNorm, linear } from './encoder';
import { BertParams } from './params';

/** tanh(dense(h_[CLS])): [B, T, D] -> [B, D]. */
export function pooledOutput(p: BertParams, hidden: tf.Tensor3D): tf.Tensor2D {
  if (!p.pooler) throw new Error('this model has no pooler: create or load it with numLabels to add a classification head');
  return tf.tidy(() => {
    const [B, , D] = hidden.shape;
    const cls = tf.reshape(tf.slice(hidden, [0, 0, 0], [B, 1, D]), [B, D]); // [B, D]
    return tf.tanh(linear(cls, p.pooler!)) as tf.Tensor2D; // [B, D]
  });
}

/** Logits [B, numLabels] (numLabels = 1: the regression output). */
export function classificationLogits(p: BertParams, hidden: tf.Tensor3D, ctx?: DropoutContext): tf.Tensor2D {
  if (!p.classifier) throw new Error('this model has no classification head: create or load it with numLabels');
  return tf.tidy(() => {
    const pooled = dropout(pooledOutput(p, hidden), p.config.hiddenDropout, 'classifier', ctx); // [B, D]
    return linear(pooled, p.classifier!) as tf.Tensor2D; // [B, numLabels]
  });
}

/**
 * The tokens an MLM head scores when it is restricted to part of the vocabulary: `ids` ascending,
 * and `index[id]` = the id's column in the restricted logits (-1 for a token outside it).
 *
 * Pre-training restricts the softmax to the tokens its corpus contains; why: src/train/pretrain.ts.
 */
export interface OutputVocabulary {
  ids: number[];
  index: Int32Array;
}

/** The output vocabulary of the given token ids (any order, duplicates allowed) in a vocabulary of `vocabSize`. */
export function outputVocabulary(ids: Iterable<number>, vocabSize: number): OutputVocabulary {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('an output vocabulary needs at least one token id');
  const index = new Int32Array(vocabSize).fill(-1);
  sorted.forEach((id, j) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`token id ${id} is outside the vocabulary of ${vocabSize} tokens`);
    index[id] = j;
  });
  return { ids: sorted, index };
}

/**
 * MLM logits at chosen positions. `hidden` is [B, T, D]; `positions` are flat indices b*T + t
 * (int32 [M]); without positions, every position is scored ([B*T, V]: expensive for a big vocab).
 * With `outputIds` (int32 [S], the ids of an OutputVocabulary) only those tokens are scored: [M, S].
 */
export function mlmLogits(p: BertParams, hidden: tf.Tensor3D, positions?: tf.Tensor1D, outputIds?: tf.Tensor1D): tf.Tensor2D {
  if (!p.mlm) throw new Error('this model has no MLM head: create or load it with mlm: true');
  const mlm = p.mlm;
  return tf.tidy(() => {
    const D = hidden.shape[2];
    const flat = tf.reshape(hidden, [-1, D]); // [B*T, D]
    const h = positions ? tf.gather(flat, positions) : flat; // [M, D]
    const t = layerNorm(gelu(linear(h, mlm.transform)), mlm.layerNorm, p.config.layerNormEps); // [M, D]
    const E = outputIds ? tf.gather(p.embeddings.word, outputIds) : p.embeddings.word; // [S, D] (S = V without outputIds)
    const bias = outputIds ? tf.gather(mlm.bias, outputIds) : mlm.bias; // [S]
    return tf.add(tf.matMul(t, E, false, true), bias) as tf.Tensor2D; // [M, S]
  });
}
