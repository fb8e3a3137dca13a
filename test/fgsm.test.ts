import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fastGradientMethod, fgm, fgsm } from '../src/adversarial/fgsm';
import { backend, expectNoLeak } from './helpers';

// A small quadratic per example: J(x) = sum_b sum_i a_i (x_bi - c_i)^2 / 2 + s_i x_bi, in plain JS (double)
// and in tfjs. Its gradient changes sign across coordinates, so the sign test is meaningful.
const A = [1, 3, 0.5, 2];
const C = [0.2, -0.4, 0.9, 0.1];
const S = [0.05, -0.1, 0.3, -0.02];

function jsLoss(x: number[][]): number {
  let J = 0;
  for (const row of x) row.forEach((v, i) => (J += (A[i] * (v - C[i]) ** 2) / 2 + S[i] * v));
  return J;
}

function tfLoss(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const a = tf.tensor1d(A);
    const c = tf.tensor1d(C);
    const s = tf.tensor1d(S);
    return tf.sum(tf.add(tf.div(tf.mul(a, tf.square(tf.sub(x, c))), 2), tf.mul(s, x))) as tf.Scalar; // []
  });
}

/** Central finite differences of jsLoss. (Not checkGradient: the tests need every coordinate's value and sign, in double precision.) */
function fdGrad(x: number[][], h = 1e-6): number[][] {
  return x.map((row, b) =>
    row.map((_, i) => {
      const up = x.map((r) => r.slice());
      const dn = x.map((r) => r.slice());
      up[b][i] += h;
      dn[b][i] -= h;
      return (jsLoss(up) - jsLoss(dn)) / (2 * h);
    }),
  );
}

const X = [
  [0.5, 0.1, 0.2, 0.7],
  [-0.3, -0.9, 1.5, 0.0],
  [0.25, -0.35, 0.8, 0.15],
];

test('FGSM steps by eps along the sign of the finite-difference gradient and increases J', async () => {
  await backend();
  const x = tf.tensor2d(X); // [3, 4]
  const eps = 0.01;
  const { xAdv, grad } = fgsm(tfLoss, x, eps, { returnGrad: true });
  const fd = fdGrad(X);
  const adv = xAdv.arraySync() as number[][];
  const g = grad!.arraySync() as number[][];
  X.forEach((row, b) =>
    row.forEach((v, i) => {
      assert.ok(Math.abs(fd[b][i]) > 1e-3, 'test setup: no zero gradient');
      assert.ok(Math.abs(adv[b][i] - (v + eps * Math.sign(fd[b][i]))) < 1e-6, `x_adv[${b}][${i}]`);
      assert.ok(Math.abs(g[b][i] - fd[b][i]) < 1e-4, `grad[${b}][${i}]`);
    }),
  );
  assert.ok(jsLoss(adv) > jsLoss(X), 'J(x_adv) > J(x)');
  // First order: J(x_adv) - J(x) ~ eps * ||g||_1.
  const l1 = fd.flat().reduce((s, v) => s + Math.abs(v), 0);
  assert.ok(Math.abs(jsLoss(adv) - jsLoss(X) - eps * l1) < 0.05 * eps * l1);
  tf.dispose([x, xAdv, grad!]);
});

test('FGSM finds the sign even for tiny gradients (a batch-mean loss of a confident model)', async () => {
  await backend();
  const x = tf.tensor2d(X); // [3, 4]
  const tiny = (xi: tf.Tensor) => tf.tidy(() => tf.mul(tfLoss(xi), 1e-9) as tf.Scalar); // []
  const { xAdv } = fgsm(tiny, x, 0.1);
  const fd = fdGrad(X);
  const adv = xAdv.arraySync() as number[][];
  X.forEach((row, b) => row.forEach((v, i) => assert.ok(Math.abs(adv[b][i] - (v + 0.1 * Math.sign(fd[b][i]))) < 1e-6)));
  tf.dispose([x, xAdv]);
});

