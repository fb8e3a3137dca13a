/**
 * src/stats: the Student t distribution (against textbook critical values and closed forms), the
 * paired t-test over seeds (by hand), the paired bootstrap over dev examples, and the summaries.
 *
 * Textbook two-sided 5% critical values of t: 12.706 (1 df), 2.776 (4 df), 2.228 (10 df),
 * 1.960 (infinite df); 1% with large df: 2.576. Closed forms of the t CDF used below:
 *   df = 1 (Cauchy)  F(t) = 1/2 + atan(t) / pi
 *   df = 2           F(t) = 1/2 + t / (2 sqrt(2 + t^2))
 *   df = 4           P(|T| >= |t|) = 1 - (3/2) u + (1/2) u^3,  u = |t| / sqrt(t^2 + 4)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  logGamma,
  meanAndStandardError,
  medianAndVariance,
  pairedBootstrap,
  pairedTTest,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
} from '../src/stats';
import { accuracy, matthewsCorrelation, pearson } from '../src/data/metrics';
import { createRng } from '../src/data/rng';

const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

// ---------------------------------------------------------------- special functions, t distribution

test('logGamma: factorials, Gamma(1/2) = sqrt(pi), the recurrence Gamma(x + 1) = x Gamma(x)', () => {
  let f = 1;
  for (let n = 1; n <= 30; n++) {
    close(logGamma(n + 1), Math.log((f *= n)), `ln ${n}!`, 1e-12 * Math.max(1, Math.log(f)));
  }
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 'ln Gamma(1/2)', 1e-14);
  close(logGamma(1), 0, 'ln Gamma(1)', 1e-14);
  for (const x of [1e-6, 0.1, 0.7, 3.3, 14.5, 15, 40.2, 1e5]) close(logGamma(x + 1), logGamma(x) + Math.log(x), `recurrence at ${x}`, 1e-12 * Math.max(1, Math.abs(logGamma(x + 1))));
  assert.ok(Number.isNaN(logGamma(0)) && Number.isNaN(logGamma(-1)));
});

test('regularized incomplete beta: closed forms and the reflection I_x(a, b) + I_(1-x)(b, a) = 1', () => {
  for (const x of [0, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 1]) {
    close(regularizedIncompleteBeta(x, 1, 1), x, `I_${x}(1, 1)`);
    close(regularizedIncompleteBeta(x, 3.5, 1), x ** 3.5, `I_${x}(3.5, 1)`);
    close(regularizedIncompleteBeta(x, 1, 2.5), 1 - (1 - x) ** 2.5, `I_${x}(1, 2.5)`);
    for (const [a, b] of [[0.5, 0.5], [2, 7], [40, 3], [0.3, 90]]) {
      // (1 - x passed with x as its exact complement: rounding 1 - 1e-9 alone moves I by 1e-12)
      close(regularizedIncompleteBeta(x, a, b) + regularizedIncompleteBeta(1 - x, b, a, x), 1, `reflection ${x} ${a} ${b}`, 1e-13);
    }
    // the arcsine distribution: I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x))
    close(regularizedIncompleteBeta(x, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(x)), `I_${x}(1/2, 1/2)`, 1e-14);
  }
  // I_{1/2}(a, a) = 1/2 by symmetry
  for (const a of [0.5, 1, 4, 37.5, 1000]) close(regularizedIncompleteBeta(0.5, a, a), 0.5, `I_1/2(${a}, ${a})`, 1e-13);
  assert.throws(() => regularizedIncompleteBeta(1.5, 1, 1), /x must be in \[0, 1\]/);
  assert.throws(() => regularizedIncompleteBeta(0.5, 0, 1), /a and b must be > 0/);
});

test('t distribution: two-sided p-values at the textbook critical values', () => {
  // the tables give 3 decimals, so the p-value is 0.05 to within the rounding of t
  close(studentTTwoSidedP(12.706, 1), 0.05, '12.706, 1 df', 1e-5);
  close(studentTTwoSidedP(2.776, 4), 0.05, '2.776, 4 df', 1e-4);
  close(studentTTwoSidedP(-2.776, 4), 0.05, '-2.776, 4 df', 1e-4);
  close(studentTTwoSidedP(2.228, 10), 0.05, '2.228, 10 df', 1e-4);
  close(studentTTwoSidedP(2.042, 30), 0.05, '2.042, 30 df', 1e-4);
  close(studentTTwoSidedP(1.96, 1e6), 0.05, '1.96, 1e6 df', 1e-4);
  close(studentTTwoSidedP(2.576, 1e6), 0.01, '2.576, 1e6 df', 1e-4);
  close(studentTTwoSidedP(4.604, 4), 0.01, '4.604, 4 df', 1e-5);
  // and the other way round: the quantiles are the table's entries
  close(studentTQuantile(0.975, 1), 12.706, 't_0.975 (1 df)', 5e-4);
  close(studentTQuantile(0.975, 4), 2.776, 't_0.975 (4 df)', 5e-4);
  close(studentTQuantile(0.975, 10), 2.228, 't_0.975 (10 df)', 5e-4);
  close(studentTQuantile(0.995, 4), 4.604, 't_0.995 (4 df)', 5e-4);
  close(studentTQuantile(0.975, 1e6), 1.96, 't_0.975 (1e6 df)', 5e-4);
  close(studentTQuantile(0.025, 4), -2.776, 't_0.025 (4 df)', 5e-4);
  close(studentTTwoSidedP(0, 3), 1, 't = 0');
  close(studentTTwoSidedP(Infinity, 3), 0, 't = Infinity');
});

test('t distribution: CDF equals the closed forms for 1, 2 and 4 degrees of freedom', () => {
  for (let t = -60; t <= 60; t += 0.37) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, `Cauchy at ${t}`, 1e-13);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), `2 df at ${t}`, 1e-13);
    const u = Math.abs(t) / Math.sqrt(t * t + 4);
    const p4 = 1 - 1.5 * u + 0.5 * u ** 3;
    close(studentTTwoSidedP(t, 4), p4, `4 df at ${t}`, 1e-13);
  }
});

test('t distribution: CDF symmetric about 0, monotone, between 0 and 1; the quantile inverts it', () => {
  for (const df of [1, 2.5, 4, 9, 30, 1000, 1e6]) {
    close(studentTCdf(0, df), 0.5, `F(0), ${df} df`);
    let prev = 0;
    for (let i = -5000; i <= 5000; i++) {
      const t = i / 100;
      const f = studentTCdf(t, df);
      assert.ok(f >= prev, `not monotone at t = ${t}, ${df} df: ${f} < ${prev}`);
      assert.ok(f >= 0 && f <= 1, `F(${t}) = ${f} out of [0, 1]`);
      close(f + studentTCdf(-t, df), 1, `symmetry at ${t}, ${df} df`, 1e-14);
      prev = f;
    }
    for (const p of [1e-6, 0.01, 0.1, 0.4, 0.6, 0.9, 0.975, 0.999999]) {
      close(studentTCdf(studentTQuantile(p, df), df), p, `F(F^-1(${p})), ${df} df`, 1e-12);
    }
  }
  assert.throws(() => studentTCdf(1, 0), /degrees of freedom/);
  assert.throws(() => studentTQuantile(1, 3), /p must be in \(0, 1\)/);
});

// ---------------------------------------------------------------- paired t-test

test('paired t-test by hand: differences 1, 2, 3, 2, 2', () => {
  // d = a - b = [1, 2, 3, 2, 2]: mean 2, squared deviations 1 + 0 + 1 + 0 + 0 = 2, sample variance
  // 2/4 = 0.5, se = sqrt(0.5 / 5) = sqrt(0.1), t = 2 / sqrt(0.1) = sqrt(40) = 6.3246, 4 df;
  // p = 1 - 1.5 u + 0.5 u^3 with u = sqrt(40 / 44) = sqrt(10/11): 0.0031982021523353...
  const a = [3, 5, 7, 4, 6];
  const b = [2, 3, 4, 2, 4];
  const r = pairedTTest(a, b);
  assert.equal(r.n, 5);
  assert.equal(r.df, 4);
  close(r.meanDifference, 2, 'mean difference');
  close(r.sdDifference, Math.sqrt(0.5), 'sd');
  close(r.se, Math.sqrt(0.1), 'se');
  close(r.t, Math.sqrt(40), 't');
  const u = Math.sqrt(10 / 11);
  close(r.p, 1 - 1.5 * u + 0.5 * u ** 3, 'p (closed form)', 1e-14);
  close(r.p, 0.0031982021523353, 'p (value)', 1e-15);
  // 95% interval: 2 -/+ t_{0.975, 4} sqrt(0.1), t_{0.975, 4} = 2.7764451051977...
  close(r.interval[0], 2 - 2.7764451051977 * Math.sqrt(0.1), 'interval low', 1e-11);
  close(r.interval[1], 2 + 2.7764451051977 * Math.sqrt(0.1), 'interval high', 1e-11);
  // swapping the methods flips the sign, not the p-value
  const s = pairedTTest(b, a);
  close(s.t, -Math.sqrt(40), 't swapped');
  close(s.p, r.p, 'p swapped', 1e-15);
  // a wider interval at 99%
  const w = pairedTTest(a, b, { level: 0.99 });
  assert.ok(w.interval[0] < r.interval[0] && w.interval[1] > r.interval[1]);
});

test('paired t-test: accuracies over five seeds (scipy.stats.ttest_rel gives t 7.7992042034, p 0.0014581089)', () => {
  const r = pairedTTest([0.912, 0.905, 0.921, 0.915, 0.909], [0.901, 0.899, 0.91, 0.908, 0.902]);
  close(r.t, 7.799204203436179, 't', 1e-9);
  close(r.p, 0.0014581089266073118, 'p', 1e-12);
  // a difference that is not significant: p well above 0.05, interval straddles 0
  const n = pairedTTest([0.91, 0.9, 0.92], [0.9, 0.91, 0.915]);
  assert.ok(n.p > 0.5 && n.interval[0] < 0 && n.interval[1] > 0, JSON.stringify(n));
});

test('paired t-test: errors, and the defined behaviour when all differences are identical (se = 0)', () => {
  assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), /a has 3 values but b has 2/);
  assert.throws(() => pairedTTest([1], [0]), /at least 2 pairs/);
  assert.throws(() => pairedTTest([], []), /at least 2 pairs/);
  assert.throws(() => pairedTTest([1, NaN], [0, 0]), /pair 1/);
  assert.throws(() => pairedTTest([1, 2], [0, 0], { level: 1 }), /level/);
  // every seed moved the same way by the same amount: t = +/-Infinity, p = 0
  const up = pairedTTest([1.5, 2.5, 3.5], [1, 2, 3]);
  assert.equal(up.se, 0);
  assert.equal(up.t, Infinity);
  assert.equal(up.p, 0);
  assert.deepEqual(up.interval, [0.5, 0.5]);
  const down = pairedTTest([1, 2, 3], [3, 4, 5]);
  assert.deepEqual([down.meanDifference, down.se, down.t, down.p], [-2, 0, -Infinity, 0]);
  // identical scores on every seed: t = 0, p = 1
  const same = pairedTTest([0.9, 0.8, 0.85], [0.9, 0.8, 0.85]);
  assert.deepEqual([same.meanDifference, same.se, same.t, same.p, same.interval], [0, 0, 0, 1, [0, 0]]);
});

// ---------------------------------------------------------------- paired bootstrap

/**
 * Binary gold labels and two methods' predictions with a chosen overlap: `both` examples both
 * methods get right, `onlyA` only A, `onlyB` only B, `neither` none; the examples are shuffled.
 */
