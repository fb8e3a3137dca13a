/**
 * Counting forward and backward passes through the encoder, so that tests can assert that a
 * training method does no more work than its algorithm needs (FreeLB-K: K forward-backward passes;
 * PGD-K: K + 1 forwards, K backwards to delta only and one full backward; YOPO-m-n: m full passes
 * plus (m - 1) n passes through the embeddings and layer 0).
 *
 * The encoder counts (src/model/encoder.ts, `encodeLayers`):
 *   forward          a run through every layer                   partialForward   a run through some of them
 *   backward         a backward pass back through every layer    partialBackward  through some of them
 * and the gradient helper (src/model/gradients.ts) says what each backward was for:
 *   paramBackward    gradients that include the model's parameters (an update follows)
 *   inputBackward    gradients with respect to inputs (delta) only
 *
 * A backward pass is counted by an identity op with a custom gradient at the encoder's output: its
 * gradient function runs once each time a gradient flows back into the layers.
 */
import * as tf from '@tensorflow/tfjs';

export interface PassCounts {
  forward: number;
  partialForward: number;
  backward: number;
  partialBackward: number;
  paramBackward: number;
  inputBackward: number;
}

const ZERO: PassCounts = { forward: 0, partialForward: 0, backward: 0, partialBackward: 0, paramBackward: 0, inputBackward: 0 };

let counts: PassCounts = { ...ZERO };

/** The counts since the last reset (a copy). */
export function passCounts(): PassCounts {
  return { ...counts };
}

/** Sets every count to zero. */
export function resetPassCounts(): void {
  counts = { ...ZERO };
}

/** Adds one to a count (used by the encoder and the gradient helper). */
export function countPass(kind: keyof PassCounts): void {
  counts[kind] += 1;
}

/** The passes done while `f` runs (counts are restored afterwards, so nesting is harmless). */
export function countPasses<T>(f: () => T): { result: T; passes: PassCounts } {
  const saved = counts;
  counts = { ...ZERO };
  try {
    const result = f();
    return { result, passes: { ...counts } };
  } finally {
    const inner = counts;
    counts = saved;
    for (const k of Object.keys(inner) as (keyof PassCounts)[]) counts[k] += inner[k];
  }
}

function countingIdentity(kind: 'backward' | 'partialBackward'): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor) => ({
    value: x.clone(), // shares x's data: no copy
    gradFunc: (dy: tf.Tensor) => {
      countPass(kind);
      return dy;
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

const identityCountingBackward = { full: countingIdentity('backward'), partial: countingIdentity('partialBackward') };

/** x unchanged; a backward pass through it is counted as full (every layer) or partial. */
export function markBackward<T extends tf.Tensor>(x: T, full: boolean): T {
  return (full ? identityCountingBackward.full : identityCountingBackward.partial)(x) as T;
}
