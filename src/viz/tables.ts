/**
 * The results table of a reproduction, printed as FreeLB's Table 1 prints it (Zhu et al.,
 * ICLR 2020: GLUE dev results over several seeds): one row per method, one column per task, each
 * cell "median (variance)" over the seeds. Output as HTML (notebooks), Markdown and TSV
 * (reports), plain text, or a danfo DataFrame.
 *
 * Statistics are computed in float64 JavaScript (stats.ts), not with danfo: danfo 1.2's groupby
 * counts null/NaN as values, its groupby mean turns NaN into the group's result, its var throws
 * on null, and its tensors are float32 with null read as 0 (test/tables.test.ts shows each).
 * Missing runs (null, undefined, NaN, or the strings '', 'NaN', 'null', 'NA') are excluded from
 * the median and the variance and counted: a cell with missing runs reads "90.6 (0.12) [4/5]"
 * (4 of 5 runs present); a cell with no value at all reads "-".
 *
 * Variance: 'sample' (divide by n - 1; default; needs n >= 2, else "-") or 'population'
 * (divide by n). The FreeLB paper does not say which it used; the table note names ours.
 *
 * danfojs-node is loaded on first use (it takes about a second), so importing src/viz stays quick.
 */
import type * as Danfo from 'danfojs-node';
import { escapeHtml } from './html';
import { median, present, variance, type VarianceKind } from '../stats/summary';
import { displayTarget, inTslab } from './tslab_display';

export interface ResultRow {
  method: string;
  task: string;
  seed?: number | string;
  /** The dev score of that run; null/undefined/NaN = the run is missing (failed, not finished). */
  value: number | null | undefined;
}

export interface TableOptions {
  variance: VarianceKind;
  /** Decimals of the median and of the variance. */
  digits: number;
  varianceDigits: number;
  /** Multiply values first (100: fractions to percent). The variance scales by scale^2. */
  scale: number;
  /** Row and column order (default: order of first appearance); listed-but-absent ones show "-". */
  methods?: readonly string[];
  tasks?: readonly string[];
  /** Text of an empty cell. */
  missingText: string;
  /** A caption above the table. */
  caption?: string;
}

export const TABLE_DEFAULTS: TableOptions = {
  variance: 'sample',
  digits: 1,
  varianceDigits: 2,
  scale: 1,
  missingText: '-',
};

export interface SummaryCell {
  method: string;
  task: string;
  /** Runs given for this cell, and how many had a value. */
  runs: number;
  n: number;
  missing: number;
  /** NaN when undefined (no values; or sample variance with n < 2). */
  median: number;
  variance: number;
  /** The formatted cell. */
  text: string;
}

export interface ResultsSummary {
  methods: string[];
  tasks: string[];
  /** cells[i][j]: methods[i] on tasks[j]. */
  cells: SummaryCell[][];
  options: TableOptions;
  /** Total missing runs over the table. */
  missing: number;
  /** The explanation printed under the table. */
  note: string;
}

/** danfojs-node, loaded on first use. */
export function danfo(): typeof Danfo {
  return require('danfojs-node');
}

const MISSING_STRINGS = new Set(['', 'nan', 'null', 'na', 'n/a', 'none', 'undefined']);

/** A value as read from a row or a DataFrame cell: a finite number, or null for missing. */
function readValue(v: unknown, where: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    if (!Number.isFinite(v)) throw new Error(`${where}: value ${v} is not finite (use null or NaN for a missing run)`);
    return v;
  }
  if (typeof v === 'string') {
    if (MISSING_STRINGS.has(v.trim().toLowerCase())) return null;
    const x = Number(v);
    if (Number.isFinite(x)) return x;
  }
  throw new Error(`${where}: value ${JSON.stringify(v)} is not a number (use null or NaN for a missing run)`);
}

function isFrameLike(x: unknown): x is Danfo.DataFrame {
  return !!x && typeof x === 'object' && !Array.isArray(x) && Array.isArray((x as { columns?: unknown }).columns) && 'values' in (x as object);
}

