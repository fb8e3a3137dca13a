/**
 * The bench's FLOP count (scripts/bench/flops.ts) against a count by hand, and against the passes a
 * real step records. Speed itself is measured by `npm run bench`, never here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardMatMulMacs, stepFlops } from '../scripts/bench/flops';
import { countPasses, disposeModelBatch, disposeParams } from '../src/model';
import { freelb, vanilla } from '../src/adversarial/methods';
import { backend, disposeStepResult, taskBatch, tinyModel } from './helpers';

test('multiply-adds of one forward pass: a one-layer model counted by hand', () => {
  // D = 4, I = 8, one layer, B = 2 sequences of T = 3 tokens (N = 6)
  const c = { hiddenSize: 4, intermediateSize: 8, numLayers: 1 };
  const task = forwardMatMulMacs(c, 2, 3, { kind: 'task', numLabels: 2 });
  assert.deepEqual(task.parts, {
    projections: 4 * 6 * 4 * 4, // Q, K, V, output: 4 x [6, 4] x [4, 4] = 384
    feedForward: 6 * 4 * 8 + 6 * 8 * 4, // [6, 4] x [4, 8] and [6, 8] x [8, 4] = 384
    attentionScores: 2 * 3 * 3 * 4, // per sequence [3, D] x [D, 3] over all heads = 72
    attentionValues: 2 * 3 * 3 * 4, // per sequence [3, 3] x [3, D] = 72
    pooler: 2 * 4 * 4, // [2, 4] x [4, 4] = 32
    classifier: 2 * 4 * 2, // [2, 4] x [4, 2] = 16
  });
  assert.equal(task.total, 960);
  // MLM: 2 masked tokens scored over 5 output tokens
  const mlm = forwardMatMulMacs(c, 2, 3, { kind: 'mlm', masked: 2, outputVocab: 5 });
  assert.equal(mlm.parts.mlmTransform, 2 * 4 * 4);
  assert.equal(mlm.parts.mlmScores, 2 * 4 * 5);
  assert.equal(mlm.total, 912 + 32 + 40);
  // layers scale the encoder part only
  const two = forwardMatMulMacs({ ...c, numLayers: 2 }, 2, 3, { kind: 'task', numLabels: 2 });
  assert.equal(two.total, 2 * 912 + 48);
});

test('FLOPs of a step: 2 x multiply-adds x (forwards + 2 x parameter backwards + input-only backwards), with the passes real steps record', async () => {
  await backend();
  assert.equal(stepFlops(100, { forward: 1, paramBackward: 1, inputBackward: 0 }), 600); // forward + backward = 3 forwards
  assert.equal(stepFlops(100, { forward: 4, paramBackward: 1, inputBackward: 3 }), 2 * 100 * 9); // PGD-3
  const p = tinyModel();
  const b = taskBatch();
  for (const [m, equivalents] of [[vanilla(), 3], [freelb({ K: 3 }), 9]] as const) {
    const s = m.makeStep({ params: p, objective: 'task', taskKind: 'classification' });
    const { result, passes } = countPasses(() => s.step(b, { step: 0, epoch: 0, seed: 1, replay: 0 }));
    assert.equal(stepFlops(1, passes), 2 * equivalents, m.name);
    disposeStepResult(result);
    s.dispose();
  }
  disposeModelBatch(b);
  disposeParams(p);
});
