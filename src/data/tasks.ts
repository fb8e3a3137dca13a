/**
 * The GLUE task registry (Wang et al. 2019, "GLUE: A Multi-Task Benchmark and Analysis Platform for
 * Natural Language Understanding"): for each task, its files (the TSV layouts of the GLUE download
 * script), the columns holding the texts and the label, the label set (or regression), the metrics
 * the GLUE leaderboard reports (the first one is the task's main metric) and which split is "dev".
 *
 * Shipped in data/glue: SST-2, CoLA, MRPC, RTE, STS-B. MNLI, QNLI and QQP are read from the same
 * layouts when a user puts their files in `<dataDir>/<dir>/`.
 *
 * Beyond GLUE: IMDB (Maas et al., ACL 2011), binary sentiment of whole movie reviews, shipped in
 * data/imdb as gzipped JSON lines (`format: 'imdb-jsonl'`, read by src/data/imdb.ts), with a dev
 * split carved from its training reviews and a test split reported at the end.
 */

export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'pearson' | 'spearman';

export interface TaskSpec {
  /** Canonical name, also the folder under data/glue. */
  name: string;
  /** Columns holding text A, optional text B, and the label. */
  columns: { textA: string; textB?: string; label: string };
  /**
   * Column names for a file without a header row (CoLA); absent when the file's first row is its
   * header, in which case the columns above are looked up by name in that row.
   */
  headerless?: string[];
  kind: 'classification' | 'regression';
  /** Label values as written in the file; the class index is the position in this list. */
  labels: string[];
  /** Readable names of the classes, same order as `labels` (regression: the target's name). */
  labelNames: string[];
  /** Number of model outputs: classes, or 1 for regression. */
  numLabels: number;
  /** Allowed range of a regression target (a value outside is a malformed row). */
  range?: [number, number];
  /** Metrics, main one first. F1 is binary with class index 1 as the positive class. */
  metrics: MetricName[];
  /** File of each split, relative to the task folder. */
  files: Record<string, string>;
  /** The split that `loadTask(name, 'dev')` reads. */
  devSplit: string;
  /** Whether advlm ships the files in data/glue. */
  shipped: boolean;
  /** One line about the task, for tables and notebooks. */
  description: string;
  /**
   * How the files are laid out: 'glue-tsv' (the default: the TSV layouts above, in
   * `<dataDir>/<name>/`) or 'imdb-jsonl' (IMDB's gzipped JSON lines, read by `imdbSplit`).
   */
  format?: 'glue-tsv' | 'imdb-jsonl';
  /**
   * The recommended number of tokens per example ([CLS] and [SEP] included) for fine-tuning,
   * evaluating and attacking this task, where its texts are longer than the usual 128: longer
   * texts are cut at the end (head truncation: the first maxLength - 2 word pieces are kept).
   * Absent: the caller's default. The cost of a training step, of an attack (queries over every
   * word position) and of RIFT's adversary grows linearly with it (attention quadratically).
   */
  maxLength?: number;
}

const BINARY = ['0', '1'];