function pairedPredictions(counts: { both: number; onlyA: number; onlyB: number; neither: number }, seed: number) {
  const rng = createRng(seed);
  const kinds: string[] = [];
  for (const [k, c] of Object.entries(counts)) for (let i = 0; i < c; i++) kinds.push(k);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const gold = kinds.map(() => rng.int(2));
  const a = kinds.map((k, i) => (k === 'both' || k === 'onlyA' ? gold[i] : 1 - gold[i]));
  const b = kinds.map((k, i) => (k === 'both' || k === 'onlyB' ? gold[i] : 1 - gold[i]));
  return { gold, a, b };
}

test('bootstrap: identical predictions give a zero difference and the interval [0, 0]', () => {
  const { gold, a } = pairedPredictions({ both: 30, onlyA: 10, onlyB: 0, neither: 10 }, 1);
  const other = a.map((v, i) => (i % 3 === 0 ? 1 - v : v));
  for (const metric of [accuracy, matthewsCorrelation]) {
    const r = pairedBootstrap({ a: [a, other], b: [a, other], gold, metric, resamples: 200 });
    assert.equal(r.observed, 0);
    assert.deepEqual(r.interval, [0, 0]);
    assert.equal(r.resamples, 200);
  }
});

test('bootstrap: a known accuracy gap lies inside the interval, which excludes 0, with the width the paired standard error predicts', () => {
  // n = 500: A right on 425 (85%), B on 375 (75%), gap 0.10. Per example the difference
  // D_i = [A right] - [B right] is +1 on 75 examples, -1 on 25, 0 on 400, so
  // var(D) = 100/500 - 0.1^2 = 0.19 and the standard error of the gap is sqrt(0.19 / 500) = 0.0195:
  // a 95% interval of about 0.10 -/+ 0.038.
  const { gold, a, b } = pairedPredictions({ both: 350, onlyA: 75, onlyB: 25, neither: 50 }, 2);
  const r = pairedBootstrap({ a: [a], b: [b], gold, metric: accuracy, resamples: 2000, seed: 7 });
  close(r.observed, 0.1, 'observed gap');
  close(r.metricA, 0.85, 'accuracy A');
  close(r.metricB, 0.75, 'accuracy B');
  assert.equal(r.n, 500);
  assert.ok(r.interval[0] < 0.1 && r.interval[1] > 0.1, `gap outside ${r.interval}`);
  assert.ok(r.interval[0] > 0, `interval ${r.interval} should exclude 0`);
  const half = (r.interval[1] - r.interval[0]) / 2;
  const expected = 1.96 * Math.sqrt(0.19 / 500);
  assert.ok(Math.abs(half / expected - 1) < 0.1, `half-width ${half} vs ${expected}`);
  // The pairing matters: resampling the two methods independently would give
  // se = sqrt(0.85 * 0.15 / 500 + 0.75 * 0.25 / 500) = 0.0251, wider than the paired 0.0195.
  assert.ok(half < 1.96 * Math.sqrt((0.85 * 0.15 + 0.75 * 0.25) / 500) * 0.9);
});

