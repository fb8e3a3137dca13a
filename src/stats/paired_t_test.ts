/**
 * The two-sided paired t-test over seeds (Student 1908, "The probable error of a mean",
 * Biometrika 6(1); in any statistics textbook): a[i] and b[i] are the scores of methods A and B run with the
 * same seed i, so the seed's effect cancels in the difference d_i = a[i] - b[i]:
 *
 *   mean  d_bar = (1/n) sum_i d_i
 *   sd    s     = sqrt( sum_i (d_i - d_bar)^2 / (n - 1) )
 *   se          = s / sqrt(n)
 *   t           = d_bar / se,  with n - 1 degrees of freedom
 *   p           = P(|T_{n-1}| >= |t|)                 (two-sided)
 *   interval    = d_bar -/+ t_{(1+level)/2, n-1} se   (confidence interval of the mean difference)
 *
 * The test assumes the differences are independent draws from a normal distribution; with the
 * handful of seeds of a fine-tuning comparison that is an assumption, not a fact, so report the
 * paired bootstrap over dev examples (bootstrap.ts) beside it.
 *
 * When every difference is the same (s = 0, so se = 0): t is +/-Infinity and p = 0 if that
 * common difference is non-zero (every seed moved the same way by the same amount: the limit of
 * the test as s -> 0), and t = 0, p = 1 if it is zero (A and B scored the same on every seed:
 * no evidence of a difference). The interval is then [d_bar, d_bar]. Differences are compared
 * exactly, so two differences that differ only by floating-point rounding give a tiny se and a
 * huge |t| (the same conclusion as the limit).
 */
import { mean } from './summary';
import { studentTQuantile, studentTTwoSidedP } from './student_t';

export interface PairedTTestOptions {
  /** Confidence level of the interval of the mean difference (default 0.95). */
  level?: number;
}

export interface PairedTTestResult {
  /** Number of pairs (seeds). */
  n: number;
  /** mean(a - b). */
  meanDifference: number;
  /** Sample standard deviation of a - b (n - 1). */
  sdDifference: number;
  /** Standard error of the mean difference, sd / sqrt(n). */
  se: number;
  /** meanDifference / se. */
  t: number;
  /** Degrees of freedom, n - 1. */
  df: number;
  /** Two-sided p-value, P(|T_df| >= |t|). */
  p: number;
  /** The confidence level of `interval`. */
  level: number;
  /** Confidence interval of the mean difference: meanDifference -/+ t_{(1+level)/2, df} se. */
  interval: [number, number];
}

export function pairedTTest(a: readonly number[], b: readonly number[], options: PairedTTestOptions = {}): PairedTTestResult {
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`pairedTTest: level must be in (0, 1), got ${level}`);
  if (a.length !== b.length) throw new Error(`pairedTTest: a has ${a.length} values but b has ${b.length}; a paired test needs one pair per seed`);
  const n = a.length;
  if (n < 2) throw new Error(`pairedTTest: needs at least 2 pairs (seeds), got ${n}`);
  const d = a.map((ai, i) => {
    const bi = b[i];
    if (!Number.isFinite(ai) || !Number.isFinite(bi)) {
      throw new Error(`pairedTTest: pair ${i} is (${ai}, ${bi}); every value must be a finite number (drop a missing seed from both a and b)`);
    }
    return ai - bi;
  });
  const df = n - 1;
  const allSame = d.every((v) => v === d[0]);
  const dBar = allSame ? d[0] : mean(d); // (the mean of n equal numbers can round away from them)
  let ss = 0;
  for (const v of d) ss += (v - dBar) ** 2;
  const sd = allSame ? 0 : Math.sqrt(ss / df);
  const se = sd / Math.sqrt(n);
  if (se === 0) {
    const zero = dBar === 0;
    return { n, meanDifference: dBar, sdDifference: 0, se: 0, t: zero ? 0 : dBar > 0 ? Infinity : -Infinity, df, p: zero ? 1 : 0, level, interval: [dBar, dBar] };
  }
  const t = dBar / se;
  const half = studentTQuantile((1 + level) / 2, df) * se;
  return { n, meanDifference: dBar, sdDifference: sd, se, t, df, p: studentTTwoSidedP(t, df), level, interval: [dBar - half, dBar + half] };
}
