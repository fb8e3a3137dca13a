/**
 * Accuracy under attack over a grid of budgets, plain numbers (no tensors).
 *
 * - Worst over budgets: an example counts as correct at budget eps_k only if it is correct under
 *   the attack at EVERY budget eps_j <= eps_k of the grid. Every smaller ball lies inside the larger
 *   one, so this is still an attack within eps_k (try several radii, keep any that succeeds); it can
 *   only be stronger than the attack at eps_k alone, and a large gap says the attack at eps_k is not
 *   finding the worst case (one-step attacks on adversarially trained models: gradient masking,
 *   Tramer et al., ICLR 2018; Athalye, Carlini & Wagner, ICML 2018). Notebook 02 section 4.
 * - Accuracy with a 95% interval over examples: the mean of 0/1 outcomes with a Student t interval
 *   mean +- t_{0.975, n-1} * sd / sqrt(n) (src/stats meanAndStandardError and studentTQuantile),
 *   clipped to [0, 1]. With n of a few hundred this is the normal-approximation (Wald) interval; it
 *   is too narrow when the accuracy is within a few examples of 0 or 1 (then it has width 0).
 */
import { meanAndStandardError, studentTQuantile } from '../../stats';

/** The share of true values (NaN for an empty list). */
export function fractionTrue(values: readonly boolean[]): number {
  if (values.length === 0) return NaN;
  return values.filter(Boolean).length / values.length;
}

/**
 * correct[k][i] (example i correct under the attack at budget k, budgets ascending) ->
 * worst[k][i] = correct[0][i] && ... && correct[k][i]. Pass `budgets` to have their order checked.
 */
export function worstOverBudgets(correct: readonly (readonly boolean[])[], budgets?: readonly number[]): boolean[][] {
  if (correct.length === 0) return [];
  const n = correct[0].length;
  correct.forEach((row, k) => {
    if (row.length !== n) throw new Error(`worstOverBudgets: budget ${k} has ${row.length} examples, budget 0 has ${n}`);
  });
  if (budgets) {
    if (budgets.length !== correct.length) throw new Error(`worstOverBudgets: ${budgets.length} budgets for ${correct.length} rows of outcomes`);
    budgets.forEach((b, k) => {
      if (k > 0 && !(b >= budgets[k - 1])) throw new Error(`worstOverBudgets: budgets must be ascending, got ${budgets[k - 1]} then ${b}`);
    });
  }
  const out: boolean[][] = [];
  let running = new Array<boolean>(n).fill(true);
  for (const row of correct) {
    running = running.map((ok, i) => ok && row[i]);
    out.push([...running]);
  }
  return out;
}

export interface AccuracyInterval {
  /** Number of examples. */
  n: number;
  accuracy: number;
  /** [low, high] at `level`, clipped to [0, 1]. */
  interval: [number, number];
  level: number;
}

/** Accuracy of 0/1 outcomes with a t interval over examples (see the file header). */
export function accuracyWithInterval(correct: readonly boolean[], level = 0.95): AccuracyInterval {
  if (!(level > 0 && level < 1)) throw new Error(`accuracyWithInterval: level must be in (0, 1), got ${level}`);
  const n = correct.length;
  if (n === 0) return { n, accuracy: NaN, interval: [NaN, NaN], level };
  const m = meanAndStandardError(correct.map((c) => (c ? 1 : 0)));
  if (n < 2) return { n, accuracy: m.mean, interval: [NaN, NaN], level };
  const half = studentTQuantile((1 + level) / 2, n - 1) * m.se;
  return { n, accuracy: m.mean, interval: [Math.max(0, m.mean - half), Math.min(1, m.mean + half)], level };
}
