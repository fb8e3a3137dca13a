/**
 * Readers for GLUE task files (TSV as written by the GLUE download script: tab-separated, no quoting,
 * a header row except for CoLA, a UTF-8 byte-order mark at the start of MRPC's files).
 * A row that does not fit the layout is an error naming the file, the line and what was expected.
 */
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from '../paths';
import { imdbSplit } from './imdb';
import { getTask, splitFile, TaskSpec } from './tasks';

/** One example: class index (classification) or real value (regression) in `label`. */
export interface Example {
  textA: string;
  textB?: string;
  label: number;
  /** Where the example comes from, when the task has ids (IMDB: '<file>/<review id>'). */
  id?: string;
}

export interface LoadTaskOptions {
  /**
   * Folder holding one folder per task (default: the project's data/glue). IMDB's files are read
   * from `<dataDir>/imdb/` when dataDir is given, else from the project's data/imdb.
   */
  dataDir?: string;
  /**
   * Read only the first `limit` examples (GLUE: of the file; IMDB: of the split, which is shuffled
   * with a fixed seed, so a limited read holds both classes).
   */
  limit?: number;
}

/** The shipped GLUE folder. */
export function defaultGlueDir(): string {
  return path.join(projectRoot(), 'data', 'glue');
}

/** Reads a split ('train', 'dev', or a named file such as MNLI's 'dev_mismatched') of a task. */
export function loadTask(name: string, split = 'train', options: LoadTaskOptions = {}): Example[] {
  const task = getTask(name);
  if (task.format === 'imdb-jsonl') {
    return imdbSplit(split, { dir: options.dataDir !== undefined ? path.join(options.dataDir, 'imdb') : undefined, limit: options.limit });
  }
  const file = path.join(options.dataDir ?? defaultGlueDir(), task.name, splitFile(task, split));
  if (!fs.existsSync(file)) {
    const hint = task.shipped
      ? 'it is shipped with advlm in data/glue: is dataDir right?'
      : `advlm does not ship ${task.name}: get it with the GLUE download script and put its files in <dataDir>/${task.name}/`;
    throw new Error(`${task.name} ${split}: file not found: ${file} (${hint})`);
  }
  return readGlueFile(file, task, options.limit);
}

/** Reads one GLUE TSV file in the layout of `task`. */
export function readGlueFile(file: string, task: TaskSpec, limit?: number): Example[] {
  return parseGlueTsv(fs.readFileSync(file, 'utf8'), task, file, limit);
}

/** Parses GLUE TSV text; `source` names the file in error messages. */
export function parseGlueTsv(text: string, task: TaskSpec, source: string, limit = Infinity): Example[] {
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new Error(`limit must be a non-negative integer, got ${limit}`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const strip = (l: string) => (l.endsWith('\r') ? l.slice(0, -1) : l);

  let header: string[];
  let first: number;
  if (task.headerless) {
    header = task.headerless;
    first = 0;
  } else {
    if (lines.length === 0) throw new Error(`${source}: empty file; expected a header row naming the columns`);
    header = strip(lines[0]).split('\t');
    first = 1;
  }
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${source}:1: header has no column '${name}' (found: ${header.join(', ')}); is this a ${task.name} file?`);
    return i;
  };
  const ia = col(task.columns.textA);
  const ib = task.columns.textB !== undefined ? col(task.columns.textB) : -1;
  const il = col(task.columns.label);
  const labelIndex = new Map(task.labels.map((l, i) => [l, i] as [string, number]));

  const out: Example[] = [];
  for (let n = first; n < lines.length && out.length < limit; n++) {
    const where = `${source}:${n + 1}`;
    const cells = strip(lines[n]).split('\t');
    if (cells.length !== header.length) {
      throw new Error(`${where}: expected ${header.length} tab-separated columns (${header.join(', ')}), found ${cells.length}`);
    }
    const raw = cells[il];
    let label: number;
    if (task.kind === 'classification') {
      const i = labelIndex.get(raw);
      if (i === undefined) throw new Error(`${where}: expected a label in column '${task.columns.label}' that is one of ${task.labels.join(', ')}, found '${raw}'`);
      label = i;
    } else {
      label = raw.trim() === '' ? NaN : Number(raw);
      const [lo, hi] = task.range ?? [-Infinity, Infinity];
      if (!Number.isFinite(label) || label < lo || label > hi) {
        throw new Error(`${where}: expected a number from ${lo} to ${hi} in column '${task.columns.label}', found '${raw}'`);
      }
    }
    const ex: Example = { textA: cells[ia], label };
    if (ib >= 0) ex.textB = cells[ib];
    out.push(ex);
  }
  return out;
}
