import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertConfig, BertParams, disposeParams, initParams } from '../src/model';
import { loadTokenizer } from '../src/tokenizer';
import { disposeBatch, makeBatch } from '../src/data/batch';
import {
  disposeEmbeddingFgsm, embeddingAscentDirection, embeddingFgsm, embeddingFgsmExamples, perturbableMask,
} from '../src/adversarial/embedding_fgsm';
import { TINY_CONFIGS, backend, expectNoLeak, tinyModel } from './helpers';

// The tokenizer fixture has 16 word pieces: [PAD] [UNK] [CLS] [SEP] [MASK] un ##aff ##able a ##a the . ##s runner run ##ner
const TINY: BertConfig = { ...TINY_CONFIGS.small, vocabSize: 16 };
const CLS = 2;
const SEP = 3;

/** A random tiny classifier whose word embeddings are scaled up, so that its losses are far from log 2. */
function model(seed = 5): BertParams {
  const p = tinyModel({ config: TINY, numLabels: 2, seed });
  p.embeddings.word.assign(tf.tidy(() => tf.mul(p.embeddings.word, 30)));
  p.classifier!.weight.assign(tf.tidy(() => tf.mul(p.classifier!.weight, 30)));
  return p;
}

function batch() {
  return {
    inputIds: tf.tensor2d([[2, 8, 10, 13, 11, 3], [2, 14, 9, 3, 0, 0], [2, 5, 6, 7, 3, 0]], undefined, 'int32'), // [3, 6]
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]]), // [3, 6]
    labels: tf.tensor1d([0, 1, 1], 'int32'), // [3]
  };
}
const LENGTHS = [6, 4, 5];

test('loss rises for small eps, by eps * ||grad|| to first order (l2), for every norm and scope', async () => {
  await backend();
  const p = model();
  const b = batch();
  const eps = 1e-2;
  for (const [norm, scope] of [['l2', 'example'], ['l2', 'token'], ['linf', 'example']] as const) {
    const r = embeddingFgsm(p, b, { eps, norm, scope });
    const s = r.adversarial[0];
    r.clean.loss.forEach((l, i) => {
      assert.ok(r.gradNorm[i] > 1e-3, 'test setup: a non-zero gradient');
      assert.ok(s.loss[i] > l, `${norm}/${scope} example ${i}: loss ${l} -> ${s.loss[i]} did not rise`);
    });
    if (norm === 'l2' && scope === 'example') {
      // J(X + eps g/||g||) - J(X) = eps ||g|| + O(eps^2): checks the direction and the reported gradient norm.
      r.clean.loss.forEach((l, i) => {
        const rate = (s.loss[i] - l) / eps;
        assert.ok(Math.abs(rate - r.gradNorm[i]) < 0.05 * r.gradNorm[i], `example ${i}: loss rate ${rate} vs ||g|| ${r.gradNorm[i]}`);
      });
    }
  }
  tf.dispose(Object.values(b));
  disposeParams(p);
});

