/**
 * Published figures to print beside a sweep's own, with their citation.
 *
 * FreeLB (Zhu, Cheng, Gan, Sun, Goldstein, Liu; "FreeLB: Enhanced Adversarial Training for Natural
 * Language Understanding", ICLR 2020, arXiv:1909.11764), Table 1: GLUE dev results of RoBERTa-large
 * fine-tuned by each method, median (variance) over runs with different seeds, in percent. Three
 * variance cells of the copy these numbers come from were hard to read (PGD STS-B, FreeAT RTE,
 * FreeLB QQP); the values below are the likely reading and are flagged.
 *
 * The scale differs from ours by orders of magnitude (RoBERTa-large, 355 M parameters pre-trained on
 * 160 GB of text, full GLUE training sets, versus a tiny BERT pre-trained here and the data limits
 * of a sweep), so compare the direction and relative size of effects, not the numbers.
 */

export interface PaperCell {
  median: number;
  /** Variance over runs (undefined where the paper gives a single number). */
  variance?: number;
  /** The cell was hard to read in our copy of the table. */
  uncertain?: boolean;
}

export interface PaperTable {
  citation: string;
  caption: string;
  model: string;
  /** The metric of each task's column (the paper's, which may differ from our task's main metric). */
  metrics: Record<string, string>;
  /** Rows as the paper names them. */
  rows: { label: string; method?: string; cells: Record<string, PaperCell> }[];
  note: string;
}

const c = (median: number, variance?: number, uncertain?: boolean): PaperCell => ({ median, variance, ...(uncertain ? { uncertain } : {}) });

export const FREELB_TABLE_1: PaperTable = {
  citation: 'Zhu et al., "FreeLB: Enhanced Adversarial Training for Natural Language Understanding", ICLR 2020 (arXiv:1909.11764), Table 1',
  caption: 'FreeLB Table 1: GLUE dev, RoBERTa-large, median (variance) over runs',
  model: 'RoBERTa-large',
  metrics: { MNLI: 'acc', QNLI: 'acc', QQP: 'acc', RTE: 'acc', 'SST-2': 'acc', MRPC: 'acc', CoLA: 'mcc', 'STS-B': 'pearson' },
  rows: [
    { label: 'Reported (RoBERTa)', cells: { MNLI: c(90.2), QNLI: c(94.7), QQP: c(92.2), RTE: c(86.6), 'SST-2': c(96.4), MRPC: c(90.9), CoLA: c(68.0), 'STS-B': c(92.4) } },
    { label: 'ReImp', method: 'vanilla', cells: { RTE: c(85.61, 1.7), 'SST-2': c(96.56, 0.3), MRPC: c(90.69, 0.5), CoLA: c(67.57, 1.3), 'STS-B': c(92.2, 0.2) } },
    {
      label: 'PGD',
      method: 'pgd',
      cells: { MNLI: c(90.53, 0.2), QNLI: c(94.87, 0.2), QQP: c(92.49, 0.07), RTE: c(87.41, 0.9), 'SST-2': c(96.44, 0.1), MRPC: c(90.93, 0.2), CoLA: c(69.67, 1.2), 'STS-B': c(92.43, 0.7, true) },
    },
    {
      label: 'FreeAT',
      method: 'freeat',
      cells: { MNLI: c(90.02, 0.2), QNLI: c(94.66, 0.2), QQP: c(92.48, 0.08), RTE: c(86.69, 1.5, true), 'SST-2': c(96.1, 0.2), MRPC: c(90.69, 0.4), CoLA: c(68.8, 1.3), 'STS-B': c(92.4, 0.3) },
    },
    {
      label: 'FreeLB',
      method: 'freelb',
      cells: { MNLI: c(90.61, 0.1), QNLI: c(94.98, 0.2), QQP: c(92.6, 0.03, true), RTE: c(88.13, 1.2), 'SST-2': c(96.79, 0.2), MRPC: c(91.41, 0.7), CoLA: c(71.12, 0.9), 'STS-B': c(92.67, 0.08) },
    },
  ],
  note:
    'RoBERTa-large (355 M parameters, 160 GB of pre-training text) on the full GLUE training sets; ReImp = the authors\' re-implementation of plain fine-tuning (our "vanilla"). ' +
    'Our sweeps fine-tune a tiny BERT pre-trained here, often on limited data: the scale differs by orders of magnitude, so compare the direction and size of differences between methods, not the numbers. ' +
    '* = a variance cell that was hard to read in our copy of the table.',
};

/** The paper's table restricted to some tasks (in that order), or undefined if it has none of them. */
export function paperTableFor(tasks: readonly string[], table: PaperTable = FREELB_TABLE_1): (PaperTable & { tasks: string[] }) | undefined {
  const ts = tasks.filter((t) => t in table.metrics);
  return ts.length ? { ...table, tasks: ts } : undefined;
}

/** "96.56 (0.3)", "90.2", "92.6 (0.03*)", or "-". */
export function paperCellText(cell: PaperCell | undefined): string {
  if (!cell) return '-';
  return cell.variance === undefined ? String(cell.median) : `${cell.median} (${cell.variance}${cell.uncertain ? '*' : ''})`;
}
