/**
 * The figures of an attack run, as TextAttack's attack summary reports them, each with a 95%
 * interval over examples:
 *
 *   clean accuracy            (succeeded + failed) / n   (the examples not skipped)
 *   accuracy under attack     failed / n
 *   attack success rate       succeeded / (succeeded + failed)
 *   skipped                   already misclassified: skipped / n
 *   failed, succeeded         counts
 *   perturbed-word %          mean over SUCCESSFUL attacks of 100 * changed words / words
 *   queries                   mean over attacked (not skipped) examples of the queries made
 *
 * Intervals: a proportion k / m gets the Wilson score interval (Wilson 1927; Brown, Cai &
 * DasGupta 2001), (k + z^2/2 +- z sqrt(k (m - k) / m + z^2/4)) / (m + z^2), which stays inside
 * [0, 1] and has non-zero width at 0% and 100% (accuracy under attack is often near 0);
 * z = 1.96 is the normal quantile, taken as the Student t quantile of src/stats with 10^9 degrees
 * of freedom. A mean of per-example values gets the t interval mean +- t_{0.975, m-1} sd / sqrt(m)
 * (src/stats meanAndStandardError, studentTQuantile); NaN bounds when fewer than two values.
 */
import { meanAndStandardError, studentTQuantile } from '../../stats';
import type { AttackRecord } from './attack';

export interface Estimate {
  value: number;
  /** 95% interval (or the requested level). */
  low: number;
  high: number;
  /** Examples behind the figure. */
  n: number;
}

export function wilsonInterval(k: number, m: number, level = 0.95): Estimate {
  if (m === 0) return { value: NaN, low: NaN, high: NaN, n: 0 };
  if (!(Number.isInteger(k) && k >= 0 && k <= m)) throw new Error(`wilsonInterval: need 0 <= k <= m, got k=${k}, m=${m}`);
  const z = studentTQuantile(1 - (1 - level) / 2, 1e9);
  const z2 = z * z;
  const centre = k + z2 / 2;
  const half = z * Math.sqrt((k * (m - k)) / m + z2 / 4);
  return { value: k / m, low: Math.max(0, (centre - half) / (m + z2)), high: Math.min(1, (centre + half) / (m + z2)), n: m };
}

export function meanInterval(values: readonly number[], level = 0.95): Estimate {
  const s = meanAndStandardError(values);
  if (s.n < 2) return { value: s.mean, low: NaN, high: NaN, n: s.n };
  const t = studentTQuantile(1 - (1 - level) / 2, s.n - 1);
  return { value: s.mean, low: s.mean - t * s.se, high: s.mean + t * s.se, n: s.n };
}

export interface AttackSummary {
  n: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cleanAccuracy: Estimate;
  accuracyUnderAttack: Estimate;
  attackSuccessRate: Estimate;
  skippedRate: Estimate;
  perturbedWordPercent: Estimate;
  queries: Estimate;
  /** Mean words per example (all examples). */
  words: number;
  /** Attacks stopped by the query budget. */
  budgetExhausted: number;
}

export function summarizeAttacks(records: readonly AttackRecord[], level = 0.95): AttackSummary {
  const n = records.length;
  const by = (s: string) => records.filter((r) => r.status === s);
  const succeeded = by('succeeded');
  const failed = by('failed');
  const skipped = by('skipped');
  const attacked = records.filter((r) => r.status !== 'skipped');
  return {
    n,
    succeeded: succeeded.length,
    failed: failed.length,
    skipped: skipped.length,
    cleanAccuracy: wilsonInterval(attacked.length, n, level),
    accuracyUnderAttack: wilsonInterval(failed.length, n, level),
    attackSuccessRate: wilsonInterval(succeeded.length, attacked.length, level),
    skippedRate: wilsonInterval(skipped.length, n, level),
    perturbedWordPercent: meanInterval(succeeded.map((r) => r.perturbedWordPercent), level),
    queries: meanInterval(attacked.map((r) => r.queries), level),
    words: n ? records.reduce((a, r) => a + r.numWords, 0) / n : NaN,
    budgetExhausted: records.filter((r) => r.budgetExhausted).length,
  };
}

const pct = (e: Estimate) => (Number.isNaN(e.value) ? 'n/a' : `${(100 * e.value).toFixed(1)}% [${(100 * e.low).toFixed(1)}, ${(100 * e.high).toFixed(1)}]`);
const num = (e: Estimate, d = 1) => (Number.isNaN(e.value) ? 'n/a' : `${e.value.toFixed(d)}${Number.isNaN(e.low) ? '' : ` [${e.low.toFixed(d)}, ${e.high.toFixed(d)}]`}`);

/** The summary as "name value [95% interval]" lines, TextAttack's order. */
export function formatSummary(s: AttackSummary): string {
  return [
    `examples                 ${s.n}`,
    `succeeded / failed / skipped  ${s.succeeded} / ${s.failed} / ${s.skipped}`,
    `clean accuracy           ${pct(s.cleanAccuracy)}`,
    `accuracy under attack    ${pct(s.accuracyUnderAttack)}`,
    `attack success rate      ${pct(s.attackSuccessRate)}`,
    `skipped (already wrong)  ${pct(s.skippedRate)}`,
    `perturbed words          ${num(s.perturbedWordPercent)}%`,
    `words per example        ${Number.isNaN(s.words) ? 'n/a' : s.words.toFixed(1)}`,
    `queries per attack       ${num(s.queries)}`,
    `stopped by the budget    ${s.budgetExhausted}`,
  ].join('\n');
}
