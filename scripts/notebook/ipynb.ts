/**
 * Notebook files (nbformat 4): reading, checking that an executed notebook really ran, cleaning
 * metadata before committing, and writing in Jupyter's own layout (sorted keys, one-space indent),
 * so that saving from Jupyter and from scripts/run-notebooks.js give the same file.
 */
import * as fs from 'fs';
import * as os from 'os';

export type MultilineText = string | string[];

export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error' | string;
  name?: string;
  text?: MultilineText;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw' | string;
  id?: string;
  source: MultilineText;
  metadata: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: {
    kernelspec?: { name: string; display_name?: string; language?: string };
    language_info?: Record<string, unknown>;
    [key: string]: unknown;
  };
  nbformat: number;
  nbformat_minor: number;
}

/** One thing wrong with one cell. */
export interface CellProblem {
  /** Index in notebook.cells (markdown cells count). */
  index: number;
  /** The first non-blank line of the cell's source. */
  firstLine: string;
  problem: string;
}

/** Cell metadata kept when cleaning (everything else, e.g. execution timings, is dropped); `nbgrader` marks the exercises' cells (scripts/assignments.ts). */
export const KEPT_CELL_METADATA = ['tags', 'jupyter', 'slideshow', 'editable', 'deletable', 'name', 'nbgrader'] as const;
/** Notebook metadata kept when cleaning. */
export const KEPT_NOTEBOOK_METADATA = ['kernelspec', 'language_info'] as const;
/** Cells with this tag are not executed by nbclient; the run checks accept that. */
export const SKIP_TAG = 'skip-execution';

export function joinText(t: MultilineText | undefined): string {
  return Array.isArray(t) ? t.join('') : (t ?? '');
}

