/**
 * Combining shards and writing summaries.
 *
 * `mergeSweeps(dirs, out)`: every record of the given sweep folders (or records files), one per
 * cell (`reconcile`: duplicates with the same results collapse, a success supersedes failures,
 * disagreeing successes are conflicts), written to `<out>/records.jsonl`, with the grid's manifest
 * (sweep.json) and, if any, `<out>/conflicts.json`.
 *
 * `writeSummary(dir)`: summary.md, summary.html, summary.tsv (every number) and table.tsv (the
 * median (variance) table) in the sweep folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { canonicalJson } from '../train/run_identity';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { Conflict, readRecords, reconcile } from './records';
import { MANIFEST_FILE, SweepManifest, readManifest } from './run';
import { SummaryOptions, SweepSummary, summarizeSweep, sweepHtml, sweepMarkdown, sweepTableTsv, sweepTsv } from './summary';

export interface MergeResult {
  outDir: string;
  /** Records read, and kept (one per cell). */
  read: number;
  kept: number;
  duplicates: number;
  conflicts: Conflict[];
  /** Lines that could not be read (cut short by a crash). */
  skipped: string[];
  /** Problems with the grids' manifests (different grids merged). */
  warnings: string[];
}

export function mergeSweeps(inputs: readonly string[], outDir: string): MergeResult {
  if (inputs.length === 0) throw new Error('sweep --merge: give the sweep folders (or records files) to merge');
  for (const p of inputs) if (!fs.existsSync(p)) throw new Error(`sweep --merge: ${p} does not exist`);
  const { records, skipped } = readRecords(inputs);
  const r = reconcile(records);
  const warnings: string[] = [];
  // the grid: the first folder's manifest; another folder with a different grid is reported
  let manifest: SweepManifest | undefined;
  for (const p of inputs) {
    const m = fs.statSync(p).isDirectory() ? readManifest(p) : readManifest(path.dirname(p));
    if (!m) continue;
    if (!manifest) manifest = m;
    else if (canonicalJson(m.cells.map((c) => c.id).sort()) !== canonicalJson(manifest.cells.map((c) => c.id).sort())) {
      warnings.push(`${p} was run with a different grid (${m.name}, ${m.cells.length} cells) than the first (${manifest.name}, ${manifest.cells.length} cells): the summary follows the first`);
    }
  }
  fs.mkdirSync(outDir, { recursive: true });
  writeFileAtomic(path.join(outDir, 'records.jsonl'), r.records.map((x) => JSON.stringify(x) + '\n').join(''));
  if (manifest) writeJsonAtomic(path.join(outDir, MANIFEST_FILE), manifest);
  const conflictsFile = path.join(outDir, 'conflicts.json');
  if (r.conflicts.length) writeJsonAtomic(conflictsFile, r.conflicts);
  else fs.rmSync(conflictsFile, { force: true });
  return { outDir, read: records.length, kept: r.records.length, duplicates: r.duplicates, conflicts: r.conflicts, skipped, warnings };
}

export interface WrittenSummary {
  summary: SweepSummary;
  markdown: string;
  files: string[];
  /** Record lines that could not be read, and conflicts between records of one cell. */
  skipped: string[];
  conflicts: Conflict[];
}

/** Summarises a sweep folder (all its records files) and writes the summary files into it. */
export function writeSummary(dir: string, options: SummaryOptions = {}): WrittenSummary {
  if (!fs.existsSync(dir)) throw new Error(`sweep --summary: no sweep folder at ${dir}`);
  const { records, skipped } = readRecords([dir]);
  if (records.length === 0) throw new Error(`sweep --summary: ${dir} has no records yet (records*.jsonl); run the sweep first, or merge shards' folders with --merge`);
  const r = reconcile(records);
  const summary = summarizeSweep(r.records, readManifest(dir), options);
  const markdown = sweepMarkdown(summary, options.digits);
  const files = [
    writeFileAtomic(path.join(dir, 'summary.md'), markdown),
    writeFileAtomic(path.join(dir, 'summary.html'), sweepHtml(summary, options.digits) + '\n'),
    writeFileAtomic(path.join(dir, 'summary.tsv'), sweepTsv(summary)),
    writeFileAtomic(path.join(dir, 'table.tsv'), sweepTableTsv(summary)),
  ];
  return { summary, markdown, files, skipped, conflicts: r.conflicts };
}
