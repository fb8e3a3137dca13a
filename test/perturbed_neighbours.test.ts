import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { perturbedNeighbours, perturbedSentenceNeighbours } from '../src/analysis/perturbed_neighbours';
import { backend, expectNoLeak } from './helpers';

// Five words on a plane: nearest other word of 'east' is 'pad' (distance 1), of 'far' is 'north' (sqrt(18)).
const TABLE = [
  [0, 0], // 0 pad
  [1, 0], // 1 east
  [0, 1], // 2 north
  [3, 4], // 3 far
  [-1, 0], // 4 west
];
const VOCAB = ['pad', 'east', 'north', 'far', 'west'];
const close = (a: number, b: number, tol = 1e-3) => Math.abs(a - b) < tol;

test('displacement, nearest words of the perturbed point and the original word spacing (known answers)', async () => {
  await backend();
  const E = tf.tensor2d(TABLE); // [5, 2]
  // east moved by (0.2, 0.3): still nearest to east; west moved by (0.9, 0): now nearest to pad; far moved by (0, 1.5).
  const moved = tf.tensor2d([[1.2, 0.3], [-0.1, 0], [3, 5.5]]); // [3, 2]
  const r = perturbedNeighbours(E, [1, 4, 3], moved, { k: 2, vocab: VOCAB });
  assert.deepEqual(r.map((x) => x.word), ['east', 'west', 'far']);
  assert.ok(close(r[0].displacement, Math.sqrt(0.13)));
  assert.ok(close(r[1].displacement, 0.9));
  assert.ok(close(r[2].displacement, 1.5));
  assert.deepEqual(r.map((x) => x.nearestIsOriginal), [true, false, true]);
  assert.deepEqual(r[1].nearest.map((n) => n.word), ['pad', 'west']);
  assert.ok(close(r[1].nearest[0].distance, 0.1) && close(r[1].nearest[1].distance, 0.9));
  assert.ok(close(r[0].nearest[0].distance, r[0].displacement), 'the original is the nearest: its distance is the displacement');
  assert.deepEqual(r.map((x) => x.originalNeighbour.word), ['pad', 'pad', 'north']);
  assert.ok(close(r[2].originalNeighbour.distance, Math.sqrt(18)));
  tf.dispose([E, moved]);
});

test('sentence version: real tokens only, split back per sentence; no tensors left behind', async () => {
  await backend();
  const E = tf.tensor2d(TABLE); // [5, 2]
  const X = tf.tensor3d([
    [[1, 0.2], [0, 1], [9, 9]], // east, north, (padding row: ignored)
    [[-1, -0.1], [3, 4.2], [0, 0.4]], // west, far, pad
  ]); // [2, 3, 2]
  const r = await expectNoLeak(() => perturbedSentenceNeighbours(E, [[1, 2], [4, 3, 0]], X, { k: 1, vocab: VOCAB }), 'perturbedSentenceNeighbours');
  assert.deepEqual(r.map((s) => s.map((x) => x.word)), [['east', 'north'], ['west', 'far', 'pad']]);
  assert.ok(close(r[0][0].displacement, 0.2) && close(r[1][1].displacement, 0.2) && close(r[0][1].displacement, 0));
  assert.ok(r.flat().every((x) => x.nearestIsOriginal));
  assert.throws(() => perturbedSentenceNeighbours(E, [[1, 2, 3, 4], []], X), /only T = 3/);
  assert.throws(() => perturbedNeighbours(E, [1, 7], tf.tensor2d([[0, 0], [1, 1]])), /not a row/);
  assert.throws(() => perturbedNeighbours(E, [1], tf.tensor2d([[0, 0], [1, 1]])), /one row per id/);
  tf.dispose([E, X]);
});
