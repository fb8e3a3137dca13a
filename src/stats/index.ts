/**
 * advlm's statistics: the one place every "method X beats method Y" claim takes its numbers from.
 * Plain float64 JavaScript (no tensors).
 *
 *   summary        present/missing values, quantile, median, mean, variance, spread;
 *                  meanAndStandardError, medianAndVariance ("median (variance)" over seeds, FreeLB style)
 *   paired t-test  over seeds: pairedTTest(a, b) -> mean difference, se, t, df, two-sided p, interval
 *   bootstrap      over dev examples: pairedBootstrap({ a, b, gold, metric }) -> observed difference
 *                  and its percentile interval (Efron & Tibshirani 1993)
 *   Student t      studentTCdf, studentTQuantile, studentTTwoSidedP, regularizedIncompleteBeta, logGamma
 *
 *   import { pairedTTest, pairedBootstrap } from './src/stats';
 *   pairedBootstrap({ a: freelbPreds, b: bertPreds, gold, metric: matthewsCorrelation });
 */
export {
  present,
  quantile,
  median,
  mean,
  variance,
  spread,
  meanAndStandardError,
  medianAndVariance,
  type Present,
  type Spread,
  type VarianceKind,
  type MeanAndStandardError,
  type MedianAndVariance,
} from './summary';
export { pairedTTest, type PairedTTestOptions, type PairedTTestResult } from './paired_t_test';
export { pairedBootstrap, type PairedBootstrapOptions, type PairedBootstrapResult, type SetMetric } from './bootstrap';
export { studentTCdf, studentTQuantile, studentTTwoSidedP, regularizedIncompleteBeta, logGamma, logBeta } from './student_t';
