/**
 * The plain (non-adversarial) training steps: the loss and its gradients for one minibatch.
 * - mlmStep: masked-language-model cross-entropy at the selected positions (BERT pre-training);
 * - taskStep: cross-entropy (classification) or MSE (regression) on the [CLS] head (fine-tuning).
 * Adversarial methods (src/adversarial/) provide other steps with the same signature.
 */
import * as tf from '@tensorflow/tfjs';
import { LabelledBatch, MlmArrays, disposeBatch } from '../data';
import { BertParams, OutputVocabulary, classificationLogits, crossEntropy, encode, mlmLogits, mlmTargets, namedParams, taskLoss } from '../model';
import { LossAndGrads, lossAndGrads } from './grads';
import { StepContext } from './trainer';

/**
 * MLM loss of a batch (inside a tidy or a gradient function). `dropoutSeed` undefined = evaluation
 * mode; `withAccuracy` also counts correct argmax predictions (an argMax over the vocabulary per
 * target, so training steps skip it). With `vocab` the softmax runs over that subset of tokens
 * only, and every target must belong to it.
 */
export function mlmLoss(
  p: BertParams,
  batch: MlmArrays,
  dropoutSeed?: number,
  withAccuracy = false,
  vocab?: OutputVocabulary,
): { loss: tf.Scalar; correct?: tf.Scalar; count: number } {
  const { positions, targets: ids } = mlmTargets(batch.labels.flat());
  if (positions.length === 0) throw new Error('an MLM batch has no masked positions');
  const targets = vocab ? ids.map((id) => vocab.index[id] ?? -1) : ids;
  const outside = targets.findIndex((j) => j < 0);
  if (outside >= 0) throw new Error(`MLM target token ${ids[outside]} is not in the output vocabulary: build it from every sequence the batches come from`);
  return tf.tidy(() => {
    const [B, T] = batch.shape;
    const ids = tf.tensor2d(batch.inputIds.flat(), [B, T], 'int32'); // [B, T]
    const types = tf.tensor2d(batch.tokenTypeIds.flat(), [B, T], 'int32'); // [B, T]
    const mask = tf.tensor2d(batch.attentionMask.flat(), [B, T], 'float32'); // [B, T]
    const hidden = encode(p, ids, { tokenTypeIds: types, attentionMask: mask, dropout: dropoutSeed === undefined ? undefined : { seed: dropoutSeed } }).hidden; // [B, T, D]
    const outputIds = vocab ? tf.tensor1d(vocab.ids, 'int32') : undefined; // [S]
    const logits = mlmLogits(p, hidden, tf.tensor1d(positions, 'int32'), outputIds); // [M, S] (S = V without vocab)
    const y = tf.tensor1d(targets, 'int32'); // [M], columns of the logits
    const loss = crossEntropy(logits, y);
    if (!withAccuracy) return { loss, count: positions.length };
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')) as tf.Scalar;
    return { loss, correct, count: positions.length };
  });
}

export function mlmStep(p: BertParams, vocab?: OutputVocabulary): (batch: MlmArrays, ctx: StepContext) => LossAndGrads {
  const named = namedParams(p);
  return (batch, ctx) => lossAndGrads(named, () => mlmLoss(p, batch, ctx.seed, false, vocab).loss);
}

/** Task loss of a labelled batch with dropout seeded by `dropoutSeed` (undefined = evaluation mode). */
export function taskBatchLoss(p: BertParams, b: LabelledBatch, dropoutSeed?: number): tf.Scalar {
  return tf.tidy(() => {
    const dropout = dropoutSeed === undefined ? undefined : { seed: dropoutSeed };
    const hidden = encode(p, b.inputIds, { tokenTypeIds: b.tokenTypeIds, attentionMask: b.attentionMask, dropout }).hidden; // [B, T, D]
    return taskLoss(classificationLogits(p, hidden, dropout), b.labels);
  });
}

/** Plain fine-tuning: the batch's tensors are made by `toTensors` and disposed here. */
export function taskStep<B>(p: BertParams, toTensors: (b: B) => LabelledBatch): (batch: B, ctx: StepContext) => LossAndGrads {
  const named = namedParams(p);
  return (batch, ctx) => {
    const t = toTensors(batch);
    try {
      return lossAndGrads(named, () => taskBatchLoss(p, t, ctx.seed));
    } finally {
      disposeBatch(t);
    }
  };
}