test('padding and frozen tokens never move; the norms are eps as defined', async () => {
  await backend();
  const p = model();
  const b = batch();
  const ids = b.inputIds.arraySync() as number[][];
  const X = tf.gather(p.embeddings.word, b.inputIds); // [3, 6, 16]
  const eps = 0.7;
  for (const [norm, scope] of [['l2', 'example'], ['l2', 'token'], ['linf', 'example']] as const) {
    for (const frozenIds of [[], [CLS, SEP]]) {
      const r = embeddingFgsm(p, b, { eps, norm, scope, frozenIds, returnEmbeddings: true });
      const s = r.adversarial[0];
      assert.deepEqual(r.lengths, LENGTHS);
      const delta = tf.sub(s.embeddings!, X).arraySync() as number[][][];
      let sq = [0, 0, 0];
      delta.forEach((ex, bi) =>
        ex.forEach((row, t) => {
          const frozen = t >= LENGTHS[bi] || (frozenIds as number[]).includes(ids[bi][t]);
          if (t < LENGTHS[bi]) assert.equal(r.perturbable[bi][t], frozen ? 0 : 1);
          const n = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
          if (frozen) {
            assert.ok(row.every((v) => v === 0), `${norm}/${scope}: token ${bi},${t} (id ${ids[bi][t]}) moved`);
          } else {
            assert.ok(n > 0, `${norm}/${scope}: token ${bi},${t} did not move`);
            if (norm === 'l2' && scope === 'token') assert.ok(Math.abs(n - eps) < 1e-4, `token norm ${n}`);
            if (norm === 'linf') assert.ok(row.every((v) => Math.abs(Math.abs(v) - eps) < 1e-5), 'every entry moves by eps');
          }
          if (t < LENGTHS[bi]) assert.ok(Math.abs(s.tokenNorm[bi][t] - n) < 1e-4, 'reported token norm');
          sq[bi] += n * n;
        }),
      );
      sq.forEach((v, bi) => {
        assert.ok(Math.abs(Math.sqrt(v) - s.exampleNorm[bi]) < 1e-4, 'reported example norm');
        if (norm === 'l2' && scope === 'example') assert.ok(Math.abs(s.exampleNorm[bi] - eps) < 1e-4, `example norm ${s.exampleNorm[bi]}`);
        if (norm === 'linf') assert.ok(Math.abs(s.exampleMaxAbs[bi] - eps) < 1e-5);
        assert.equal(s.tokenNorm[bi].length, LENGTHS[bi], 'per-token rows are trimmed to the real tokens');
      });
      disposeEmbeddingFgsm(r);
    }
  }
  tf.dispose([X, ...Object.values(b)]);
  disposeParams(p);
});

test('padding does not change the attack: a sentence alone and padded in a batch give the same numbers', async () => {
  await backend();
  const p = model();
  const b = batch();
  const alone = {
    inputIds: tf.tensor2d([[2, 14, 9, 3]], undefined, 'int32'), // [1, 4]
    attentionMask: tf.ones([1, 4]), // [1, 4]
    labels: tf.tensor1d([1], 'int32'), // [1]
  };
  const opts = { eps: [0.05, 0.5], frozenIds: [CLS, SEP] };
  const r1 = embeddingFgsm(p, b, opts);
  const r2 = embeddingFgsm(p, alone, opts);
  assert.ok(Math.abs(r1.clean.loss[1] - r2.clean.loss[0]) < 1e-5);
  assert.ok(Math.abs(r1.gradNorm[1] - r2.gradNorm[0]) < 1e-4 * r2.gradNorm[0]);
  r1.adversarial.forEach((s, k) => {
    assert.ok(Math.abs(s.loss[1] - r2.adversarial[k].loss[0]) < 1e-4, `eps ${s.eps}: ${s.loss[1]} vs ${r2.adversarial[k].loss[0]}`);
    assert.equal(s.predictions[1], r2.adversarial[k].predictions[0]);
  });
  tf.dispose([...Object.values(b), ...Object.values(alone)]);
  disposeParams(p);
});

test('several radii from one gradient equal separate calls; eps = 0 is the clean model; probabilities match the loss', async () => {
  await backend();
  const p = model();
  const b = batch();
  const many = embeddingFgsm(p, b, { eps: [0, 0.3, 2] });
  many.adversarial[0].loss.forEach((l, i) => assert.ok(Math.abs(l - many.clean.loss[i]) < 1e-6));
  assert.deepEqual(many.adversarial[0].predictions, many.clean.predictions);
  for (const [k, eps] of [[1, 0.3], [2, 2]] as const) {
    const one = embeddingFgsm(p, b, { eps });
    one.adversarial[0].loss.forEach((l, i) => assert.ok(Math.abs(l - many.adversarial[k].loss[i]) < 1e-5));
  }
  const labels = b.labels.arraySync() as number[];
  many.adversarial[2].probs.forEach((pr, i) => {
    assert.ok(Math.abs(pr[0] + pr[1] - 1) < 1e-5);
    assert.ok(Math.abs(-Math.log(pr[labels[i]]) - many.adversarial[2].loss[i]) < 1e-3);
    assert.equal(many.adversarial[2].predictions[i], pr[1] > pr[0] ? 1 : 0);
  });
  tf.dispose(Object.values(b));
  disposeParams(p);
});

