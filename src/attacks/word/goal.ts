/**
 * The goal function and the query oracle of word-substitution attacks.
 *
 * Goal (untargeted classification, TextAttack's `UntargetedClassification`): an attacked text
 * succeeds when the model's predicted class (argmax of its probabilities; the first one on a tie)
 * differs from the gold label; its score is 1 - p(gold), which every search maximises.
 *
 * The oracle is the only way a search reaches the model. A search hands it a whole step's
 * candidate texts at once and it makes ONE call of the scoring function for them (the model then
 * runs ceil(N / batch size) batches): searches never score one candidate at a time. It
 *  - counts queries: a query is one distinct text scored by the model; texts already scored for
 *    this example (and duplicates within a call) are answered from a cache and not counted, as
 *    TextAttack's goal function does;
 *  - enforces the query budget: when a call holds more new texts than the budget has left, only
 *    the first ones are scored, the rest come back `undefined` and the oracle is `exhausted`; the
 *    search then stops and the attack reports the best text found so far;
 *  - with `batched: false`, calls the scoring function once per text (same results, same query
 *    count: for measuring what batching buys).
 */

/** Texts in, class probabilities out (one row per text, rows summing to 1). */
export type ScoreFn = (texts: string[]) => Promise<number[][]>;

/** One scored word list. */
export interface Scored {
  words: string[];
  text: string;
  probabilities: number[];
  /** 1 - p(gold). */
  score: number;
  /** The predicted class differs from the gold label. */
  succeeded: boolean;
}

/** The predicted class: the first index of the largest probability. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Untargeted classification: score 1 - p(gold); success when argmax != gold. */
export function untargetedGoal(probabilities: readonly number[], gold: number): { score: number; succeeded: boolean } {
  if (!(Number.isInteger(gold) && gold >= 0 && gold < probabilities.length)) throw new Error(`gold label ${gold} is not a class of a model with ${probabilities.length} outputs`);
  return { score: 1 - probabilities[gold], succeeded: argmax(probabilities) !== gold };
}

export interface OracleOptions {
  /** Most queries (distinct texts scored) for this example; Infinity for none. */
  budget?: number;
  /** One scoring call per search step (true, the default) or one per text (false). */
  batched?: boolean;
  /** Words to text (default: joined by single spaces). */
  join?: (words: readonly string[]) => string;
}

export class QueryOracle {
  /** Distinct texts scored by the model. */
  queries = 0;
  /** Calls of the scoring function. */
  calls = 0;
  /** The budget ran out: a call was cut short, or a later one found nothing left. */
  exhausted = false;
  readonly budget: number;
  private readonly cache = new Map<string, number[]>();
  private readonly batched: boolean;
  private readonly join: (words: readonly string[]) => string;

  constructor(
    private readonly score: ScoreFn,
    readonly gold: number,
    options: OracleOptions = {},
  ) {
    this.budget = options.budget ?? Infinity;
    if (!(this.budget === Infinity || (Number.isInteger(this.budget) && this.budget > 0))) throw new Error(`query budget must be a positive integer or Infinity, got ${this.budget}`);
    this.batched = options.batched ?? true;
    this.join = options.join ?? ((w) => w.join(' '));
  }

  get remaining(): number {
    return this.budget - this.queries;
  }

  /** Scores word lists; `undefined` for those the budget did not cover. */
  async scoreAll(candidates: readonly (readonly string[])[]): Promise<(Scored | undefined)[]> {
    const texts = candidates.map((w) => this.join(w));
    const fresh: string[] = [];
    const freshSet = new Set<string>();
    for (const t of texts) {
      if (this.cache.has(t) || freshSet.has(t)) continue;
      if (fresh.length >= this.remaining) {
        this.exhausted = true;
        break;
      }
      fresh.push(t);
      freshSet.add(t);
    }
    if (fresh.length > 0) {
      let probs: number[][];
      if (this.batched) {
        this.calls++;
        probs = await this.score(fresh);
      } else {
        probs = [];
        for (const t of fresh) {
          this.calls++;
          probs.push(...(await this.score([t])));
        }
      }
      if (probs.length !== fresh.length) throw new Error(`the scoring function returned ${probs.length} rows for ${fresh.length} texts`);
      fresh.forEach((t, i) => this.cache.set(t, probs[i]));
      this.queries += fresh.length;
    }
    if (this.remaining <= 0 && texts.some((t) => !this.cache.has(t))) this.exhausted = true;
    return candidates.map((words, i) => {
      const p = this.cache.get(texts[i]);
      if (!p) return undefined;
      return { words: [...words], text: texts[i], probabilities: p, ...untargetedGoal(p, this.gold) };
    });
  }

  /** Scores one word list (undefined if over budget). */
  async scoreOne(words: readonly string[]): Promise<Scored | undefined> {
    return (await this.scoreAll([words]))[0];
  }
}