test('bootstrap: a small gap on a small set gives an interval containing 0', () => {
  const { gold, a, b } = pairedPredictions({ both: 14, onlyA: 2, onlyB: 1, neither: 3 }, 3);
  const r = pairedBootstrap({ a: [a], b: [b], gold, metric: accuracy, resamples: 1000 });
  close(r.observed, 0.05, 'observed');
  assert.ok(r.interval[0] < 0 && r.interval[1] > 0, `${r.interval}`);
});

test('bootstrap: seeds averaged per method, the numbers of seeds may differ; one index draw shared by every seed and both methods', () => {
  const { gold, a, b } = pairedPredictions({ both: 60, onlyA: 20, onlyB: 10, neither: 10 }, 4);
  const flip = (p: number[], every: number) => p.map((v, i) => (i % every === 0 ? 1 - v : v));
  const as = [a, flip(a, 7), flip(a, 11)];
  const bs = [b, flip(b, 5)];
  const calls: string[] = [];
  const spy = (p: ArrayLike<number>, g: ArrayLike<number>) => {
    calls.push(Array.from(g).join(''));
    return accuracy(p, g);
  };
  const resamples = 50;
  const r = pairedBootstrap({ a: as, b: bs, gold, metric: spy, resamples, seed: 3 });
  const meanAcc = (ps: number[][]) => ps.reduce((s, p) => s + accuracy(p, gold), 0) / ps.length;
  close(r.metricA, meanAcc(as), 'mean over A seeds');
  close(r.metricB, meanAcc(bs), 'mean over B seeds');
  close(r.observed, meanAcc(as) - meanAcc(bs), 'observed');
  // the full set once per seed, then (3 + 2) calls per resample, all on the same resampled gold
  assert.equal(calls.length, 5 * (resamples + 1));
  for (let k = 0; k < resamples; k++) {
    const group = calls.slice(5 * (k + 1), 5 * (k + 2));
    assert.ok(group.every((g) => g === group[0]), `resample ${k} not shared`);
  }
  assert.notEqual(calls[5], calls[10], 'two resamples drew the same indices');
});

