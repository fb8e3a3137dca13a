import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, crossEntropyPerExample } from '../src/model';
import { backend, checkGradient, expectNoLeak, maxAbsDiff } from './helpers';

/** -log softmax(z)[y] in float64, by hand. */
function referenceCe(z: number[][], y: number[]): number[] {
  return z.map((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return lse - row[y[i]];
  });
}

test('cross-entropy equals log-sum-exp minus the label logit, for small and large logits, on 2 and 3,000 classes', async () => {
  await backend();
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const cases = [
    { z: [[0.3, -1.2], [2, 2], [-0.5, 4]], y: [0, 1, 0] },
    { z: [[500, -500, 0], [-30, 80, 79.5]], y: [1, 2] }, // a loss of 1,000 nats: no underflow to Infinity
    { z: Array.from({ length: 4 }, () => Array.from({ length: 3000 }, () => 5 * rand())), y: [0, 2999, 17, 1500] },
  ];
  for (const c of cases) {
    const got = await expectNoLeak(
      () => tf.tidy(() => Array.from(crossEntropyPerExample(tf.tensor2d(c.z), tf.tensor1d(c.y, 'int32')).dataSync())),
      'crossEntropyPerExample',
    );
    const want = referenceCe(c.z, c.y);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5 * Math.max(1, want[i]), `example ${i}: ${got[i]} vs ${want[i]}`);
  }
  // float labels (as regression-style batches carry them) are read as class indices
  const f = tf.tidy(() => crossEntropy(tf.tensor2d(cases[0].z), tf.tensor1d([0, 1, 0])).dataSync()[0]);
  assert.ok(Math.abs(f - referenceCe(cases[0].z, [0, 1, 0]).reduce((a, b) => a + b) / 3) < 1e-6);
});

test('cross-entropy gradient is softmax minus one-hot (against tf.grad of the log-softmax form and finite differences), without leaks', async () => {
  await backend();
  const z = tf.tensor2d([[0.3, -1.2, 0.8, 2.1], [2, 2, -1, 0], [-0.5, 4, 1, 1]]); // [3, 4]
  const y = tf.tensor1d([3, 0, 1], 'int32'); // [3]
  const w = tf.tensor1d([0.5, -1, 2]); // [3] weights, so the upstream gradient is not all ones
  const ours = (t: tf.Tensor) => tf.sum(tf.mul(crossEntropyPerExample(t as tf.Tensor2D, y), w)) as tf.Scalar;
  const composite = (t: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(tf.logSoftmax(t), tf.oneHot(y, 4)), 1)), w)) as tf.Scalar);
  await expectNoLeak(() => tf.grad(ours)(z).dispose(), 'the gradient of crossEntropyPerExample');
  const g = tf.grad(ours)(z); // [3, 4]
  const gRef = tf.grad(composite)(z); // [3, 4]
  assert.ok(maxAbsDiff(g, gRef) < 1e-6, `max diff ${maxAbsDiff(g, gRef)}`);
  checkGradient(ours, z, g, { directions: 4 });
  // each row of the gradient sums to 0 (softmax sums to 1, the one-hot too)
  for (const s of tf.tidy(() => Array.from(tf.sum(g, 1).dataSync()))) assert.ok(Math.abs(s) < 1e-6);
  tf.dispose([z, y, w, g, gRef]);
});

test('a label outside [0, C) is an error, not a silent zero loss', async () => {
  await backend();
  await expectNoLeak(() => {
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    const y = tf.tensor1d([1, 3], 'int32');
    assert.throws(() => crossEntropy(z, y), /index value/);
    tf.dispose([z, y]);
  }, 'a rejected label');
});
