/**
 * An attack, composed as TextAttack composes one: goal function (untargeted classification,
 * goal.ts) + constraints + transformation (constraints.ts) + search method (search.ts), with a
 * query budget and a seed. `attackExample` runs it on one example and returns the record the
 * metrics, the JSON-lines output and the HTML view read.
 *
 * The model is any `ScoreFn` (texts -> class probabilities): `modelScoreFn` wraps a fine-tuned
 * BERT through src/model/predict.ts; tests plug in a hand-built bag-of-words classifier.
 *
 * Outcomes, as TextAttack names them:
 *   skipped    the model already misclassifies the original (1 query, no search);
 *   succeeded  the search found a word list that the model misclassifies;
 *   failed     it did not (search exhausted, or the query budget ran out: `budgetExhausted`).
 */
import type { BertParams } from '../../model/params';
import { predict, type PredictOptions } from '../../model/predict';
import type { BertTokenizer } from '../../tokenizer';
import { encodeWords, joinWords, splitWords } from '../../data/words';
import { createRng, mixSeeds } from '../../data/rng';
import { changedIndices, maxChangedWords, type Constraints, type Transformation } from './constraints';
import { QueryOracle, type ScoreFn } from './goal';
import { modifiable, type SearchContext, type SearchMethod } from './search';

export interface WordAttack {
  /** The recipe's name, `method_author_year` (recipes/). */
  recipe: string;
  transformation: Transformation;
  constraints: Constraints;
  search: SearchMethod;
  /** Default query budget per example (Infinity: the search's own bound). */
  budget: number;
  /** Where the recipe differs from its paper: every table and figure of its results should carry these. */
  differences: readonly string[];
  /** The paper. */
  citation: string;
}

export type AttackStatus = 'succeeded' | 'failed' | 'skipped';

export interface ChangedWord {
  index: number;
  from: string;
  to: string;
}

/** One example's outcome (one line of the JSON-lines output). */
export interface AttackRecord {
  /** Position of the example in the attacked list (the resume key). */
  index: number;
  /** The dataset's id of the example, when it has one (IMDB). */
  id?: string;
  recipe: string;
  seed: number;
  label: number;
  status: AttackStatus;
  /** The original and adversarial texts as word lists joined by spaces (the words the attack sees). */
  original: string;
  adversarial: string;
  numWords: number;
  changed: ChangedWord[];
  /** 100 * changed / numWords. */
  perturbedWordPercent: number;
  /** Distinct texts scored (the original included). */
  queries: number;
  /** Calls of the scoring function (one per search step when batched). */
  calls: number;
  budget: number | null;
  budgetExhausted: boolean;
  originalProbabilities: number[];
  adversarialProbabilities: number[];
  seconds: number;
}

export interface AttackExampleOptions {
  /** The run's seed; the example's own seed is derived from it and `index` (so a resumed run gives the same results). */
  seed?: number;
  /** Query budget for this example (default: the attack's). */
  budget?: number;
  /** One scoring call per step (default) or one per text. */
  batched?: boolean;
  /** Only words whose pieces fit in this many positions are attacked (a tokenizer is needed). */
  window?: { tokenizer: BertTokenizer; maxLength: number };
}

export interface AttackInput {
  text: string;
  label: number;
  id?: string;
  index?: number;
}

/** Attacks one example. */
export async function attackExample(attack: WordAttack, score: ScoreFn, example: AttackInput, options: AttackExampleOptions = {}): Promise<AttackRecord> {
  const t0 = performance.now();
  const seed = options.seed ?? 0;
  const index = example.index ?? 0;
  const budget = options.budget ?? attack.budget;
  const original = splitWords(example.text);
  const oracle = new QueryOracle(score, example.label, { budget, batched: options.batched });
  const initial = await oracle.scoreOne(original);
  if (!initial) throw new Error('internal: the original text could not be scored');
  const attackable = options.window ? encodeWords(options.window.tokenizer, original, { maxLength: options.window.maxLength }).wordsKept : original.length;
  let final = initial;
  let status: AttackStatus = 'skipped';
  if (!initial.succeeded) {
    const ctx: SearchContext = {
      original,
      initial,
      oracle,
      transformation: attack.transformation,
      constraints: attack.constraints,
      attackable,
      rng: createRng(mixSeeds(seed, index)),
    };
    final = await attack.search.run(ctx);
    status = final.succeeded ? 'succeeded' : 'failed';
    checkConstraints(ctx, final.words);
  }
  const changed = changedIndices(original, final.words).map((i) => ({ index: i, from: original[i], to: final.words[i] }));
  return {
    index,
    ...(example.id !== undefined ? { id: example.id } : {}),
    recipe: attack.recipe,
    seed,
    label: example.label,
    status,
    original: joinWords(original),
    adversarial: joinWords(final.words),
    numWords: original.length,
    changed,
    perturbedWordPercent: original.length ? (100 * changed.length) / original.length : 0,
    queries: oracle.queries,
    calls: oracle.calls,
    budget: budget === Infinity ? null : budget,
    budgetExhausted: oracle.exhausted,
    originalProbabilities: initial.probabilities,
    adversarialProbabilities: final.probabilities,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Every search result must satisfy the constraints; a violation is a bug in a search. */
function checkConstraints(ctx: SearchContext, words: readonly string[]): void {
  const changed = changedIndices(ctx.original, words);
  if (changed.length > maxChangedWords(ctx.original.length, ctx.constraints.maxFraction)) throw new Error(`internal: ${changed.length} words changed, more than the constraint allows`);
  for (const i of changed) {
    if (!modifiable(ctx, ctx.original, i) || !ctx.transformation.candidates(ctx.original[i]).includes(words[i])) {
      throw new Error(`internal: position ${i} ('${ctx.original[i]}' -> '${words[i]}') breaks a constraint`);
    }
  }
}

/** A fine-tuned classifier as a scoring function: class probabilities through `predict` (one call per search step). */
export function modelScoreFn(params: BertParams, tokenizer: BertTokenizer, options: Partial<PredictOptions> = {}): ScoreFn {
  return async (texts) => (await predict(params, tokenizer, texts, options)).map((p) => {
    if (!p.probabilities) throw new Error('word-substitution attacks need a classification model (this one is a regression)');
    return p.probabilities;
  });
}
