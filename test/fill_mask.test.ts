import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { CONFIGS, disposeParams, initParams } from '../src/model/index';
import { loadTokenizer } from '../src/tokenizer';
import { fillMask } from '../src/fill_mask';

test('fillMask ranks k candidates per [MASK] with probabilities in order, leaks nothing, and needs a [MASK]', async () => {
  await initBackend({ log: false });
  const tok = loadTokenizer();
  const p = initParams({ ...CONFIGS.tiny, hiddenSize: 8, numHeads: 2, intermediateSize: 16, maxPositions: 32 }, { mlm: true, seed: 3 });
  const before = tf.memory().numTensors;
  const preds = await fillMask(p, tok, 'the [MASK] sat on the [MASK] .', 4);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(preds.map((x) => x.position), [2, 6]); // [CLS] the [MASK] sat on the [MASK] . [SEP]
  for (const pr of preds) {
    assert.equal(pr.candidates.length, 4);
    const ps = pr.candidates.map((c) => c.probability);
    assert.ok(ps.every((x, i) => x > 0 && x < 1 && (i === 0 || ps[i - 1] >= x)));
    assert.ok(pr.candidates.every((c) => typeof c.token === 'string' && c.token.length > 0));
  }
  await assert.rejects(fillMask(p, tok, 'no mask here'), /no \[MASK\] in "no mask here"/);
  disposeParams(p);
});
