/**
 * Principal component analysis of a small set of row vectors (e.g. word embeddings before and after
 * a perturbation), in plain JavaScript, for 2-D / 3-D pictures; and a cosine similarity matrix.
 *
 * Method: centre the rows X [N, D]; the principal axes are the eigenvectors of the covariance
 * X^T X / (N - 1). When N < D the same eigenvalues come from the smaller Gram matrix X X^T / (N - 1)
 * (eigenvector u gives the axis X^T u / ||X^T u||), so the work is cubic in min(N, D): fine for a few
 * hundred points or dimensions. Eigenvectors by the cyclic Jacobi method (exact up to rounding).
 * Each component's sign is fixed so that its largest-magnitude entry is positive (deterministic plots).
 */
import * as tf from '@tensorflow/tfjs';

export interface PcaResult {
  /** The rows projected on the first k components: [N, k]. */
  points: number[][];
  /** Orthonormal principal axes, largest variance first: [k, D]. */
  components: number[][];
  /** Variance of the data along each component (denominator N - 1): [k]. */
  explainedVariance: number[];
  /** Fraction of the total variance along each component: [k]. */
  explainedVarianceRatio: number[];
  /** The mean row that was subtracted: [D]. */
  mean: number[];
}

/** Rows from a 2-D tensor or array, validated. */
export function toRows(x: number[][] | tf.Tensor2D, what = 'rows'): number[][] {
  const rows = x instanceof tf.Tensor ? (x.arraySync() as number[][]) : x;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error(`${what}: expected a non-empty list of row vectors.`);
  const D = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== D) throw new Error(`${what}: row ${i} has ${r.length} entries, row 0 has ${D}; all rows must have the same length.`);
    if (!r.every(Number.isFinite)) throw new Error(`${what}: row ${i} contains a non-finite value.`);
  });
  return rows;
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
 * Returns eigenvalues (descending) and the matching unit eigenvectors.
 */
export function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((r) => r.slice());
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))); // columns = eigenvectors
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i][j] * m[i][j];
    if (off < 1e-22 * Math.max(1, m.reduce((s, r, i) => s + r[i] * r[i], 0))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p][q]) < 1e-300) continue;
        // Rotation angle that zeroes m[p][q].
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p];
          const mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k];
          const mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j][j] - m[i][i]);
  return { values: order.map((i) => m[i][i]), vectors: order.map((i) => v.map((row) => row[i])) };
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** PCA of the rows of x onto k components (k <= min(N, D)). */
export function pca(x: number[][] | tf.Tensor2D, k = 2): PcaResult {
  const rows = toRows(x, 'pca');
  const N = rows.length;
  const D = rows[0].length;
  if (!(Number.isInteger(k) && k >= 1 && k <= Math.min(N, D))) {
    throw new Error(`pca: k must be an integer from 1 to min(N, D) = ${Math.min(N, D)}, got ${k}.`);
  }
  const mean = Array.from({ length: D }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / N);
  const xc = rows.map((r) => r.map((v, j) => v - mean[j])); // [N, D]
  const denom = Math.max(N - 1, 1);
  let values: number[];
  let axes: number[][];
  if (N < D) {
    const gram = xc.map((a) => xc.map((b) => dot(a, b) / denom)); // [N, N]
    const eig = symmetricEigen(gram);
    values = eig.values;
    axes = eig.vectors.map((u) => {
      const w = Array.from({ length: D }, (_, j) => u.reduce((s, ui, i) => s + ui * xc[i][j], 0)); // X^T u
      const norm = Math.sqrt(dot(w, w));
      return norm > 1e-12 ? w.map((v) => v / norm) : w;
    });
  } else {
    const cov = Array.from({ length: D }, (_, a) => Array.from({ length: D }, (_, b) => xc.reduce((s, r) => s + r[a] * r[b], 0) / denom)); // [D, D]
    const eig = symmetricEigen(cov);
    values = eig.values;
    axes = eig.vectors;
  }
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  const components = axes.slice(0, k).map((c) => {
    const big = c.reduce((bi, v, i) => (Math.abs(v) > Math.abs(c[bi]) ? i : bi), 0);
    return c[big] < 0 ? c.map((v) => -v) : c;
  });
  const explainedVariance = values.slice(0, k).map((v) => Math.max(v, 0));
  return {
    points: xc.map((r) => components.map((c) => dot(r, c))),
    components,
    explainedVariance,
    explainedVarianceRatio: explainedVariance.map((v) => (total > 0 ? v / total : 0)),
    mean,
  };
}

/** Cosine similarity of every pair of rows: [N, N]; a zero row has similarity 0 with everything. */
export function cosineSimilarityMatrix(x: number[][] | tf.Tensor2D): number[][] {
  const rows = toRows(x, 'cosineSimilarityMatrix');
  const norms = rows.map((r) => Math.sqrt(dot(r, r)));
  return rows.map((a, i) => rows.map((b, j) => (norms[i] > 0 && norms[j] > 0 ? dot(a, b) / (norms[i] * norms[j]) : 0)));
}
