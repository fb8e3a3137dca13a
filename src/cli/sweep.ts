/**
 * `advlm sweep`: a grid of fine-tuning runs (src/sweep/).
 *
 *   advlm sweep GRID.json [--out DIR] [--shard i/n]   run the grid's cells (or one shard's), resumably
 *   advlm sweep GRID.json --dry-run [--out DIR]       check the grid, list its cells and their status
 *   advlm sweep --merge DIR... --out OUT              combine shards' records, one per cell
 *   advlm sweep --summary DIR                         median (variance), mean +- SE, bootstrap and t-test vs baseline
 *
 * Without --shard, a Slurm array task runs its shard (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT).
 * Ctrl-C or SIGTERM (Slurm's warning before a time limit) stops the sweep; the same command
 * resumes. On the wasm backend the signal is seen when the current cell ends (its training loop does
 * not yield to the event loop); a cell killed before then resumes from its last saved state (the end
 * of an epoch, or every `trainer.saveEvery` steps if the grid sets it).
 */
import * as path from 'path';
import { expandGrid, readGrid } from '../sweep/grid';
import { cellStatus, runSweep } from '../sweep/run';
import { mergeSweeps, writeSummary } from '../sweep/merge';
import { resolveShard, shardItems, shardText } from '../sweep/shard';
import { evaluationNames } from '../sweep/evaluations';
import { OptionSpec, parseArgs } from './args';

export const SWEEP_OPTIONS: Record<string, OptionSpec> = {
  out: { kind: 'string', help: 'sweep folder (default runs/sweeps/<grid name>); with --merge: the merged folder' },
  shard: { kind: 'string', help: 'run shard i of n (every n-th cell from cell i; 0 <= i < n); default: the Slurm array task, else all' },
  'dry-run': { kind: 'boolean', help: 'check the grid and list its cells with their status; run nothing' },
  'skip-failed': { kind: 'boolean', help: 'do not retry cells recorded as failed' },
  merge: { kind: 'boolean', help: 'combine the records of the sweep folders given (shards) into --out' },
  summary: { kind: 'boolean', help: 'summarise the sweep folder given: summary.md, summary.html, summary.tsv, table.tsv' },
  baseline: { kind: 'string', help: 'with --summary: the method compared with (default: the grid\'s baseline, else vanilla)' },
  'baseline-checkpoint': { kind: 'string', help: 'with --summary: compare checkpoints instead of methods, against this checkpoint label (e.g. random; default: the grid\'s baselineCheckpoint)' },
  resamples: { kind: 'number', help: 'with --summary: bootstrap resamples (default 1000)' },
  quiet: { kind: 'boolean', help: 'no progress bars (log lines only)' },
};

export const SWEEP_USAGE = `usage: advlm sweep GRID.json [--out DIR] [--shard i/n] [--dry-run]
       advlm sweep --merge DIR... --out OUT
       advlm sweep --summary DIR`;

export async function sweepCommand(argv: string[]): Promise<void> {
  const { options: o, positionals } = parseArgs(argv, SWEEP_OPTIONS, 'sweep');
  if (o.merge && o.summary) throw new Error('advlm sweep: --merge and --summary are separate steps (merge, then summarise the merged folder)');
  if (o.merge) {
    if (typeof o.out !== 'string') throw new Error('advlm sweep --merge DIR... needs --out OUT (the merged folder)');
    const r = mergeSweeps(positionals, o.out);
    console.log(`merged ${r.read} records from ${positionals.length} input${positionals.length === 1 ? '' : 's'} into ${path.join(r.outDir, 'records.jsonl')}: ${r.kept} cells, ${r.duplicates} duplicate${r.duplicates === 1 ? '' : 's'} reconciled, ${r.conflicts.length} conflict${r.conflicts.length === 1 ? '' : 's'}`);
    for (const s of r.skipped) console.warn(`skipped an unreadable line (cut short by a crash?): ${s}`);
    for (const w of r.warnings) console.warn(`warning: ${w}`);
    for (const c of r.conflicts) {
      console.warn(
        `conflict: cell ${c.cell.index} (${c.cell.task}, ${c.cell.method}, seed ${c.cell.seed}, id ${c.id.slice(0, 12)}), evaluation ${c.evaluation}: ` +
          c.values.map((v) => `${v.source}: ${Object.entries(v.metrics).map(([k, x]) => `${k} ${x}`).join(', ')}`).join(' vs ') +
          ` (kept the first; all in ${path.join(r.outDir, 'conflicts.json')})`,
      );
    }
    return;
  }
  if (o.summary) {
    if (positionals.length !== 1) throw new Error('advlm sweep --summary DIR: give one sweep folder (merge shards\' folders first with --merge)');
    const w = writeSummary(positionals[0], { baseline: o.baseline as string | undefined, baselineCheckpoint: o['baseline-checkpoint'] as string | undefined, resamples: o.resamples as number | undefined });
    process.stdout.write(w.markdown);
    for (const s of w.skipped) console.warn(`skipped an unreadable line (cut short by a crash?): ${s}`);
    for (const c of w.conflicts) console.warn(`conflict: cell ${c.cell.index} (${c.cell.task}, ${c.cell.method}, seed ${c.cell.seed}): its records disagree on ${c.evaluation}; the summary uses the first`);
    console.error(`wrote ${w.files.join(', ')}`);
    return;
  }
  if (positionals.length !== 1) throw new Error(`advlm sweep: give one grid file (JSON).\n${SWEEP_USAGE}\n(evaluations a grid can list: ${evaluationNames().join(', ')})`);
  const gridFile = positionals[0];
  const grid = expandGrid(readGrid(gridFile), path.dirname(path.resolve(gridFile))); // every cell checked before any work
  const outDir = (o.out as string | undefined) ?? path.join('runs', 'sweeps', grid.source.name ?? path.basename(gridFile, '.json'));
  const shard = resolveShard(o.shard as string | undefined);
  if (o['dry-run']) {
    const status = cellStatus(grid, outDir);
    const mine = new Set(shardItems(grid.cells, shard).map((c) => c.index));
    console.log(`grid ${grid.name}: ${grid.cells.length} cells (${grid.tasks.length} tasks x ${grid.checkpoints.length} checkpoints x ${grid.methods.length} methods x ${grid.seeds.length} seeds); shard ${shardText(shard)} runs ${mine.size}; folder ${outDir}`);
    for (const c of grid.cells) {
      console.log(`${mine.has(c.index) ? ' ' : '-'} ${String(c.index).padStart(4)}  ${status.get(c.index)!.padEnd(6)}  ${c.id.slice(0, 12)}  ${c.task}  ${c.method}${grid.checkpoints.length > 1 ? `  ${c.checkpoint}` : ''}  seed ${c.seed}  [${c.evaluations.map((e) => e.name).join(', ')}]${c.radiusUnit !== undefined ? `  m = ${c.radiusUnit.toFixed(4)}` : ''}`);
    }
    return;
  }
  const stop = { stop: false };
  const onSignal = (name: string) => () => {
    if (stop.stop) process.exit(130);
    console.log(`\n${name}: stopping the sweep (at the latest when the current cell ends); run the same command again to resume`);
    stop.stop = true;
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));
  const r = await runSweep(grid, { outDir, shard, stopFlag: stop, retryFailed: !o['skip-failed'], progress: o.quiet ? { mode: 'log' } : undefined });
  if (r.failed > 0) throw new Error(`${r.failed} cell${r.failed === 1 ? '' : 's'} failed (recorded with their errors in ${r.recordsFile}); run the same command again to retry them`);
}
