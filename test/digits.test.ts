import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs';
import { backend } from './helpers';
import { digitsTensors, loadDigits, parseDigitsCsv, shuffledIndices, splitDigits } from '../src/data/digits';

test('the shipped digits: 1,797 images of 64 pixels in [0, 1], labels 0..9, first row as in the file', () => {
  const { x, y } = loadDigits();
  assert.equal(x.length, 1797);
  assert.equal(y.length, 1797);
  for (const row of x) {
    assert.equal(row.length, 64);
    for (const v of row) assert.ok(v >= 0 && v <= 1);
  }
  const counts = new Array(10).fill(0);
  for (const label of y) counts[label]++;
  for (const c of counts) assert.ok(c >= 170 && c <= 190, `class counts ${counts}`); // the set is nearly balanced
  // First line of the file: 0,0,5,13,9,1,0,0,... label 0.
  assert.deepEqual(x[0].slice(0, 8), [0, 0, 5, 13, 9, 1, 0, 0].map((v) => v / 16));
  assert.equal(y[0], 0);
  assert.ok(x.some((r) => r.includes(1)), 'the maximum pixel 16 maps to 1');
});

test('malformed rows give errors naming the file, the line and what was expected', () => {
  const good = new Array(64).fill('3').join(',') + ',7';
  const file = 'digits-test.csv';
  assert.throws(() => parseDigitsCsv(`${good}\n1,2,3\n`, file), /digits-test\.csv, line 2: expected 65 comma-separated values.*found 3/);
  assert.throws(() => parseDigitsCsv(`${good}\n${good.replace(/^3/, 'x')}`, file), /line 2, column 1: expected an integer, found 'x'/);
  assert.throws(() => parseDigitsCsv(good.replace(/,7$/, ',10'), file), /line 1: expected a label 0\.\.9.*found 10/);
  assert.throws(() => parseDigitsCsv(good.replace(/^3/, '17'), file), /line 1, column 1: expected a pixel value 0\.\.16, found 17/);
  assert.throws(() => parseDigitsCsv('\n\n', file), /no data rows/);
  const parsed = parseDigitsCsv(`${good}\r\n\r\n${good}\r\n`, file);
  assert.equal(parsed.x.length, 2);
  assert.equal(parsed.y[1], 7);
  assert.throws(() => loadDigits(path.join(os.tmpdir(), 'no-such-digits.csv.gz')), /Digits file not found/);
});

test('loadDigits reads gzip-compressed and plain files alike', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-digits-'));
  try {
    const text = new Array(64).fill('16').join(',') + ',4\n';
    fs.writeFileSync(path.join(dir, 'a.csv.gz'), zlib.gzipSync(text));
    fs.writeFileSync(path.join(dir, 'a.csv'), text);
    for (const f of ['a.csv.gz', 'a.csv']) {
      const d = loadDigits(path.join(dir, f));
      assert.deepEqual(d.y, [4]);
      assert.ok(d.x[0].every((v) => v === 1));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the split is seeded, disjoint, complete and of the asked size', () => {
  const data = loadDigits();
  const a = splitDigits(data, { seed: 3 });
  const b = splitDigits(data, { seed: 3 });
  const c = splitDigits(data, { seed: 4 });
  assert.deepEqual(a.test.y, b.test.y);
  assert.deepEqual(a.test.x, b.test.x);
  assert.notDeepEqual(a.test.x, c.test.x);
  assert.equal(a.test.y.length, Math.round(1797 * 0.2));
  assert.equal(a.train.y.length + a.test.y.length, 1797);
  // Rows are kept whole: every split row is the same object as a source row, each used once.
  const used = new Set([...a.train.x, ...a.test.x]);
  assert.equal(used.size, 1797);
  for (const r of used) assert.ok(data.x.includes(r));
  const perm = shuffledIndices(100, 0);
  assert.deepEqual([...perm].sort((p, q) => p - q), Array.from({ length: 100 }, (_, i) => i));
  assert.throws(() => splitDigits(data, { testFraction: 1 }), /testFraction/);
});

test('digitsTensors gives x [N, 64] float32 and y [N] int32', async () => {
  await backend();
  const data = splitDigits(loadDigits()).test;
  const { x, y } = digitsTensors(data);
  assert.deepEqual(x.shape, [data.y.length, 64]);
  assert.equal(y.dtype, 'int32');
  assert.deepEqual(Array.from(y.dataSync()), data.y);
  assert.deepEqual(Array.from(x.dataSync().slice(0, 64)), data.x[0].map((v) => Math.fround(v)));
  tf.dispose([x, y]);
});