export const TASKS: Record<string, TaskSpec> = {
  'SST-2': {
    name: 'SST-2',
    columns: { textA: 'sentence', label: 'label' },
    kind: 'classification',
    labels: BINARY,
    labelNames: ['negative', 'positive'],
    numLabels: 2,
    metrics: ['accuracy'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: true,
    description: 'Stanford Sentiment Treebank: sentiment of movie-review phrases (binary).',
  },
  CoLA: {
    name: 'CoLA',
    columns: { textA: 'sentence', label: 'label' },
    headerless: ['source', 'label', 'author_label', 'sentence'],
    kind: 'classification',
    labels: BINARY,
    labelNames: ['unacceptable', 'acceptable'],
    numLabels: 2,
    metrics: ['mcc'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: true,
    description: 'Corpus of Linguistic Acceptability: is the sentence grammatical?',
  },
  MRPC: {
    name: 'MRPC',
    columns: { textA: '#1 String', textB: '#2 String', label: 'Quality' },
    kind: 'classification',
    labels: BINARY,
    labelNames: ['not_equivalent', 'equivalent'],
    numLabels: 2,
    metrics: ['f1', 'accuracy'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: true,
    description: 'Microsoft Research Paraphrase Corpus: are the two sentences paraphrases?',
  },
  RTE: {
    name: 'RTE',
    columns: { textA: 'sentence1', textB: 'sentence2', label: 'label' },
    kind: 'classification',
    labels: ['entailment', 'not_entailment'],
    labelNames: ['entailment', 'not_entailment'],
    numLabels: 2,
    metrics: ['accuracy'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: true,
    description: 'Recognizing Textual Entailment: does sentence 1 entail sentence 2?',
  },
  'STS-B': {
    name: 'STS-B',
    columns: { textA: 'sentence1', textB: 'sentence2', label: 'score' },
    kind: 'regression',
    labels: [],
    labelNames: ['similarity'],
    numLabels: 1,
    range: [0, 5],
    metrics: ['pearson', 'spearman'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: true,
    description: 'Semantic Textual Similarity Benchmark: similarity score from 0 to 5 (regression).',
  },
  MNLI: {
    name: 'MNLI',
    columns: { textA: 'sentence1', textB: 'sentence2', label: 'gold_label' },
    kind: 'classification',
    labels: ['contradiction', 'entailment', 'neutral'],
    labelNames: ['contradiction', 'entailment', 'neutral'],
    numLabels: 3,
    metrics: ['accuracy'],
    files: { train: 'train.tsv', dev_matched: 'dev_matched.tsv', dev_mismatched: 'dev_mismatched.tsv' },
    devSplit: 'dev_matched',
    shipped: false,
    description: 'Multi-Genre NLI: entailment, neutral or contradiction (dev: matched genres; also dev_mismatched).',
  },
  QNLI: {
    name: 'QNLI',
    columns: { textA: 'question', textB: 'sentence', label: 'label' },
    kind: 'classification',
    labels: ['entailment', 'not_entailment'],
    labelNames: ['entailment', 'not_entailment'],
    numLabels: 2,
    metrics: ['accuracy'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: false,
    description: 'Question NLI (from SQuAD): does the sentence answer the question?',
  },
  QQP: {
    name: 'QQP',
    columns: { textA: 'question1', textB: 'question2', label: 'is_duplicate' },
    kind: 'classification',
    labels: BINARY,
    labelNames: ['not_duplicate', 'duplicate'],
    numLabels: 2,
    metrics: ['f1', 'accuracy'],
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    devSplit: 'dev',
    shipped: false,
    description: 'Quora Question Pairs: are the two questions duplicates?',
  },
  IMDB: {
    name: 'IMDB',
    columns: { textA: 'text', label: 'file' },
    kind: 'classification',
    // the label comes from the file a review is in: train_neg/test_neg 0, train_pos/test_pos 1
    labels: ['neg', 'pos'],
    labelNames: ['negative', 'positive'],
    numLabels: 2,
    metrics: ['accuracy'],
    // train and dev are both carved from train_{neg,pos} (seed 0, see imdbTrainDev in imdb.ts)
    files: { train: 'train_{neg,pos}.jsonl.gz', dev: 'train_{neg,pos}.jsonl.gz', test: 'test_{neg,pos}.jsonl.gz' },
    devSplit: 'dev',
    shipped: true,
    format: 'imdb-jsonl',
    // Head truncation to the first 254 word pieces. Training reviews (BERT uncased word pieces):
    // mean 296, median 220, 90th percentile 582; 256 keeps the whole review for 59% of them (128:
    // 12%, 512: 87%), at twice the cost of 128 per example in fine-tuning, attacks and RIFT.
    maxLength: 256,
    // Reviews of one movie may fall on both sides of the train/dev cut: the dataset ships no usable
    // movie ids, so dev (unlike test, whose movies are disjoint from train's) can be a little optimistic.
    description: 'IMDB movie reviews (Maas et al. 2011), binary sentiment; dev: 2,500 training reviews (seed 0; reviews of one movie may fall on both sides of the train/dev cut); test: reported at the end only.',
  },
};

/** Task names in registry order. */
export const TASK_NAMES = Object.keys(TASKS);

const key = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Looks a task up by name, forgiving case and punctuation ('sst2', 'sts-b', 'mnli'). */
export function getTask(name: string): TaskSpec {
  const found = TASK_NAMES.find((n) => key(n) === key(name));
  if (!found) throw new Error(`unknown task '${name}'; known tasks: ${TASK_NAMES.join(', ')}`);
  return TASKS[found];
}

/** The file name of a split ('dev' means the task's dev split, e.g. MNLI's dev_matched). */
export function splitFile(task: TaskSpec, split: string): string {
  const s = split === 'dev' ? task.devSplit : split;
  const file = task.files[s];
  if (!file) throw new Error(`task ${task.name} has no split '${split}'; its splits are: ${['dev', ...Object.keys(task.files)].filter((x, i, a) => a.indexOf(x) === i).join(', ')}`);
  return file;
}
