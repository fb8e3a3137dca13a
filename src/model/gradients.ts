/**
 * Gradients of a loss with respect to the model's parameters and, in the same backward pass, with
 * respect to inputs such as a perturbation delta of the word embeddings. delta stays a plain
 * tensor (not a registered variable): the engine's gradient call takes any tensors the loss was
 * computed from.
 *
 * `GradientSum` adds parameter gradients over several passes (FreeLB's and YOPO's K passes, which
 * average them), owning and disposing what it holds.
 */
import * as tf from '@tensorflow/tfjs';
import { countPass } from './passes';

export type NamedVariables = [string, tf.Variable][];

export interface LossAndGrads {
  loss: tf.Scalar;
  /** Keyed by checkpoint name. Parameters the loss does not reach are absent. */
  grads: Map<string, tf.Tensor>;
}

export interface LossAndGradients extends LossAndGrads {
  /** d loss / d input, one per input asked for (zeros where the loss does not depend on it). */
  inputGrads: tf.Tensor[];
}

/**
 * loss = f(), and its gradients with respect to `params` (by name) and `inputs`, from one backward
 * pass. `params` may be empty (gradients to the inputs only: counted as an input backward). The
 * caller owns every returned tensor.
 */
export function lossAndGradients(params: NamedVariables, f: () => tf.Scalar, inputs: readonly tf.Tensor[] = []): LossAndGradients {
  if (params.length === 0 && inputs.length === 0) throw new Error('lossAndGradients needs parameters or inputs to differentiate with respect to');
  const xs = [...inputs, ...params.map(([, v]) => v)];
  const { value, grads } = tf.engine().gradients(f, xs, undefined, true);
  countPass(params.length > 0 ? 'paramBackward' : 'inputBackward');
  const inputGrads = inputs.map((x, i) => grads[i] ?? tf.zerosLike(x));
  const byName = new Map<string, tf.Tensor>();
  params.forEach(([name], j) => {
    const g = grads[inputs.length + j];
    if (g) byName.set(name, g);
  });
  return { loss: value as tf.Scalar, grads: byName, inputGrads };
}

/** loss = f() and its gradients with respect to the named parameters (no inputs). */
export function lossAndGrads(params: NamedVariables, f: () => tf.Scalar): LossAndGrads {
  const { loss, grads } = lossAndGradients(params, f);
  return { loss, grads };
}

export function disposeGrads(g: Map<string, tf.Tensor>): void {
  for (const t of g.values()) t.dispose();
}

/** A running sum of parameter gradients over several passes; `take(scale)` hands over the result. */
export class GradientSum {
  private sum = new Map<string, tf.Tensor>();

  /** Adds `grads` times `scale` and disposes `grads`. */
  add(grads: Map<string, tf.Tensor>, scale = 1): void {
    for (const [name, g] of grads) {
      const scaled = scale === 1 ? g : tf.mul(g, scale); // g.shape
      if (scaled !== g) g.dispose();
      const prev = this.sum.get(name);
      if (!prev) {
        this.sum.set(name, scaled);
        continue;
      }
      this.sum.set(name, tf.add(prev, scaled)); // g.shape
      prev.dispose();
      scaled.dispose();
    }
    grads.clear();
  }

  /** The sum (the caller owns it); the accumulator is empty afterwards. */
  take(): Map<string, tf.Tensor> {
    const out = this.sum;
    this.sum = new Map();
    return out;
  }

  dispose(): void {
    disposeGrads(this.sum);
    this.sum.clear();
  }
}
