/**
 * Counter-fitted synonym neighbours (Mrkšić et al., NAACL 2016, "Counter-fitting Word Vectors to
 * Linguistic Constraints"), as the lists of Jia et al. (EMNLP 2019, "Certified Robustness to
 * Adversarial Word Substitutions") ship them in data/synonyms/counterfitted_neighbors.json:
 * word -> at most 8 neighbours, already filtered by distance in the counter-fitted space (49,975
 * words, 25,591 with at least one neighbour). Word-substitution attacks (src/attacks/word), and
 * RIFT/ASCC's synonym sets, use them. Keys are lower-cased words (src/data/words.ts).
 *
 * The file is read once per process (about 2 MB) and cached; a different file can be given.
 */
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from '../paths';
import type { BertTokenizer } from '../tokenizer';

export type SynonymTable = ReadonlyMap<string, readonly string[]>;

/** The shipped list, data/synonyms/counterfitted_neighbors.json. */
export function defaultSynonymsPath(): string {
  return path.join(projectRoot(), 'data', 'synonyms', 'counterfitted_neighbors.json');
}

const cache = new Map<string, SynonymTable>();

/** The table of a synonym file ({ word: [neighbours...] }), read once and cached by absolute path. */
export function loadSynonyms(file: string = defaultSynonymsPath()): SynonymTable {
  const abs = path.resolve(file);
  const hit = cache.get(abs);
  if (hit) return hit;
  if (!fs.existsSync(abs)) throw new Error(`synonym file not found: ${abs} (advlm ships data/synonyms/counterfitted_neighbors.json)`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new Error(`${abs} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${abs}: expected an object { word: [neighbours] }`);
  const table = new Map<string, readonly string[]>();
  for (const [word, list] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new Error(`${abs}: the entry of '${word}' is not a list of words`);
    table.set(word, Object.freeze([...(list as string[])]));
  }
  cache.set(abs, table);
  return table;
}

/** The neighbours of a word (lower-cased first), at most `max`; [] for a word without any or not in the table. */
export function neighbours(word: string, options: { max?: number; table?: SynonymTable } = {}): readonly string[] {
  const table = options.table ?? loadSynonyms();
  const list = table.get(word.toLowerCase()) ?? [];
  return options.max !== undefined && options.max < list.length ? list.slice(0, options.max) : list;
}

export interface SingleTokenCoverage {
  /** Synonym pairs (word, neighbour), counted once per listed neighbour. */
  pairs: number;
  /** Pairs whose word and neighbour are each one word piece of the tokenizer (not [UNK]). */
  singleTokenPairs: number;
  /** singleTokenPairs / pairs. */
  fraction: number;
  /** Words with at least one neighbour, and those of them that are one word piece. */
  words: number;
  singleTokenWords: number;
}

/**
 * How many synonym pairs are pairs of single tokens of `tokenizer`: RIFT (and ASCC) work on token
 * embeddings, so a substitution between two single-piece words is a swap of one embedding, and a
 * multi-piece word needs another treatment; this fraction says how much of the synonym space the
 * token-level view covers.
 */
export function singleTokenSynonymFraction(tokenizer: BertTokenizer, table: SynonymTable = loadSynonyms()): SingleTokenCoverage {
  const single = new Map<string, boolean>();
  const isSingle = (w: string): boolean => {
    let s = single.get(w);
    if (s === undefined) {
      const pieces = tokenizer.tokenize(w);
      s = pieces.length === 1 && tokenizer.tokenToId(pieces[0]) !== undefined && tokenizer.tokenToId(pieces[0]) !== tokenizer.unkId;
      single.set(w, s);
    }
    return s;
  };
  let pairs = 0;
  let singleTokenPairs = 0;
  let words = 0;
  let singleTokenWords = 0;
  for (const [word, list] of table) {
    if (list.length === 0) continue;
    words++;
    const ws = isSingle(word);
    if (ws) singleTokenWords++;
    for (const n of list) {
      pairs++;
      if (ws && isSingle(n)) singleTokenPairs++;
    }
  }
  return { pairs, singleTokenPairs, fraction: pairs ? singleTokenPairs / pairs : NaN, words, singleTokenWords };
}