test('the l2 fast gradient method moves each example by eps along its normalised gradient', async () => {
  await backend();
  const x = tf.tensor2d(X); // [3, 4]
  const eps = 0.05;
  const { xAdv } = fgm(tfLoss, x, eps);
  const fd = fdGrad(X);
  const adv = xAdv.arraySync() as number[][];
  X.forEach((row, b) => {
    const n = Math.sqrt(fd[b].reduce((s, v) => s + v * v, 0));
    row.forEach((v, i) => assert.ok(Math.abs(adv[b][i] - (v + (eps * fd[b][i]) / n)) < 1e-5, `x_adv[${b}][${i}]`));
  });
  tf.dispose([x, xAdv]);
});

test('clip keeps x_adv in the valid range', async () => {
  await backend();
  const x = tf.tensor2d([[0, 1, 0.5, 0.98]]); // [1, 4]
  const { xAdv } = fgsm(tfLoss, x, 0.3, { clip: [0, 1] });
  for (const v of xAdv.dataSync()) assert.ok(v >= 0 && v <= 1);
  const { xAdv: free } = fgsm(tfLoss, x, 0.3);
  assert.ok(Array.from(free.dataSync()).some((v) => v < 0 || v > 1), 'test setup: without clip it leaves [0, 1]');
  tf.dispose([x, xAdv, free]);
});

test('on [B, T, D] embeddings with a padding mask, padding positions are never perturbed', async () => {
  await backend();
  const mask = tf.tensor2d([
    [1, 1, 1],
    [1, 0, 0],
  ]); // [2, 3]
  const e = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 11); // [2, 3, 4]
  const w = tf.randomNormal([4], 0, 1, 'float32', 12); // [4]
  // A loss that reads every position, padding included (so its gradient there is not zero).
  const J = (x: tf.Tensor) => tf.tidy(() => tf.sum(tf.square(tf.sum(tf.mul(x, w), -1))) as tf.Scalar); // []
  const m = mask.arraySync();
  for (const norm of ['linf', 'l2'] as const) {
    const eps = 0.1;
    const { xAdv, grad } = fastGradientMethod(J, e, eps, { norm, mask, returnGrad: true, clip: [-10, 10] });
    const step = tf.sub(xAdv, e).arraySync() as number[][][];
    const g = grad!.arraySync() as number[][][];
    let sq = [0, 0];
    step.forEach((ex, b) => ex.forEach((row, t) => row.forEach((v, d) => {
      if (m[b][t] === 0) {
        assert.ok(v === 0, `padding moved by ${v}`);
        assert.ok(Math.abs(g[b][t][d]) > 0, 'test setup: the loss has a gradient on padding');
      } else if (norm === 'linf') {
        assert.ok(Math.abs(Math.abs(v) - eps) < 1e-6);
      }
      sq[b] += v * v;
    })));
    if (norm === 'l2') sq.forEach((s) => assert.ok(Math.abs(Math.sqrt(s) - eps) < 1e-5, `l2 step ${Math.sqrt(s)}`));
    tf.dispose([xAdv, grad!]);
  }
  tf.dispose([mask, e, w]);
});

test('fgsm and fgm leave no tensors behind and reject bad input clearly', async () => {
  await backend();
  const x = tf.tensor2d(X); // [3, 4]
  const mask = tf.ones([3, 4]);
  for (const opts of [{}, { returnGrad: true }, { clip: [0, 1] as [number, number], mask }, { norm: 'l2' as const, mask }]) {
    // counted by hand: x_adv (and grad when asked for) are returned on purpose
    const before = tf.memory().numTensors;
    const r = fastGradientMethod(tfLoss, x, 0.1, opts);
    const owned = 1 + (r.grad ? 1 : 0);
    assert.equal(tf.memory().numTensors, before + owned, 'only the returned tensors are new');
    tf.dispose([r.xAdv, ...(r.grad ? [r.grad] : [])]);
    assert.equal(tf.memory().numTensors, before);
  }
  await expectNoLeak(() => {
    assert.throws(() => fgsm((xi) => tf.sum(xi, 1) as unknown as tf.Scalar, x, 0.1), /scalar loss/);
    assert.throws(() => fgsm(tfLoss, x, -1), /eps must be/);
    assert.throws(() => fgsm(tfLoss, x, 0.1, { clip: [1, 0] }), /clip/);
  }, 'the errors');
  tf.dispose([x, mask]);
});
