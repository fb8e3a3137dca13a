/**
 * The GLUE task registry (Wang et al. 2019, "GLUE: A Multi-Task Benchmark and Analysis Platform for
 * Natural Language Understanding"): for each task, its files (the TSV layouts of the GLUE download
 * script), the columns holding the texts and the label, the label set (or regression), the metrics
 * the GLUE leaderboard reports (the first one is the task's main metric) and which split is "dev".
 *
 * Shipped in data/glue: SST-2, CoLA, MRPC, RTE, STS-B. MNLI, QNLI and QQP are read from the same
 * layouts when a user puts their files in `<dataDir>/<dir>/`.
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
