/**
 * Summary statistics over seeds, in float64 plain JavaScript, with missing values handled
 * explicitly: null, undefined and NaN are counted as missing and left out, never read as 0.
 * (Going through tensors would round to float32 and turn null into 0.)
 *
 * Variance: 'sample' divides by n - 1 (the unbiased estimator; what pandas, danfo/mathjs and R
 * report by default; undefined for n < 2), 'population' divides by n (numpy's default; 0 for n = 1).
 *
 * The results table and the method-comparison figure (src/viz) read their numbers from here, and
 * so does every "method X beats method Y" claim (src/stats/index.ts).
 */

export type VarianceKind = 'sample' | 'population';

export interface Present {
  /** The finite values, in input order. */
  values: number[];
  /** How many were null, undefined or NaN. */
  missing: number;
}

/** Splits values into the finite ones and a count of missing ones; infinities are an error. */
export function present(values: readonly unknown[], what = 'values'): Present {
  const out: number[] = [];
  let missing = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) missing++;
    else if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
    else throw new Error(`${what}[${i}] is ${typeof v === 'number' ? v : JSON.stringify(v)}: expected a finite number, or null/NaN for a missing run`);
  });
  return { values: out, missing };
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Quantile q in [0, 1] with linear interpolation between order statistics (numpy's default); NaN if empty. */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile q must be in [0, 1], got ${q}`);
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The median (mean of the two middle values for even n); NaN if empty. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Variance, two-pass (numerically stable for values far from 0); NaN when undefined. */
export function variance(values: readonly number[], kind: VarianceKind = 'sample'): number {
  const n = values.length;
  const dof = kind === 'sample' ? n - 1 : n;
  if (dof <= 0) return NaN;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) ** 2;
  return s / dof;
}

export interface Spread {
  n: number;
  missing: number;
  median: number;
  mean: number;
  variance: number;
  std: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** Every statistic the tables and the comparison plot use, over the present values. */
export function spread(values: readonly unknown[], kind: VarianceKind = 'sample', what = 'values'): Spread {
  const p = present(values, what);
  const v = p.values;
  const variance_ = variance(v, kind);
  return {
    n: v.length,
    missing: p.missing,
    median: median(v),
    mean: mean(v),
    variance: variance_,
    std: Math.sqrt(variance_),
    min: v.length ? Math.min(...v) : NaN,
    max: v.length ? Math.max(...v) : NaN,
    q1: quantile(v, 0.25),
    q3: quantile(v, 0.75),
  };
}

/**
 * Mean and its standard error over seeds:
 *   mean = (1/n) sum_i x_i,   sd = sqrt( sum_i (x_i - mean)^2 / (n - 1) ),   se = sd / sqrt(n).
 * The standard error of the mean of n independent runs. Missing runs (null, undefined, NaN) are left out and counted;
 * sd and se are NaN when fewer than two runs are present, mean is NaN when none is.
 */
export interface MeanAndStandardError {
  n: number;
  missing: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
  /** sd / sqrt(n). */
  se: number;
}

export function meanAndStandardError(values: readonly unknown[]): MeanAndStandardError {
  const p = present(values);
  const n = p.values.length;
  const sd = Math.sqrt(variance(p.values, 'sample'));
  return { n, missing: p.missing, mean: mean(p.values), sd, se: sd / Math.sqrt(n) };
}

/**
 * Median and sample variance over seeds, the "median (variance)" that FreeLB (Zhu et al., ICLR 2020,
 * Table 1) reports over runs with different seeds:
 *   variance = sum_i (x_i - mean)^2 / (n - 1)   (the sample variance, n - 1; NaN for one run).
 * Missing runs (null, undefined, NaN) are left out and counted.
 */
export interface MedianAndVariance {
  n: number;
  missing: number;
  median: number;
  /** Sample variance (n - 1). */
  variance: number;
}

export function medianAndVariance(values: readonly unknown[]): MedianAndVariance {
  const p = present(values);
  return { n: p.values.length, missing: p.missing, median: median(p.values), variance: variance(p.values, 'sample') };
}
