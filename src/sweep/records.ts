/**
 * A sweep's results: one JSON line per cell, appended when the cell ends (done or failed), to
 * `records.jsonl` in the sweep folder (`records.shard-<i>-of-<n>.jsonl` for a shard, so that shards
 * sharing one folder never write the same file). Every records file of a folder is read back to
 * tell which cells are done; `reconcile` merges records of one cell met several times (shards run
 * twice, a merge of overlapping folders): identical results collapse to one, a done record beats
 * failed attempts, and two done records that disagree are a conflict, reported with both values.
 *
 * A line cut short by a crash (the process killed while writing) is skipped with a warning, and
 * the next append starts on a fresh line, so one crash costs at most the record being written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { appendLine } from '../util/atomic';
import { canonicalJson } from '../train/run_identity';
import type { EpochRecord } from '../train/run_record';
import { EvaluationResult, EvaluationSpec, evaluationKey } from './evaluations';
import type { Shard } from './shard';

export const RECORD_KIND = 'advlm-sweep-cell' as const;

export interface SweepRecord {
  kind: typeof RECORD_KIND;
  format: 1;
  /** The cell's run identity id (SHA-256 of its canonical fine-tuning settings): its config hash. */
  id: string;
  status: 'done' | 'failed';
  sweep: string;
  cell: { index: number; task: string; method: string; methodName: string; checkpoint: string; seed: number; dir: string };
  /** The identity's fields: every setting that changes the result. */
  identity: Record<string, unknown>;
  evaluations: EvaluationSpec[];
  /** By evaluation name. */
  results?: Record<string, EvaluationResult>;
  training?: {
    bestEpoch: number;
    dev: Record<string, number>;
    epochs: EpochRecord[];
    trainSeconds: number;
    backend: string;
    versions: Record<string, string>;
  };
  error?: { stage: string; message: string; stack?: string };
  shard: { index: number; count: number };
  host: string;
  pid: number;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

/** The records file of a shard in a sweep folder. */
export function recordsFile(dir: string, shard: Shard): string {
  return path.join(dir, shard.count === 1 ? 'records.jsonl' : `records.shard-${shard.index}-of-${shard.count}.jsonl`);
}

/** Every records file in a sweep folder (records.jsonl and the shards'), sorted by name. */
export function recordsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /^records(\..+)?\.jsonl$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Appends one record as one line; a line left unfinished by a crash is closed first. */
export function appendRecord(file: string, record: SweepRecord): void {
  if (fs.existsSync(file)) {
    const size = fs.statSync(file).size;
    if (size > 0) {
      const fd = fs.openSync(file, 'r');
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      fs.closeSync(fd);
      if (last[0] !== 0x0a) fs.appendFileSync(file, '\n');
    }
  }
  appendLine(file, JSON.stringify(record));
}

export interface ReadRecords {
  records: (SweepRecord & { source: string })[];
  /** Lines that could not be read (cut short by a crash), as "file:line". */
  skipped: string[];
}

/** Reads the records of files or sweep folders (every records file in a folder; a missing path has none). */
export function readRecords(paths: readonly string[]): ReadRecords {
  const records: (SweepRecord & { source: string })[] = [];
  const skipped: string[] = [];
  for (const p of paths) {
    if (!fs.existsSync(p)) continue; // a sweep folder not started yet
    const files = fs.statSync(p).isDirectory() ? recordsFiles(p) : [p];
    for (const file of files) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!line.trim()) return;
          try {
            const r = JSON.parse(line) as SweepRecord;
            if (r.kind !== RECORD_KIND) throw new Error('not a sweep record');
            records.push({ ...r, source: `${file}:${i + 1}` });
          } catch {
            skipped.push(`${file}:${i + 1}`);
          }
        });
    }
  }
  return { records, skipped };
}

/** Whether a done record has every evaluation a cell asks for (same names and options). */
export function covers(record: SweepRecord, evaluations: readonly EvaluationSpec[]): boolean {
  if (record.status !== 'done') return false;
  const have = new Set(record.evaluations.map(evaluationKey));
  return evaluations.every((e) => have.has(evaluationKey(e)) && record.results?.[e.name] !== undefined);
}

export interface Conflict {
  id: string;
  cell: SweepRecord['cell'];
  /** The evaluation whose results differ, and each record's main numbers. */
  evaluation: string;
  values: { source: string; metrics: Record<string, number> }[];
}

export interface Reconciled {
  /** One record per cell id: the done one (the first, by finish time), else the latest failure. */
  records: SweepRecord[];
  /** Records that repeated another with the same results, or failures a later success superseded. */
  duplicates: number;
  conflicts: Conflict[];
}

const resultText = (r: EvaluationResult | undefined) => canonicalJson(r ? { metrics: r.metrics, predictions: r.predictions, n: r.n } : null);

/**
 * One record per cell id. Among done records: the one with the most evaluations is kept (the
 * earliest if tied); every other done record must agree with it on the evaluations both have, else
 * it is a conflict (same settings, different numbers: another backend, or a nondeterministic op).
 * Without a done record, the latest failure is kept.
 */
export function reconcile(all: readonly (SweepRecord & { source?: string })[]): Reconciled {
  const byId = new Map<string, (SweepRecord & { source?: string })[]>();
  for (const r of all) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  const records: SweepRecord[] = [];
  const conflicts: Conflict[] = [];
  let duplicates = 0;
  for (const [id, rs] of byId) {
    const done = rs.filter((r) => r.status === 'done').sort((a, b) => b.evaluations.length - a.evaluations.length || a.finishedAt.localeCompare(b.finishedAt));
    if (done.length === 0) {
      const latest = [...rs].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).pop()!;
      records.push(strip(latest));
      duplicates += rs.length - 1;
      continue;
    }
    const kept = done[0];
    records.push(strip(kept));
    duplicates += rs.length - 1;
    for (const other of done.slice(1)) {
      for (const e of other.evaluations) {
        const a = kept.results?.[e.name];
        const b = other.results?.[e.name];
        if (!a || !b || evaluationKey(e) !== evaluationKey(kept.evaluations.find((x) => x.name === e.name) ?? { name: '', options: {} })) continue;
        if (resultText(a) !== resultText(b)) {
          conflicts.push({ id, cell: kept.cell, evaluation: e.name, values: [kept, other].map((r) => ({ source: r.source ?? '?', metrics: r.results![e.name].metrics })) });
        }
      }
    }
  }
  records.sort((a, b) => a.cell.index - b.cell.index || a.id.localeCompare(b.id));
  return { records, duplicates, conflicts };
}

function strip(r: SweepRecord & { source?: string }): SweepRecord {
  const { source: _source, ...rest } = r;
  return rest;
}
