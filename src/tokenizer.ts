/**
 * BERT WordPiece tokenizer (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers
 * for Language Understanding"; WordPiece: Wu et al. 2016, "Google's Neural Machine Translation System").
 *
 * The text -> word-piece step runs `@huggingface/tokenizers` (pure JS) on a standard `tokenizer.json`:
 * ours is generated from `data/vocab/bert-base-uncased-vocab.txt` by `tokenizerJsonFromVocab` (see
 * scripts/make-tokenizer.ts), and any `tokenizer.json` a user brings (e.g. a real BERT's) works too.
 * That library has no truncation or padding, so both are done here around its raw word pieces:
 *
 * - truncation counts the special tokens ([CLS] A [SEP] B [SEP] = 3 for a pair, 2 for one text);
 *   pairs are truncated "longest first": the longer text loses one token at a time. When both end up
 *   cut and one token is left over, the text that was longer at the start keeps it (text B on a tie),
 *   which is what the Rust `tokenizers` library (the "fast" tokenizers of transformers) gives;
 * - `encodeBatch` pads on the right to the longest sequence of the batch ("dynamic padding"):
 *   [PAD] ids, token type 0, attention mask 0.
 *
 * No tensors are made here: src/data/batch.ts turns an `EncodedBatch` into int32/float32 tensors.
 *
 * Known differences from the Rust implementation, inherited from the JS library: CJK characters
 * outside the Basic Multilingual Plane (Extension B and later) are not split into single-character
 * words, and unassigned code points (category Cn) are kept instead of removed. Neither occurs in
 * the shipped data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { projectRoot } from './paths';
import { writeFileAtomic } from './util/atomic';

/** Options of `encode` / `encodeBatch`. */
export interface EncodeOptions {
  /** Maximum sequence length, special tokens included (BERT's own limit is 512). */
  maxLength: number;
}

/** 128 is the usual GLUE fine-tuning length (transformers' run_glue default max_seq_length). */
export const ENCODE_DEFAULTS: EncodeOptions = { maxLength: 128 };

/** One encoded text or text pair (no padding). */
export interface Encoded {
  inputIds: number[];
  /** 0 for [CLS], text A and its [SEP]; 1 for text B and the final [SEP]. */
  tokenTypeIds: number[];
  /** All ones (no padding in a single encoding). */
  attentionMask: number[];
  tokens: string[];
}

/** A batch padded on the right to its longest sequence: every row has length `shape[1]`. */
export interface EncodedBatch {
  inputIds: number[][];
  tokenTypeIds: number[][];
  /** 1 at real tokens, 0 at padding. */
  attentionMask: number[][];
  tokens: string[][];
  /** Unpadded length of each row. */
  lengths: number[];
  /** [B, T] */
  shape: [number, number];
}

/** A text, or a text pair as `[textA, textB]` or `{textA, textB}`. */
export type TextInput = string | [string, string] | { textA: string; textB?: string };

/** Token strings of the special tokens, if a tokenizer.json uses other names than BERT's. */
export interface SpecialTokenNames {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

export const BERT_SPECIAL_TOKENS: SpecialTokenNames = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

/** Options of `tokenizerJsonFromVocab`; the defaults are bert-base-uncased's. */
export interface WordPieceJsonOptions {
  lowercase: boolean;
  /** Remove accents (NFD, then drop combining marks): "Café" -> "cafe". */
  stripAccents: boolean;
  maxInputCharsPerWord: number;
  specialTokens: SpecialTokenNames;
}

export const WORDPIECE_JSON_DEFAULTS: WordPieceJsonOptions = {
  lowercase: true,
  stripAccents: true,
  maxInputCharsPerWord: 100,
  specialTokens: BERT_SPECIAL_TOKENS,
};

/** The shipped BERT uncased vocabulary and the tokenizer.json generated from it. */
export function defaultVocabPath(): string {
  return path.join(projectRoot(), 'data', 'vocab', 'bert-base-uncased-vocab.txt');
}
export function defaultTokenizerPath(): string {
  return path.join(projectRoot(), 'data', 'vocab', 'tokenizer.json');
}

/** Reads a vocab.txt (one token per line, id = line number - 1). */
export function parseVocab(text: string, source = 'vocab.txt'): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  lines.forEach((tok, i) => {
    if (tok === '') throw new Error(`${source}:${i + 1}: empty line; a vocab.txt has one token per line`);
    const prev = seen.get(tok);
    if (prev !== undefined) throw new Error(`${source}:${i + 1}: token '${tok}' already on line ${prev + 1}; a vocab.txt lists each token once`);
    seen.set(tok, i);
  });
  return lines;
}

