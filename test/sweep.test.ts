/**
 * Sweeps in one process: the grid's validation, shards (flag and Slurm's environment), a tiny grid
 * run end to end (records with per-example dev predictions, weights deleted, a rerun skipping
 * everything), a failing cell recorded while the sweep goes on (and its retry evaluating without
 * retraining), the median-dev seed's checkpoint kept, merges with duplicates and conflicts, crash-cut
 * record lines, and the summary's numbers against src/stats.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backend } from './helpers';
import { accuracy } from '../src/data';
import { meanAndStandardError, medianAndVariance, pairedBootstrap, pairedTTest } from '../src/stats';
import {
  appendRecord,
  expandGrid,
  mergeSweeps,
  parseShard,
  readGrid,
  readManifest,
  readRecords,
  reconcile,
  registerEvaluation,
  resolveShard,
  runSweep,
  shardItems,
  slurmShard,
  summarizeSweep,
  sweepMarkdown,
  tinyGrid,
  writeSummary,
  writeTinySweep,
  SweepRecord,
} from '../src/sweep';

const quiet = { progress: { mode: 'silent' as const }, log: () => {} };
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `advlm-sweep-${name}-`));

test('the grid is checked whole before any work: every problem named with its entry or cell', async () => {
  await backend();
  const dir = tmp('grid');
  const { gridFile } = await writeTinySweep(dir);
  const ok = expandGrid(readGrid(gridFile), dir);
  assert.equal(ok.cells.length, 8);
  assert.deepEqual(ok.cells.map((c) => `${c.task}/${c.method}/${c.seed}`).slice(0, 3), ['SST-2/vanilla/0', 'SST-2/vanilla/1', 'SST-2/gaussian-noise/0']);
  assert.equal(new Set(ok.cells.map((c) => c.id)).size, 8, 'one run identity per cell');
  assert.ok(ok.cells.every((c) => /^[0-9a-f]{64}$/.test(c.id)));
  const bad = {
    ...tinyGrid('ckpt'),
    tasks: ['SST-2', 'NOPE'],
    methods: ['vanilla', { name: 'gaussian-noise', config: { sigmaa: 1 } }, 'freelbb'],
    evaluations: ['dev', 'robustness'],
    trainer: { epochs: 1, seed: 3 },
    colour: 'blue',
  };
  const err = (() => {
    try {
      expandGrid(bad as never, dir);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  for (const want of [/tasks\[1\]: unknown task 'NOPE'/, /methods\[1\] \(gaussian-noise\): .*sigmaa/, /methods\[2\] \(freelbb\): unknown method 'freelbb'/, /evaluations\[1\]: unknown evaluation 'robustness'/, /trainer\.seed is not allowed/, /grid: unknown key 'colour'/]) {
    assert.match(err, want);
  }
  // a problem only a cell's full settings show: named by the cell
  assert.throws(() => expandGrid({ ...tinyGrid('ckpt'), tasks: ['SST-2', { name: 'RTE', maxLength: 2 }] }, dir), /cell 4 \(RTE, vanilla, seed 0\): bad fine-tuning settings: maxLength must be an integer >= 3/);
  assert.throws(() => expandGrid({ ...tinyGrid('ckpt'), baseline: 'freelb' }, dir), /baseline 'freelb' is not one of the methods/);
  assert.throws(() => expandGrid({ ...tinyGrid('ckpt'), baselineCheckpoint: 'random' }, dir), /baselineCheckpoint "random" is not one of the checkpoints' labels/);
  assert.throws(() => expandGrid({ ...tinyGrid('ckpt'), methods: ['vanilla', 'vanilla'] }, dir), /two methods are labelled 'vanilla'/);
  assert.throws(() => expandGrid({ ...tinyGrid('missing') }, dir), /checkpoints\[0\] \(missing\): no checkpoint at/);
  assert.throws(() => expandGrid({ ...tinyGrid('ckpt'), evaluations: [{ name: 'test', options: { limit: -1 } }] }, dir), /evaluation 'test', option limit must be >= 0/);
  // 'test' applies only where the task has a test split
  const withTest = expandGrid({ ...tinyGrid('ckpt'), tasks: ['SST-2', 'IMDB'], evaluations: ['dev', 'test'] }, dir);
  assert.deepEqual(withTest.cells.find((c) => c.task === 'SST-2')!.evaluations.map((e) => e.name), ['dev']);
  assert.deepEqual(withTest.cells.find((c) => c.task === 'IMDB')!.evaluations.map((e) => e.name), ['dev', 'test']);
  fs.rmSync(dir, { recursive: true });
});

test('shards: every n-th cell from --shard i/n or from the Slurm array task', () => {
  assert.deepEqual(parseShard('1/3'), { index: 1, count: 3, source: 'flag' });
  assert.throws(() => parseShard('3/3'), /0 <= i < n/);
  assert.throws(() => parseShard('a/b'), /i\/n/);
  assert.deepEqual(shardItems([0, 1, 2, 3, 4, 5, 6], parseShard('1/3')), [1, 4]);
  // --array=0-1: ids 0 and 1, count 2
  assert.deepEqual(slurmShard({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '1' }), { index: 1, count: 2, source: 'slurm' });
  // --array=1-4 (ids from 1) and --array=0-10:2 (step 2)
  assert.equal(slurmShard({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_STEP: '1' })!.index, 0);
  assert.equal(slurmShard({ SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_COUNT: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2' })!.index, 3);
  // --array=1,4,6 is not evenly spaced
  assert.throws(() => slurmShard({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_STEP: '1' }), /does not map to one of 3 shards.*--array=0-2/);
  assert.equal(slurmShard({}), undefined);
  assert.deepEqual(resolveShard(undefined, {}), { index: 0, count: 1, source: 'none' });
  assert.equal(resolveShard('0/2', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' }).index, 0, 'the flag wins over Slurm');
});

test('a tiny grid end to end: one record per cell with dev predictions, no weights left, a rerun does nothing, a summary with the right numbers', async () => {
  await backend();
  const dir = tmp('run');
  const { gridFile } = await writeTinySweep(dir);
  const g = expandGrid(readGrid(gridFile), dir);
  const out = path.join(dir, 'out');
  const before = tf.memory().numTensors;
  const r = await runSweep(g, { outDir: out, ...quiet });
  assert.equal(tf.memory().numTensors, before, 'a sweep leaves no tensors behind');
  assert.deepEqual([r.ran, r.failed, r.skipped], [8, 0, 0]);
  const { records } = readRecords([out]);
  assert.equal(records.length, 8);
  assert.deepEqual(records.map((x) => x.id).sort(), g.cells.map((c) => c.id).sort());
  for (const rec of records) {
    assert.equal(rec.status, 'done');
    assert.equal(rec.results!.dev.predictions!.length, 16);
    assert.equal(rec.results!.dev.gold!.length, 16);
    assert.equal(rec.results!.dev.metrics.accuracy, accuracy(rec.results!.dev.predictions!, rec.results!.dev.gold!));
    assert.equal(rec.results!.dev.metrics.accuracy, rec.training!.dev.accuracy, 'the dev evaluation of the kept model matches the best epoch');
  }
  assert.deepEqual(fs.readdirSync(path.join(out, 'cells')), [], 'every cell\'s weights are deleted once recorded');
  const again = await runSweep(g, { outDir: out, ...quiet });
  assert.deepEqual([again.ran, again.skipped], [0, 8]);
  assert.equal(readRecords([out]).records.length, 8);

  // the summary's numbers are src/stats' on the records
  const s = summarizeSweep(reconcile(records).records, readManifest(out));
  const byCell = (task: string, method: string) => records.filter((x) => x.cell.task === task && x.cell.method === method).sort((a, b) => a.cell.seed - b.cell.seed);
  const noise = byCell('SST-2', 'gaussian-noise');
  const vanilla = byCell('SST-2', 'vanilla');
  const row = s.rows.find((x) => x.task === 'SST-2' && x.method === 'gaussian-noise')!;
  const vals = noise.map((x) => x.results!.dev.metrics.accuracy * 100);
  assert.deepEqual(row.values, vals);
  assert.equal(row.median, medianAndVariance(vals).median);
  assert.equal(row.variance, medianAndVariance(vals).variance);
  assert.equal(row.se, meanAndStandardError(vals).se);
  const bs = pairedBootstrap({ a: noise.map((x) => x.results!.dev.predictions!), b: vanilla.map((x) => x.results!.dev.predictions!), gold: noise[0].results!.dev.gold!, metric: accuracy });
  assert.ok(Math.abs(row.vsBaseline!.bootstrap!.observed - bs.observed * 100) < 1e-9);
  row.vsBaseline!.bootstrap!.interval.forEach((v, i) => assert.ok(Math.abs(v - bs.interval[i] * 100) < 1e-9));
  const tt = pairedTTest(vals, vanilla.map((x) => x.results!.dev.metrics.accuracy * 100));
  assert.equal(row.vsBaseline!.tTest!.p, tt.p);
  const w = writeSummary(out);
  assert.equal(w.markdown, sweepMarkdown(s));
  assert.match(w.markdown, /\| vanilla \| .* \| .* \|/);
  assert.match(w.markdown, /FreeLB Table 1/);
  assert.match(w.markdown, /ReImp \(= vanilla\) \| 96.56 \(0.3\) \| 85.61 \(1.7\)/);
  assert.match(w.markdown, /the scale differs/);
  for (const f of ['summary.md', 'summary.html', 'summary.tsv', 'table.tsv']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.match(fs.readFileSync(path.join(out, 'summary.tsv'), 'utf8').split('\n')[0], /^task\tmetric\tmethod/);
  assert.match(fs.readFileSync(path.join(out, 'summary.html'), 'utf8'), /<table/);

  // shards in two folders, merged, give the same summary
  for (const shard of ['0/2', '1/2']) await runSweep(g, { outDir: path.join(dir, `shard-${shard[0]}`), shard: parseShard(shard), ...quiet });
  const merged = mergeSweeps([path.join(dir, 'shard-0'), path.join(dir, 'shard-1')], path.join(dir, 'merged'));
  assert.deepEqual([merged.read, merged.kept, merged.duplicates, merged.conflicts.length], [8, 8, 0, 0]);
  assert.equal(writeSummary(path.join(dir, 'merged')).markdown, w.markdown, 'sharded and single-process runs summarise the same');
  // a duplicate with the same results collapses; one with other results is a conflict
  const copy = path.join(dir, 'copy');
  fs.mkdirSync(copy);
  const first = readRecords([path.join(dir, 'shard-0')]).records[0];
  const { source: _s, ...dup } = first;
  appendRecord(path.join(copy, 'records.jsonl'), { ...dup, finishedAt: '9999' } as SweepRecord);
  const other = structuredClone(dup) as SweepRecord;
  other.results!.dev.metrics.accuracy = 0.123;
  appendRecord(path.join(copy, 'records.jsonl'), other);
  const m2 = mergeSweeps([path.join(dir, 'merged'), copy], path.join(dir, 'merged2'));
  assert.equal(m2.kept, 8);
  assert.equal(m2.duplicates, 2);
  assert.equal(m2.conflicts.length, 1);
  assert.equal(m2.conflicts[0].id, first.id);
  assert.ok(fs.existsSync(path.join(dir, 'merged2', 'conflicts.json')));
  fs.rmSync(dir, { recursive: true });
});

let explode = true;
registerEvaluation({
  name: 'explode-on-rte',
  summary: 'test only: throws on RTE while the flag is set',
  options: {},
  defaults: {},
  appliesTo: () => true,
  run: async (ctx) => {
    if (explode && ctx.task.name === 'RTE') throw new Error('boom on RTE');
    return { metrics: { ok: 1 }, n: 0 };
  },
});

test('a failing cell is recorded with its error and the sweep goes on; a retry evaluates the trained model without training again', async () => {
  await backend();
  const dir = tmp('fail');
  await writeTinySweep(dir);
  const g = expandGrid({ ...tinyGrid('ckpt'), methods: ['vanilla'], evaluations: ['dev', 'explode-on-rte'] }, dir);
  const out = path.join(dir, 'out');
  const before = tf.memory().numTensors;
  const r = await runSweep(g, { outDir: out, ...quiet });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual([r.ran, r.failed], [4, 2]);
  const failed = readRecords([out]).records.filter((x) => x.status === 'failed');
  assert.deepEqual(failed.map((x) => [x.cell.task, x.error!.stage, x.error!.message]), [['RTE', 'evaluate explode-on-rte', 'boom on RTE'], ['RTE', 'evaluate explode-on-rte', 'boom on RTE']]);
  const failedDirs = failed.map((x) => path.join(out, 'cells', x.cell.dir));
  assert.ok(failedDirs.every((d) => fs.existsSync(path.join(d, 'trained.json')) && fs.existsSync(path.join(d, 'eval-dev.json'))), 'a failed cell keeps its trained model for the retry');
  // the summary counts them as missing runs
  assert.match(summarizeSweep(reconcile(readRecords([out]).records).records, readManifest(out)).table.cells[0][1].text, /^- \[0\/2\]$/);
  const trainedBefore = new Map(failed.map((x) => [x.id, JSON.parse(fs.readFileSync(path.join(out, 'cells', x.cell.dir, 'trained.json'), 'utf8')).training]));
  explode = false;
  const skip = await runSweep(g, { outDir: out, retryFailed: false, ...quiet });
  assert.deepEqual([skip.ran, skip.skipped], [0, 4]);
  const retry = await runSweep(g, { outDir: out, ...quiet });
  assert.deepEqual([retry.ran, retry.failed, retry.skipped], [2, 0, 2]);
  const recs = readRecords([out]).records;
  for (const f of failed) {
    const done = recs.find((x) => x.id === f.id && x.status === 'done')!;
    assert.deepEqual(done.training, trainedBefore.get(f.id), 'the retry took the training from trained.json (it did not train again)');
  }
  const { records } = reconcile(recs);
  assert.equal(records.length, 4);
  assert.ok(records.every((x) => x.status === 'done'));
  fs.rmSync(dir, { recursive: true });
});

test("keep 'median-dev-seed': one checkpoint per task and method, the median seed's, once every seed is recorded", async () => {
  await backend();
  const dir = tmp('keep');
  await writeTinySweep(dir);
  const g = expandGrid({ ...tinyGrid('ckpt'), tasks: ['SST-2'], methods: ['vanilla'], seeds: [0, 1, 2], keep: 'median-dev-seed' }, dir);
  const out = path.join(dir, 'out');
  await runSweep(g, { outDir: out, ...quiet });
  const left = fs.readdirSync(path.join(out, 'cells'));
  assert.equal(left.length, 1, `one checkpoint kept, found ${left.join(', ')}`);
  const recs = readRecords([out]).records.sort((a, b) => a.results!.dev.metrics.accuracy - b.results!.dev.metrics.accuracy || a.cell.seed - b.cell.seed);
  assert.equal(left[0], recs[1].cell.dir, 'the median dev seed');
  assert.ok(fs.existsSync(path.join(out, 'cells', left[0], 'model.safetensors')));
  const kept = JSON.parse(fs.readFileSync(path.join(out, 'kept', fs.readdirSync(path.join(out, 'kept'))[0]), 'utf8'));
  assert.equal(kept.seed, recs[1].cell.seed);

  // The median seed's record merged into another folder without its weights (run on another
  // machine): the other seeds run there, and their weights must stay, since pruning would leave none.
  const other = path.join(dir, 'other');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'records.jsonl'), JSON.stringify(recs[1]) + '\n');
  const lines: string[] = [];
  await runSweep(g, { outDir: other, ...quiet, log: (s: string) => lines.push(s) });
  const otherCells = fs.readdirSync(path.join(other, 'cells')).sort();
  assert.deepEqual(otherCells, [recs[0].cell.dir, recs[2].cell.dir].sort(), 'both seeds run here keep their weights');
  assert.ok(!fs.existsSync(path.join(other, 'kept')), 'no kept file points at missing weights');
  assert.ok(lines.some((l) => l.includes(`the median-dev seed, ${recs[1].cell.seed}, has a record here but no weights`)), lines.join('\n'));
  fs.rmSync(dir, { recursive: true });
});

test('a record line cut short by a crash is skipped, and the next record starts on its own line', () => {
  const dir = tmp('cut');
  const file = path.join(dir, 'records.jsonl');
  const rec = { kind: 'advlm-sweep-cell', format: 1, id: 'x', status: 'failed', cell: { index: 0 }, evaluations: [], finishedAt: 'a' } as unknown as SweepRecord;
  appendRecord(file, rec);
  fs.appendFileSync(file, '{"kind":"advlm-sweep-cell","id":"y","sta');
  appendRecord(file, { ...rec, id: 'z' });
  const r = readRecords([dir]);
  assert.deepEqual(r.records.map((x) => x.id), ['x', 'z']);
  assert.deepEqual(r.skipped, [`${file}:2`]);
  fs.rmSync(dir, { recursive: true });
});

test('a baseline checkpoint: the summary compares checkpoints (same method, paired by seed), as pre-trained vs random weights', () => {
  // hand-made records: two checkpoints x one method x three seeds, dev accuracies on 4 examples
  const gold = [0, 1, 0, 1];
  const preds: Record<string, number[][]> = {
    imdb: [[0, 1, 0, 1], [0, 1, 0, 0], [0, 1, 1, 1]],
    random: [[0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]],
  };
  const records: SweepRecord[] = Object.entries(preds).flatMap(([checkpoint, ps], k) =>
    ps.map((predictions, seed) => ({
      kind: 'advlm-sweep-cell',
      format: 1,
      id: `${checkpoint}-${seed}`,
      status: 'done',
      sweep: 'regimes',
      cell: { index: k * 3 + seed, task: 'SST-2', method: 'vanilla', methodName: 'vanilla', checkpoint, seed, dir: `c${k}${seed}` },
      identity: {},
      evaluations: [{ name: 'dev' }],
      results: { dev: { split: 'dev', metrics: { accuracy: accuracy(predictions, gold) }, n: gold.length, predictions, gold } },
      shard: { index: 0, count: 1 },
      host: 'h',
      pid: 1,
      startedAt: '',
      finishedAt: '',
      seconds: 1,
    }) as unknown as SweepRecord),
  );
  const s = summarizeSweep(records, undefined, { baselineCheckpoint: 'random' });
  assert.equal(s.compareBy, 'checkpoint');
  const imdb = s.rows.find((r) => r.checkpoint === 'imdb')!;
  const random = s.rows.find((r) => r.checkpoint === 'random')!;
  assert.equal(random.vsBaseline, undefined, 'the baseline row is not compared with itself');
  const tt = pairedTTest(imdb.values, random.values);
  assert.deepEqual(imdb.values, [100, 75, 75]);
  assert.deepEqual(random.values, [75, 50, 50]);
  assert.equal(imdb.vsBaseline!.tTest!.meanDifference, tt.meanDifference);
  assert.equal(imdb.vsBaseline!.tTest!.p, tt.p);
  assert.match(sweepMarkdown(s), /Δ vs random/);
  assert.match(sweepMarkdown(s), /from the checkpoint 'random'/);
  assert.equal(s.paper, undefined, 'no published table of methods beside a comparison of starting points');
  // compared by method (the default), the same records have no baseline: vanilla is the only method
  const byMethod = summarizeSweep(records);
  assert.equal(byMethod.compareBy, 'method');
  assert.ok(byMethod.rows.every((r) => r.vsBaseline === undefined));
});