/** Rows from an array of {method, task, seed?, value} or a danfo DataFrame with those columns. */
export function resultRows(input: readonly ResultRow[] | Danfo.DataFrame): ResultRow[] {
  let raw: Record<string, unknown>[];
  if (isFrameLike(input)) {
    const cols = input.columns as string[];
    for (const c of ['method', 'task', 'value']) {
      if (!cols.includes(c)) throw new Error(`the DataFrame needs columns method, task, value (and optionally seed); it has ${cols.join(', ')}`);
    }
    // Read the stored JS values (not .tensor: float32, with null turned into 0).
    const values = input.values as unknown[][];
    raw = values.map((row) => Object.fromEntries(cols.map((c, j) => [c, row[j]])));
  } else if (Array.isArray(input)) {
    raw = input as unknown as Record<string, unknown>[];
  } else {
    throw new Error('results must be an array of {method, task, seed?, value} or a danfo DataFrame with those columns');
  }
  const seen = new Set<string>();
  return raw.map((r, i) => {
    if (!r || typeof r !== 'object') throw new Error(`results[${i}] must be an object {method, task, seed?, value}`);
    const method = r.method;
    const task = r.task;
    if (typeof method !== 'string' || method === '') throw new Error(`results[${i}].method must be a non-empty string, got ${JSON.stringify(method)}`);
    if (typeof task !== 'string' || task === '') throw new Error(`results[${i}].task must be a non-empty string, got ${JSON.stringify(task)}`);
    const seed = r.seed as number | string | undefined;
    if (seed !== undefined && seed !== null) {
      const key = JSON.stringify([method, task, seed]);
      if (seen.has(key)) throw new Error(`results has two runs of ${method} on ${task} with seed ${seed}: remove the duplicate`);
      seen.add(key);
    }
    return { method, task, seed: seed ?? undefined, value: readValue(r.value, `results[${i}] (${method}, ${task})`) };
  });
}

function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Medians and variances per method and task (see the file header for missing values). */
export function summarizeResults(input: readonly ResultRow[] | Danfo.DataFrame, options: Partial<TableOptions> = {}): ResultsSummary {
  const o: TableOptions = { ...TABLE_DEFAULTS, ...options };
  if (o.variance !== 'sample' && o.variance !== 'population') throw new Error(`variance must be 'sample' or 'population', got ${JSON.stringify(o.variance)}`);
  if (!(Number.isFinite(o.scale) && o.scale !== 0)) throw new Error(`scale must be a non-zero number, got ${o.scale}`);
  const rows = resultRows(input);
  const methods = o.methods ? [...o.methods] : [...new Set(rows.map((r) => r.method))];
  const tasks = o.tasks ? [...o.tasks] : [...new Set(rows.map((r) => r.task))];
  const groups = new Map<string, (number | null)[]>();
  for (const r of rows) {
    const key = `${r.method}\u0000${r.task}`;
    const g = groups.get(key) ?? [];
    g.push(r.value === null || r.value === undefined ? null : r.value * o.scale);
    groups.set(key, g);
  }
  let missingTotal = 0;
  const cells = methods.map((method) =>
    tasks.map((task) => {
      const vals = groups.get(`${method}\u0000${task}`) ?? [];
      const p = present(vals, `values of ${method} on ${task}`);
      missingTotal += p.missing;
      const med = median(p.values);
      const v = variance(p.values, o.variance);
      let text = o.missingText;
      if (p.values.length > 0) {
        text = `${fixed(med, o.digits)} (${Number.isNaN(v) ? o.missingText : fixed(v, o.varianceDigits)})`;
      }
      if (p.missing > 0) text += ` [${p.values.length}/${vals.length}]`;
      return { method, task, runs: vals.length, n: p.values.length, missing: p.missing, median: med, variance: v, text };
    }),
  );
  const seedCounts = [...new Set(cells.flat().filter((c) => c.runs > 0).map((c) => c.runs))].sort((a, b) => a - b);
  const note =
    `Median (${o.variance === 'sample' ? 'sample variance, n - 1' : 'population variance, n'}) over ${seedCounts.length === 1 ? seedCounts[0] : seedCounts.join('/')} runs per cell` +
    (o.scale !== 1 ? `, values x${o.scale}` : '') +
    (missingTotal > 0 ? `; ${missingTotal} missing run${missingTotal === 1 ? '' : 's'} (null/NaN) excluded, [k/n] = k of n runs present` : '') +
    `; "${o.missingText}" = no value.`;
  return { methods, tasks, cells, options: o, missing: missingTotal, note };
}

function summaryOf(x: ResultsSummary | readonly ResultRow[] | Danfo.DataFrame, options?: Partial<TableOptions>): ResultsSummary {
  if (x && typeof x === 'object' && 'cells' in x && 'note' in x) return x as ResultsSummary;
  return summarizeResults(x as readonly ResultRow[] | Danfo.DataFrame, options);
}

type TableInput = ResultsSummary | readonly ResultRow[] | Danfo.DataFrame;

