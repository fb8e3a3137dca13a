/**
 * A sweep's summary, from its records: per task and method (and initial checkpoint, when the grid
 * has several), the main dev metric x 100 over seeds as FreeLB's Table 1 prints it, "median
 * (variance)" (sample variance), plus the mean and its standard error, and each method's difference
 * from the baseline method (the grid's `baseline`, default vanilla) two ways:
 *
 *   paired bootstrap   over dev examples (src/stats/bootstrap.ts): the task metric averaged over
 *                      the method's seeds minus the same for the baseline, with the 95% percentile
 *                      interval of 1,000 resamples of the dev set (one index draw shared by both
 *                      methods and every seed); this is the dev set's finite size
 *   paired t-test      over seeds (src/stats/paired_t_test.ts): the two methods run with the same
 *                      seed form a pair; this is the seeds' variation
 *
 * Beside ours, the published figures where the papers have them (FreeLB Table 1 for GLUE tasks,
 * src/sweep/paper_figures.ts), with the note that the scale differs. Markdown, TSV and HTML; the
 * "median (variance)" table goes through src/viz/tables.ts.
 *
 * With a baseline checkpoint (the grid's `baselineCheckpoint`, or `--baseline-checkpoint`), the
 * comparison is between checkpoints instead: each row against the same task and method started
 * from that checkpoint, paired by seed (seed s gives both the same data order and head
 * initialisation), as "pre-trained vs random weights" needs.
 *
 * Cells of the grid with no record yet, and failed cells, count as missing runs ("[k/n]").
 *
 * Every other evaluation of the grid (the attacks: embedding-pgd, word-attack) gets a table of its
 * own: one row per task and method, one column per metric it records, the median over seeds;
 * fractions (accuracies, rates; the evaluation says which) x100.
 */
import { getTask, metric as taskMetric, MetricName } from '../data';
import { escapeHtml } from '../viz/html';
import { ResultRow, ResultsSummary, summarizeResults, tableHtml, tableMarkdown, tableTsv } from '../viz/tables';
import { meanAndStandardError, medianAndVariance, pairedBootstrap, pairedTTest } from '../stats';
import { PaperTable, paperCellText, paperTableFor } from './paper_figures';
import { SweepRecord } from './records';
import { SweepManifest, devScore } from './run';
import { evaluationDefinition } from './evaluations';

export interface SummaryOptions {
  /** The method every other one is compared with (default: the manifest's baseline, else 'vanilla'). */
  baseline?: string;
  /** A checkpoint label: compare checkpoints (same task and method, paired by seed) instead of methods. */
  baselineCheckpoint?: string;
  /** Bootstrap resamples (default 1000) and seed (default 0). */
  resamples?: number;
  seed?: number;
  /** Decimals of the numbers (default 2). */
  digits?: number;
}

export interface Comparison {
  baseline: string;
  /** Paired bootstrap over dev examples, x100; absent with the reason in `note`. */
  bootstrap?: { observed: number; interval: [number, number]; resamples: number; n: number };
  /** Paired t-test over the seeds both have, x100. */
  tTest?: { pairs: number; meanDifference: number; se: number; t: number; df: number; p: number; interval: [number, number] };
  note?: string;
}

export interface RowSummary {
  task: string;
  /** The task's main metric (our table's). */
  metric: MetricName;
  /** Table row: the method label, with the checkpoint's when the grid has several. */
  row: string;
  method: string;
  checkpoint: string;
  /** Runs the grid asks for (seeds), recorded done, failed. */
  runs: number;
  done: number;
  failed: number;
  /** Seeds with a value, and the values x100 in that order. */
  seeds: number[];
  values: number[];
  median: number;
  variance: number;
  mean: number;
  se: number;
  vsBaseline?: Comparison;
}

/** An evaluation's metrics per task and method: medians over the seeds that recorded it. */
export interface EvaluationTable {
  evaluation: string;
  /** Metric names, in the order the records list them. */
  metrics: string[];
  /** Which metrics are fractions (shown x100). */
  fractions: boolean[];
  rows: { task: string; row: string; seeds: number; runs: number; medians: (number | undefined)[] }[];
}

