/**
 * Search methods of word-substitution attacks: given the original words, the oracle (goal.ts: one
 * scoring call per step, counted queries, a budget), a transformation and the constraints
 * (constraints.ts), find a word list that the model misclassifies. Each returns the best scored
 * word list it reached (succeeded or not); it stops as soon as it succeeds or the budget runs out.
 *
 * 1. Greedy search by word importance (`greedyWordImportance`, TextAttack's GreedyWordSwapWIR):
 *    rank the positions that can be modified and have candidates, then visit them in that order;
 *    at each, score every allowed substitute of the current text in one call and keep the best if
 *    it raises the score (1 - p(gold)). Rankings:
 *      'delete'  score of the text with the word deleted (TextFooler, Jin et al., AAAI 2020);
 *      'unk'     score of the text with the word replaced by [UNK];
 *      'weighted-saliency'  PWWS (Ren et al., ACL 2019): softmax over positions of the [UNK]
 *                saliency S_i = p(gold | x) - p(gold | x with word i -> [UNK]), times the best
 *                score gain of a substitute at i on the original text, dp*_i = max_w (score of
 *                x with i -> w) - score(x); H_i = softmax(S)_i * dp*_i.
 *    Ranking costs one call (two for PWWS: saliency, then every substitute of every position).
 *    Ties in the ranking go to the earlier position. When several substitutes succeed we keep the
 *    highest-scoring one (TextFooler keeps the one most similar by its sentence encoder, which we
 *    do not have).
 *
 * 2. Genetic algorithm (`geneticSearch`, Alzantot et al., EMNLP 2018): a population of P word lists,
 *    each first perturbed once from the original; then for up to G generations: stop if a member
 *    succeeds; keep the best (elite); draw P - 1 pairs of parents with probability
 *    softmax(score / temperature); a child takes each word from either parent with probability 1/2;
 *    each child is perturbed. Perturb: pick a position that may be modified, with probability
 *    proportional to its number of substitutes; score the member and all its substitutes there;
 *    keep the best substitute if it raises the member's score (Alzantot's perturb; TextAttack
 *    retries other positions when none does, we do not). All perturbations of a generation are
 *    scored in ONE call (the population's texts and their substitutes together), so a generation
 *    costs one call and at most P * (1 + substitutes) queries. A child that breaks the
 *    maximum-fraction constraint is drawn again (up to 20 times, then it is a copy of its first
 *    parent), so every member satisfies the constraints. The children of the last generation are
 *    scored by their perturbation anyway, so they are checked for success too.
 *
 * Randomness (the genetic algorithm only) comes from the seeded generator of src/data/rng.ts.
 */
import type { Rng } from '../../data/rng';
import { canModify, changedIndices, maxChangedWords, type Constraints, type Transformation } from './constraints';
import type { QueryOracle, Scored } from './goal';

export interface SearchContext {
  original: readonly string[];
  /** The original, scored (correctly classified). */
  initial: Scored;
  oracle: QueryOracle;
  transformation: Transformation;
  constraints: Constraints;
  /** Only positions below this may be modified (words past the model's maximum length cannot change its output). */
  attackable: number;
  rng: Rng;
}

export interface SearchMethod {
  name: string;
  run(ctx: SearchContext): Promise<Scored>;
}

/** Whether position i of `current` may be replaced (constraints, window, and at least one substitute). */
export function modifiable(ctx: SearchContext, current: readonly string[], i: number): boolean {
  return i < ctx.attackable && canModify(ctx.constraints, ctx.original, current, i) && ctx.transformation.candidates(ctx.original[i]).length > 0;
}

/** Copies of `current` with position i replaced by each substitute of the original word. */
export function swapsAt(ctx: SearchContext, current: readonly string[], i: number): string[][] {
  if (!modifiable(ctx, current, i)) return [];
  return ctx.transformation.candidates(ctx.original[i]).map((s) => {
    const w = [...current];
    w[i] = s;
    return w;
  });
}

function best(results: readonly (Scored | undefined)[]): Scored | undefined {
  let b: Scored | undefined;
  for (const r of results) if (r && (!b || r.score > b.score)) b = r;
  return b;
}

