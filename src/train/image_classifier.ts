/**
 * Training and measuring the digits classifier (src/model/image_classifier.ts), plainly or with
 * FGSM adversarial training (Goodfellow, Shlens & Szegedy, ICLR 2015, section 6):
 *     J~(theta, x, y) = alpha * J(theta, x, y) + (1 - alpha) * J(theta, x + eps * sign(grad_x J(theta, x, y)), y)
 * with alpha = 0.5 in the paper. The adversarial example is recomputed for every batch from the
 * current parameters and treated as a constant input (no gradient flows through its construction).
 */
import * as tf from '@tensorflow/tfjs';
import { DigitsData, digitsTensors, shuffledIndices } from '../data/digits';
import { imageFgsmExamples } from '../adversarial/image_fgsm';
import { ImageClassifierParams, imageClassifierLoss, imageClassifierVariables, predictImageClasses } from '../model/image_classifier';

/**
 * Accuracy on a data set, clean (eps = 0, the default) or under FGSM with budget eps
 * (each example attacked with the gradient of its own loss, clipped to [0, 1]).
 */
export function imageClassifierAccuracy(p: ImageClassifierParams, data: DigitsData, options: { eps?: number } = {}): number {
  const eps = options.eps ?? 0;
  const { x, y } = digitsTensors(data); // [N, 64], [N]
  const xEval = eps > 0 ? imageFgsmExamples(p, x, y, eps) : x; // [N, 64]
  const pred = predictImageClasses(p, xEval);
  if (xEval !== x) xEval.dispose();
  x.dispose();
  y.dispose();
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === data.y[i]) correct++;
  return correct / data.y.length;
}

export interface TrainImageClassifierOptions {
  epochs: number;
  /** Adam learning rate. */
  lr: number;
  batchSize: number;
  /** Seeds the batch order. */
  seed: number;
  /**
   * FGSM adversarial training: loss alpha * J(x) + (1 - alpha) * J(x_adv) with x_adv an FGSM example
   * of budget eps, clipped to [0, 1]. alpha defaults to 0.5 (Goodfellow et al.).
   */
  adversarial?: { eps: number; alpha?: number };
  /** Called after each epoch with the epoch's mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Checked between batches: return true to stop early (interrupting a notebook cell does not stop a loop). */
  shouldStop?: () => boolean;
}

export const TRAIN_IMAGE_CLASSIFIER_DEFAULTS: TrainImageClassifierOptions = { epochs: 30, lr: 0.01, batchSize: 32, seed: 0 };

export interface TrainImageClassifierResult {
  /** Mean training loss per epoch (the mixed loss when adversarial). */
  losses: number[];
  seconds: number;
}

/** Trains the parameters in place with Adam (explicit variable list). */
export async function trainImageClassifier(
  p: ImageClassifierParams,
  data: DigitsData,
  options: Partial<TrainImageClassifierOptions> = {},
): Promise<TrainImageClassifierResult> {
  const o = { ...TRAIN_IMAGE_CLASSIFIER_DEFAULTS, ...options };
  const alpha = o.adversarial?.alpha ?? 0.5;
  if (o.adversarial && !(o.adversarial.eps >= 0)) throw new Error(`adversarial.eps must be >= 0, got ${o.adversarial.eps}.`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`adversarial.alpha must be in [0, 1], got ${alpha}.`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}.`);
  const t0 = performance.now();
  const optimizer = tf.train.adam(o.lr);
  const vars = imageClassifierVariables(p);
  const all = digitsTensors(data); // [N, 64], [N]
  const n = data.y.length;
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = shuffledIndices(n, o.seed * 100003 + epoch);
      let sum = 0;
      for (let start = 0; start < n; start += o.batchSize) {
        if (o.shouldStop?.()) return { losses, seconds: (performance.now() - t0) / 1000 };
        const idx = tf.tensor1d(order.slice(start, start + o.batchSize), 'int32'); // [b]
        const x = tf.gather(all.x, idx); // [b, 64]
        const y = tf.gather(all.y, idx); // [b]
        const xAdv = o.adversarial ? imageFgsmExamples(p, x, y, o.adversarial.eps) : undefined; // [b, 64]
        const cost = optimizer.minimize(
          () => {
            const J = imageClassifierLoss(p, x, y); // []
            if (!xAdv) return J;
            return tf.add(tf.mul(alpha, J), tf.mul(1 - alpha, imageClassifierLoss(p, xAdv, y))) as tf.Scalar; // []
          },
          true,
          vars,
        )!;
        sum += cost.dataSync()[0] * idx.shape[0];
        tf.dispose([cost, idx, x, y]);
        xAdv?.dispose();
      }
      losses.push(sum / n);
      o.onEpoch?.(epoch, sum / n);
      await new Promise((resolve) => setImmediate(resolve)); // let the notebook / event loop breathe
    }
  } finally {
    optimizer.dispose();
    tf.dispose([all.x, all.y]);
  }
  return { losses, seconds: (performance.now() - t0) / 1000 };
}
