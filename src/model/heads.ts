/**
 * Task heads on top of the encoder's hidden states [B, T, D]:
 * - pooler: tanh(W h_[CLS] + b), the sentence representation BERT classifies from;
 * - classification / regression: a linear layer on the (dropped-out) pooled output;
 * - MLM: dense -> GELU -> LayerNorm, then logits against the tied word embeddings plus a bias.
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
 * MLM logits at chosen positions. `hidden` is [B, T, D]; `positions` are flat indices b*T + t
 * (int32 [M]); without positions, every position is scored ([B*T, V]: expensive for a big vocab).
 */
export function mlmLogits(p: BertParams, hidden: tf.Tensor3D, positions?: tf.Tensor1D): tf.Tensor2D {
  if (!p.mlm) throw new Error('this model has no MLM head: create or load it with mlm: true');
  const mlm = p.mlm;
  return tf.tidy(() => {
    const D = hidden.shape[2];
    const flat = tf.reshape(hidden, [-1, D]); // [B*T, D]
    const h = positions ? tf.gather(flat, positions) : flat; // [M, D]
    const t = layerNorm(gelu(linear(h, mlm.transform)), mlm.layerNorm, p.config.layerNormEps); // [M, D]
    return tf.add(tf.matMul(t, p.embeddings.word, false, true), mlm.bias) as tf.Tensor2D; // [M, V]
  });
}
