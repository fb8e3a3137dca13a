/**
 * GLUE metrics on plain arrays: accuracy, binary F1, Matthews correlation (Matthews 1975; the
 * multi-class form of Gorodkin 2004), Pearson and Spearman correlation (ties get average ranks).
 * Degenerate cases follow scikit-learn / SciPy: F1 and MCC are 0 when undefined (no positives
 * predicted or present; a constant prediction), Pearson/Spearman are NaN for a constant input.
 */
import type { MetricName, TaskSpec } from './tasks';

function checkPair(pred: ArrayLike<number>, gold: ArrayLike<number>, what: string): void {
  if (pred.length !== gold.length) throw new Error(`${what}: ${pred.length} predictions but ${gold.length} labels`);
  if (pred.length === 0) throw new Error(`${what}: no examples`);
}

/** Fraction of predictions equal to the labels. */
export function accuracy(pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  checkPair(pred, gold, 'accuracy');
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) ok++;
  return ok / pred.length;
}

/** Binary F1 of class `positive` (default 1): 2 TP / (2 TP + FP + FN); 0 when that is 0/0. */
export function f1(pred: ArrayLike<number>, gold: ArrayLike<number>, positive = 1): number {
  checkPair(pred, gold, 'f1');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] === positive;
    const g = gold[i] === positive;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  const den = 2 * tp + fp + fn;
  return den === 0 ? 0 : (2 * tp) / den;
}

/**
 * Matthews correlation coefficient of class labels (any number of classes):
 * (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)), with c correct predictions,
 * s examples, p_k / t_k the counts of class k among predictions / labels. For two classes this is
 * (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)). 0 when the denominator is 0.
 */
export function matthewsCorrelation(pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  checkPair(pred, gold, 'matthewsCorrelation');
  const p = new Map<number, number>();
  const t = new Map<number, number>();
  let c = 0;
  const s = pred.length;
  for (let i = 0; i < s; i++) {
    p.set(pred[i], (p.get(pred[i]) ?? 0) + 1);
    t.set(gold[i], (t.get(gold[i]) ?? 0) + 1);
    if (pred[i] === gold[i]) c++;
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, n] of p) {
    pp += n * n;
    pt += n * (t.get(k) ?? 0);
  }
  for (const n of t.values()) tt += n * n;
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den === 0 ? 0 : (c * s - pt) / den;
}

/** Pearson correlation; NaN if either input is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'pearson');
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** Ranks 1..n; tied values share the average of the ranks they span. */
export function averageRanks(x: ArrayLike<number>): number[] {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const ranks = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson correlation of the average ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

/** One metric by name. */
export function metric(name: MetricName, pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  switch (name) {
    case 'accuracy':
      return accuracy(pred, gold);
    case 'f1':
      return f1(pred, gold, 1);
    case 'mcc':
      return matthewsCorrelation(pred, gold);
    case 'pearson':
      return pearson(pred, gold);
    case 'spearman':
      return spearman(pred, gold);
  }
}

/**
 * The task's metrics: predictions are class indices (classification) or real values (regression).
 * Returns e.g. `{f1: 0.88, accuracy: 0.84}` in the task's order, main metric first.
 */
export function taskMetrics(task: TaskSpec, pred: ArrayLike<number>, gold: ArrayLike<number>): Record<string, number> {
  return Object.fromEntries(task.metrics.map((m) => [m, metric(m, pred, gold)]));
}