/** Reads and minimally validates a notebook file; the error names the file and what is wrong. */
export function readNotebook(file: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  } catch (e) {
    throw new Error(`${file} is not a readable notebook (JSON): ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!nb || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new Error(`${file} is not an nbformat 4 notebook (expected "nbformat": 4 and a "cells" list); re-save it from Jupyter`);
  }
  return nb;
}

/** The first non-blank line of a cell's source, trimmed (for messages). */
export function firstLine(cell: NotebookCell): string {
  return joinText(cell.source).split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

function tags(cell: NotebookCell): string[] {
  const t = cell.metadata?.tags;
  return Array.isArray(t) ? t.map(String) : [];
}

/** Whether nbclient executes this cell: a code cell with non-blank source and no skip tag. */
export function isExecutable(cell: NotebookCell): boolean {
  return cell.cell_type === 'code' && joinText(cell.source).trim() !== '' && !tags(cell).includes(SKIP_TAG);
}

/** Text printed by tslab when an error escapes a cell asynchronously (the cell itself reports success). */
const ESCAPED_ASYNC_ERROR = /^(UnhandledPromiseRejection|UncaughtException):/m;

/**
 * What is wrong in an executed notebook: a code cell that did not run (execution stops at the first
 * error), an error output, or an asynchronous error that escaped the cell (tslab prints it on
 * stderr and reports the cell as successful). Empty list when all is well.
 */
export function executionProblems(nb: Notebook): CellProblem[] {
  const problems: CellProblem[] = [];
  nb.cells.forEach((cell, index) => {
    if (!isExecutable(cell)) return;
    const at = (problem: string) => problems.push({ index, firstLine: firstLine(cell), problem });
    if (cell.execution_count === null || cell.execution_count === undefined) at('did not run (no execution count)');
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'error') {
        at(`raised ${o.ename ?? 'an error'}: ${o.evalue ?? ''}`.trim());
      } else if (o.output_type === 'stream' && o.name === 'stderr' && ESCAPED_ASYNC_ERROR.test(joinText(o.text))) {
        at(`an asynchronous error escaped the cell: ${outputText([o], 2000)}`);
      }
    }
  });
  return problems;
}

/** Removes ANSI colour codes (tracebacks carry them). */
export function stripAnsi(s: string): string {
  return s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** The readable text of some outputs (stderr, tracebacks, plain text), at most `maxChars` from the end. */
export function outputText(outputs: readonly NotebookOutput[], maxChars = 4000): string {
  const parts: string[] = [];
  for (const o of outputs) {
    if (o.output_type === 'stream') parts.push(joinText(o.text));
    else if (o.output_type === 'error') parts.push((o.traceback ?? []).join('\n') || `${o.ename}: ${o.evalue}`);
    else if (o.data && typeof o.data['text/plain'] !== 'undefined') parts.push(joinText(o.data['text/plain'] as MultilineText));
  }
  const text = stripAnsi(parts.join('')).trimEnd();
  return text.length > maxChars ? `...${text.slice(text.length - maxChars)}` : text;
}

/** `cell 3 ("const x = ...")`: how messages name a cell. */
export function describeCell(index: number, line: string): string {
  const shown = line.length > 80 ? `${line.slice(0, 77)}...` : line;
  return `cell ${index} ("${shown}")`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces machine paths in text: the project root by `.`, the home folder by `~`
 * (only where the path ends there, so /a/b does not match inside /a/bc).
 */
export function hidePaths(text: string, root: string, home: string = os.homedir()): string {
  let out = text;
  for (const [p, by] of [[root, '.'], [home, '~']] as const) {
    if (p.length > 1) out = out.replace(new RegExp(`${escapeRegExp(p)}(?![\\w.-])`, 'g'), by);
  }
  return out;
}

function mapText(t: MultilineText, f: (s: string) => string): MultilineText {
  return Array.isArray(t) ? t.map(f) : f(t);
}

function pick(obj: Record<string, unknown> | undefined, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/**
 * A cleaned copy for committing: notebook metadata reduced to kernelspec and language_info, cell
 * metadata to KEPT_CELL_METADATA (no execution timings), machine paths in text outputs replaced
 * (see hidePaths), a stable id on every cell (nbformat >= 4.5). Outputs are otherwise kept.
 */
export function cleanNotebook(nb: Notebook, root: string, home: string = os.homedir()): Notebook {
  const hide = (s: string) => hidePaths(s, root, home);
  const used = new Set(nb.cells.map((c) => c.id).filter((id): id is string => typeof id === 'string'));
  const withIds = nb.nbformat > 4 || nb.nbformat_minor >= 5;
  const cells = nb.cells.map((cell, i): NotebookCell => {
    const out: NotebookCell = { ...cell, metadata: pick(cell.metadata, KEPT_CELL_METADATA) };
    if (withIds && typeof out.id !== 'string') {
      let id = `cell-${i}`;
      while (used.has(id)) id = `${id}-x`;
      used.add(id);
      out.id = id;
    }
    if (cell.cell_type === 'code') {
      out.outputs = (cell.outputs ?? []).map((o) => {
        const c: NotebookOutput = { ...o };
        if (c.text !== undefined) c.text = mapText(c.text, hide);
        if (c.traceback) c.traceback = c.traceback.map(hide);
        if (c.evalue !== undefined) c.evalue = hide(c.evalue);
        if (c.data) {
          const data: Record<string, unknown> = {};
          for (const [mime, v] of Object.entries(c.data)) {
            data[mime] = mime.startsWith('text/') && (typeof v === 'string' || Array.isArray(v)) ? mapText(v as MultilineText, hide) : v;
          }
          c.data = data;
        }
        return c;
      });
    }
    return out;
  });
  return { ...nb, metadata: pick(nb.metadata, KEPT_NOTEBOOK_METADATA) as Notebook['metadata'], cells };
}

/** Problems that make a notebook unfit to commit: not executed, timing metadata, machine paths. */
export function commitProblems(nb: Notebook, root: string, home: string = os.homedir()): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, i) => {
    const where = describeCell(i, firstLine(cell));
    if (isExecutable(cell) && (cell.execution_count === null || cell.execution_count === undefined)) {
      problems.push(`${where} has no outputs from a run (run scripts/run-notebooks.js --full before committing)`);
    }
    const extra = Object.keys(cell.metadata ?? {}).filter((k) => !(KEPT_CELL_METADATA as readonly string[]).includes(k));
    if (extra.length) problems.push(`${where} carries metadata ${extra.join(', ')} (timings or editor state)`);
  });
  const extra = Object.keys(nb.metadata ?? {}).filter((k) => !(KEPT_NOTEBOOK_METADATA as readonly string[]).includes(k));
  if (extra.length) problems.push(`notebook metadata carries ${extra.join(', ')}`);
  const text = JSON.stringify(nb);
  for (const p of [root, home]) {
    if (p.length > 1 && new RegExp(`${escapeRegExp(JSON.stringify(p).slice(1, -1))}(?![\\w.-])`).test(text)) {
      problems.push(`a machine path (${p === root ? 'the project root' : 'the home folder'}) appears in the notebook`);
    }
  }
  return problems;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The file text in Jupyter's layout: keys sorted, one-space indent, trailing newline. */
export function formatNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb), null, 1) + '\n';
}
