/**
 * Contextual word vectors: the hidden state of one word at each of its occurrences in a list of
 * sentences, from any layer of a BERT encoder (Devlin et al., NAACL 2019). A static embedding gives
 * "bank" one vector everywhere; a contextual one gives it a vector per sentence (the question of
 * Ethayarajh, "How Contextual are Contextualized Word Representations?", EMNLP 2019).
 *
 * Matching a word in a sentence. The word is tokenized on its own into WordPiece pieces; an
 * occurrence is a run of the sentence's tokens equal to those pieces that starts a word (its first
 * piece is not a `##` continuation) and ends one (the token after it is not a continuation). So
 * "bank" matches in "the bank." but not in "banks" (another token) nor in "embankment"
 * (em ##bank ##ment). The uncased tokenizer lowercases, so "Bank" matches too.
 *
 * Words split into several pieces ("riverbank" -> river ##bank): `pooling: 'mean'` averages the
 * pieces' vectors (the usual choice in probing work), `pooling: 'first'` takes the first piece's
 * (what BERT's token-level fine-tuning uses, Devlin et al. 2019, section 5.3). For a word that is
 * a single piece both give the same vector.
 */
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer } from '../tokenizer';
import { BertParams, encode } from '../model/index';

export type PiecePooling = 'mean' | 'first';

export interface ContextualOptions {
  /**
   * Which hidden states: 0 = the embedding output (word + position + segment, LayerNorm), l = the
   * output of layer l (1..L); negative counts from the end (-1 = the last layer).
   */
  layer: number;
  /** How the vectors of a word's WordPiece pieces become one vector (see the file header). */
  pooling: PiecePooling;
  /** Sentences are truncated to this many tokens (special tokens included). */
  maxLength: number;
  /** Sentences encoded per forward pass. */
  batchSize: number;
}

export const CONTEXTUAL_DEFAULTS: ContextualOptions = { layer: -1, pooling: 'mean', maxLength: 128, batchSize: 32 };

/** One occurrence of the word. */
export interface WordOccurrence {
  /** Index of the sentence in the list given. */
  sentence: number;
  /** Positions of the word's pieces in the encoded sentence ([CLS] is position 0). */
  positions: number[];
  /** The pieces, e.g. ['river', '##bank']. */
  pieces: string[];
}

export interface ContextualVectors {
  /** One vector per occurrence, in sentence order: [N, D]. */
  vectors: number[][];
  occurrences: WordOccurrence[];
  /** The hidden-state index used (0..L, negative layers resolved). */
  layer: number;
}

const isContinuation = (t: string | undefined) => t !== undefined && t.startsWith('##');

/** Start positions in `tokens` of whole-word runs equal to `pieces` (see the file header). */
export function findWordPieces(tokens: readonly string[], pieces: readonly string[]): number[] {
  if (pieces.length === 0) throw new Error('findWordPieces: the word has no pieces (an empty word, or only characters the tokenizer drops)');
  const starts: number[] = [];
  for (let i = 0; i + pieces.length <= tokens.length; i++) {
    if (isContinuation(tokens[i]) || isContinuation(tokens[i + pieces.length])) continue;
    if (pieces.every((piece, j) => tokens[i + j] === piece)) starts.push(i);
  }
  return starts;
}

/** The WordPiece pieces of a single word, with a clear error for anything else. */
export function wordPieces(tok: BertTokenizer, word: string): string[] {
  const pieces = tok.tokenize(word);
  if (pieces.length === 0) throw new Error(`the word ${JSON.stringify(word)} gives no tokens: give a word`);
  if (pieces.slice(1).some((t) => !isContinuation(t))) {
    throw new Error(`${JSON.stringify(word)} is several words to the tokenizer (${pieces.join(' ')}): give one word`);
  }
  return pieces;
}

/** Resolves a possibly negative hidden-state index for a model with L layers. */
export function resolveLayer(layer: number, numLayers: number): number {
  const resolved = layer < 0 ? numLayers + 1 + layer : layer;
  if (!Number.isInteger(layer) || resolved < 0 || resolved > numLayers) {
    throw new Error(`layer ${layer} does not exist: use 0 (embedding output) to ${numLayers} (last layer), or -1 to -${numLayers + 1} counting from the end`);
  }
  return resolved;
}

/**
 * Every occurrence of `word` in `sentences`. Throws, naming the sentence and its tokens, if a
 * sentence does not contain the word (or lost it to truncation).
 */
