/**
 * Constraints and transformations of word-substitution attacks, as TextAttack composes them.
 *
 * Constraints (checked on every candidate, against the ORIGINAL words):
 *  - stopwords: a word of the stopword list (stopwords.ts) is never replaced;
 *  - no word modified twice (TextAttack's RepeatModification): once position i differs from the
 *    original, it is not modified again (and a substitute is always a neighbour of the original
 *    word, never of a substitute);
 *  - maximum fraction of words changed (MaxWordsPerturbed): at most ceil(maxFraction * n) of the n
 *    words may differ from the original (Infinity: no limit).
 *
 * Transformations: word swaps, candidates(originalWord) -> substitutes (never the word itself):
 *  - counter-fitted neighbours (src/data/synonyms.ts, at most 8 a word as shipped);
 *  - WordNet synonyms (wordnet.ts), for the word's most frequent part of speech or all of them.
 */
import { neighbours, type SynonymTable } from '../../data/synonyms';
import { STOPWORDS } from './stopwords';
import { loadWordNet, type WordNet, type WordNetPos } from './wordnet';

export interface Constraints {
  /** Words never replaced (lower-case). */
  stopwords: ReadonlySet<string>;
  /** No position modified twice (always true in the shipped recipes). */
  noRepeat: boolean;
  /** Maximum fraction of words that may differ from the original (Infinity: no limit). */
  maxFraction: number;
}

export const DEFAULT_CONSTRAINTS: Constraints = { stopwords: STOPWORDS, noRepeat: true, maxFraction: Infinity };

/** The most words that may differ from an original of `n` words. */
export function maxChangedWords(n: number, maxFraction: number): number {
  return maxFraction === Infinity ? n : Math.ceil(maxFraction * n);
}

/** Positions where `words` differs from `original`. */
export function changedIndices(original: readonly string[], words: readonly string[]): number[] {
  if (words.length !== original.length) throw new Error(`a word swap keeps the number of words: ${words.length} vs ${original.length}`);
  const out: number[] = [];
  for (let i = 0; i < original.length; i++) if (words[i] !== original[i]) out.push(i);
  return out;
}

/** Whether replacing position i of `current` (a modified copy of `original`) is allowed. */
export function canModify(c: Constraints, original: readonly string[], current: readonly string[], i: number): boolean {
  if (c.stopwords.has(original[i])) return false;
  const modified = current[i] !== original[i];
  if (c.noRepeat && modified) return false;
  if (!modified && changedIndices(original, current).length + 1 > maxChangedWords(original.length, c.maxFraction)) return false;
  return true;
}

/** Whether a whole word list satisfies the constraints (for tests and crossover). */
export function satisfies(c: Constraints, original: readonly string[], words: readonly string[], candidates: (w: string) => readonly string[]): boolean {
  const changed = changedIndices(original, words);
  if (changed.length > maxChangedWords(original.length, c.maxFraction)) return false;
  return changed.every((i) => !c.stopwords.has(original[i]) && candidates(original[i]).includes(words[i]));
}

export interface Transformation {
  /** Short description for records and tables. */
  name: string;
  /** Substitutes for one original word (lower-case), never the word itself. */
  candidates(word: string): readonly string[];
}

/** Counter-fitted neighbours (at most `max`, 8 as shipped). */
export function counterFittedSwap(options: { max?: number; table?: SynonymTable } = {}): Transformation {
  const max = options.max ?? 8;
  return {
    name: `counter-fitted neighbours (at most ${max})`,
    candidates: (w) => neighbours(w, { max, table: options.table }).filter((s) => s !== w),
  };
}

/** WordNet synonyms for the word's most frequent part of speech (default) or for all. */
export function wordNetSwap(options: { pos?: WordNetPos | 'most-frequent' | 'all'; wordnet?: WordNet } = {}): Transformation {
  const pos = options.pos ?? 'most-frequent';
  const wn = options.wordnet ?? loadWordNet();
  return { name: `WordNet synonyms (${pos === 'most-frequent' ? "the word's most frequent part of speech" : pos === 'all' ? 'all parts of speech' : `part of speech ${pos}`})`, candidates: (w) => wn.synonyms(w, pos) };
}

/** A transformation from a fixed table (tests, hand-built examples). */
export function tableSwap(table: Record<string, readonly string[]>, name = 'table'): Transformation {
  return { name, candidates: (w) => (Object.prototype.hasOwnProperty.call(table, w) ? table[w].filter((s) => s !== w) : []) };
}
