/**
 * Losses on logits. Every function returns a scalar mean over examples.
 */
import * as tf from '@tensorflow/tfjs';

/** Mean cross-entropy -log softmax(logits)[y]: logits [B, C], labels int [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(crossEntropyPerExample(logits, labels)) as tf.Scalar);
}

/** Per-example cross-entropy [B]. */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const C = logits.shape[1];
    const logp = tf.logSoftmax(logits); // [B, C]
    const y = tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), C); // [B, C]
    return tf.neg(tf.sum(tf.mul(logp, y), 1)) as tf.Tensor1D; // [B]
  });
}

/** Mean squared error for regression: predictions [B, 1] or [B], targets [B]. */
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(predictions, [-1]), tf.reshape(tf.cast(targets, 'float32'), [-1])))) as tf.Scalar);
}

/** The task loss: cross-entropy for classification (C > 1), MSE for regression (C = 1). */
export function taskLoss(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return logits.shape[1] === 1 ? meanSquaredError(logits, labels) : crossEntropy(logits, labels);
}

/** Accuracy of argmax predictions as a number (reads the values). */
export function accuracyOf(logits: tf.Tensor2D, labels: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(tf.reshape(labels, [-1]), 'int32')), 'float32')).dataSync()[0]);
}

/**
 * Positions and targets of an MLM label array [B, T] with `ignore` (-100) at unscored positions:
 * flat positions b*T + t and their target ids. Pure arrays; no tensors.
 */
export function mlmTargets(labels: ArrayLike<number>, ignore = -100): { positions: number[]; targets: number[] } {
  const positions: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== ignore) {
      positions.push(i);
      targets.push(labels[i]);
    }
  }
  return { positions, targets };
}
