import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  applyMask,
  ascentStep,
  initDelta,
  normalizeGradient,
  NORM_CLAMP,
  perExampleNorm,
  projectDelta,
  seededRandomNormal,
} from '../src/adversarial/perturbation';
import { backend, expectNoLeak } from './helpers';

const B = 3;
const T = 4;
const D = 5;
// Example 0 has 4 tokens, example 1 has 2, example 2 has 3.
const MASK = [
  [1, 1, 1, 1],
  [1, 1, 0, 0],
  [1, 1, 1, 0],
];

/** Per-example norms computed in plain JS (double precision). */
function jsNorms(x: number[][][], norm: 'l2' | 'linf'): number[] {
  return x.map((ex) => {
    const v = ex.flat();
    return norm === 'l2' ? Math.sqrt(v.reduce((s, a) => s + a * a, 0)) : Math.max(...v.map(Math.abs));
  });
}

/** The values of a tensor, which is then disposed. */
function values(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

test('perExampleNorm matches plain JS and clamps zeros at 1e-8', async () => {
  await backend();
  const x = tf.randomUniform([B, T, D], -2, 2, 'float32', 1); // [B, T, D]
  const xs = x.arraySync() as number[][][];
  for (const norm of ['l2', 'linf'] as const) {
    const got = perExampleNorm(x, norm).arraySync();
    jsNorms(xs, norm).forEach((want, i) => assert.ok(Math.abs(got[i] - want) < 1e-5 * want, `${norm} example ${i}`));
  }
  const z = tf.zeros([2, T, D]);
  for (const n of perExampleNorm(z, 'l2').arraySync()) assert.ok(Math.abs(n - NORM_CLAMP) < 1e-12);
  await expectNoLeak(() => tf.dispose(perExampleNorm(x, 'l2')), 'perExampleNorm');
  await expectNoLeak(() => tf.dispose(perExampleNorm(x, 'linf')), 'perExampleNorm');
  tf.dispose([x, z]);
});

test('l2 projection: outside the ball lands on it, inside is unchanged', async () => {
  await backend();
  const eps = 1.5;
  // Example 0 far outside, example 1 inside, example 2 outside.
  const scales = tf.tensor([3, 0.1, 1], [B, 1, 1]); // [B, 1, 1]
  const delta = tf.mul(tf.randomNormal([B, T, D], 0, 1, 'float32', 2), scales); // [B, T, D]
  const before = jsNorms(delta.arraySync() as number[][][], 'l2');
  assert.ok(before[0] > eps && before[1] < eps && before[2] > eps, `test setup: ${before}`);
  const p = projectDelta(delta, eps, 'l2');
  const after = jsNorms(p.arraySync() as number[][][], 'l2');
  for (const n of after) assert.ok(n <= eps * (1 + 1e-5), `norm ${n} > eps`);
  assert.ok(Math.abs(after[0] - eps) < 1e-4 && Math.abs(after[2] - eps) < 1e-4, 'outside points go to the sphere');
  const dIn = delta.arraySync() as number[][][];
  const pIn = p.arraySync() as number[][][];
  assert.deepEqual(pIn[1], dIn[1], 'inside the ball: unchanged');
  // The direction is kept: p is a positive multiple of delta.
  const ratio = tf.div(p, delta).arraySync() as number[][][];
  const r0 = ratio[0].flat();
  for (const r of r0) assert.ok(Math.abs(r - r0[0]) < 1e-5 && r0[0] > 0);
  await expectNoLeak(() => tf.dispose(projectDelta(delta, eps, 'l2')), 'projectDelta');
  tf.dispose([scales, delta, p]);
});

test('linf projection clamps each entry; eps <= 0 means unconstrained', async () => {
  await backend();
  const delta = tf.randomUniform([B, T, D], -1, 1, 'float32', 3); // [B, T, D]
  const eps = 0.3;
  const p = projectDelta(delta, eps, 'linf');
  const dv = delta.dataSync();
  const pv = p.dataSync();
  for (let i = 0; i < dv.length; i++) {
    assert.ok(Math.abs(pv[i]) <= eps + 1e-7);
    if (Math.abs(dv[i]) <= eps) assert.equal(pv[i], dv[i]);
    else assert.ok(Math.abs(pv[i] - Math.sign(dv[i]) * eps) < 1e-7);
  }
  for (const norm of ['l2', 'linf'] as const) {
    for (const e of [0, -1]) {
      const u = projectDelta(delta, e, norm);
      assert.deepEqual(Array.from(u.dataSync()), Array.from(dv));
      assert.notEqual(u, delta, 'a copy the caller owns, not the input itself');
      u.dispose();
    }
  }
  await expectNoLeak(() => tf.dispose(projectDelta(delta, eps, 'linf')), 'projectDelta');
  await expectNoLeak(() => tf.dispose(projectDelta(delta, 0, 'l2')), 'projectDelta');
  tf.dispose([delta, p]);
});

test('normalizeGradient: l2 gives unit norm along g; linf max gives max-abs 1; sign gives signs; padding is zero', async () => {
  await backend();
  const g = tf.randomNormal([B, T, D], 0, 1e-3, 'float32', 4); // [B, T, D]
  const mask = tf.tensor2d(MASK); // [B, T]
  const gm = (g.arraySync() as number[][][]).map((ex, b) => ex.map((row, t) => row.map((v) => v * MASK[b][t])));

  const l2 = normalizeGradient(g, 'l2', { mask }).arraySync() as number[][][];
  jsNorms(l2, 'l2').forEach((n) => assert.ok(Math.abs(n - 1) < 1e-5));
  const gmNorms = jsNorms(gm, 'l2');
  l2.forEach((ex, b) => ex.forEach((row, t) => row.forEach((v, d) => assert.ok(Math.abs(v - gm[b][t][d] / gmNorms[b]) < 1e-5))));

  const mx = normalizeGradient(g, 'linf', { mask, linfStep: 'max' }).arraySync() as number[][][];
  jsNorms(mx, 'linf').forEach((n) => assert.ok(Math.abs(n - 1) < 1e-6));
  const gmMax = jsNorms(gm, 'linf');
  mx.forEach((ex, b) => ex.forEach((row, t) => row.forEach((v, d) => assert.ok(Math.abs(v - gm[b][t][d] / gmMax[b]) < 1e-5))));

  const sg = normalizeGradient(g, 'linf', { mask, linfStep: 'sign' }).arraySync() as number[][][];
  sg.forEach((ex, b) => ex.forEach((row, t) => row.forEach((v, d) => assert.equal(v, Math.sign(gm[b][t][d]) || 0))));

  for (const out of [l2, mx, sg]) {
    out.forEach((ex, b) => ex.forEach((row, t) => { if (MASK[b][t] === 0) assert.ok(row.every((v) => v === 0), 'padding moved'); }));
  }
  // Zero gradient: no NaN, just zero.
  const z = tf.zeros([B, T, D]);
  assert.ok(normalizeGradient(z, 'l2').dataSync().every((v) => v === 0));
  await expectNoLeak(() => tf.dispose(normalizeGradient(g, 'l2', { mask })), 'normalizeGradient');
  await expectNoLeak(() => tf.dispose(normalizeGradient(g, 'linf', { mask, linfStep: 'sign' })), 'normalizeGradient');
  tf.dispose([g, mask, z]);
});

test('ascentStep moves by exactly alpha in the chosen norm, along the gradient, not on padding', async () => {
  await backend();
  const mask = tf.tensor2d(MASK); // [B, T]
  const delta = initDelta([B, T, D], { kind: 'uniform', mag: 0.1 }, { mask, seed: 5 }); // [B, T, D]
  const g = tf.randomNormal([B, T, D], 0, 1, 'float32', 6); // [B, T, D]
  const alpha = 0.25;
  for (const norm of ['l2', 'linf'] as const) {
    const next = ascentStep(delta, g, alpha, norm, { mask });
    const step = tf.sub(next, delta); // [B, T, D]
    jsNorms(step.arraySync() as number[][][], norm).forEach((n) => assert.ok(Math.abs(n - alpha) < 1e-5, `${norm} step ${n}`));
    // Ascent: the step has a positive inner product with g per example.
    const inner = tf.sum(tf.mul(step, g), [1, 2]).arraySync() as number[];
    inner.forEach((v) => assert.ok(v > 0));
    const s = step.arraySync() as number[][][];
    s.forEach((ex, b) => ex.forEach((row, t) => { if (MASK[b][t] === 0) assert.ok(row.every((v) => v === 0)); }));
    await expectNoLeak(() => tf.dispose(ascentStep(delta, g, alpha, norm, { mask })), 'ascentStep');
    tf.dispose([next, step]);
  }
  tf.dispose([mask, delta, g]);
});

test('initDelta: FreeLB l2 init has E||delta||^2 = mag^2 / 3 whatever the length, zero on padding', async () => {
  await backend();
  const n = 400;
  const t = 12;
  const d = 16;
  const lengths = Array.from({ length: n }, (_, i) => 1 + (i % t));
  const mask = tf.tensor2d(lengths.map((L) => Array.from({ length: t }, (_, j) => (j < L ? 1 : 0)))); // [n, t]
  const mag = 0.6;
  const delta = initDelta([n, t, d], { kind: 'freelb-l2', mag }, { mask, seed: 7 }); // [n, t, d]
  const sq = tf.sum(tf.square(delta), [1, 2]).arraySync() as number[];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const want = (mag * mag) / 3;
  assert.ok(Math.abs(mean(sq) / want - 1) < 0.05, `mean ||delta||^2 = ${mean(sq)}, want ${want}`);
  const short = mean(sq.filter((_, i) => lengths[i] <= 4));
  const long = mean(sq.filter((_, i) => lengths[i] >= 9));
  assert.ok(Math.abs(short / want - 1) < 0.1 && Math.abs(long / want - 1) < 0.1, `short ${short}, long ${long}`);
  // Entries of example i are bounded by mag / sqrt(L_i * d).
  const dv = delta.arraySync() as number[][][];
  dv.forEach((ex, i) => ex.forEach((row, j) => row.forEach((v) => {
    if (j >= lengths[i]) assert.ok(v === 0, `padding ${v}`);
    else assert.ok(Math.abs(v) <= mag / Math.sqrt(lengths[i] * d) + 1e-7);
  })));
  await expectNoLeak(() => tf.dispose(initDelta([n, t, d], { kind: 'freelb-l2', mag }, { mask, seed: 7 })), 'initDelta');
  tf.dispose([mask, delta]);
});

test('initDelta: uniform, gaussian and zeros have the right statistics, are seeded and masked', async () => {
  await backend();
  const shape = [50, 10, 20];
  const mask = tf.ones([50, 10]); // [50, 10]
  const u = values(initDelta(shape, { kind: 'uniform', mag: 0.2 }, { mask, seed: 8 }));
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / u.length;
  assert.ok(u.every((v) => Math.abs(v) <= 0.2));
  assert.ok(Math.abs(mean) < 0.005 && Math.abs(variance / (0.04 / 3) - 1) < 0.05, `uniform mean ${mean} var ${variance}`);

  const sigma = Math.sqrt(1e-5); // SMART / ALUM
  const g = values(initDelta(shape, { kind: 'gaussian', sigma }, { seed: 0 }));
  const gstd = Math.sqrt(g.reduce((a, b) => a + b * b, 0) / g.length);
  assert.ok(Math.abs(gstd / sigma - 1) < 0.03, `gaussian std ${gstd}`);
  // Seed 0 is reproducible too (tf.randomNormal alone ignores seed 0).
  const g2 = values(initDelta(shape, { kind: 'gaussian', sigma }, { seed: 0 }));
  assert.deepEqual(g2, g);
  const g3 = values(initDelta(shape, { kind: 'gaussian', sigma }, { seed: 1 }));
  assert.notDeepEqual(g3, g);

  const padMask = tf.tensor2d(MASK); // [B, T]
  for (const init of [{ kind: 'uniform', mag: 1 }, { kind: 'gaussian', sigma: 1 }, { kind: 'zeros' }] as const) {
    const dv = initDelta([B, T, D], init, { mask: padMask, seed: 9 }).arraySync() as number[][][];
    dv.forEach((ex, b) => ex.forEach((row, t) => { if (MASK[b][t] === 0 || init.kind === 'zeros') assert.ok(row.every((v) => v === 0)); }));
    await expectNoLeak(() => tf.dispose(initDelta([B, T, D], init, { mask: padMask, seed: 9 })), 'initDelta');
  }
  await expectNoLeak(() => tf.dispose(seededRandomNormal([3], 0, 1, 0)), 'seededRandomNormal');
  tf.dispose([mask, padMask]);
});

test('tf.sign is right for tiny values (wasm kernel replaced), applyMask zeroes padding', async () => {
  await backend();
  const x = tf.tensor1d([1e-12, -1e-12, 1e-30, -3, 0, 2]); // [6]
  assert.deepEqual(Array.from(tf.tidy(() => tf.sign(x)).dataSync()), [1, -1, 1, -1, 0, 1]);
  const ones = tf.ones([B, T, D]);
  const mask = tf.tensor2d(MASK); // [B, T]
  const m = applyMask(ones, mask).arraySync() as number[][][];
  m.forEach((ex, b) => ex.forEach((row, t) => row.forEach((v) => assert.equal(v, MASK[b][t]))));
  await expectNoLeak(() => tf.dispose(applyMask(ones, mask)), 'applyMask');
  await expectNoLeak(() => tf.dispose(applyMask(ones)), 'applyMask');
  assert.throws(() => applyMask(ones, tf.ones([B, T + 1])), /mask of shape \[3,5\].*\[3,4,5\]/);
  tf.dispose([x, ones, mask]);
});