test('the per-token direction has unit rows; the mask helper drops padding and frozen ids', async () => {
  await backend();
  const g = tf.tensor3d([[[3, 4], [0, 0], [1, 0]], [[0, 2], [6, 8], [5, 5]]]); // [2, 3, 2]
  const ids = tf.tensor2d([[2, 7, 3], [2, 9, 0]], undefined, 'int32'); // [2, 3]
  const att = tf.tensor2d([[1, 1, 1], [1, 1, 0]]); // [2, 3]
  const mask = perturbableMask(ids, att, [SEP]);
  assert.deepEqual(mask.arraySync(), [[1, 1, 0], [1, 1, 0]]);
  const d = embeddingAscentDirection(g, mask, 'l2', 'token').arraySync();
  assert.deepEqual(d.map((ex) => ex.map((r) => r.map((v) => Math.round(v * 1e4) / 1e4))), [
    [[0.6, 0.8], [0, 0], [0, 0]],
    [[0, 1], [0.6, 0.8], [0, 0]],
  ]);
  const e = embeddingAscentDirection(g, mask, 'l2', 'example').arraySync();
  const n0 = Math.sqrt(9 + 16);
  assert.ok(Math.abs(e[0][0][0] - 3 / n0) < 1e-6 && e[0][2][0] === 0);
  const n1 = Math.sqrt(4 + 36 + 64);
  assert.ok(Math.abs(e[1][1][1] - 8 / n1) < 1e-6);
  tf.dispose([g, ids, att, mask]);
});

test('embeddingFgsmExamples concatenates batches in order and matches one big batch', async () => {
  await backend();
  const tok = loadTokenizer(path.join(__dirname, 'fixtures', 'tiny-vocab.txt'));
  const p = model(7);
  const examples = [
    { textA: 'the runner', label: 0 },
    { textA: 'unaffable a the run', label: 1 },
    { textA: 'run', label: 1 },
    { textA: 'a runner runs the a', label: 0 },
    { textA: 'the', label: 1 },
  ];
  const opts = { eps: [0.1, 1], frozenIds: [tok.clsId, tok.sepId] };
  const small = await expectNoLeak(() => embeddingFgsmExamples(p, tok, examples, { ...opts, batchSize: 2 }), 'embeddingFgsmExamples');
  const b = makeBatch(tok, examples, 'classification');
  const big = embeddingFgsm(p, b, opts);
  disposeBatch(b);
  assert.deepEqual(small.labels, [0, 1, 1, 0, 1]);
  assert.deepEqual(small.lengths, big.lengths);
  assert.deepEqual(small.perturbable, big.perturbable);
  small.adversarial.forEach((s, k) => {
    s.loss.forEach((l, i) => assert.ok(Math.abs(l - big.adversarial[k].loss[i]) < 1e-4));
    s.tokenNorm.forEach((row, i) => row.forEach((v, t) => assert.ok(Math.abs(v - big.adversarial[k].tokenNorm[i][t]) < 1e-4)));
  });
  disposeParams(p);
});

test('no leaks (with and without embeddings) and clear errors', async () => {
  await backend();
  const p = model();
  const b = batch();
  await expectNoLeak(() => embeddingFgsm(p, b, { eps: [0.1, 1] }), 'embeddingFgsm');
  // counted by hand: returnEmbeddings hands back one tensor per eps on purpose
  const before = tf.memory().numTensors;
  const r = embeddingFgsm(p, b, { eps: [0.1, 1], returnEmbeddings: true, norm: 'l2', scope: 'token', frozenIds: [CLS] });
  assert.equal(tf.memory().numTensors, before + 2, 'one owned embedding tensor per eps');
  disposeEmbeddingFgsm(r);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => embeddingFgsm(p, b, { eps: -1 }), /eps must be/);
  assert.throws(() => embeddingFgsm(p, b, { eps: [] }), /empty/);
  assert.throws(() => embeddingFgsm(p, { ...b, labels: tf.tensor1d([1], 'int32') }), /labels must be/);
  const reg = tinyModel({ config: TINY, numLabels: 1, seed: 1 });
  assert.throws(() => embeddingFgsm(reg, b), /regression/);
  disposeParams(reg);
  const bare = initParams(TINY, { seed: 1 });
  assert.throws(() => embeddingFgsm(bare, b), /numLabels/);
  disposeParams(bare);
  tf.dispose(Object.values(b));
  disposeParams(p);
});
