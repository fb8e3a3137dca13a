import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { nearestWords } from '../src/analysis/nearest_words';
import { seededRandom } from '../src/data/rng';
import { backend, expectNoLeak } from './helpers';

const TABLE = [
  [0, 0], // 0 'pad'
  [1, 0], // 1 'east'
  [0, 1], // 2 'north'
  [3, 4], // 3 'far'
  [-1, 0], // 4 'west'
];
const VOCAB = ['pad', 'east', 'north', 'far', 'west'];

test('a tiny table with a known answer (l2 and cosine)', async () => {
  await backend();
  const E = tf.tensor2d(TABLE); // [5, 2]
  const q = tf.tensor2d([[1, 0.1], [-2, 0]]); // [2, 2]
  const l2 = nearestWords(E, q, { k: 3, vocab: VOCAB });
  assert.deepEqual(l2.ids, [[1, 0, 2], [4, 0, 2]]);
  assert.deepEqual(l2.words, [['east', 'pad', 'north'], ['west', 'pad', 'north']]);
  const want = [[0.1, Math.sqrt(1.01), Math.sqrt(1.81)], [1, 2, Math.sqrt(5)]];
  l2.distances.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-3, `${v} vs ${want[i][j]}`)));
  const q2 = tf.tensor2d([[2, 0]]); // [1, 2]
  const cos = nearestWords(E, q2, { k: 4, metric: 'cosine' });
  // cos with east 1, far 0.6, north 0, pad (zero vector) 0 (tie broken by id), west -1.
  assert.deepEqual(cos.ids, [[1, 3, 0, 2]]);
  [0, 0.4, 1, 1].forEach((v, j) => assert.ok(Math.abs(cos.distances[0][j] - v) < 1e-5));
  tf.dispose([E, q, q2]);
});

test('chunked search equals brute force on random data, and leaves no tensors behind', async () => {
  await backend();
  const r = seededRandom(1);
  const V = 53;
  const D = 6;
  const N = 7;
  const table = Array.from({ length: V }, () => Array.from({ length: D }, () => r() - 0.5));
  const queries = Array.from({ length: N }, () => Array.from({ length: D }, () => r() - 0.5));
  const E = tf.tensor2d(table); // [V, D]
  const Q = tf.tensor2d(queries); // [N, D]
  for (const metric of ['l2', 'cosine'] as const) {
    const dist = (a: number[], b: number[]) => {
      if (metric === 'l2') return Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
      const dot = a.reduce((s, v, i) => s + v * b[i], 0);
      return 1 - dot / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
    };
    const res = await expectNoLeak(() => nearestWords(E, Q, { k: 4, metric, vocabChunk: 10, queryChunk: 3 }), `nearestWords (${metric})`);
    queries.forEach((q, i) => {
      const ref = table.map((e, id) => [dist(q, e), id]).sort((a, b) => a[0] - b[0]).slice(0, 4);
      assert.deepEqual(res.ids[i], ref.map((p) => p[1]), `${metric} query ${i}`);
      ref.forEach((p, j) => assert.ok(Math.abs(res.distances[i][j] - p[0]) < 1e-4));
    });
    // Chunk sizes do not change the answer.
    assert.deepEqual(nearestWords(E, Q, { k: 4, metric }).ids, res.ids);
  }
  tf.dispose([E, Q]);
});

test('bad input is refused with a clear message', async () => {
  await backend();
  const E = tf.tensor2d(TABLE); // [5, 2]
  const q3 = tf.zeros([1, 3]) as tf.Tensor2D; // [1, 3]
  const q = tf.zeros([1, 2]) as tf.Tensor2D; // [1, 2]
  await expectNoLeak(() => {
    assert.throws(() => nearestWords(E, q3), /same D.*\[5,2\].*\[1,3\]/);
    assert.throws(() => nearestWords(E, q, { k: 6 }), /k must be an integer from 1 to V = 5/);
    assert.throws(() => nearestWords(E, q, { vocab: ['a'] }), /vocab has 1 words but E has 5 rows/);
  }, 'the refusals');
  tf.dispose([E, q, q3]);
});