test('bootstrap: Matthews correlation and Pearson passed in as the metric', () => {
  const { gold, a, b } = pairedPredictions({ both: 300, onlyA: 60, onlyB: 20, neither: 20 }, 5);
  const m = pairedBootstrap({ a: [a], b: [b], gold, metric: matthewsCorrelation, resamples: 500, seed: 1 });
  close(m.observed, matthewsCorrelation(a, gold) - matthewsCorrelation(b, gold), 'observed MCC gap');
  assert.ok(m.interval[0] < m.observed && m.observed < m.interval[1] && m.interval[0] > 0, `${m.observed} ${m.interval}`);

  // regression (STS-B style): A = gold + small noise, B = gold + large noise
  const rng = createRng(9);
  const noise = () => rng.next() + rng.next() + rng.next() - 1.5;
  const y = Array.from({ length: 200 }, () => 5 * rng.next());
  const pa = [y.map((v) => v + 0.5 * noise()), y.map((v) => v + 0.5 * noise())];
  const pb = [y.map((v) => v + 2 * noise())];
  const p = pairedBootstrap({ a: pa, b: pb, gold: y, metric: pearson, resamples: 500, seed: 2 });
  close(p.observed, (pearson(pa[0], y) + pearson(pa[1], y)) / 2 - pearson(pb[0], y), 'observed Pearson gap');
  assert.ok(p.interval[0] > 0 && p.interval[0] < p.observed && p.observed < p.interval[1], `${p.observed} ${p.interval}`);
  assert.equal(p.undefinedResamples, 0);

  // a constant prediction: Pearson is undefined on every resample
  const c = pairedBootstrap({ a: pa, b: [y.map(() => 1)], gold: y, metric: pearson, resamples: 20 });
  assert.ok(Number.isNaN(c.observed) && Number.isNaN(c.interval[0]) && Number.isNaN(c.interval[1]));
  assert.deepEqual([c.resamples, c.undefinedResamples], [0, 20]);
});

