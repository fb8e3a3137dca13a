/**
 * The attacks as sweep evaluations (src/sweep/attack_evaluations.ts): a tiny grid that asks for
 * embedding-space PGD and a word-substitution attack records their figures, and those figures obey
 * the invariants of an attack (nothing is right under attack that is wrong clean; a ball too small
 * to move a logit changes nothing); bad options fail when the grid is read.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backend } from './helpers';
import { SweepRecord, expandGrid, mostRobustRecord, parseRhoList, readManifest, readRecords, runSweep, summarizeSweep, sweepMarkdown, tinyGrid, writeTinySweep } from '../src/sweep';

const quiet = { progress: { mode: 'silent' as const }, log: () => {} };
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `advlm-sweep-attacks-${name}-`));

test('rho lists: parsed, and rejected when empty, not positive or not ascending', () => {
  assert.deepEqual(parseRhoList('0.002, 0.005,0.01'), [0.002, 0.005, 0.01]);
  assert.throws(() => parseRhoList('0.01,0.005'), /ascending/);
  assert.throws(() => parseRhoList('0,1'), /positive numbers/);
  assert.throws(() => parseRhoList('a'), /positive numbers/);
});

test('the most robust record: highest accuracy under attack, then dev accuracy, then the earlier cell; failed and unattacked cells never win', () => {
  const rec = (index: number, underAttack: number | undefined, dev: number, status = 'done') => ({
    status, cell: { index, task: 'SST-2', seed: 0 },
    results: { dev: { metrics: { accuracy: dev } }, ...(underAttack === undefined ? {} : { 'word-attack': { metrics: { underAttack } } }) },
  }) as unknown as SweepRecord;
  const pick = (records: SweepRecord[]) => mostRobustRecord(records)?.cell.index;
  assert.equal(pick([rec(0, 0.18, 0.70), rec(1, 0.17, 0.76), rec(2, 0.16, 0.66)]), 0, 'the highest under attack wins whatever its dev accuracy');
  assert.equal(pick([rec(0, 0.2, 0.70), rec(1, 0.2, 0.72)]), 1, 'a tie under attack goes to the higher dev accuracy');
  assert.equal(pick([rec(3, 0.2, 0.7), rec(1, 0.2, 0.7)]), 1, 'a full tie goes to the earlier cell');
  assert.equal(pick([rec(0, 0.9, 0.9, 'failed'), rec(1, undefined, 0.9), rec(2, 0.1, 0.5)]), 2);
  assert.equal(pick([rec(0, undefined, 0.9)]), undefined, 'no attacked cell, no choice');
});

test('attack evaluations: bad options stop the grid before any work, and they apply only where they can', async () => {
  await backend();
  const dir = tmp('grid');
  await writeTinySweep(dir);
  assert.throws(() => expandGrid({ ...tinyGrid(path.join(dir, 'ckpt')), evaluations: [{ name: 'embedding-pgd', options: { rho: '0.02,0.01' } }] }, dir), /embedding-pgd', option rho must be ascending/);
  assert.throws(() => expandGrid({ ...tinyGrid(path.join(dir, 'ckpt')), evaluations: [{ name: 'word-attack', options: { recipe: 'nope' } }] }, dir), /recipe must be one of .*pwws-cf/);
  const g = expandGrid({ ...tinyGrid(path.join(dir, 'ckpt')), tasks: ['SST-2', 'RTE', 'STS-B'], evaluations: ['dev', 'embedding-pgd', 'word-attack'] }, dir);
  const names = (task: string) => g.cells.find((c) => c.task === task)!.evaluations.map((e) => e.name);
  assert.deepEqual(names('SST-2'), ['dev', 'embedding-pgd', 'word-attack']);
  assert.deepEqual(names('RTE'), ['dev', 'embedding-pgd'], 'word substitution takes single-text tasks');
  assert.deepEqual(names('STS-B'), ['dev'], 'a regression has no accuracy to attack');
});

test('a tiny grid with embedding PGD and a word attack: figures recorded, invariants hold, no tensors left', async () => {
  await backend();
  const dir = tmp('run');
  const { gridFile } = await writeTinySweep(dir, {
    tasks: ['SST-2'],
    methods: ['vanilla'],
    seeds: [0],
    limitDev: 12,
    evaluations: ['dev', { name: 'embedding-pgd', options: { rho: '1e-7,1000', steps: 3, batchSize: 5 } }, { name: 'word-attack', options: { recipe: 'pwws-cf', limit: 4 } }],
  });
  const g = expandGrid(JSON.parse(fs.readFileSync(gridFile, 'utf8')), dir);
  const out = path.join(dir, 'out');
  const before = tf.memory().numTensors;
  const r = await runSweep(g, { outDir: out, ...quiet });
  assert.equal(tf.memory().numTensors, before, 'the evaluations leave no tensors behind');
  assert.deepEqual([r.ran, r.failed], [1, 0]);
  const [rec] = readRecords([out]).records;
  const dev = rec.results!.dev;
  const pgd = rec.results!['embedding-pgd'];
  assert.equal(pgd.n, 12);
  assert.equal(pgd.metrics.clean, dev.metrics.accuracy, 'the clean accuracy under the attack is the dev evaluation\'s');
  assert.ok(pgd.metrics.medianNorm > 0);
  // a ball of radius 1e-7 x the median norm cannot change a prediction of this model
  assert.equal(pgd.metrics['pgd@1e-7'], pgd.metrics.clean);
  assert.equal(pgd.metrics['random@1e-7'], pgd.metrics.clean);
  const extra = pgd.extra as { cleanCorrect: boolean[]; correctUnderPgd: boolean[][]; correctUnderRandom: boolean[][]; eps: number[] };
  assert.ok(Math.abs(extra.eps[1] / extra.eps[0] - 1e10) < 1e4, 'eps_k = rho_k x the same unit');
  for (const k of [0, 1]) {
    extra.correctUnderPgd[k].forEach((c, i) => assert.ok(!c || extra.cleanCorrect[i], `example ${i}: right under PGD but wrong clean`));
    assert.equal(extra.correctUnderPgd[k].filter(Boolean).length / 12, pgd.metrics[`pgd@${k ? 1000 : 1e-7}`]);
  }
  const word = rec.results!['word-attack'];
  assert.equal(word.n, 4);
  assert.ok(word.metrics.underAttack <= word.metrics.clean);
  assert.equal((word.extra as { status: string[] }).status.length, 4);

  // the summary gives each attack a table: medians over seeds, fractions x100
  const s = summarizeSweep(readRecords([out]).records, readManifest(out));
  assert.deepEqual(s.evaluations.map((t) => t.evaluation), ['embedding-pgd', 'word-attack']);
  const t = s.evaluations[0];
  assert.deepEqual(t.rows.map((r) => [r.task, r.row, r.seeds, r.runs]), [['SST-2', 'vanilla', 1, 1]]);
  const col = (m: string) => t.metrics.indexOf(m);
  assert.equal(t.rows[0].medians[col('clean')], dev.metrics.accuracy);
  assert.equal(t.rows[0].medians[col('medianNorm')], pgd.metrics.medianNorm);
  assert.deepEqual([t.fractions[col('clean')], t.fractions[col('pgd@1000')], t.fractions[col('medianNorm')]], [true, true, false]);
  const w = s.evaluations[1];
  assert.deepEqual([w.fractions[w.metrics.indexOf('successRate')], w.fractions[w.metrics.indexOf('queries')]], [true, false]);
  const md = sweepMarkdown(s);
  assert.match(md, /### Evaluation embedding-pgd/);
  assert.ok(md.includes(`| SST-2 | vanilla | 1/1 | ${(dev.metrics.accuracy * 100).toFixed(2)} | ${pgd.metrics.medianNorm.toFixed(2)} |`), md);
});

test('a method entry may give radii in units of the median embedding norm ("rho"): each cell gets rho x m of its checkpoint and task, and m is the embedding-pgd evaluation\'s unit', async () => {
  await backend();
  const dir = tmp('rho');
  const { gridFile } = await writeTinySweep(dir, {
    tasks: ['SST-2'],
    methods: ['vanilla', { name: 'pgd', label: 'pgd-rho', config: { K: 1 }, rho: { eps: 0.02, alpha: 0.01 } }],
    seeds: [0],
    limitTrain: 8,
    limitDev: 6,
    evaluations: ['dev', { name: 'embedding-pgd', options: { rho: '0.02', steps: 2, batchSize: 6 } }],
  });
  const before = tf.memory().numTensors;
  const g = expandGrid(JSON.parse(fs.readFileSync(gridFile, 'utf8')), dir);
  assert.equal(tf.memory().numTensors, before, 'computing the unit leaves no tensors behind');
  const [plain, scaled] = g.cells;
  assert.equal(plain.radiusUnit, undefined);
  const m = scaled.radiusUnit!;
  assert.ok(m > 0);
  const cfg = scaled.config.method.config as Record<string, number>;
  assert.ok(Math.abs(cfg.eps - 0.02 * m) < 1e-12 && Math.abs(cfg.alpha - 0.01 * m) < 1e-12 && cfg.K === 1);
  // the unit is the one the attack evaluation measures in, on the same dev examples
  const out = path.join(dir, 'out');
  await runSweep(g, { outDir: out, ...quiet });
  const rec = readRecords([out]).records.find((r) => r.id === scaled.id)!;
  assert.ok(Math.abs(rec.results!['embedding-pgd'].metrics.medianNorm - m) < 1e-6 * m);
  // bad entries are named before any work
  const bad = (rho: unknown, config: Record<string, unknown> = {}) => () =>
    expandGrid({ ...JSON.parse(fs.readFileSync(gridFile, 'utf8')), methods: [{ name: 'pgd', config, rho }] }, dir);
  assert.throws(bad({ epsilon: 0.02 }), /rho\.epsilon: method 'pgd' has no option 'epsilon'/);
  assert.throws(bad({ eps: -1 }), /rho\.eps must be a number >= 0/);
  assert.throws(bad({ eps: 0.02 }, { eps: 0.1 }), /eps is given both in config and in rho/);
  assert.throws(bad([]), /rho must be an object/);
});