export interface SweepSummary {
  name: string;
  /** The evaluations other than dev, one table each (absent when the grid has none). */
  evaluations: EvaluationTable[];
  /** The method (or, when `compareBy` is 'checkpoint', the checkpoint) every other row is compared with. */
  baseline: string;
  compareBy: 'method' | 'checkpoint';
  rows: RowSummary[];
  /** The "median (variance)" table (src/viz/tables.ts). */
  table: ResultsSummary;
  failures: { cell: SweepRecord['cell']; stage: string; message: string }[];
  paper?: PaperTable & { tasks: string[] };
  notes: string[];
}

const SHORT: Record<string, string> = { accuracy: 'acc', f1: 'f1', mcc: 'mcc', pearson: 'pearson', spearman: 'spearman' };
const columnOf = (task: string) => `${task} ${SHORT[getTask(task).metrics[0]]}`;

interface Slot {
  task: string;
  method: string;
  checkpoint: string;
  seed: number;
  record?: SweepRecord;
  /** The evaluations the cell asks for (names); undefined when an older manifest does not say and no record does. */
  evaluations?: string[];
}

/** Summarises reconciled records (one per cell), in the order of the manifest's grid when given. */
export function summarizeSweep(records: readonly SweepRecord[], manifest?: SweepManifest, options: SummaryOptions = {}): SweepSummary {
  const baselineCheckpoint = options.baselineCheckpoint ?? (options.baseline === undefined ? manifest?.baselineCheckpoint : undefined);
  const compareBy = baselineCheckpoint !== undefined ? 'checkpoint' : 'method';
  const baseline = baselineCheckpoint ?? options.baseline ?? manifest?.baseline ?? 'vanilla';
  const isBase = (r: { method: string; checkpoint: string }) => isBaselineRow({ baseline, compareBy }, r);
  const digits = options.digits ?? 2;
  const byId = new Map(records.map((r) => [r.id, r]));
  // the cells: the grid's when known (so that cells without a record count as missing), else the records'
  const slots: Slot[] = manifest
    ? manifest.cells.map((c) => ({ task: c.task, method: c.method, checkpoint: c.checkpoint, seed: c.seed, record: byId.get(c.id), evaluations: c.evaluations ?? byId.get(c.id)?.evaluations.map((e) => e.name) }))
    : records.map((r) => ({ task: r.cell.task, method: r.cell.method, checkpoint: r.cell.checkpoint, seed: r.cell.seed, record: r, evaluations: r.evaluations.map((e) => e.name) }));
  if (manifest) {
    const known = new Set(manifest.cells.map((c) => c.id));
    const extra = records.filter((r) => !known.has(r.id));
    for (const r of extra) slots.push({ task: r.cell.task, method: r.cell.method, checkpoint: r.cell.checkpoint, seed: r.cell.seed, record: r, evaluations: r.evaluations.map((e) => e.name) });
  }
  const checkpoints = [...new Set(slots.map((s) => s.checkpoint))];
  const rowOf = (s: { method: string; checkpoint: string }) => (checkpoints.length > 1 ? `${s.method} (${s.checkpoint})` : s.method);
  const tasks = [...new Set(slots.map((s) => s.task))];
  const rowsOrder = [...new Set(slots.map(rowOf))];

  const groups = new Map<string, Slot[]>();
  for (const s of slots) {
    const k = `${s.task}\u0000${rowOf(s)}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const value = (s: Slot) => (s.record?.status === 'done' ? devScore(s.record) : undefined);
  const rows: RowSummary[] = [];
  const notes: string[] = [];
  for (const task of tasks) {
    const metric = getTask(task).metrics[0];
    for (const row of rowsOrder) {
      const g = groups.get(`${task}\u0000${row}`);
      if (!g) continue;
      const present = g.filter((s) => value(s) !== undefined).sort((a, b) => a.seed - b.seed);
      const values = present.map((s) => value(s)! * 100);
      const mv = medianAndVariance(values);
      const ms = meanAndStandardError(values);
      rows.push({
        task,
        metric,
        row,
        method: g[0].method,
        checkpoint: g[0].checkpoint,
        runs: g.length,
        done: g.filter((s) => s.record?.status === 'done').length,
        failed: g.filter((s) => s.record?.status === 'failed').length,
        seeds: present.map((s) => s.seed),
        values,
        median: mv.median,
        variance: mv.variance,
        mean: ms.mean,
        se: ms.se,
      });
    }
    // differences from the baseline: per checkpoint (methods compared), or per method (checkpoints compared)
    for (const r of rows.filter((x) => x.task === task && !isBase(x))) {
      const base = rows.find((x) => x.task === task && isBase(x) && (compareBy === 'method' ? x.checkpoint === r.checkpoint : x.method === r.method));
      if (!base) continue;
      r.vsBaseline = compare(groups.get(`${task}\u0000${r.row}`)!, groups.get(`${task}\u0000${base.row}`)!, metric, baseline, options);
    }
  }
  if (!rows.some(isBase)) notes.push(`No runs of the baseline ${compareBy} '${baseline}': no differences computed.`);

  const resultRows: ResultRow[] = slots.map((s) => ({ method: rowOf(s), task: columnOf(s.task), seed: s.seed, value: value(s) ?? null }));
  const table = summarizeResults(resultRows, {
    scale: 100,
    digits,
    varianceDigits: digits,
    methods: rowsOrder,
    tasks: tasks.map(columnOf),
    caption: `Sweep ${manifest?.name ?? records[0]?.sweep ?? ''}: dev, main metric x100, median (variance) over seeds`,
  });
  const failures = slots
    .filter((s) => s.record?.status === 'failed')
    .map((s) => ({ cell: s.record!.cell, stage: s.record!.error?.stage ?? '?', message: s.record!.error?.message ?? '?' }));
  const evaluations = evaluationTables(slots, tasks, rowsOrder, rowOf);
  return { name: manifest?.name ?? records[0]?.sweep ?? 'sweep', baseline, compareBy, evaluations, rows, table, failures, paper: compareBy === 'method' ? paperTableFor(tasks) : undefined, notes }; // the papers' tables compare methods, not starting points
}

/** The median of each metric of each evaluation other than dev and test, per task and table row. */
function evaluationTables(slots: Slot[], tasks: string[], rowsOrder: string[], rowOf: (s: Slot) => string): EvaluationTable[] {
  const names = [...new Set(slots.flatMap((s) => s.evaluations ?? []))].filter((n) => n !== 'dev' && n !== 'test');
  return names.map((evaluation) => {
    const done = slots.filter((s) => s.record?.status === 'done' && s.record.results?.[evaluation]);
    const metrics = [...new Set(done.flatMap((s) => Object.keys(s.record!.results![evaluation].metrics)))]; // none until a cell has run
    let isFraction: (m: string) => boolean = () => false;
    try {
      isFraction = evaluationDefinition(evaluation).isFraction ?? isFraction;
    } catch {
      // records of an evaluation this version does not know: numbers as recorded
    }
    const rows: EvaluationTable['rows'] = [];
    for (const task of tasks) {
      for (const row of rowsOrder) {
        const all = slots.filter((s) => s.task === task && rowOf(s) === row);
        if (!all.some((s) => s.evaluations?.includes(evaluation) ?? true)) continue; // the evaluation does not apply to this task
        const present = all.filter((s) => done.includes(s));
        const medians = metrics.map((m) => {
          const v = present.map((s) => s.record!.results![evaluation].metrics[m]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
          return v.length ? medianAndVariance(v).median : undefined;
        });
        rows.push({ task, row, seeds: present.length, runs: all.length, medians });
      }
    }
    return { evaluation, metrics, fractions: metrics.map((m) => isFraction(m)), rows };
  });
}

function evaluationCells(t: EvaluationTable, digits: number): { header: string[]; rows: string[][]; note: string } {
  const header = ['task', 'method', 'seeds', ...t.metrics.map((m, j) => (t.fractions[j] ? m : `${m} (as recorded)`))];
  const rows = t.rows.map((r) => [r.task, r.row, `${r.seeds}/${r.runs}`, ...r.medians.map((v, j) => (v === undefined ? '-' : num(t.fractions[j] ? v * 100 : v, digits)))]);
  const note = `Median over the seeds that recorded the evaluation; accuracies and rates x100${t.fractions.some((f) => !f) ? ', the others as recorded' : ''}.`;
  return { header, rows, note };
}

/** Whether a row is the one the others are compared with. */
function isBaselineRow(s: Pick<SweepSummary, 'baseline' | 'compareBy'>, r: { method: string; checkpoint: string }): boolean {
  return s.compareBy === 'checkpoint' ? r.checkpoint === s.baseline : r.method === s.baseline;
}

function compare(a: Slot[], b: Slot[], metric: MetricName, baseline: string, options: SummaryOptions): Comparison {
  const out: Comparison = { baseline };
  const notes: string[] = [];
  const done = (g: Slot[]) => g.filter((s) => s.record?.status === 'done' && s.record.results?.dev?.predictions && s.record.results.dev.gold);
  const da = done(a);
  const db = done(b);
  if (da.length && db.length) {
    const gold = da[0].record!.results!.dev!.gold!;
    const same = [...da, ...db].every((s) => JSON.stringify(s.record!.results!.dev!.gold) === JSON.stringify(gold));
    if (!same) notes.push('bootstrap: the runs were evaluated on different dev examples');
    else {
      const bs = pairedBootstrap({
        a: da.map((s) => s.record!.results!.dev!.predictions!),
        b: db.map((s) => s.record!.results!.dev!.predictions!),
        gold,
        metric: (p, g) => taskMetric(metric, p, g),
        resamples: options.resamples ?? 1000,
        seed: options.seed ?? 0,
      });
      out.bootstrap = { observed: bs.observed * 100, interval: [bs.interval[0] * 100, bs.interval[1] * 100], resamples: bs.resamples, n: bs.n };
    }
  } else notes.push('bootstrap: no per-example dev predictions (the grid has no "dev" evaluation, or no run is done)');
  const scoreOf = (s: Slot) => (s.record?.status === 'done' ? devScore(s.record) : undefined);
  const pairs = a.flatMap((s) => {
    const t = b.find((x) => x.seed === s.seed);
    const x = scoreOf(s);
    const y = t ? scoreOf(t) : undefined;
    return x !== undefined && y !== undefined ? [{ x, y }] : [];
  });
  if (pairs.length >= 2) {
    const t = pairedTTest(pairs.map((p) => p.x * 100), pairs.map((p) => p.y * 100));
    out.tTest = { pairs: t.n, meanDifference: t.meanDifference, se: t.se, t: t.t, df: t.df, p: t.p, interval: t.interval };
  } else notes.push(`t-test: ${pairs.length} seed${pairs.length === 1 ? '' : 's'} in common with the baseline (needs 2)`);
  if (notes.length) out.note = notes.join('; ');
  return out;
}

// ---------------------------------------------------------------------------------------------
// rendering

function num(v: number | undefined, digits: number, signed = false): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const s = v.toFixed(digits);
  const clean = /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  return signed && v > 0 && !/^0(\.0*)?$/.test(clean) ? `+${clean}` : clean;
}

/** "p < 0.001" or "p = 0.123". */
function pText(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

interface DetailColumns {
  header: string[];
  rows: string[][];
}

function details(s: SweepSummary, digits: number): DetailColumns {
  const header = ['task', 'method', 'seeds', 'median (variance)', 'mean ± SE', `Δ vs ${s.baseline}`, 'bootstrap 95% interval', 'paired difference ± SE, t-test over seeds'];
  const rows = s.rows.map((r) => {
    const c = r.vsBaseline;
    const isBase = isBaselineRow(s, r);
    return [
      `${r.task} (${SHORT[r.metric]})`,
      r.row,
      `${r.values.length}/${r.runs}${r.failed ? ` (${r.failed} failed)` : ''}`,
      r.values.length ? `${num(r.median, digits)} (${num(r.variance, digits)})` : '-',
      r.values.length ? `${num(r.mean, digits)} ± ${num(r.se, digits)}` : '-',
      isBase ? 'baseline' : c?.bootstrap ? num(c.bootstrap.observed, digits, true) : c?.tTest ? num(c.tTest.meanDifference, digits, true) : '-',
      isBase ? '' : c?.bootstrap ? `[${num(c.bootstrap.interval[0], digits, true)}, ${num(c.bootstrap.interval[1], digits, true)}]` : '-',
      isBase ? '' : c?.tTest ? `${num(c.tTest.meanDifference, digits, true)} ± ${num(c.tTest.se, digits)}: t = ${num(c.tTest.t, 2)}, df ${c.tTest.df}, ${pText(c.tTest.p)}` : '-',
    ];
  });
  return { header, rows };
}

function detailNote(s: SweepSummary): string {
  const bs = s.rows.find((r) => r.vsBaseline?.bootstrap)?.vsBaseline?.bootstrap;
  const parts = [
    'Values: the task\'s main dev metric x100 over seeds; variance: sample (n - 1); SE = sd / sqrt(n).',
    `Δ: the metric averaged over the row's seeds minus the same for ${s.compareBy === 'checkpoint' ? `the same method from the checkpoint '${s.baseline}'` : s.baseline}, on the full dev set; ` +
      `bootstrap: paired over dev examples${bs ? ` (${bs.n} examples, ${bs.resamples} resamples, seed 0)` : ''}, 95% percentile interval; ` +
      't-test: two-sided, paired by seed. With a handful of seeds and a small dev set, an interval that contains 0 means no evidence of a difference.',
  ];
  const other = s.rows.filter((r) => r.vsBaseline?.note).map((r) => `${r.task} ${r.row}: ${r.vsBaseline!.note}`);
  return [...parts, ...other, ...s.notes].join(' ');
}