export function wordOccurrences(tok: BertTokenizer, sentences: readonly string[], word: string, maxLength = CONTEXTUAL_DEFAULTS.maxLength): WordOccurrence[] {
  const pieces = wordPieces(tok, word);
  const out: WordOccurrence[] = [];
  sentences.forEach((s, i) => {
    const tokens = tok.encode(s, undefined, { maxLength }).tokens;
    const starts = findWordPieces(tokens, pieces);
    if (starts.length === 0) {
      const whole = tok.encode(s, undefined, { maxLength: Number.MAX_SAFE_INTEGER }).tokens;
      const lost = findWordPieces(whole, pieces).length > 0;
      throw new Error(
        lost
          ? `sentence ${i} loses ${JSON.stringify(word)} to truncation at maxLength ${maxLength}: raise maxLength or shorten the sentence`
          : `sentence ${i} does not contain the word ${JSON.stringify(word)} (pieces ${pieces.join(' ')}): ${JSON.stringify(s)} -> ${tokens.join(' ')}. ` +
              `Only the exact word matches (inflections such as "${word}s" are other tokens).`,
      );
    }
    for (const start of starts) out.push({ sentence: i, positions: pieces.map((_, j) => start + j), pieces: [...pieces] });
  });
  return out;
}

/**
 * The vectors of every occurrence of `word` in `sentences` at one layer of the encoder (evaluation
 * mode, no dropout). Leaves no tensors behind.
 */
export function contextualVectors(p: BertParams, tok: BertTokenizer, sentences: readonly string[], word: string, options: Partial<ContextualOptions> = {}): ContextualVectors {
  const o = { ...CONTEXTUAL_DEFAULTS, ...options };
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.pooling !== 'mean' && o.pooling !== 'first') throw new Error(`pooling must be 'mean' or 'first', got ${JSON.stringify(o.pooling)}`);
  if (sentences.length === 0) throw new Error('contextualVectors: give at least one sentence');
  const layer = resolveLayer(o.layer, p.config.numLayers);
  const occurrences = wordOccurrences(tok, sentences, word, o.maxLength);
  const vectors: number[][] = [];
  for (let b0 = 0; b0 < sentences.length; b0 += o.batchSize) {
    const b1 = Math.min(sentences.length, b0 + o.batchSize);
    const batch = tok.encodeBatch(sentences.slice(b0, b1), { maxLength: o.maxLength });
    const [B, T] = batch.shape;
    const inBatch = occurrences.filter((occ) => occ.sentence >= b0 && occ.sentence < b1);
    const used = (occ: WordOccurrence) => (o.pooling === 'first' ? occ.positions.slice(0, 1) : occ.positions);
    const flat = inBatch.flatMap((occ) => used(occ).map((pos) => (occ.sentence - b0) * T + pos)); // rows of [B * T, D]
    const picked = tf.tidy(() => {
      const ids = tf.tensor2d(batch.inputIds, [B, T], 'int32'); // [B, T]
      const mask = tf.tensor2d(batch.attentionMask, [B, T], 'int32'); // [B, T]
      const types = tf.tensor2d(batch.tokenTypeIds, [B, T], 'int32'); // [B, T]
      const states = encode(p, ids, { attentionMask: mask, tokenTypeIds: types, returnHiddenStates: true }).hiddenStates as tf.Tensor3D[];
      const h = tf.reshape(states[layer], [B * T, -1]); // [B * T, D]
      return tf.gather(h, tf.tensor1d(flat, 'int32')) as tf.Tensor2D; // [pieces, D]
    });
    const rows = picked.arraySync();
    picked.dispose();
    let r = 0;
    for (const occ of inBatch) {
      const n = used(occ).length;
      vectors.push(meanRows(rows.slice(r, r + n)));
      r += n;
    }
  }
  return { vectors, occurrences, layer };
}

/**
 * The static (input) word embedding of `word`: its row of the word-embedding table, the same in
 * every context (pieces pooled as in `contextualVectors`).
 */
export function staticWordVector(p: BertParams, tok: BertTokenizer, word: string, pooling: PiecePooling = CONTEXTUAL_DEFAULTS.pooling): number[] {
  const pieces = wordPieces(tok, word);
  const ids = (pooling === 'first' ? pieces.slice(0, 1) : pieces).map((t) => {
    const id = tok.tokenToId(t);
    if (id === undefined) throw new Error(`piece ${t} of ${JSON.stringify(word)} is not in the vocabulary`);
    return id;
  });
  const rows = tf.tidy(() => tf.gather(p.embeddings.word, tf.tensor1d(ids, 'int32'))); // [pieces, D]
  const values = rows.arraySync() as number[][];
  rows.dispose();
  return meanRows(values);
}

function meanRows(rows: number[][]): number[] {
  const D = rows[0].length;
  const out = new Array<number>(D).fill(0);
  for (const row of rows) for (let j = 0; j < D; j++) out[j] += row[j] / rows.length;
  return out;
}