/** An HTML table (with the note as a caption-like footer). */
export function tableHtml(input: TableInput, options: Partial<TableOptions> = {}): string {
  const s = summaryOf(input, options);
  const th = 'style="text-align:center;padding:4px 10px;border-bottom:1px solid #444"';
  const td = 'style="text-align:right;padding:3px 10px;font-variant-numeric:tabular-nums"';
  const lines = ['<table class="advlm-results" style="border-collapse:collapse">'];
  const caption = s.options.caption;
  if (caption) lines.push(`<caption style="caption-side:top;font-weight:bold">${escapeHtml(caption)}</caption>`);
  lines.push(`<thead><tr><th ${th.replace('center', 'left')}>method</th>${s.tasks.map((t) => `<th ${th}>${escapeHtml(t)}</th>`).join('')}</tr></thead>`);
  lines.push('<tbody>');
  s.methods.forEach((m, i) => {
    lines.push(`<tr><td style="text-align:left;padding:3px 10px">${escapeHtml(m)}</td>${s.cells[i].map((c) => `<td ${td}>${escapeHtml(c.text)}</td>`).join('')}</tr>`);
  });
  lines.push('</tbody>');
  lines.push(`<tfoot><tr><td colspan="${s.tasks.length + 1}" style="text-align:left;font-size:85%;color:#555;padding-top:4px">${escapeHtml(s.note)}</td></tr></tfoot>`);
  lines.push('</table>');
  return lines.join('\n');
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** A Markdown (GitHub) table followed by the note. */
export function tableMarkdown(input: TableInput, options: Partial<TableOptions> = {}): string {
  const s = summaryOf(input, options);
  const out: string[] = [];
  if (s.options.caption) out.push(`**${mdEscape(s.options.caption)}**`, '');
  out.push(`| method | ${s.tasks.map(mdEscape).join(' | ')} |`);
  out.push(`|:--|${s.tasks.map(() => '--:').join('|')}|`);
  s.methods.forEach((m, i) => out.push(`| ${mdEscape(m)} | ${s.cells[i].map((c) => mdEscape(c.text)).join(' | ')} |`));
  out.push('', `_${mdEscape(s.note)}_`);
  return out.join('\n') + '\n';
}

function tsvField(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ');
}

/**
 * Tab-separated values. 'wide' (default): the table as shown (formatted cells). 'long': one line
 * per method and task with numbers (method, task, runs, n, missing, median, variance; empty for
 * undefined), for spreadsheets and scripts.
 */
export function tableTsv(input: TableInput, options: Partial<TableOptions> & { layout?: 'wide' | 'long' } = {}): string {
  const s = summaryOf(input, options);
  if ((options.layout ?? 'wide') === 'long') {
    const num = (v: number) => (Number.isNaN(v) ? '' : String(v));
    const lines = ['method\ttask\truns\tn\tmissing\tmedian\tvariance'];
    for (const row of s.cells) for (const c of row) lines.push([tsvField(c.method), tsvField(c.task), c.runs, c.n, c.missing, num(c.median), num(c.variance)].join('\t'));
    return lines.join('\n') + '\n';
  }
  const lines = [['method', ...s.tasks].map(tsvField).join('\t')];
  s.methods.forEach((m, i) => lines.push([m, ...s.cells[i].map((c) => c.text)].map(tsvField).join('\t')));
  return lines.join('\n') + '\n';
}

/** A fixed-width plain-text table (terminals, text/plain of notebook outputs). */
export function tableText(input: TableInput, options: Partial<TableOptions> = {}): string {
  const s = summaryOf(input, options);
  const grid = [['method', ...s.tasks], ...s.methods.map((m, i) => [m, ...s.cells[i].map((c) => c.text)])];
  const widths = grid[0].map((_, j) => Math.max(...grid.map((r) => r[j].length)));
  const fmt = (r: string[]) => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ');
  const lines = [fmt(grid[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...grid.slice(1).map(fmt), s.note];
  if (s.options.caption) lines.unshift(s.options.caption);
  return lines.join('\n');
}

/** The formatted table as a danfo DataFrame (index = methods, columns = tasks). */
export function summaryFrame(input: TableInput, options: Partial<TableOptions> = {}): Danfo.DataFrame {
  const s = summaryOf(input, options);
  const dfd = danfo();
  return new dfd.DataFrame(s.cells.map((row) => row.map((c) => c.text)), { columns: s.tasks, index: s.methods });
}

/**
 * Displays the table: in tslab one output with text/html and text/plain; elsewhere prints the
 * plain-text table. Returns nothing (a notebook cell ending in it prints nothing more); the
 * numbers are in `summarizeResults`.
 */
export function showTable(input: TableInput, options: Partial<TableOptions> = {}): void {
  const s = summaryOf(input, options);
  if (inTslab()) displayTarget().send({ 'text/html': tableHtml(s), 'text/plain': tableText(s) });
  else console.log(tableText(s));
}
