/**
 * Sweeps: a grid of fine-tuning runs as data (tasks x checkpoints x methods x seeds, plus the
 * evaluations after each run), resumable cell by cell, spread over Slurm array tasks or `--shard
 * i/n`, and summarised with FreeLB-style median (variance), mean and standard error, a paired
 * bootstrap over dev examples and a paired t-test over seeds. The command: `advlm sweep` (src/cli/sweep.ts).
 *
 *   const g = expandGrid(readGrid('notebooks/grids/example.json'), 'notebooks/grids');
 *   await runSweep(g, { outDir: 'runs/sweeps/example' });
 *   const { records } = reconcile(readRecords(['runs/sweeps/example']).records);
 *   console.log(sweepMarkdown(summarizeSweep(records, readManifest('runs/sweeps/example'))));
 */
export * from './grid';
export * from './evaluations';
export * from './attack_evaluations';
export * from './shard';
export * from './records';
export * from './run';
export * from './summary';
export * from './paper_figures';
export { mergeSweeps, writeSummary, type MergeResult } from './merge';
export { tinyGrid, writeTinySweep } from './tiny';
