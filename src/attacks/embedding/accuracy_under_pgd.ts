/**
 * Accuracy under PGD in word-embedding space, at a list of radii, with the random-direction
 * control: the quick robustness figure of a classifier (a sweep's `embedding-pgd` evaluation, the
 * notebooks' "accuracy as eps grows" plots).
 *
 * For every example and every radius eps_k, PGD (`pgdMaxLoss`, max_loss_increase.ts: l2 ball per
 * example over its T x D word embeddings, a uniform random start, normalised steps of 2.5 eps / steps)
 * looks for a point of the ball where the prediction is wrong. An example is
 *
 *   correct under PGD at eps    right clean AND right at every point PGD visited;
 *   correct under random        right clean AND right at a random direction of the same norm as
 *                               PGD's final delta (the control: how much of the damage is the
 *                               direction, not the size).
 *
 * The radii are given absolutely (eps), so that several models can be attacked at the same radii:
 * compute them once as rho x `medianEmbeddingNorm` of a reference model (the pre-trained one, say).
 * Unlike the M-Inc protocol (run.ts) there is no anchor model and no early stop: one number per
 * radius, comparable across models. Batches are fixed (examples sorted by length), and each
 * (batch, radius) has its own seed, so the result does not depend on what else is attacked.
 */
import type { BertParams } from '../../model';
import type { BertTokenizer } from '../../tokenizer';
import { disposeBatch, makeBatch } from '../../data/batch';
import type { Example } from '../../data/glue';
import { deriveSeed } from '../../seeds';
import { lengthSortedBatches, pgdMaxLoss } from './max_loss_increase';

export interface AccuracyUnderPgdOptions {
  /** Radii of the l2 ball per example (absolute), ascending. */
  eps: readonly number[];
  /** Ascent steps per restart (default 20). */
  steps: number;
  /** Restarts from uniform points of the ball (default 1). */
  restarts: number;
  /** Seed of the random starts and of the control (default 0). */
  seed: number;
  /** Examples per batch (default 32). */
  batchSize: number;
  /** Word pieces per example (default 128). */
  maxLength: number;
}

export const ACCURACY_UNDER_PGD_DEFAULTS: Omit<AccuracyUnderPgdOptions, 'eps'> = { steps: 20, restarts: 1, seed: 0, batchSize: 32, maxLength: 128 };

export interface AccuracyUnderPgdResult {
  eps: number[];
  /** Per example, in the order given. */
  cleanCorrect: boolean[];
  /** [k][i]: example i at radius eps_k. */
  correctUnderPgd: boolean[][];
  correctUnderRandom: boolean[][];
  /** The fractions: clean, and per radius. */
  clean: number;
  pgd: number[];
  random: number[];
}

/** Accuracy of classifier `p` under PGD and under the random control at every radius (see the file header). */
export async function accuracyUnderPgd(
  p: BertParams,
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  options: Partial<AccuracyUnderPgdOptions> & Pick<AccuracyUnderPgdOptions, 'eps'>,
): Promise<AccuracyUnderPgdResult> {
  const o = { ...ACCURACY_UNDER_PGD_DEFAULTS, ...options };
  const eps = [...o.eps];
  if (eps.length === 0 || eps.some((e) => !(Number.isFinite(e) && e >= 0))) throw new Error(`accuracyUnderPgd: eps must be a non-empty list of numbers >= 0, got [${eps.join(', ')}]`);
  if (examples.length === 0) throw new Error('accuracyUnderPgd: no examples');
  const plan = lengthSortedBatches(examples, o.batchSize);
  const n = examples.length;
  const clean = new Array<boolean>(n);
  const pgd = eps.map(() => new Array<boolean>(n));
  const random = eps.map(() => new Array<boolean>(n));
  for (const [batchKey, idx] of plan.entries()) {
    const batch = makeBatch(tokenizer, idx.map((i) => examples[i]), 'classification', { maxLength: o.maxLength });
    try {
      eps.forEach((e, k) => {
        const r = pgdMaxLoss(p, batch, { eps: e, steps: o.steps, restarts: o.restarts, tol: 0, patience: 0, seed: deriveSeed(o.seed, 'accuracy-under-pgd', batchKey, k) });
        idx.forEach((i, j) => {
          clean[i] = r.cleanCorrect[j];
          pgd[k][i] = r.cleanCorrect[j] && r.correct[j];
          random[k][i] = r.cleanCorrect[j] && r.randomCorrect![j];
        });
      });
    } finally {
      disposeBatch(batch);
    }
    await new Promise((resolve) => setImmediate(resolve)); // lets a Ctrl-C (or a notebook's stop) through between batches
  }
  const fraction = (c: boolean[]) => c.filter(Boolean).length / c.length;
  return { eps, cleanCorrect: clean, correctUnderPgd: pgd, correctUnderRandom: random, clean: fraction(clean), pgd: pgd.map(fraction), random: random.map(fraction) };
}
