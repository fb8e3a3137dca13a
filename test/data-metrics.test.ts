import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { accuracy, averageRanks, f1, getTask, loadTask, matthewsCorrelation, pearson, spearman, taskMetrics } from '../src/data';

// Values computed with numpy/scipy by test/fixtures/metrics_reference.py.
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics_reference.json'), 'utf8'));
const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('accuracy, F1 and MCC by hand on a small confusion table', () => {
  // TP = 2, FN = 1, FP = 1, TN = 2
  const gold = [1, 1, 1, 0, 0, 0];
  const pred = [1, 1, 0, 1, 0, 0];
  close(accuracy(pred, gold), 4 / 6, 'accuracy');
  close(f1(pred, gold), (2 * 2) / (2 * 2 + 1 + 1), 'f1');
  close(matthewsCorrelation(pred, gold), (2 * 2 - 1 * 1) / Math.sqrt(3 * 3 * 3 * 3), 'mcc');
  close(f1(pred, gold, 0), (2 * 2) / (2 * 2 + 1 + 1), 'f1 of class 0');
  close(matthewsCorrelation(gold, gold), 1, 'perfect');
  close(matthewsCorrelation(gold.map((g) => 1 - g), gold), -1, 'inverted');
  assert.throws(() => accuracy([1], [1, 0]), /1 predictions but 2 labels/);
  assert.throws(() => f1([], []), /no examples/);
});

test('binary metrics match the reference values', () => {
  for (const c of ref.binary) {
    close(accuracy(c.pred, c.gold), c.accuracy, `${c.name} accuracy`);
    close(f1(c.pred, c.gold), c.f1, `${c.name} f1`);
    close(matthewsCorrelation(c.pred, c.gold), c.mcc, `${c.name} mcc`);
  }
  const m = ref.multiclass;
  close(matthewsCorrelation(m.pred, m.gold), m.mcc, 'three-class mcc');
  close(accuracy(m.pred, m.gold), m.accuracy, 'three-class accuracy');
});

test('Pearson and Spearman (average ranks for ties) match scipy', () => {
  const c = ref.correlation;
  assert.deepEqual(averageRanks(c.x), c.ranks_x);
  assert.deepEqual(averageRanks([10, 20, 20, 30, 20]), [1, 3, 3, 5, 3]);
  close(pearson(c.x, c.y), c.pearson, 'pearson', 1e-12);
  close(spearman(c.x, c.y), c.spearman, 'spearman', 1e-12);
  close(pearson([1, 2, 3], [2, 4, 6]), 1, 'linear');
  close(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1, 'monotone');
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), 'constant input');
  // STS-B dev gold scores against their floor: many ties
  const dev = loadTask('STS-B', 'dev').map((e) => e.label);
  assert.equal(dev.length, ref.stsb_dev_vs_floor.n);
  const floor = dev.map(Math.floor);
  close(pearson(dev, floor), ref.stsb_dev_vs_floor.pearson, 'sts-b pearson', 1e-12);
  close(spearman(dev, floor), ref.stsb_dev_vs_floor.spearman, 'sts-b spearman', 1e-12);
});

test('taskMetrics gives each task its metrics, main one first', () => {
  const c = ref.binary[1];
  assert.deepEqual(Object.keys(taskMetrics(getTask('MRPC'), c.pred, c.gold)), ['f1', 'accuracy']);
  close(taskMetrics(getTask('MRPC'), c.pred, c.gold).f1, c.f1, 'mrpc f1');
  close(taskMetrics(getTask('CoLA'), c.pred, c.gold).mcc, c.mcc, 'cola mcc');
  const r = ref.correlation;
  const s = taskMetrics(getTask('STS-B'), r.x, r.y);
  close(s.pearson, r.pearson, 'sts-b pearson');
  close(s.spearman, r.spearman, 'sts-b spearman');
});
