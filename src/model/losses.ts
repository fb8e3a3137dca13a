/**
 * Losses on logits. Every function returns a scalar mean over examples.
 */
import * as tf from '@tensorflow/tfjs';

/** Mean cross-entropy -log softmax(logits)[y]: logits [B, C], labels int [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(crossEntropyPerExample(logits, labels)) as tf.Scalar);
}

/**
 * Per-example cross-entropy [B], with its gradient written out:
 *
 *   L_i      = log sum_j exp(z_ij) - z_{i,y_i} = m_i - log max_j p_ij - z_{i,y_i}
 *   dL_i/dz  = p_i - onehot(y_i)
 *
 * where p = softmax(z) and m_i = max_j z_ij. The second form of L_i holds because softmax's largest
 * entry is exp(0) / sum_j exp(z_ij - m_i): -log of it is the log-normaliser, and it is at least
 * 1/C, so nothing underflows however large the loss. Why not logSoftmax: on the wasm backend the
 * Softmax kernel is one fused pass (XNNPACK) while Exp runs element by element, and the composite
 * logSoftmax plus a one-hot product made about ten passes over the MLM head's [M, 26,629] logits
 * (scripts/bench/profile.ts); this makes one forward pass and three backward ones. Labels outside
 * [0, C) are an error here (a one-hot product would silently score them 0).
 */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, C] = logits.shape;
    const y = tf.cast(tf.reshape(labels, [-1]), 'int32') as tf.Tensor1D; // [B]
    const ce = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
      const p = tf.softmax(z as tf.Tensor2D); // [B, C]
      const logNorm = tf.sub(tf.max(z, 1), tf.log(tf.max(p, 1))); // [B]  log sum_j exp(z_ij)
      const zy = tf.gather(tf.reshape(z, [-1]), tf.add(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(C, 'int32')), y)); // [B]  z_{i,y_i}
      save([p, y]);
      return {
        value: tf.sub(logNorm, zy) as tf.Tensor1D, // [B]
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.sub(saved[0], tf.oneHot(saved[1] as tf.Tensor1D, C)), tf.expandDims(dy, 1)), // [B, C]
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z: tf.Tensor) => tf.Tensor1D;
    return ce(logits);
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
