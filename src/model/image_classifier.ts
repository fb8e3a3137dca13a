/**
 * A small classifier for the 8x8 digits: a one-hidden-layer perceptron 64 -> hidden -> 10 (the
 * model only: its training, plain or FGSM-adversarial, is in src/train/image_classifier.ts and its
 * FGSM examples in src/adversarial/image_fgsm.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../seeds';

export interface ImageClassifierConfig {
  inputSize: number;
  hidden: number;
  classes: number;
  activation: 'relu' | 'tanh';
}

export const IMAGE_CLASSIFIER_DEFAULTS: ImageClassifierConfig = {
  inputSize: 64, // 8 x 8 pixels (src/data/digits.ts)
  hidden: 64,
  classes: 10,
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
    return tf.randomUniform([fanIn, fanOut], -a, a, 'float32', deriveSeed(s, 'image_classifier')); // [fanIn, fanOut]
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

