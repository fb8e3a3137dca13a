/**
 * The loss and its gradient with respect to a model's named parameters, via tf.variableGrads with an
 * explicit variable list (the default would take every trainable variable in the engine).
 */
import * as tf from '@tensorflow/tfjs';

export interface LossAndGrads {
  loss: tf.Scalar;
  /** Keyed by checkpoint name. Parameters the loss does not reach are absent. */
  grads: Map<string, tf.Tensor>;
}

export function lossAndGrads(named: [string, tf.Variable][], f: () => tf.Scalar): LossAndGrads {
  const vars = named.map(([, v]) => v);
  const { value, grads } = tf.variableGrads(f, vars);
  const byName = new Map<string, tf.Tensor>();
  for (const [name, v] of named) {
    const g = grads[v.name];
    if (g) byName.set(name, g);
  }
  return { loss: value, grads: byName };
}

export function disposeGrads(g: Map<string, tf.Tensor>): void {
  for (const t of g.values()) t.dispose();
}