test('bootstrap: the same seed gives the same interval, another seed a slightly different one', () => {
  const { gold, a, b } = pairedPredictions({ both: 150, onlyA: 30, onlyB: 15, neither: 25 }, 6);
  const run = (seed: number) => pairedBootstrap({ a: [a], b: [b], gold, metric: accuracy, resamples: 1000, seed });
  const r1 = run(11);
  const r2 = run(11);
  const r3 = run(12);
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1.interval, r3.interval);
  close(r1.interval[0], r3.interval[0], 'low end across seeds', 0.015);
  close(r1.interval[1], r3.interval[1], 'high end across seeds', 0.015);
  const wide = pairedBootstrap({ a: [a], b: [b], gold, metric: accuracy, resamples: 1000, seed: 11, level: 0.99 });
  assert.ok(wide.interval[0] < r1.interval[0] && wide.interval[1] > r1.interval[1]);
});

test('bootstrap: clear errors for empty input and mismatched lengths', () => {
  const gold = [1, 0, 1];
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1]], b: [[1, 0, 1]], gold: [], metric: accuracy }), /gold is empty/);
  assert.throws(() => pairedBootstrap({ a: [], b: [[1, 0, 1]], gold, metric: accuracy }), /a has no seeds/);
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1]], b: [], gold, metric: accuracy }), /b has no seeds/);
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1], [1, 0]], b: [[1, 0, 1]], gold, metric: accuracy }), /a\[1\] has 2 predictions but gold has 3 examples/);
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1]], b: [[1, 0, 1, 1]], gold, metric: accuracy }), /b\[0\] has 4 predictions/);
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1]], b: [[1, 0, 1]], gold, metric: accuracy, resamples: 0 }), /resamples must be a positive integer/);
  assert.throws(() => pairedBootstrap({ a: [[1, 0, 1]], b: [[1, 0, 1]], gold, metric: accuracy, level: 1.2 }), /level must be in \(0, 1\)/);
});

// ---------------------------------------------------------------- summaries

test('mean and standard error, median and (sample) variance over seeds, missing runs counted', () => {
  const m = meanAndStandardError([1, 2, 3, 4, null]);
  assert.deepEqual([m.n, m.missing], [4, 1]);
  close(m.mean, 2.5, 'mean');
  close(m.sd, Math.sqrt(5 / 3), 'sd: squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over 3');
  close(m.se, Math.sqrt(5 / 3) / 2, 'se = sd / sqrt(4)');
  const one = meanAndStandardError([0.9]);
  assert.ok(one.mean === 0.9 && Number.isNaN(one.sd) && Number.isNaN(one.se));
  const v = medianAndVariance([92, 93, 91, 94, NaN, 92.5]);
  assert.deepEqual([v.n, v.missing, v.median], [5, 1, 92.5]);
  close(v.variance, 1.25, 'sample variance: 5 / 4');
  assert.ok(Number.isNaN(medianAndVariance([93.5]).variance), 'sample variance of one run is undefined');
  assert.throws(() => meanAndStandardError([1, Infinity]), /expected a finite number/);
});

test('src/stats imports no TensorFlow.js and nothing from the project but the seeded generator', () => {
  const dir = path.join(__dirname, '..', 'src', 'stats');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const [, spec] of text.matchAll(/(?:import|export)[^'";]*from\s+['"]([^'"]+)['"]/g)) {
      assert.ok(spec.startsWith('./') || spec === '../data/rng', `${file} imports ${spec}`);
    }
    assert.doesNotMatch(text, /require\(|@tensorflow/, file);
  }
});
