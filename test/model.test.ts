import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  CONFIGS, DropoutMasks, classificationLogits, countParams, crossEntropy, disposeParams, embedTokens, encode,
  encodeFromEmbeddings, initParams, mlmLogits, namedParams, scaledDotProductAttention, taskLoss,
} from '../src/model';
import { TINY_CONFIGS, backend, expectNoLeak, maxAbsDiff, tinyModel } from './helpers';

function inputs() {
  return {
    ids: tf.tensor2d([[2, 5, 7, 9, 3, 0], [2, 11, 4, 3, 0, 0]], undefined, 'int32'), // [2, 6]
    types: tf.tensor2d([[0, 0, 0, 1, 1, 0], [0, 0, 1, 1, 0, 0]], undefined, 'int32'), // [2, 6]
    mask: tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]]), // [2, 6]
    labels: tf.tensor1d([1, 2], 'int32'), // [2]
  };
}

test('named configs have the documented sizes', () => {
  assert.deepEqual([CONFIGS.tiny.numLayers, CONFIGS.tiny.hiddenSize, CONFIGS.tiny.numHeads], [2, 128, 2]);
  assert.deepEqual([CONFIGS.mini.numLayers, CONFIGS.mini.hiddenSize, CONFIGS.mini.numHeads], [4, 256, 4]);
  assert.deepEqual([CONFIGS.small.numLayers, CONFIGS.small.hiddenSize, CONFIGS.small.numHeads], [4, 512, 8]);
  assert.deepEqual([CONFIGS.base.numLayers, CONFIGS.base.hiddenSize, CONFIGS.base.numHeads], [12, 768, 12]);
});

test('shapes of every output, and parameter count of BERT-base-sized tensors', async () => {
  await backend();
  const p = initParams(TINY_CONFIGS.small, { numLabels: 3, mlm: true, seed: 1 });
  const x = inputs();
  tf.tidy(() => {
    const out = encode(p, x.ids, { tokenTypeIds: x.types, attentionMask: x.mask, returnAttention: true, returnHiddenStates: true });
    assert.deepEqual(out.hidden.shape, [2, 6, 16]);
    assert.equal(out.attentions!.length, 2);
    assert.deepEqual(out.attentions![0].shape, [2, 2, 6, 6]);
    assert.equal(out.hiddenStates!.length, 3);
    assert.deepEqual(classificationLogits(p, out.hidden).shape, [2, 3]);
    assert.deepEqual(mlmLogits(p, out.hidden, tf.tensor1d([0, 7], 'int32')).shape, [2, 50]);
    // attention rows sum to one and give no weight to padding keys
    const a = out.attentions![1];
    const rowSums = tf.sum(a, -1);
    assert.ok(maxAbsDiff(rowSums, tf.onesLike(rowSums)) < 1e-5);
    const toPad = tf.slice(a, [1, 0, 0, 4], [1, 2, 6, 2]);
    assert.ok(tf.max(toPad).dataSync()[0] < 1e-7);
  });
  // V*D + P*D + 2*D + 2D (LN) + per layer 4(D^2+D) + 2*D*F + F + D + 4D, + pooler, classifier, MLM head
  const D = 16, F = 32, V = 50, P = 16;
  const layer = 4 * (D * D + D) + 2 * D + (F * D + F) + (D * F + D) + 2 * D;
  const expected = V * D + P * D + 2 * D + 2 * D + 2 * layer + (D * D + D) + (3 * D + 3) + (D * D + D + 2 * D + V);
  assert.equal(countParams(p), expected);
  tf.dispose(Object.values(x));
  disposeParams(p);
});

test('padding does not change the outputs at real positions', async () => {
  await backend();
  const p = tinyModel({ numLabels: 2, seed: 3 });
  tf.tidy(() => {
    const short = encode(p, tf.tensor2d([[2, 5, 7, 3]], undefined, 'int32')).hidden; // [1, 4, D]
    const padded = encode(p, tf.tensor2d([[2, 5, 7, 3, 0, 0]], undefined, 'int32'), { attentionMask: tf.tensor2d([[1, 1, 1, 1, 0, 0]]) }).hidden;
    const d = maxAbsDiff(short, tf.slice(padded, [0, 0, 0], [1, 4, -1]));
    assert.ok(d < 1e-5, `diff ${d}`);
  });
  disposeParams(p);
});

/**
 * Central finite differences of f at x along a few coordinates, against the autodiff gradient. Kept instead of the
 * shared checkGradient: it checks these exact coordinates with its own error measure (|fd - g| / max(1e-3, |fd| + |g|),
 * no absolute floor), which the shared random-direction check would change.
 */
