/**
 * The IMDB Large Movie Review Dataset v1.0 (Maas et al., ACL 2011, "Learning Word Vectors for
 * Sentiment Analysis"), shipped in data/imdb as gzipped JSON lines, one review a line:
 * `{"id", "rating", "text"}` (rating 1-10, 0 in `unsup`; the text as in the original files, with
 * `<br />` line breaks). Files: train_neg, train_pos, test_neg, test_pos (12,500 reviews each) and
 * unsup (50,000 unlabelled reviews).
 *
 * Two uses:
 *  - the binary sentiment task 'IMDB' of the task registry (`loadTask('IMDB', split)`), with a dev
 *    split carved from the training reviews (see `imdbSplit`), and
 *  - a pre-training corpus (`imdbPretrainDocuments`, or `readCorpus({ dir: 'imdb' })`): `unsup` plus
 *    the reviews of the train split; never a test review, never a dev review.
 *
 * Text cleaning (`cleanReviewText`): `<br />`, `<br/>` and `<br>` become spaces and runs of white
 * space collapse to one space. Nothing else is changed (other markup is rare: a handful of
 * `<SPOILER>`/`<em>` tags in 100,000 reviews).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { projectRoot } from '../paths';
import type { CorpusDocument } from './corpus';
import type { Example } from './glue';
import { createRng, shuffled } from './rng';

/** One review as read from a file (text cleaned). */
export interface ImdbReview {
  /** The review's id within its file (the `[id]` of the original `[id]_[rating].txt`). */
  id: number;
  /** Star rating 1-10 (0 in `unsup`, whose ratings the dataset omits). */
  rating: number;
  text: string;
}

/** The shipped files, without the `.jsonl.gz` suffix. */
export const IMDB_FILES = ['train_neg', 'train_pos', 'test_neg', 'test_pos', 'unsup'] as const;
export type ImdbFile = (typeof IMDB_FILES)[number];

/** Seed of the dev split; fixed, so that every run and every user gets the same 2,500 reviews. */
export const IMDB_SPLIT_SEED = 0;
/** Dev reviews per class, carved from the 25,000 training reviews. */
export const IMDB_DEV_PER_CLASS = 1250;

/** The corpus name that selects IMDB in `readCorpus({ dir })` and pre-training's `corpusDir` / `--corpus`. */
export const IMDB_CORPUS = 'imdb';

/** The shipped folder, data/imdb. */
export function defaultImdbDir(): string {
  return path.join(projectRoot(), 'data', 'imdb');
}

/** `<br />`, `<br/>`, `<br>` (any case) become spaces; white space collapses; ends are trimmed. */
export function cleanReviewText(text: string): string {
  return text.replace(/(?:\s|<br\s*\/?\s*>)+/gi, ' ').trim(); // one pass: about twice as fast as two
}

/** Path of one shipped file in `dir`. */
export function imdbFile(dir: string, name: ImdbFile): string {
  return path.join(dir, `${name}.jsonl.gz`);
}

/**
 * Parses JSON-lines text, one review a line; `source` names the file in error messages. Blank lines
 * are skipped; any other line that is not `{"id": number, "rating": number, "text": string}` is an
 * error naming the file and the line.
 */
export function parseImdbJsonl(text: string, source: string, limit = Infinity): ImdbReview[] {
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new Error(`limit must be a non-negative integer, got ${limit}`);
  const out: ImdbReview[] = [];
  let start = 0;
  for (let n = 1; start < text.length && out.length < limit; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${n}: not a JSON object (${(e as Error).message}); expected one review a line: {"id", "rating", "text"}`);
    }
    const r = row as Partial<Record<'id' | 'rating' | 'text', unknown>> | null;
    if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.id !== 'number' || typeof r.rating !== 'number' || typeof r.text !== 'string') {
      throw new Error(`${source}:${n}: expected {"id": number, "rating": number, "text": string}, found ${line.length > 80 ? line.slice(0, 80) + '...' : line}`);
    }
    out.push({ id: r.id, rating: r.rating, text: cleanReviewText(r.text) });
  }
  return out;
}

/** Reads one review-per-line `.jsonl.gz` (or plain `.jsonl`) file. */
export function readImdbFile(file: string, limit?: number): ImdbReview[] {
  if (!fs.existsSync(file)) {
    throw new Error(
      `IMDB file not found: ${file}. The IMDB data ships with advlm in data/imdb (${IMDB_FILES.map((f) => f + '.jsonl.gz').join(', ')}); ` +
        'a copy elsewhere is passed as dataDir (its folder imdb/) or dir.',
    );
  }
  let bytes: Buffer = fs.readFileSync(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${file}: not a valid gzip file (${(e as Error).message})`);
    }
  } else if (file.endsWith('.gz')) {
    throw new Error(`${file}: not a gzip file (no gzip header)`);
  }
  return parseImdbJsonl(bytes.toString('utf8'), file, limit);
}

/** One labelled review of the task (label 0 negative, 1 positive); `id` is '<file>/<review id>'. */
export type ImdbExample = Example & { id: string };

export interface ImdbSplits {
  train: ImdbExample[];
  dev: ImdbExample[];
  test: ImdbExample[];
}

function labelled(dir: string, part: 'train' | 'test'): ImdbExample[] {
  const out: ImdbExample[] = [];
  (['neg', 'pos'] as const).forEach((cls, label) => {
    const name = `${part}_${cls}` as ImdbFile;
    for (const r of readImdbFile(imdbFile(dir, name))) out.push({ textA: r.text, label, id: `${name}/${r.id}` });
  });
  return out;
}

