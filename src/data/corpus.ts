/**
 * The pre-training corpus: data/pretrain/*.txt (one sentence per line, one book per file), or the
 * IMDB reviews (`readCorpus({ dir: 'imdb' })`, see src/data/imdb.ts), and its packing into
 * sequences for masked-language-model training.
 *
 * Packing (the "DOC-SENTENCES" input format of RoBERTa, Liu et al. 2019): consecutive sentences of
 * one book are concatenated into `[CLS] s1 s2 ... [SEP]` while they fit in `maxLength` tokens; the
 * next sentence that does not fit starts a new sequence; sequences never span two books. There is no
 * [SEP] between sentences and no next-sentence prediction (RoBERTa found NSP unnecessary), so every
 * token type is 0. A single sentence longer than `maxLength - 2` is cut into pieces of that size and
 * its last piece starts the next sequence. Full sequences waste little compute on padding.
 */
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from '../paths';
import type { BertTokenizer } from '../tokenizer';
import { IMDB_CORPUS, imdbPretrainDocuments } from './imdb';

/** One book: its file name and its non-empty lines. */
export interface CorpusDocument {
  name: string;
  sentences: string[];
}

export interface ReadCorpusOptions {
  /**
   * Folder of .txt files (default: the project's data/pretrain), or the IMDB corpus: the name
   * 'imdb' (the shipped data/imdb; a folder of .txt files called imdb is then given as './imdb'),
   * or any folder holding IMDB's unsup.jsonl.gz. The IMDB corpus is `unsup` plus the IMDB task's
   * train split, one document per review, never a dev or test review (`imdbPretrainDocuments`).
   */
  dir?: string;
  /** Read only the first `limitLines` non-empty lines of each file (IMDB: the first reviews of unsup and of train). */
  limitLines?: number;
}

export function defaultPretrainDir(): string {
  return path.join(projectRoot(), 'data', 'pretrain');
}

/** Reads every .txt file of the folder, in file-name order. */
export function readCorpus(options: ReadCorpusOptions = {}): CorpusDocument[] {
  if (options.dir === IMDB_CORPUS) return imdbPretrainDocuments({ limitLines: options.limitLines });
  const dir = options.dir ?? defaultPretrainDir();
  if (fs.existsSync(path.join(dir, 'unsup.jsonl.gz'))) return imdbPretrainDocuments({ dir, limitLines: options.limitLines });
  if (!fs.existsSync(dir)) throw new Error(`pre-training corpus folder not found: ${dir}`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  if (files.length === 0) throw new Error(`no .txt files in ${dir}; the corpus is one sentence per line in .txt files`);
  const limit = options.limitLines ?? Infinity;
  return files.map((f) => {
    let text = fs.readFileSync(path.join(dir, f), 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const sentences: string[] = [];
    for (const line of text.split('\n')) {
      if (sentences.length >= limit) break;
      const s = line.trim();
      if (s !== '') sentences.push(s);
    }
    return { name: f, sentences };
  });
}

export interface PackOptions {
  /** Tokens per sequence, [CLS] and [SEP] included. */
  maxLength: number;
}

export const PACK_DEFAULTS: PackOptions = { maxLength: 128 };

type PackVocab = Pick<BertTokenizer, 'clsId' | 'sepId' | 'tokenIds'>;

/** Packs the books into `[CLS] ... [SEP]` id sequences of at most `maxLength` tokens (no padding). */
export function packSequences(tokenizer: PackVocab, documents: readonly CorpusDocument[], options: Partial<PackOptions> = {}): number[][] {
  return packTokenized(documents.map((d) => d.sentences.map((s) => tokenizer.tokenIds(s))), tokenizer.clsId, tokenizer.sepId, options);
}

/** Packing on already tokenised sentences (ids, no special tokens), one array of sentences per book. */
export function packTokenized(documents: readonly (readonly number[][])[], clsId: number, sepId: number, options: Partial<PackOptions> = {}): number[][] {
  const { maxLength } = { ...PACK_DEFAULTS, ...options };
  if (!Number.isInteger(maxLength) || maxLength < 3) throw new Error(`maxLength must be an integer of at least 3 ([CLS], one token, [SEP]), got ${maxLength}`);
  const cap = maxLength - 2;
  const out: number[][] = [];
  for (const doc of documents) {
    let cur: number[] = [];
    const flush = () => {
      if (cur.length > 0) out.push([clsId, ...cur, sepId]);
      cur = [];
    };
    for (const sentence of doc) {
      if (sentence.length === 0) continue;
      if (cur.length + sentence.length <= cap) {
        cur.push(...sentence);
        continue;
      }
      flush();
      let rest = sentence;
      while (rest.length > cap) {
        cur = rest.slice(0, cap);
        flush();
        rest = rest.slice(cap);
      }
      cur = [...rest];
    }
    flush();
  }
  return out;
}

/** Number of word pieces (no special tokens) in the books. */
export function countTokens(tokenizer: Pick<BertTokenizer, 'tokenize'>, documents: readonly CorpusDocument[]): number {
  let n = 0;
  for (const d of documents) for (const s of d.sentences) n += tokenizer.tokenize(s).length;
  return n;
}