function checkGradient(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, coords: number[], h = 1e-2): number {
  const g = tf.tidy(() => tf.grad(f)(x).dataSync());
  const base = x.dataSync();
  let worst = 0;
  for (const i of coords) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += h;
    minus[i] -= h;
    const fp = tf.tidy(() => f(tf.tensor(plus, x.shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, x.shape)).dataSync()[0]);
    const fd = (fp - fm) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i])));
  }
  return worst;
}

test('gradients with respect to the embeddings and to parameters match finite differences', async () => {
  await backend();
  const p = initParams({ ...TINY_CONFIGS.small, initializerRange: 0.5 }, { numLabels: 3, mlm: true, seed: 5 });
  const x = inputs();
  const X = embedTokens(p, x.ids); // [2, 6, 16]
  const lossAt = (e: tf.Tensor) => crossEntropy(classificationLogits(p, encodeFromEmbeddings(p, e, { tokenTypeIds: x.types, attentionMask: x.mask }).hidden), x.labels);
  const coords = [0, 17, 40, 95, 130, 150];
  const errX = checkGradient(lossAt, X, coords);
  assert.ok(errX < 2e-2, `relative error ${errX}`);
  // A parameter: the first layer's query weight, by substituting it into the variable.
  const q = p.layers[0].query.weight;
  const saved = q.clone();
  const lossQ = (w: tf.Tensor) => {
    q.assign(w);
    return tf.tidy(() => taskLoss(classificationLogits(p, encode(p, x.ids, { attentionMask: x.mask }).hidden), x.labels));
  };
  const { grads } = tf.variableGrads(() => taskLoss(classificationLogits(p, encode(p, x.ids, { attentionMask: x.mask }).hidden), x.labels), [q]);
  const g = grads[q.name].dataSync();
  let worst = 0;
  for (const i of [0, 33, 100, 255]) {
    const w = Float32Array.from(saved.dataSync());
    w[i] += 1e-2;
    const fp = lossQ(tf.tensor(w, q.shape)).dataSync()[0];
    w[i] -= 2e-2;
    const fm = lossQ(tf.tensor(w, q.shape)).dataSync()[0];
    const fd = (fp - fm) / 2e-2;
    worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i])));
  }
  q.assign(saved);
  assert.ok(worst < 2e-2, `relative error ${worst}`);
  tf.dispose([X, saved, ...Object.values(grads), ...Object.values(x)]);
  disposeParams(p);
});

test('dropout: seeded, off without a context, and masks replay exactly from the cache', async () => {
  await backend();
  const p = tinyModel({ config: { ...TINY_CONFIGS.small, hiddenDropout: 0.3, attentionDropout: 0.3 }, numLabels: 2, seed: 2 });
  const x = inputs();
  const run = (ctx?: { seed: number; masks?: DropoutMasks }) => tf.tidy(() => Array.from(encode(p, x.ids, { attentionMask: x.mask, dropout: ctx }).hidden.dataSync()));
  const evalA = run();
  const evalB = run();
  assert.deepEqual(evalA, evalB);
  const s1 = run({ seed: 1 });
  assert.deepEqual(s1, run({ seed: 1 }));
  assert.notDeepEqual(s1, run({ seed: 2 }));
  assert.notDeepEqual(s1, evalA);
  const masks = new DropoutMasks();
  const first = run({ seed: 9, masks });
  assert.ok(masks.masks.size >= 5);
  assert.deepEqual(run({ seed: 12345, masks }), first); // seed ignored: masks come from the cache
  const before = tf.memory().numTensors; // by hand: disposing the cache must free tensors, not merely leak none
  masks.dispose();
  assert.ok(tf.memory().numTensors < before);
  tf.dispose(Object.values(x));
  disposeParams(p);
});