export interface ImdbSplitOptions {
  /** Folder of the IMDB files (default data/imdb). */
  dir?: string;
  /** Dev reviews per class (default 1,250: a balanced dev split of 2,500). */
  devPerClass?: number;
}

/**
 * The train and dev splits, carved from the 25,000 labelled training reviews.
 *
 * dev: `devPerClass` reviews of each class, drawn with seed IMDB_SPLIT_SEED (the negative reviews'
 * order, then the positive reviews', from one `createRng(0)` stream): the same reviews on every
 * call and every machine. train: the other training reviews, minus any whose cleaned text equals a
 * dev review's (the training files hold about a hundred duplicated texts), so no dev text is
 * trained on. Both are shuffled with the same stream, so the first examples of either mix the
 * classes (the files are sorted by class).
 *
 * Reviews of one movie can fall on both sides of the train/dev cut: the dataset caps each movie at
 * 30 reviews and keeps train and test on disjoint movies, but does not ship movie ids in a usable
 * form (only URL lists, which we do not ship), so the dev split cannot be grouped by movie. Dev
 * accuracy can therefore be slightly optimistic against test, which is on unseen movies; it is
 * used for choices (epochs, early stopping), and test is reported once at the end.
 */
export function imdbTrainDev(options: ImdbSplitOptions = {}): { train: ImdbExample[]; dev: ImdbExample[] } {
  const dir = options.dir ?? defaultImdbDir();
  const perClass = options.devPerClass ?? IMDB_DEV_PER_CLASS;
  const all = labelled(dir, 'train');
  const rng = createRng(IMDB_SPLIT_SEED);
  const dev: ImdbExample[] = [];
  const rest: ImdbExample[] = [];
  for (const label of [0, 1]) {
    const ofClass = all.filter((e) => e.label === label);
    if (ofClass.length <= perClass) throw new Error(`IMDB: ${ofClass.length} training reviews of class ${label} in ${dir}, need more than ${perClass} for the dev split`);
    const order = shuffled(ofClass, rng);
    dev.push(...order.slice(0, perClass));
    rest.push(...order.slice(perClass));
  }
  const devTexts = new Set(dev.map((e) => e.textA));
  const train = rest.filter((e) => !devTexts.has(e.textA));
  return { dev: shuffled(dev, rng), train: shuffled(train, rng) };
}

/**
 * One split of the IMDB task: 'train' (25,000 training reviews minus the dev split and its
 * duplicates: 22,481), 'dev' (2,500, balanced) or 'test' (the 25,000 test reviews, on movies
 * disjoint from train; shuffled with a fixed seed so that a limited read has both classes).
 * `limit` takes the first examples of the shuffled split, which holds both classes.
 */
export function imdbSplit(split: string, options: ImdbSplitOptions & { limit?: number } = {}): ImdbExample[] {
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new Error(`limit must be a non-negative integer, got ${limit}`);
  let out: ImdbExample[];
  if (split === 'train' || split === 'dev') out = imdbTrainDev(options)[split];
  else if (split === 'test') out = shuffled(labelled(options.dir ?? defaultImdbDir(), 'test'), createRng(IMDB_SPLIT_SEED + 1));
  else throw new Error(`task IMDB has no split '${split}'; its splits are: train, dev, test`);
  return limit < out.length ? out.slice(0, limit) : out;
}

export interface ImdbPretrainOptions extends ImdbSplitOptions {
  /** Read only the first `limitLines` reviews of `unsup` and of the train split (for tests). */
  limitLines?: number;
}

/**
 * Splits a review into sentences for packing: after '.', '!' or '?' (and any closing quotes or
 * brackets) followed by a space and a capital letter, digit or opening quote. Splitting only at
 * spaces never changes the word pieces, only where packed sequences may start.
 */
export function reviewSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?]["')\]]*) (?=["'(\[]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The IMDB pre-training documents, in the shape `readCorpus` returns: one document per review
 * (named 'unsup/<id>' or 'train_pos/<id>' ...), its sentences in order, so that packed sequences
 * never span two reviews. `unsup` (50,000) comes first, then the train split's reviews (22,481);
 * the 2,500 dev reviews are left out so that dev stays unseen, and so is any review (in `unsup` or
 * train) whose text equals a test or dev review's: the files hold a few hundred such duplicates.
 * Test reviews are read only to exclude their duplicates.
 *
 * Size (BERT uncased): 72,053 reviews, 21.3 M word pieces; packed at maxLength 128, 223,432
 * sequences, 76% full on average (a review's last sequence is short, and a sequence ends where the
 * next sentence does not fit). Packing each review as one unsplit text fills 82% (measured on 4,000
 * reviews) but starts sequences mid-sentence; we keep sentence starts, as for the books.
 * Tokenising it all takes 40-75 s here: use `packSequencesCached`.
 */
export function imdbPretrainDocuments(options: ImdbPretrainOptions = {}): CorpusDocument[] {
  const dir = options.dir ?? defaultImdbDir();
  const limit = options.limitLines ?? Infinity;
  const { train, dev } = imdbTrainDev({ dir, devPerClass: options.devPerClass });
  const heldOut = new Set<string>(dev.map((e) => e.textA));
  for (const e of labelled(dir, 'test')) heldOut.add(e.textA);
  const docs: CorpusDocument[] = [];
  const add = (name: string, text: string) => {
    if (heldOut.has(text)) return;
    const sentences = reviewSentences(text);
    if (sentences.length > 0) docs.push({ name, sentences });
  };
  for (const r of readImdbFile(imdbFile(dir, 'unsup'), limit === Infinity ? undefined : limit)) add(`unsup/${r.id}`, r.text);
  for (const e of train.slice(0, limit)) add(e.id, e.textA);
  return docs;
}