function softmax(xs: readonly number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export type ImportanceRanking = 'delete' | 'unk' | 'weighted-saliency';

/** The importance of each position in `indices` (higher first); undefined if the budget ran out. */
async function importance(ctx: SearchContext, indices: number[], ranking: ImportanceRanking): Promise<number[] | undefined> {
  const orig = ctx.original;
  const leaveOne = indices.map((i) => (ranking === 'delete' ? [...orig.slice(0, i), ...orig.slice(i + 1)] : orig.map((w, j) => (j === i ? '[UNK]' : w))));
  const r = await ctx.oracle.scoreAll(leaveOne);
  if (r.some((x) => !x)) return undefined;
  const s = r.map((x) => x!.score);
  if (ranking !== 'weighted-saliency') return s;
  // saliency S_i = p(gold|x) - p(gold|x_i->unk) = score(x_i->unk) - score(x): softmax is shift-invariant
  const sal = softmax(s);
  const swaps = indices.map((i) => swapsAt(ctx, orig, i));
  const flat = await ctx.oracle.scoreAll(swaps.flat());
  if (flat.some((x) => !x)) return undefined;
  let k = 0;
  return indices.map((_, n) => {
    let gain = -Infinity;
    for (let j = 0; j < swaps[n].length; j++) gain = Math.max(gain, flat[k++]!.score - ctx.initial.score);
    return sal[n] * gain;
  });
}

/** Greedy search by word importance (see the file header). */
export function greedyWordImportance(ranking: ImportanceRanking): SearchMethod {
  return {
    name: `greedy by word importance (${ranking})`,
    async run(ctx) {
      const indices = ctx.original.map((_, i) => i).filter((i) => modifiable(ctx, ctx.original, i));
      if (indices.length === 0) return ctx.initial;
      const imp = await importance(ctx, indices, ranking);
      if (!imp) return ctx.initial;
      const order = indices.map((i, n) => ({ i, v: imp[n] })).sort((a, b) => b.v - a.v || a.i - b.i);
      let cur = ctx.initial;
      for (const { i } of order) {
        if (ctx.oracle.exhausted) break;
        const swaps = swapsAt(ctx, cur.words, i);
        if (swaps.length === 0) continue;
        const b = best(await ctx.oracle.scoreAll(swaps));
        if (b && b.score > cur.score) {
          cur = b;
          if (cur.succeeded) return cur;
        }
      }
      return cur;
    },
  };
}

export interface GeneticOptions {
  /** Population size P. */
  populationSize: number;
  /** Generations G. */
  generations: number;
  /** Temperature of the parents' selection softmax (0.3 in Alzantot et al.'s code). */
  temperature: number;
  /** Redraws of a child that breaks the maximum-fraction constraint. */
  crossoverRetries: number;
}

export const GENETIC_DEFAULTS: GeneticOptions = { populationSize: 60, generations: 20, temperature: 0.3, crossoverRetries: 20 };

function pickWeighted(rng: Rng, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Genetic algorithm (see the file header). */
export function geneticSearch(options: Partial<GeneticOptions> = {}): SearchMethod {
  const o = { ...GENETIC_DEFAULTS, ...options };
  if (!(Number.isInteger(o.populationSize) && o.populationSize >= 2)) throw new Error(`populationSize must be an integer >= 2, got ${o.populationSize}`);
  if (!(Number.isInteger(o.generations) && o.generations >= 0)) throw new Error(`generations must be a non-negative integer, got ${o.generations}`);
  if (!(o.temperature > 0)) throw new Error(`temperature must be positive, got ${o.temperature}`);
  return {
    name: `genetic (population ${o.populationSize}, ${o.generations} generations)`,
    async run(ctx) {
      const n = ctx.original.length;
      const cap = maxChangedWords(n, ctx.constraints.maxFraction);
      /** Perturbs every member once; one scoring call for all. Undefined if the budget ran out before any member was scored. */
      const perturbAll = async (members: string[][]): Promise<Scored[] | undefined> => {
        const plan = members.map((m) => {
          const positions: number[] = [];
          const weights: number[] = [];
          for (let i = 0; i < n; i++) {
            if (modifiable(ctx, m, i)) {
              positions.push(i);
              weights.push(ctx.transformation.candidates(ctx.original[i]).length);
            }
          }
          const swaps = positions.length ? swapsAt(ctx, m, positions[pickWeighted(ctx.rng, weights)]) : [];
          return { member: m, swaps };
        });
        const texts = plan.flatMap((p) => [p.member, ...p.swaps]);
        const r = await ctx.oracle.scoreAll(texts);
        const out: Scored[] = [];
        let k = 0;
        for (const p of plan) {
          const self = r[k++];
          const b = best(r.slice(k, k + p.swaps.length));
          k += p.swaps.length;
          if (!self) continue; // over budget: this member is lost
          out.push(b && b.score > self.score ? b : self);
        }
        return out.length ? out : undefined;
      };
      const bestOf = (pop: Scored[]): Scored => {
        const ok = pop.filter((m) => m.succeeded);
        return (ok.length ? ok : pop).reduce((a, b) => (b.score > a.score ? b : a));
      };
      let pop = await perturbAll(Array.from({ length: o.populationSize }, () => [...ctx.original]));
      if (!pop) return ctx.initial;
      for (let g = 0; g < o.generations; g++) {
        const top = bestOf(pop);
        if (top.succeeded || ctx.oracle.exhausted) return top;
        const probs = softmax(pop.map((m) => m.score / o.temperature));
        const children: string[][] = [];
        for (let c = 0; c < o.populationSize - 1; c++) {
          let child: string[] | undefined;
          for (let t = 0; t <= o.crossoverRetries && !child; t++) {
            const a = pop[pickWeighted(ctx.rng, probs)].words;
            const b = pop[pickWeighted(ctx.rng, probs)].words;
            const x = a.map((w, i) => (ctx.rng.next() < 0.5 ? w : b[i]));
            if (changedIndices(ctx.original, x).length <= cap) child = x;
            else if (t === o.crossoverRetries) child = [...a];
          }
          children.push(child!);
        }
        const next = await perturbAll(children);
        pop = [top, ...(next ?? [])];
        if (!next) break;
      }
      return bestOf(pop);
    },
  };
}
