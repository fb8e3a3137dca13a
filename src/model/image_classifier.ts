/**
 * A small classifier for the 8x8 digits: a one-hidden-layer perceptron 64 -> hidden -> 10, trained
 * plainly or with FGSM adversarial training (Goodfellow, Shlens & Szegedy, ICLR 2015, section 5):
 *     J~(theta, x, y) = alpha * J(theta, x, y) + (1 - alpha) * J(theta, x + eps * sign(grad_x J(theta, x, y)), y)
 * with alpha = 0.5 in the paper. The adversarial example is recomputed for every batch from the
 * current parameters and treated as a constant input (no gradient flows through its construction).
 */
import * as tf from '@tensorflow/tfjs';
import { DigitsData, DIGITS, digitsTensors, shuffledIndices } from '../data/digits';
import { fgsm } from '../adversarial/fgsm';

export interface ImageClassifierConfig {
  inputSize: number;
  hidden: number;
  classes: number;
  activation: 'relu' | 'tanh';
}

export const IMAGE_CLASSIFIER_DEFAULTS: ImageClassifierConfig = {
  inputSize: DIGITS.pixels,
  hidden: 64,
  classes: DIGITS.classes,
  activation: 'relu',
};

export interface ImageClassifierParams {
  config: ImageClassifierConfig;
  /** The unique variable-name prefix of this instance, e.g. 'image_classifier_3'. */
  name: string;
  w1: tf.Variable; // [inputSize, hidden]
  b1: tf.Variable; // [hidden]
  w2: tf.Variable; // [hidden, classes]
  b2: tf.Variable; // [classes]
}

/** The first prefix `base_n` (n = 0, 1, ...) no registered variable uses (re-running a cell must not collide). */
function freshPrefix(base: string): string {
  const taken = Object.keys(tf.engine().registeredVariables);
  for (let n = 0; ; n++) {
    const prefix = `${base}_${n}`;
    if (!taken.some((v) => v.startsWith(`${prefix}/`))) return prefix;
  }
}

/**
 * New parameters: He-uniform weights for ReLU (U(-a, a) with a = sqrt(6 / fan_in)), LeCun-uniform for
 * tanh (a = sqrt(3 / fan_in)), zero biases. The same config and seed give the same weights.
 * (Uniform on purpose: tf.randomNormal ignores seed 0 in tfjs 4.22; tf.randomUniform does not.)
 */
export function initImageClassifier(config: Partial<ImageClassifierConfig> = {}, seed = 0): ImageClassifierParams {
  const c = { ...IMAGE_CLASSIFIER_DEFAULTS, ...config };
  for (const k of ['inputSize', 'hidden', 'classes'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] > 0)) throw new Error(`config.${k} must be a positive integer, got ${c[k]}.`);
  }
  if (c.activation !== 'relu' && c.activation !== 'tanh') {
    throw new Error(`config.activation must be 'relu' or 'tanh', got '${c.activation}'.`);
  }
  const gain = c.activation === 'relu' ? 6 : 3;
  const name = freshPrefix('image_classifier');
  const v = (t: tf.Tensor, part: string) => tf.variable(t, true, `${name}/${part}`);
  const uniform = (fanIn: number, fanOut: number, s: number) => {
    const a = Math.sqrt(gain / fanIn);
    return tf.randomUniform([fanIn, fanOut], -a, a, 'float32', s); // [fanIn, fanOut]
  };
  return tf.tidy(() => ({
    config: c,
    name,
    w1: v(uniform(c.inputSize, c.hidden, seed), 'w1'), // [64, H]
    b1: v(tf.zeros([c.hidden]), 'b1'), // [H]
    w2: v(uniform(c.hidden, c.classes, seed + 1), 'w2'), // [H, 10]
    b2: v(tf.zeros([c.classes]), 'b2'), // [10]
  }));
}

/** The trainable variables, in a fixed order (the explicit list given to optimisers). */
export function imageClassifierVariables(p: ImageClassifierParams): tf.Variable[] {
  return [p.w1, p.b1, p.w2, p.b2];
}

export function disposeImageClassifier(p: ImageClassifierParams): void {
  for (const v of imageClassifierVariables(p)) v.dispose();
}

/** Logits [N, classes] for images x [N, inputSize]. */
export function imageClassifierLogits(p: ImageClassifierParams, x: tf.Tensor2D): tf.Tensor2D {
  if (x.rank !== 2 || x.shape[1] !== p.config.inputSize) {
    throw new Error(`Expected images of shape [N, ${p.config.inputSize}], got [${x.shape}].`);
  }
  return tf.tidy(() => {
    const pre = tf.add(tf.matMul(x, p.w1), p.b1); // [N, H]
    const h = p.config.activation === 'relu' ? tf.relu(pre) : tf.tanh(pre); // [N, H]
    return tf.add(tf.matMul(h, p.w2), p.b2) as tf.Tensor2D; // [N, 10]
  });
}

/** J(theta, x, y): mean cross-entropy of the logits against integer labels y [N]. */
export function imageClassifierLoss(p: ImageClassifierParams, x: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logits = imageClassifierLogits(p, x); // [N, 10]
    const onehot = tf.oneHot(tf.cast(y, 'int32'), p.config.classes); // [N, 10]
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar; // []
  });
}

/** Predicted classes [N] as plain numbers. */
export function predictImageClasses(p: ImageClassifierParams, x: tf.Tensor2D): number[] {
  const pred = tf.tidy(() => tf.argMax(imageClassifierLogits(p, x), 1)); // [N]
  const out = Array.from(pred.dataSync());
  pred.dispose();
  return out;
}

/** FGSM examples for a batch: x_adv = clip(x + eps * sign(grad_x J), 0, 1). The caller owns the result. */
export function imageFgsmExamples(
  p: ImageClassifierParams,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  eps: number,
  clip: [number, number] | undefined = [0, 1],
): tf.Tensor2D {
  return fgsm((xi: tf.Tensor2D) => imageClassifierLoss(p, xi, y), x, eps, { clip }).xAdv; // [N, 64]
}

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
