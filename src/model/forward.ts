/**
 * One road from a batch to a loss. Every caller (training losses, evaluation, prediction, FGSM and
 * every adversarial method) goes through these functions, so the logits are computed in one place.
 *
 * A batch is the model's input tensors plus what its head needs:
 *   task batch  labels [B] (class indices, or float targets for regression)      -> logits [B, C]
 *   MLM batch   positions [M] (flat b*T + t), targets [M] (columns of the output
 *               vocabulary), outputIds [S] (the scored token ids; all V if absent) -> logits [M, S]
 * Options:
 *   embeds   the word embeddings to use instead of embedTokens(p, inputIds): X + delta      [B, T, D]
 *   dropout  the dropout context (training mode; with a mask cache, masks are recorded/replayed)
 *
 *   loss(task, classification) = mean_b -log softmax(logits_b)[y_b]
 *   loss(task, regression)     = mean_b (logits_b - y_b)^2
 *   loss(MLM)                  = mean_m -log softmax(logits_m)[target_m]
 */
import * as tf from '@tensorflow/tfjs';
import { DropoutContext } from './dropout';
import { EncoderOutput, embedTokens, encodeFromEmbeddings } from './encoder';
import { classificationLogits, mlmLogits } from './heads';
import { crossEntropy, crossEntropyPerExample, taskLoss } from './losses';
import { BertParams } from './params';

/** The encoder's inputs: ids [B, T] int32, token types [B, T] int32, attention mask [B, T] float32. */
export interface ModelInputs {
  inputIds: tf.Tensor;
  tokenTypeIds?: tf.Tensor;
  attentionMask?: tf.Tensor;
}

/** A fine-tuning batch (classification or regression). */
export interface TaskBatch extends ModelInputs {
  kind: 'task';
  labels: tf.Tensor; // [B]
}

/** A masked-language-model batch. */
export interface MlmBatch extends ModelInputs {
  kind: 'mlm';
  positions: tf.Tensor1D; // [M] int32, flat b*T + t
  targets: tf.Tensor1D; // [M] int32, columns of the logits
  outputIds?: tf.Tensor1D; // [S] int32 (absent: the whole vocabulary)
}

export type ModelBatch = TaskBatch | MlmBatch;

export interface ForwardOptions {
  /** Word embeddings to use in place of embedTokens(p, inputIds), e.g. X + delta [B, T, D]. */
  embeds?: tf.Tensor;
  /** Training mode with this dropout context; evaluation (no dropout) when absent. */
  dropout?: DropoutContext;
}

/** The word embeddings a forward pass starts from: options.embeds, or X = V Z. */
export function wordEmbeddings(p: BertParams, batch: ModelInputs, o: ForwardOptions = {}): tf.Tensor3D {
  if (!o.embeds) return embedTokens(p, batch.inputIds); // [B, T, D]
  const [B, T] = batch.inputIds.shape;
  const s = o.embeds.shape;
  if (s.length !== 3 || s[0] !== B || s[1] !== T || s[2] !== p.config.hiddenSize) {
    throw new Error(`embeds must be [${B}, ${T}, ${p.config.hiddenSize}] (the batch's word embeddings), got [${s}]`);
  }
  return o.embeds as tf.Tensor3D;
}

/** The encoder's output for a batch. */
export function encodeBatch(p: BertParams, batch: ModelInputs, o: ForwardOptions = {}): EncoderOutput {
  const X = wordEmbeddings(p, batch, o); // [B, T, D]
  try {
    return encodeFromEmbeddings(p, X, { tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask, dropout: o.dropout });
  } finally {
    if (X !== o.embeds) X.dispose();
  }
}

/** Classifier (or regression) logits [B, C] of a batch. */
export function classifierLogits(p: BertParams, batch: ModelInputs, o: ForwardOptions = {}): tf.Tensor2D {
  return tf.tidy(() => classificationLogits(p, encodeBatch(p, batch, o).hidden, o.dropout)); // [B, C]
}

/** MLM logits [M, S] at the batch's masked positions. */
export function mlmBatchLogits(p: BertParams, batch: MlmBatch, o: ForwardOptions = {}): tf.Tensor2D {
  return tf.tidy(() => mlmLogits(p, encodeBatch(p, batch, o).hidden, batch.positions, batch.outputIds)); // [M, S]
}

/** The head's outputs: [B, C] for a task batch, [M, S] for an MLM batch. */
export function batchLogits(p: BertParams, batch: ModelBatch, o: ForwardOptions = {}): tf.Tensor2D {
  return batch.kind === 'mlm' ? mlmBatchLogits(p, batch, o) : classifierLogits(p, batch, o);
}

/** The loss of logits against the batch's labels or MLM targets (mean over examples / masked tokens). */
export function lossOfLogits(batch: ModelBatch, logits: tf.Tensor2D): tf.Scalar {
  return batch.kind === 'mlm' ? crossEntropy(logits, batch.targets) : taskLoss(logits, batch.labels);
}

/** The batch's training loss: cross-entropy (classification, MLM) or mean squared error (regression). */
export function batchLoss(p: BertParams, batch: ModelBatch, o: ForwardOptions = {}): tf.Scalar {
  return tf.tidy(() => lossOfLogits(batch, batchLogits(p, batch, o)));
}

/** Per-example losses [B] of a task batch (cross-entropy, or squared error for regression). */
export function taskLossPerExample(p: BertParams, batch: TaskBatch, o: ForwardOptions = {}): tf.Tensor1D {
  return tf.tidy(() => {
    const logits = classifierLogits(p, batch, o); // [B, C]
    if (logits.shape[1] === 1) return tf.square(tf.sub(tf.reshape(logits, [-1]), tf.cast(batch.labels, 'float32'))) as tf.Tensor1D; // [B]
    return crossEntropyPerExample(logits, batch.labels); // [B]
  });
}

/** Disposes every tensor of a batch (the kind tag and other plain fields are left alone). */
export function disposeModelBatch(batch: object): void {
  for (const v of Object.values(batch)) if (v instanceof tf.Tensor) v.dispose();
}