test('every public op leaks no tensors; re-creating a model does not collide on variable names', async () => {
  await backend();
  // counted by hand: every call returns a known number of tensors on purpose
  const start = tf.memory().numTensors;
  const p1 = initParams(TINY_CONFIGS.small, { numLabels: 3, mlm: true });
  const p2 = initParams(TINY_CONFIGS.small, { numLabels: 3, mlm: true }); // same config and seed: no name clash
  assert.equal(namedParams(p1).length, namedParams(p2).length);
  disposeParams(p2);
  const x = inputs();
  const positions = tf.tensor1d([1, 2], 'int32');
  const targets = tf.tensor1d([0.5, 1]);
  const base = tf.memory().numTensors;
  const X = embedTokens(p1, x.ids);
  const out = encodeFromEmbeddings(p1, X, { tokenTypeIds: x.types, attentionMask: x.mask, returnAttention: true, returnHiddenStates: true, dropout: { seed: 1 } });
  const out2 = encode(p1, x.ids, { attentionMask: x.mask });
  const logits = classificationLogits(p1, out.hidden, { seed: 1 });
  const mlm = mlmLogits(p1, out.hidden, positions);
  const loss = crossEntropy(logits, x.labels);
  const reg = taskLoss(logits.slice([0, 0], [-1, 1]) as tf.Tensor2D, targets); // slice: 1 tensor of ours
  // each call returned only its own outputs: X, 2 attentions + 3 hidden states (the last is out.hidden),
  // out2.hidden, logits, mlm, loss, the test's slice, reg
  assert.equal(tf.memory().numTensors - base, 1 + 5 + 1 + 1 + 1 + 1 + 1 + 1);
  tf.dispose([X, ...out.attentions!, ...out.hiddenStates!, out2.hidden, logits, mlm, loss, reg]);
  assert.equal(tf.memory().numTensors - base, 1); // only the slice made by the test itself is left
  tf.dispose([positions, targets, ...Object.values(x)]);
  disposeParams(p1);
  assert.equal(tf.memory().numTensors - start, 1);
});

test('scaled dot-product attention equals softmax(QK^T/sqrt(d_k))V computed by hand, masking padding keys', async () => {
  await backend();
  const Q = [[1, 0], [0, 1], [1, 1], [0.5, -1]];
  const K = [[1, 2], [0, 1], [-1, 0], [2, 2]];
  const V = [[1, 0], [0, 1], [1, 1], [3, -2]];
  const bias = [0, 0, 0, -1e9]; // the 4th token is padding
  const expected = Q.map((q) => {
    const s = K.map((k, j) => (q[0] * k[0] + q[1] * k[1]) / Math.sqrt(2) + bias[j]);
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return [0, 1].map((d) => e.reduce((acc, w, j) => acc + (w / z) * V[j][d], 0));
  });
  await expectNoLeak(() => {
    const inputs = [tf.tensor2d(Q), tf.tensor2d(K), tf.tensor2d(V), tf.tensor1d(bias)];
    const { output, probs } = scaledDotProductAttention(inputs[0], inputs[1], inputs[2], inputs[3]);
    const got = output.arraySync() as number[][];
    got.forEach((row, i) => row.forEach((v, d) => assert.ok(Math.abs(v - expected[i][d]) < 1e-5, `[${i},${d}] ${v} vs ${expected[i][d]}`)));
    assert.ok((probs.arraySync() as unknown as number[][]).every((r) => r[3] === 0));
    tf.dispose([output, probs, ...inputs]);
  }, 'scaledDotProductAttention');
});

test('MLM head over an output vocabulary: the chosen columns of the full logits; ids validated; no leaks', async () => {
  await backend();
  const { outputVocabulary } = await import('../src/model');
  const p = tinyModel({ mlm: true, seed: 3 });
  const x = inputs();
  const v = outputVocabulary([9, 4, 4, 30, 2], TINY_CONFIGS.small.vocabSize);
  assert.deepEqual(v.ids, [2, 4, 9, 30]);
  assert.equal(v.index[9], 2);
  assert.equal(v.index[5], -1);
  assert.throws(() => outputVocabulary([1, 50], 50), /token id 50 is outside the vocabulary of 50 tokens/);
  assert.throws(() => outputVocabulary([], 50), /at least one token id/);
  const hidden = encode(p, x.ids, { attentionMask: x.mask }).hidden; // [2, 6, D]
  const positions = tf.tensor1d([1, 8], 'int32'); // [2]
  const ids = tf.tensor1d(v.ids, 'int32'); // [4]
  const before = tf.memory().numTensors; // by hand: the two logits tensors are returned on purpose
  const full = mlmLogits(p, hidden, positions); // [2, 50]
  const sub = mlmLogits(p, hidden, positions, ids); // [2, 4]
  assert.equal(tf.memory().numTensors - before, 2);
  assert.deepEqual(sub.shape, [2, 4]);
  const f = (await full.array()) as number[][];
  const s = (await sub.array()) as number[][];
  for (let m = 0; m < 2; m++) v.ids.forEach((id, j) => assert.ok(Math.abs(s[m][j] - f[m][id]) < 1e-5));
  tf.dispose([full, sub, hidden, positions, ids, ...Object.values(x)]);
  disposeParams(p);
});