function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function paperRows(p: PaperTable & { tasks: string[] }): { header: string[]; rows: string[][] } {
  return {
    header: ['method (paper)', ...p.tasks.map((t) => `${t} ${p.metrics[t]}`)],
    rows: p.rows.map((r) => [r.label + (r.method ? ` (= ${r.method})` : ''), ...p.tasks.map((t) => paperCellText(r.cells[t]))]),
  };
}

/** The summary as Markdown: the median (variance) table, the comparison table, failures, the paper's figures. */
export function sweepMarkdown(s: SweepSummary, digits = 2): string {
  const out: string[] = [`## Sweep ${s.name}`, '', tableMarkdown(s.table).trimEnd(), ''];
  const d = details(s, digits);
  out.push(`### Mean ± standard error and differences from ${s.baseline}`, '', mdRow(d.header), `|${d.header.map((_, i) => (i < 2 ? ':--' : '--:')).join('|')}|`, ...d.rows.map(mdRow), '', `_${detailNote(s)}_`, '');
  for (const t of s.evaluations) {
    const e = evaluationCells(t, digits);
    out.push(`### Evaluation ${t.evaluation}`, '', mdRow(e.header), `|${e.header.map((_, i) => (i < 2 ? ':--' : '--:')).join('|')}|`, ...e.rows.map(mdRow), '', `_${e.note}_`, '');
  }
  if (s.failures.length) {
    out.push(`### Failed cells (${s.failures.length})`, '');
    for (const f of s.failures) out.push(`- ${f.cell.task}, ${f.cell.method}, seed ${f.cell.seed} (${f.stage}): ${f.message.split('\n')[0]}`);
    out.push('');
  }
  if (s.paper) {
    const p = paperRows(s.paper);
    out.push(`### Published: ${s.paper.caption}`, '', mdRow(p.header), `|:--|${p.header.slice(1).map(() => '--:').join('|')}|`, ...p.rows.map(mdRow), '', `_${s.paper.citation}. ${s.paper.note}_`, '');
  }
  return out.join('\n');
}

