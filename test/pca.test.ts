import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { cosineSimilarityMatrix, pca, symmetricEigen } from '../src/analysis/pca';
import { seededRandom } from '../src/data/rng';
import { backend, expectNoLeak } from './helpers';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

function randomRows(n: number, d: number, seed: number, scales?: number[]): number[][] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => (r() - 0.5) * (scales ? scales[j] : 1)));
}

test('points on the line y = 2x: one component (1, 2)/sqrt(5) carries all the variance', () => {
  const res = pca([[1, 2], [2, 4], [3, 6]], 2);
  close(res.components[0][0], 1 / Math.sqrt(5));
  close(res.components[0][1], 2 / Math.sqrt(5));
  close(res.explainedVarianceRatio[0], 1);
  close(res.explainedVarianceRatio[1], 0);
  // Centred points (-1,-2), (0,0), (1,2) project to -sqrt(5), 0, sqrt(5); variance 10 / 2 = 5.
  [-Math.sqrt(5), 0, Math.sqrt(5)].forEach((v, i) => close(res.points[i][0], v));
  close(res.explainedVariance[0], 5);
  assert.deepEqual(res.mean, [2, 4]);
});

test('a cross of points (+-a, 0), (0, +-b): axes e1, e2 with variances 2a^2/3 and 2b^2/3', () => {
  const a = 3;
  const b = 1;
  const res = pca([[a, 0], [-a, 0], [0, b], [0, -b]], 2);
  close(Math.abs(res.components[0][0]), 1);
  close(Math.abs(res.components[1][1]), 1);
  close(res.explainedVariance[0], (2 * a * a) / 3);
  close(res.explainedVariance[1], (2 * b * b) / 3);
  close(res.explainedVarianceRatio[0], (a * a) / (a * a + b * b));
});

for (const [n, d] of [[40, 6], [6, 30]]) {
  test(`invariants on random data, N = ${n}, D = ${d} (${n < d ? 'Gram' : 'covariance'} route)`, () => {
    const rows = randomRows(n, d, n * 100 + d, Array.from({ length: d }, (_, j) => 1 + 0.5 * j));
    const k = Math.min(n, d);
    const res = pca(rows, k);
    // Orthonormal components.
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        if (res.explainedVariance[i] > 1e-9 && res.explainedVariance[j] > 1e-9) close(dot(res.components[i], res.components[j]), i === j ? 1 : 0, 1e-8);
      }
    }
    // Variances in decreasing order, ratios sum to 1 over all components.
    for (let i = 1; i < k; i++) assert.ok(res.explainedVariance[i] <= res.explainedVariance[i - 1] + 1e-12);
    close(res.explainedVarianceRatio.reduce((s, v) => s + v, 0), 1, 1e-8);
    // Each component is an eigenvector of the covariance matrix: C c = lambda c.
    const mean = res.mean;
    const xc = rows.map((r) => r.map((v, j) => v - mean[j]));
    const cov = (u: number[]) => {
      const xu = xc.map((r) => dot(r, u));
      return Array.from({ length: d }, (_, j) => xc.reduce((s, r, i) => s + r[j] * xu[i], 0) / (n - 1));
    };
    for (let i = 0; i < Math.min(k, n - 1); i++) {
      const cu = cov(res.components[i]);
      cu.forEach((v, j) => close(v, res.explainedVariance[i] * res.components[i][j], 1e-8));
    }
    // The projected points have the explained variances as their variances.
    for (let i = 0; i < k; i++) {
      const col = res.points.map((p) => p[i]);
      close(col.reduce((s, v) => s + v * v, 0) / (n - 1), res.explainedVariance[i], 1e-8);
    }
    // The sign convention: the largest-magnitude entry of each component is positive.
    for (const c of res.components) assert.ok(c.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0) > 0);
  });
}

test('symmetricEigen satisfies A v = lambda v on a random symmetric matrix', () => {
  const r = randomRows(7, 7, 5);
  const a = r.map((row, i) => row.map((v, j) => (v + r[j][i]) / 2));
  const { values, vectors } = symmetricEigen(a);
  vectors.forEach((v, i) => {
    const av = a.map((row) => dot(row, v));
    av.forEach((x, j) => close(x, values[i] * v[j], 1e-10));
    close(dot(v, v), 1, 1e-10);
  });
  close(values.reduce((s, v) => s + v, 0), a.reduce((s, row, i) => s + row[i], 0), 1e-10); // trace
});

test('pca takes a tensor too, and says what is wrong with bad input', async () => {
  await backend();
  const t = tf.tensor2d([[1, 2], [2, 4], [3, 6]]); // [3, 2]
  close((await expectNoLeak(() => pca(t, 1), 'pca of a tensor')).explainedVarianceRatio[0], 1, 1e-6);
  t.dispose();
  assert.throws(() => pca([[1, 2], [3]]), /row 1 has 1 entries, row 0 has 2/);
  assert.throws(() => pca([[1, 2], [3, 4]], 3), /k must be an integer from 1 to min\(N, D\) = 2/);
  assert.throws(() => pca([]), /non-empty/);
  assert.throws(() => pca([[1, NaN]]), /non-finite/);
});

test('cosineSimilarityMatrix: known values, symmetric, zero rows give 0', () => {
  const s = cosineSimilarityMatrix([[1, 0], [0, 2], [-3, 0], [1, 1], [0, 0]]);
  close(s[0][0], 1);
  close(s[0][1], 0);
  close(s[0][2], -1);
  close(s[0][3], 1 / Math.sqrt(2));
  close(s[4][0], 0);
  close(s[4][4], 0);
  s.forEach((row, i) => row.forEach((v, j) => close(v, s[j][i])));
});
