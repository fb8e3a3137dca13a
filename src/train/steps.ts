/**
 * Minibatches as the model's tensors, and the MLM loss used to measure pre-training.
 * - mlmBatchTensors: an MLM batch of arrays (masked inputs, labels with -100 at unscored positions)
 *   as an MlmBatch (positions, targets in the output vocabulary's columns);
 * - taskBatchTensors: a labelled batch as a TaskBatch.
 * The losses themselves are computed on the one road in src/model/forward.ts, by the methods of
 * src/adversarial/ (plain training is the method 'vanilla').
 */
import * as tf from '@tensorflow/tfjs';
import { LabelledBatch, MlmArrays } from '../data';
import { BertParams, MlmBatch, OutputVocabulary, TaskBatch, batchLogits, crossEntropy, disposeModelBatch, mlmTargets } from '../model';

/** The tensors of an MLM batch of arrays; with `vocab`, targets are columns of that output vocabulary. */
export function mlmBatchTensors(batch: MlmArrays, vocab?: OutputVocabulary): MlmBatch {
  const { positions, targets: ids } = mlmTargets(batch.labels.flat());
  if (positions.length === 0) throw new Error('an MLM batch has no masked positions');
  const targets = vocab ? ids.map((id) => vocab.index[id] ?? -1) : ids;
  const outside = targets.findIndex((j) => j < 0);
  if (outside >= 0) throw new Error(`MLM target token ${ids[outside]} is not in the output vocabulary: build it from every sequence the batches come from`);
  const [B, T] = batch.shape;
  return {
    kind: 'mlm',
    inputIds: tf.tensor2d(batch.inputIds.flat(), [B, T], 'int32'), // [B, T]
    tokenTypeIds: tf.tensor2d(batch.tokenTypeIds.flat(), [B, T], 'int32'), // [B, T]
    attentionMask: tf.tensor2d(batch.attentionMask.flat(), [B, T], 'float32'), // [B, T]
    positions: tf.tensor1d(positions, 'int32'), // [M]
    targets: tf.tensor1d(targets, 'int32'), // [M]
    ...(vocab ? { outputIds: tf.tensor1d(vocab.ids, 'int32') } : {}), // [S]
  };
}

/** A labelled batch (from makeBatch) as a TaskBatch; the tensors are shared, not copied. */
export function taskBatchTensors(b: LabelledBatch): TaskBatch {
  return { kind: 'task', inputIds: b.inputIds, tokenTypeIds: b.tokenTypeIds, attentionMask: b.attentionMask, labels: b.labels };
}

/**
 * MLM loss of a batch of arrays (inside a tidy or a gradient function). `dropoutSeed` undefined =
 * evaluation mode; `withAccuracy` also counts correct argmax predictions. With `vocab` the softmax
 * runs over that subset of tokens only, and every target must belong to it.
 */
export function mlmLoss(
  p: BertParams,
  batch: MlmArrays,
  dropoutSeed?: number,
  withAccuracy = false,
  vocab?: OutputVocabulary,
): { loss: tf.Scalar; correct?: tf.Scalar; count: number } {
  const b = mlmBatchTensors(batch, vocab);
  try {
    return tf.tidy(() => {
      const logits = batchLogits(p, b, { dropout: dropoutSeed === undefined ? undefined : { seed: dropoutSeed } }); // [M, S]
      const loss = crossEntropy(logits, b.targets);
      const count = b.positions.shape[0];
      if (!withAccuracy) return { loss, count };
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), b.targets), 'float32')) as tf.Scalar;
      return { loss, correct, count };
    });
  } finally {
    disposeModelBatch(b);
  }
}