const tsv = (cells: (string | number)[]) => cells.map((c) => String(c).replace(/[\t\r\n]+/g, ' ')).join('\t');

/**
 * The summary as TSV, one line per task and method with every number (x100; empty where
 * undefined), for spreadsheets and scripts. The formatted median (variance) table: `sweepTableTsv`.
 */
export function sweepTsv(s: SweepSummary): string {
  const n = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : String(v));
  const lines = [
    tsv(['task', 'metric', 'method', 'checkpoint', 'runs', 'done', 'failed', 'seeds', 'values', 'median', 'variance', 'mean', 'se', 'baseline', 'diff', 'bootstrap_low', 'bootstrap_high', 't', 'df', 'p', 'note']),
  ];
  for (const r of s.rows) {
    const c = r.vsBaseline;
    lines.push(
      tsv([
        r.task, r.metric, r.row, r.checkpoint, r.runs, r.done, r.failed, r.seeds.join(','), r.values.join(','), n(r.median), n(r.variance), n(r.mean), n(r.se),
        isBaselineRow(s, r) ? '' : s.baseline,
        n(c?.bootstrap?.observed ?? c?.tTest?.meanDifference), n(c?.bootstrap?.interval[0]), n(c?.bootstrap?.interval[1]), n(c?.tTest?.t), n(c?.tTest?.df), n(c?.tTest?.p), c?.note ?? '',
      ]),
    );
  }
  return lines.join('\n') + '\n';
}

