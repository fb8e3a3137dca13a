import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { batches, batchToTensors, disposeBatch, encodeExamples, Example, labelsToTensor, loadTask, loadTokenizer, makeBatch, createRng, shuffled } from '../src/data';
import { backend, expectNoLeak } from './helpers';

const tok = loadTokenizer();
before(backend);

const items = Array.from({ length: 103 }, (_, i) => i);

test('batches: every item exactly once, sizes, same seed same order, other seed other order', () => {
  const b = batches(items, 10, 7);
  assert.equal(b.length, 11);
  assert.deepEqual(b.map((x) => x.length), [...new Array(10).fill(10), 3]);
  assert.deepEqual(b.flat().sort((x, y) => x - y), items);
  assert.deepEqual(batches(items, 10, 7), b);
  assert.notDeepEqual(batches(items, 10, 8), b);
  assert.notDeepEqual(b.flat(), items, 'shuffled');
  assert.equal(batches(items, 10, 7, { dropLast: true }).length, 10);
  assert.deepEqual(batches(items, 10, 7, { dropLast: true }).flat().length, 100);
  assert.throws(() => batches(items, 0, 1), /batchSize must be a positive integer/);
  assert.deepEqual(batches([], 4, 1), []);
});

test('the seeded generator is uniform enough and reproducible', () => {
  const r = createRng(42);
  const n = 100000;
  let sum = 0;
  const bins = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    bins[Math.floor(u * 10)]++;
  }
  // mean of U(0,1): sd of the mean is sqrt(1/12/n) ~ 0.0009; allow 5 sd
  assert.ok(Math.abs(sum / n - 0.5) < 0.0046, `mean ${sum / n}`);
  // chi-square with 9 degrees of freedom: 99.99th percentile is about 33.7
  const chi = bins.reduce((a, c) => a + (c - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi < 33.7, `chi-square ${chi}`);
  assert.deepEqual(shuffled(items, createRng(3)), shuffled(items, createRng(3)));
  assert.notDeepEqual(createRng(1).next(), createRng(2).next());
});

test('length buckets: batches hold neighbours in length and still cover everything in a random order', () => {
  const words = (n: number) => 'w '.repeat(n).trim();
  const ex: Example[] = Array.from({ length: 400 }, (_, i) => ({ textA: words(1 + ((i * 37) % 97)), label: 0 }));
  const plain = batches(ex, 20, 1);
  const bucketed = batches(ex, 20, 1, { bucketBatches: 5 });
  assert.equal(bucketed.flat().length, 400);
  assert.deepEqual(new Set(bucketed.flat()), new Set(ex));
  const spread = (bs: Example[][]) => bs.reduce((a, b) => a + Math.max(...b.map((e) => e.textA.length)) - Math.min(...b.map((e) => e.textA.length)), 0) / bs.length;
  assert.ok(spread(bucketed) < spread(plain) / 3, `${spread(bucketed)} vs ${spread(plain)}`);
  // padded tokens: fewer with buckets
  const padded = (bs: Example[][]) => bs.reduce((a, b) => a + encodeExamples(tok, b).shape[1] * b.length, 0);
  assert.ok(padded(bucketed) < padded(plain));
  assert.deepEqual(batches(ex, 20, 1, { bucketBatches: 5 }), bucketed);
  // one bucket holding everything: a global sort by length, cut into batches, batches shuffled
  const custom = batches(items, 10, 2, { bucketBatches: 100, lengthOf: (x) => x });
  assert.notDeepEqual(custom.map((b) => b[0]), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.deepEqual([...custom].sort((x, y) => x[0] - y[0]), Array.from({ length: 11 }, (_, k) => items.slice(10 * k, 10 * k + 10)));
});

test('batchToTensors: shapes, dtypes and values of a dynamically padded batch', async () => {
  const examples = loadTask('RTE', 'dev', { limit: 5 });
  const enc = encodeExamples(tok, examples, { maxLength: 64 });
  await expectNoLeak(() => {
    const t = batchToTensors(enc);
    assert.deepEqual(t.inputIds.shape, enc.shape);
    assert.equal(t.inputIds.dtype, 'int32');
    assert.equal(t.tokenTypeIds.dtype, 'int32');
    assert.equal(t.attentionMask.dtype, 'float32');
    assert.deepEqual(t.inputIds.arraySync(), enc.inputIds);
    assert.deepEqual(t.tokenTypeIds.arraySync(), enc.tokenTypeIds);
    assert.deepEqual(t.attentionMask.arraySync(), enc.attentionMask);
    assert.equal(enc.shape[1], Math.min(64, Math.max(...examples.map((e) => tok.encode(e.textA, e.textB, { maxLength: 64 }).inputIds.length))));
    disposeBatch(t);
  }, 'batchToTensors and disposeBatch');
});

test('makeBatch: int32 labels for classes, float32 for regression, no leaks, errors leak nothing', async () => {
  await expectNoLeak(() => {
    const cls = makeBatch(tok, loadTask('SST-2', 'dev', { limit: 4 }), 'classification');
    assert.equal(cls.labels.dtype, 'int32');
    assert.deepEqual(Array.from(cls.labels.dataSync()), [1, 0, 1, 1]);
    assert.equal(cls.inputIds.shape[0], 4);
    disposeBatch(cls);
    const reg = makeBatch(tok, loadTask('STS-B', 'dev', { limit: 3 }), 'regression', { maxLength: 16 });
    assert.equal(reg.labels.dtype, 'float32');
    assert.ok(Math.abs(reg.labels.dataSync()[1] - 4.75) < 1e-6);
    assert.ok(reg.inputIds.shape[1] <= 16);
    disposeBatch(reg);
  }, 'makeBatch and disposeBatch');
  await expectNoLeak(() => {
    assert.throws(() => makeBatch(tok, [{ textA: 'a', label: 0.5 }], 'classification'), /non-negative integer/);
    assert.throws(() => batchToTensors({ inputIds: [[1, 2], [1]], tokenTypeIds: [[0, 0], [0]], attentionMask: [[1, 1], [1]], shape: [2, 2] }), /row 1 has length 1, expected 2/);
    const l = labelsToTensor([0, 1, 2], 'classification');
    l.dispose();
  }, 'errors and labelsToTensor');
});
