/**
 * Words, the unit of word-substitution attacks and of RIFT/ASCC's synonym sets, and their mapping to
 * the word pieces the model sees.
 *
 * A text's words are its white-space tokens, lower-cased: SST-2's sentences as shipped (already
 * tokenised and lower-cased, "it 's a charming ... ."), IMDB's reviews after `cleanReviewText`
 * (which turns `<br />` into spaces; the task reader already does it). That is the key space of the
 * counter-fitted synonym lists in data/synonyms (src/data/synonyms.ts). An attack edits the word
 * list and joins it back with single spaces (`joinWords`): on SST-2 this gives back the sentence
 * as shipped (up to its trailing space and letter case, which the uncased tokenizer ignores).
 *
 * `encodeWords` tokenises word by word and records, for each word piece, the index of the word it
 * comes from (-1 for [CLS] and [SEP]). Word by word gives the same pieces as the joined text, since
 * BERT's pre-tokenizer always splits at white space (a test checks it on both datasets); with an
 * uncased vocabulary a word such as "unflinchingly" becomes un ##fl ##in ##ching ##ly, five pieces
 * that all map to one word, and "it's" (IMDB, not pre-split) becomes it ' s.
 */
import type { BertTokenizer } from '../tokenizer';
import { cleanReviewText } from './imdb';

/** The words of a text: white-space tokens, lower-cased (IMDB's `<br />` tags become spaces first). */
export function splitWords(text: string): string[] {
  const t = /<br\s*\/?\s*>/i.test(text) ? cleanReviewText(text) : text;
  return t.toLowerCase().split(/\s+/).filter((w) => w !== '');
}

/** The text of a word list: the words joined by single spaces. */
export function joinWords(words: readonly string[]): string {
  return words.join(' ');
}

export interface WordEncoding {
  /** [CLS] pieces of word 0 ... pieces of the last kept word [SEP]. */
  inputIds: number[];
  tokens: string[];
  /** For each position of `inputIds`, the index of its word; -1 for the special tokens. */
  wordOf: number[];
  /** For each word, the positions of its pieces (empty if the word was cut off by `maxLength`, or has no pieces). */
  piecesOf: number[][];
  /** Words whose pieces were all kept (the first ones; the last kept word may be cut part-way and is not counted). */
  wordsKept: number;
}

/**
 * Encodes a word list as one text ([CLS] words [SEP]) and maps every word piece to its word.
 * With `maxLength` the pieces are cut at the end, as `BertTokenizer.encode` cuts a text; the
 * result's ids equal `tokenizer.encode(joinWords(words), undefined, { maxLength }).inputIds`.
 */
export function encodeWords(tokenizer: BertTokenizer, words: readonly string[], options: { maxLength?: number } = {}): WordEncoding {
  const maxLength = options.maxLength ?? Infinity;
  const budget = maxLength - tokenizer.numSpecialSingle;
  if (!(budget >= 1)) throw new Error(`maxLength must leave room for at least one word piece besides the ${tokenizer.numSpecialSingle} special tokens, got ${maxLength}`);
  const cls = tokenizer.idToToken(tokenizer.clsId)!;
  const sep = tokenizer.idToToken(tokenizer.sepId)!;
  const tokens: string[] = [cls];
  const wordOf: number[] = [-1];
  const piecesOf: number[][] = words.map(() => []);
  let wordsKept = 0;
  for (let w = 0; w < words.length && tokens.length - 1 < budget; w++) {
    const pieces = tokenizer.tokenize(words[w]);
    let kept = 0;
    for (const p of pieces) {
      if (tokens.length - 1 >= budget) break;
      piecesOf[w].push(tokens.length);
      tokens.push(p);
      wordOf.push(w);
      kept++;
    }
    if (kept === pieces.length) wordsKept = w + 1;
  }
  tokens.push(sep);
  wordOf.push(-1);
  const inputIds = tokens.map((t) => tokenizer.tokenToId(t) ?? tokenizer.unkId);
  return { inputIds, tokens, wordOf, piecesOf, wordsKept };
}

/** Number of word pieces of each word (0 for a word the tokenizer drops entirely, e.g. control characters). */
export function wordPieceCounts(tokenizer: BertTokenizer, words: readonly string[]): number[] {
  return words.map((w) => tokenizer.tokenize(w).length);
}
