/**
 * The paired bootstrap over dev examples (Efron & Tibshirani 1993, "An Introduction to the
 * Bootstrap", chapters 6 and 13 (percentile interval); for comparing two systems on one test set,
 * Koehn 2004, "Statistical Significance Tests for Machine Translation Evaluation", and
 * Berg-Kirkpatrick et al. 2012).
 *
 * a[s][i] is method A's prediction for dev example i when trained with seed s (likewise b; the two
 * methods may have different numbers of seeds), gold[i] the label, metric(predictions, gold) the
 * task metric over the whole set (accuracy, Matthews correlation, Pearson... not necessarily a mean
 * over examples, which is why the metric is recomputed rather than averaged per example).
 *
 *   observed    D = mean_s metric(a[s], gold) - mean_s metric(b[s], gold)
 *   resample r  draw n indices j_1..j_n uniformly with replacement from 0..n-1, one draw shared by
 *               both methods and every seed (paired: the two methods are judged on the same
 *               examples), and record
 *               D*_r = mean_s metric(a[s][j], gold[j]) - mean_s metric(b[s][j], gold[j])
 *   interval    the percentile interval [q_{(1-level)/2}, q_{(1+level)/2}] of D*_1..D*_R
 *               (quantiles with linear interpolation, as numpy's default)
 *
 * This measures the uncertainty from the finite dev set, with the seeds' variation averaged in;
 * the spread over seeds themselves is the paired t-test's business (paired_t_test.ts).
 * A resample on which the metric is undefined (NaN: e.g. Pearson of a constant resample) is left
 * out of the interval and counted in `undefinedResamples`.
 *
 * Deterministic for a given seed: the indices come from the project's seeded generator
 * (src/data/rng.ts), never Math.random.
 */
import { createRng } from '../data/rng';
import { quantile } from './summary';

/** A task metric over a whole prediction set, e.g. accuracy, matthewsCorrelation, pearson from src/data/metrics. */
export type SetMetric = (predictions: ArrayLike<number>, gold: ArrayLike<number>) => number;

export interface PairedBootstrapOptions {
  /** Method A's predictions, one array per seed: a[s][i] for dev example i. */
  a: readonly ArrayLike<number>[];
  /** Method B's predictions, one array per seed (the number of seeds may differ from A's). */
  b: readonly ArrayLike<number>[];
  /** The dev labels (or targets, for regression). */
  gold: ArrayLike<number>;
  /** The task metric; called on resampled copies, it must not keep the arrays it is given. */
  metric: SetMetric;
  /** Number of bootstrap resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Level of the percentile interval (default 0.95). */
  level?: number;
}

export interface PairedBootstrapResult {
  /** mean over A's seeds of the metric minus the same for B, on the full dev set. */
  observed: number;
  /** The metric averaged over A's seeds / B's seeds, on the full dev set. */
  metricA: number;
  metricB: number;
  /** The percentile interval of the resampled differences at `level`. */
  interval: [number, number];
  level: number;
  /** Resamples behind the interval (requested resamples minus undefined ones). */
  resamples: number;
  /** Resamples left out because the metric was NaN on them. */
  undefinedResamples: number;
  /** Number of dev examples. */
  n: number;
  seed: number;
}

function checkSeeds(preds: readonly ArrayLike<number>[], n: number, name: string): void {
  if (!Array.isArray(preds) || preds.length === 0) throw new Error(`pairedBootstrap: ${name} has no seeds (expected ${name}[seed][example])`);
  preds.forEach((p, s) => {
    if (p === null || p === undefined || typeof p.length !== 'number') throw new Error(`pairedBootstrap: ${name}[${s}] is not an array of predictions`);
    if (p.length !== n) throw new Error(`pairedBootstrap: ${name}[${s}] has ${p.length} predictions but gold has ${n} examples`);
  });
}

export function pairedBootstrap(options: PairedBootstrapOptions): PairedBootstrapResult {
  const { a, b, gold, metric } = options;
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  if (gold === null || gold === undefined || typeof gold.length !== 'number') throw new Error('pairedBootstrap: gold must be an array of labels');
  const n = gold.length;
  if (n === 0) throw new Error('pairedBootstrap: gold is empty (no dev examples)');
  checkSeeds(a, n, 'a');
  checkSeeds(b, n, 'b');
  if (typeof metric !== 'function') throw new Error('pairedBootstrap: metric must be a function (predictions, gold) => number');
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new Error(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`pairedBootstrap: level must be in (0, 1), got ${level}`);

  const meanMetric = (preds: readonly ArrayLike<number>[], g: ArrayLike<number>, buffer?: Float64Array, idx?: Int32Array): number => {
    let sum = 0;
    for (const p of preds) {
      if (buffer && idx) {
        for (let i = 0; i < n; i++) buffer[i] = p[idx[i]];
        sum += metric(buffer, g);
      } else sum += metric(p, g);
    }
    return sum / preds.length;
  };

  const metricA = meanMetric(a, gold);
  const metricB = meanMetric(b, gold);
  const rng = createRng(seed);
  const idx = new Int32Array(n);
  const goldStar = new Float64Array(n);
  const predStar = new Float64Array(n);
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      idx[i] = rng.int(n);
      goldStar[i] = gold[idx[i]];
    }
    const d = meanMetric(a, goldStar, predStar, idx) - meanMetric(b, goldStar, predStar, idx);
    if (!Number.isNaN(d)) diffs.push(d);
  }
  const alpha = (1 - level) / 2;
  return {
    observed: metricA - metricB,
    metricA,
    metricB,
    interval: [quantile(diffs, alpha), quantile(diffs, 1 - alpha)],
    level,
    resamples: diffs.length,
    undefinedResamples: resamples - diffs.length,
    n,
    seed,
  };
}