/**
 * The `tokenizer.json` of a BERT WordPiece tokenizer over `vocab`, in the layout the Rust/Python
 * `tokenizers` library writes (same key order, so the output is deterministic): BertNormalizer,
 * BertPreTokenizer, WordPiece model ('##' continuation prefix), TemplateProcessing
 * "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", WordPiece decoder.
 */
export function tokenizerJsonFromVocab(vocab: string[], options: Partial<WordPieceJsonOptions> = {}): Record<string, unknown> {
  const o: WordPieceJsonOptions = { ...WORDPIECE_JSON_DEFAULTS, ...options };
  const s = o.specialTokens;
  const index = new Map(vocab.map((t, i) => [t, i] as [string, number]));
  const idOf = (tok: string): number => {
    const id = index.get(tok);
    if (id === undefined) throw new Error(`special token '${tok}' is not in the vocabulary; add it to vocab.txt or pass specialTokens`);
    return id;
  };
  const specials = [s.pad, s.unk, s.cls, s.sep, s.mask].map((content) => ({ content, id: idOf(content) })).sort((a, b) => a.id - b.id);
  // fromEntries defines own properties, so even a token named '__proto__' is kept
  const vocabObject: Record<string, number> = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ id, content }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: o.stripAccents, lowercase: o.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(s.cls, 0), sequence('A', 0), special(s.sep, 0)],
      pair: [special(s.cls, 0), sequence('A', 0), special(s.sep, 0), sequence('B', 1), special(s.sep, 1)],
      special_tokens: Object.fromEntries([s.cls, s.sep].map((t) => [t, { id: t, ids: [idOf(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: s.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: o.maxInputCharsPerWord,
      vocab: vocabObject,
    },
  };
}

/**
 * The bytes of a tokenizer.json as committed: 2-space JSON, final newline, and the model's vocab one
 * entry per line in id order (a JS object would put number-like tokens such as "1996" first).
 */
export function serializeTokenizerJson(json: Record<string, unknown>): string {
  const model = json.model as Record<string, unknown> | undefined;
  if (!model || typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab)) {
    return JSON.stringify(json, null, 2) + '\n';
  }
  const placeholder = '\u0000vocab\u0000';
  const text = JSON.stringify({ ...json, model: { ...model, vocab: placeholder } }, null, 2);
  const entries = Object.entries(model.vocab as Record<string, number>).sort((x, y) => x[1] - y[1]);
  const indent = '      ';
  const block = '{\n' + entries.map(([t, id]) => `${indent}${JSON.stringify(t)}: ${id}`).join(',\n') + '\n    }';
  return text.replace(JSON.stringify(placeholder), () => block) + '\n';
}

/** Pair truncation, longest first: the lengths [a, b] kept out of [lenA, lenB] for a budget of `budget` tokens. */
export function longestFirstLengths(lenA: number, lenB: number, budget: number): [number, number] {
  if (lenA + lenB <= budget) return [lenA, lenB];
  const budgetLeft = Math.max(0, budget);
  const shorter = Math.min(lenA, lenB);
  const longer = Math.max(lenA, lenB);
  let keepShort: number;
  let keepLong: number;
  if (shorter <= Math.floor(budgetLeft / 2)) {
    // only the longer one is cut
    keepShort = shorter;
    keepLong = budgetLeft - shorter;
  } else {
    // both are cut to half; the odd token goes to the one that was longer (B on a tie)
    keepShort = Math.floor(budgetLeft / 2);
    keepLong = budgetLeft - keepShort;
  }
  if (longer === shorter) return [keepShort, keepLong]; // tie: B keeps the extra
  return lenA > lenB ? [keepLong, keepShort] : [keepShort, keepLong];
}

function textsOf(input: TextInput): [string, string | undefined] {
  if (typeof input === 'string') return [input, undefined];
  if (Array.isArray(input)) return [input[0], input[1]];
  return [input.textA, input.textB];
}

/** A BERT-style tokenizer over a `tokenizer.json`. Create with `loadTokenizer`. */
export class BertTokenizer {
  /** Number of ids (the model's vocabulary size). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** Ids of all special tokens (the added tokens marked special, plus the five above). */
  readonly specialIds: ReadonlySet<number>;
  /** Special tokens the post-processor adds to one text (2 for BERT) and to a pair (3). */
  readonly numSpecialSingle: number;
  readonly numSpecialPair: number;
  private readonly hf: Tokenizer;
  private readonly vocab: string[];
  private randomIds?: number[];

  constructor(tokenizerJson: Record<string, unknown>, names: SpecialTokenNames = BERT_SPECIAL_TOKENS) {
    this.hf = new Tokenizer(tokenizerJson, {});
    this.vocab = vocabArray(this.hf);
    this.vocabSize = this.vocab.length;
    const need = (tok: string, what: string): number => {
      const id = this.hf.token_to_id(tok);
      if (id === undefined) throw new Error(`tokenizer has no ${what} token '${tok}'; pass its name in the specialTokens option of loadTokenizer`);
      return id;
    };
    this.padId = need(names.pad, 'padding');
    this.unkId = need(names.unk, 'unknown');
    this.clsId = need(names.cls, 'classification');
    this.sepId = need(names.sep, 'separator');
    this.maskId = need(names.mask, 'mask');
    const specials = new Set([this.padId, this.unkId, this.clsId, this.sepId, this.maskId]);
    for (const [id, added] of this.hf.get_added_tokens_decoder()) if (added.special) specials.add(id);
    this.specialIds = specials;
    this.numSpecialSingle = this.postProcess([], undefined).tokens.length;
    this.numSpecialPair = this.postProcess([], []).tokens.length;
  }

  /** Word pieces of one text, without special tokens. */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new Error(`tokenize expects a string, got ${typeof text}`);
    return this.hf.tokenize(text, { add_special_tokens: false });
  }

  /** Ids of the word pieces of one text, without special tokens. */
  tokenIds(text: string): number[] {
    return this.tokenize(text).map((t) => this.hf.token_to_id(t) ?? this.unkId);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocab[id];
  }

  /** Every token, indexed by id (a read-only view: for nearest-word tables and plots). */
  vocabulary(): readonly string[] {
    return this.vocab;
  }

  /** Ids that `maskTokens` may put at a position as a random replacement: not special, not '[unusedN]'. */
  randomTokenIds(): number[] {
    if (!this.randomIds) {
      this.randomIds = [];
      for (let id = 0; id < this.vocabSize; id++) {
        if (!this.specialIds.has(id) && !/^\[unused\d+\]$/.test(this.vocab[id])) this.randomIds.push(id);
      }
    }
    return this.randomIds;
  }

  /** Encodes a text, or a pair, with special tokens, truncated to `maxLength` (no padding). */
  encode(text: string, textPair?: string, options: Partial<EncodeOptions> = {}): Encoded {
    const { maxLength } = { ...ENCODE_DEFAULTS, ...options };
    const pair = textPair !== undefined && textPair !== null;
    const specials = pair ? this.numSpecialPair : this.numSpecialSingle;
    if (!Number.isInteger(maxLength) || maxLength < specials + (pair ? 2 : 1)) {
      throw new Error(`maxLength must be an integer of at least ${specials + (pair ? 2 : 1)} (${specials} special tokens plus one token per text), got ${maxLength}`);
    }
    let a = this.tokenize(text);
    let b = pair ? this.tokenize(textPair) : undefined;
    const budget = maxLength - specials;
    if (b === undefined) {
      if (a.length > budget) a = a.slice(0, budget);
    } else {
      const [na, nb] = longestFirstLengths(a.length, b.length, budget);
      a = a.slice(0, na);
      b = b.slice(0, nb);
    }
    const { tokens, tokenTypeIds } = this.postProcess(a, b);
    const inputIds = tokens.map((t) => this.hf.token_to_id(t) ?? this.unkId);
    return { inputIds, tokenTypeIds, attentionMask: new Array(inputIds.length).fill(1), tokens };
  }

  /** Encodes a batch and pads it on the right to its longest row. */
  encodeBatch(inputs: readonly TextInput[], options: Partial<EncodeOptions> = {}): EncodedBatch {
    if (inputs.length === 0) throw new Error('encodeBatch needs at least one text');
    const encoded = inputs.map((x) => {
      const [a, b] = textsOf(x);
      return this.encode(a, b, options);
    });
    return padEncodings(encoded, this.padId);
  }

  /** Text of a list of ids; special tokens are left out unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], { skipSpecialTokens = true } = {}): string {
    const kept = skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : [...ids];
    if (kept.length === 0) return '';
    for (const id of kept) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new Error(`decode: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return this.hf.decode(kept, { skip_special_tokens: false });
  }

  private postProcess(a: string[], b: string[] | undefined): { tokens: string[]; tokenTypeIds: number[] } {
    const pp = this.hf.post_processor;
    if (!pp) {
      const tokens = b ? [...a, ...b] : [...a];
      return { tokens, tokenTypeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
    }
    const out = pp(a, b ?? null, true);
    const tokenTypeIds = out.token_type_ids ?? new Array(out.tokens.length).fill(0);
    return { tokens: out.tokens, tokenTypeIds };
  }
}

function vocabArray(hf: Tokenizer): string[] {
  const map = hf.get_vocab(true);
  let size = 0;
  for (const id of map.values()) size = Math.max(size, id + 1);
  const out = new Array<string>(size);
  for (const [tok, id] of map) out[id] = tok;
  for (let i = 0; i < size; i++) if (out[i] === undefined) throw new Error(`tokenizer vocabulary has no token with id ${i}; ids must be 0..${size - 1} without gaps`);
  return out;
}

/** Pads encodings on the right to the longest one. */
export function padEncodings(encoded: readonly Encoded[], padId: number, padToken = '[PAD]'): EncodedBatch {
  const T = Math.max(...encoded.map((e) => e.inputIds.length));
  const pad = <V>(row: readonly V[], v: V): V[] => row.concat(new Array<V>(T - row.length).fill(v));
  return {
    inputIds: encoded.map((e) => pad(e.inputIds, padId)),
    tokenTypeIds: encoded.map((e) => pad(e.tokenTypeIds, 0)),
    attentionMask: encoded.map((e) => pad(e.attentionMask, 0)),
    tokens: encoded.map((e) => pad(e.tokens, padToken)),
    lengths: encoded.map((e) => e.inputIds.length),
    shape: [encoded.length, T],
  };
}

export interface LoadTokenizerOptions {
  /** Names of the special tokens if not BERT's ([PAD], [UNK], [CLS], [SEP], [MASK]). */
  specialTokens?: Partial<SpecialTokenNames>;
}

/** The tokenizer file a folder holds (tokenizer.json, else vocab.txt), or undefined. */
export function tokenizerFileIn(dir: string): string | undefined {
  return ['tokenizer.json', 'vocab.txt'].map((n) => path.join(dir, n)).find((f) => fs.existsSync(f));
}

/** `source` itself if it is a file; the tokenizer file inside it if it is a folder. */
export function tokenizerFile(source: string): string {
  if (!fs.existsSync(source)) throw new Error(`tokenizer file not found: ${source} (give a tokenizer.json, a vocab.txt, or a folder with one of them)`);
  if (!fs.statSync(source).isDirectory()) return source;
  const found = tokenizerFileIn(source);
  if (!found) throw new Error(`no tokenizer.json or vocab.txt in folder ${source}`);
  return found;
}

/**
 * The tokenizer a checkpoint folder was trained with: the folder's own tokenizer.json or vocab.txt
 * (as HuggingFace checkpoints and ours with a non-default vocabulary carry), else BERT uncased.
 */
export function checkpointTokenizer(dir: string): BertTokenizer {
  return loadTokenizer(tokenizerFileIn(dir));
}

/**
 * Copies a tokenizer file into a checkpoint folder (atomically), so that the checkpoint carries the
 * vocabulary it was trained with. Nothing to do if it is already that folder's.
 */
export function saveTokenizerFile(source: string, dir: string): void {
  const file = tokenizerFile(source);
  const target = path.join(dir, path.basename(file).endsWith('.json') ? 'tokenizer.json' : 'vocab.txt');
  if (path.resolve(file) !== path.resolve(target)) writeFileAtomic(target, fs.readFileSync(file));
}

/**
 * Loads a tokenizer from a `tokenizer.json`, a WordPiece `vocab.txt` (built with BERT uncased
 * settings), or a folder holding either; default: the shipped data/vocab/tokenizer.json.
 */
export function loadTokenizer(source?: string, options: LoadTokenizerOptions = {}): BertTokenizer {
  const file = tokenizerFile(source ?? defaultTokenizerPath());
  const names: SpecialTokenNames = { ...BERT_SPECIAL_TOKENS, ...options.specialTokens };
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || !('model' in json)) throw new Error(`${file} has no "model" entry: not a tokenizer.json`);
    return new BertTokenizer(json, names);
  }
  return new BertTokenizer(tokenizerJsonFromVocab(parseVocab(text, file), { specialTokens: names }), names);
}
