/**
 * Attacks a list of examples, resumably: with an output file, the records already in it (same
 * recipe, seed and budget) are kept and their examples skipped, and the file is rewritten
 * atomically after each new example (records.ts). Examples are keyed by their position in the
 * list, so a rerun must attack the same list (the same task, split and order; a larger --n extends
 * it). Each example's random stream is derived from (seed, position), so resuming gives the same
 * records as an uninterrupted run.
 */
import { joinWords, splitWords } from '../../data/words';
import { attackExample, type AttackExampleOptions, type AttackInput, type AttackRecord, type WordAttack } from './attack';
import type { ScoreFn } from './goal';
import { checkResumable, readAttackRecords, writeAttackRecords } from './records';

export interface RunAttacksOptions extends AttackExampleOptions {
  /** JSON-lines output (resumable); none: records are only returned. */
  out?: string;
  /** Called after each example: (done, total, the records so far). */
  onRecord?: (done: number, total: number, records: readonly AttackRecord[]) => void;
}

export interface RunAttacksResult {
  /** One record per example, in the order of the examples. */
  records: AttackRecord[];
  /** Examples found done in the output file. */
  resumed: number;
  /** Examples attacked by this call. */
  attacked: number;
}

export async function runAttacks(attack: WordAttack, score: ScoreFn, examples: readonly AttackInput[], options: RunAttacksOptions = {}): Promise<RunAttacksResult> {
  const seed = options.seed ?? 0;
  const budget = options.budget ?? attack.budget;
  const existing = options.out ? readAttackRecords(options.out) : [];
  if (options.out) checkResumable(options.out, existing, attack.recipe, seed, budget === Infinity ? null : budget);
  const byIndex = new Map(existing.map((r) => [r.index, r]));
  const indexed = examples.map((e, i) => ({ ...e, index: e.index ?? i }));
  for (const e of indexed) {
    const r = byIndex.get(e.index);
    if (r && r.original !== joinWords(splitWords(e.text))) {
      throw new Error(`${options.out}: example ${e.index} there is another text ('${r.original.slice(0, 50)}'): a different task, split or order; give another --out`);
    }
  }
  const records = [...existing];
  let resumed = 0;
  let attacked = 0;
  const total = indexed.length;
  for (const e of indexed) {
    if (byIndex.has(e.index)) {
      resumed++;
      continue;
    }
    const r = await attackExample(attack, score, e, { ...options, seed, budget });
    records.push(r);
    byIndex.set(e.index, r);
    attacked++;
    if (options.out) writeAttackRecords(options.out, [...records].sort((a, b) => a.index - b.index));
    options.onRecord?.(resumed + attacked, total, records);
  }
  const wanted = new Set(indexed.map((e) => e.index));
  return { records: records.filter((r) => wanted.has(r.index)).sort((a, b) => a.index - b.index), resumed, attacked };
}