/** The median (variance) table as TSV (src/viz/tables.ts). */
export function sweepTableTsv(s: SweepSummary): string {
  return tableTsv(s.table);
}

function htmlTable(header: string[], rows: string[][], caption?: string, note?: string): string {
  const th = 'style="text-align:center;padding:4px 10px;border-bottom:1px solid #444"';
  const td = 'style="text-align:right;padding:3px 10px;font-variant-numeric:tabular-nums"';
  const lines = ['<table class="advlm-results" style="border-collapse:collapse">'];
  if (caption) lines.push(`<caption style="caption-side:top;font-weight:bold">${escapeHtml(caption)}</caption>`);
  lines.push(`<thead><tr>${header.map((h) => `<th ${th}>${escapeHtml(h)}</th>`).join('')}</tr></thead>`, '<tbody>');
  for (const r of rows) lines.push(`<tr>${r.map((c, i) => `<td ${i < 2 ? 'style="text-align:left;padding:3px 10px"' : td}>${escapeHtml(c)}</td>`).join('')}</tr>`);
  lines.push('</tbody>');
  if (note) lines.push(`<tfoot><tr><td colspan="${header.length}" style="text-align:left;font-size:85%;color:#555;padding-top:4px">${escapeHtml(note)}</td></tr></tfoot>`);
  lines.push('</table>');
  return lines.join('\n');
}

/** The summary as an HTML fragment (notebooks, reports). */
export function sweepHtml(s: SweepSummary, digits = 2): string {
  const d = details(s, digits);
  const parts = [`<h2>Sweep ${escapeHtml(s.name)}</h2>`, tableHtml(s.table), htmlTable(d.header, d.rows, `Mean ± standard error and differences from ${s.baseline}`, detailNote(s))];
  for (const t of s.evaluations) {
    const e = evaluationCells(t, digits);
    parts.push(htmlTable(e.header, e.rows, `Evaluation ${t.evaluation}`, e.note));
  }
  if (s.failures.length) parts.push(`<p>Failed cells:</p><ul>${s.failures.map((f) => `<li>${escapeHtml(`${f.cell.task}, ${f.cell.method}, seed ${f.cell.seed} (${f.stage}): ${f.message.split('\n')[0]}`)}</li>`).join('')}</ul>`);
  if (s.paper) {
    const p = paperRows(s.paper);
    parts.push(htmlTable(p.header, p.rows, `Published: ${s.paper.caption}`, `${s.paper.citation}. ${s.paper.note}`));
  }
  return parts.join('\n');
}
