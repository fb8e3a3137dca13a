/**
 * Parity with an independent PyTorch implementation of BERT (test/fixtures/make_bert_fixture.py):
 * a tiny random checkpoint in HuggingFace naming, and the hidden states, attention, logits, MLM
 * logits and embedding gradient that the reference computed from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { classificationLogits, crossEntropy, embedTokens, encodeFromEmbeddings, loadCheckpoint, mlmLogits, pooledOutput, disposeParams } from '../src/model';
import { backend, maxAbsDiff } from './helpers';

const DIR = path.join(__dirname, 'fixtures', 'bert-tiny-random');
const inputs = JSON.parse(fs.readFileSync(path.join(DIR, 'inputs.json'), 'utf8'));
const outputs = JSON.parse(fs.readFileSync(path.join(DIR, 'outputs.json'), 'utf8')).tensors as Record<string, { shape: number[]; data: number[] }>;

/** max |actual - reference| against the reference tensor `name` (or the part `select` takes), whose shape must match. */
function diffFromReference(actual: tf.Tensor, name: string, select?: (t: tf.Tensor) => tf.Tensor): number {
  const ref = outputs[name];
  return tf.tidy(() => {
    const expected = tf.tensor(ref.data, ref.shape);
    const e = select ? select(expected) : expected;
    assert.deepEqual(actual.shape, e.shape, `${name} shape`);
    return maxAbsDiff(actual, e);
  });
}

function batch() {
  return {
    ids: tf.tensor2d(inputs.input_ids, undefined, 'int32'), // [3, 12]
    types: tf.tensor2d(inputs.token_type_ids, undefined, 'int32'), // [3, 12]
    mask: tf.tensor2d(inputs.attention_mask, undefined, 'float32'), // [3, 12]
    labels: tf.tensor1d(inputs.labels, 'int32'), // [3]
  };
}

test('classification checkpoint: hidden states, attention, pooled output and logits match the reference', async () => {
  await backend();
  const { params, newlyInitialised, unused } = loadCheckpoint(DIR);
  assert.deepEqual(newlyInitialised, []);
  assert.deepEqual(unused, []);
  const b = batch();
  tf.tidy(() => {
    const out = encodeFromEmbeddings(params, embedTokens(params, b.ids), {
      tokenTypeIds: b.types,
      attentionMask: b.mask,
      returnAttention: true,
      returnHiddenStates: true,
    });
    const hs = out.hiddenStates!;
    assert.ok(diffFromReference(hs[0], 'embedding_output') < 5e-6);
    for (let i = 0; i < hs.length; i++) {
      const d = diffFromReference(hs[i], 'hidden_states', (e) => tf.squeeze(tf.slice(e, [i, 0, 0, 0], [1, -1, -1, -1]), [0]));
      assert.ok(d < 5e-6, `hidden_states[${i}] max diff ${d}`);
    }
    assert.ok(diffFromReference(out.attentions![0], 'attentions_layer0') < 1e-6);
    assert.ok(diffFromReference(pooledOutput(params, out.hidden), 'pooled_output') < 5e-6);
    const logits = classificationLogits(params, out.hidden);
    const d = diffFromReference(logits, 'logits');
    assert.ok(d < 1e-4 && d < 5e-6, `logits max diff ${d}`);
  });
  tf.dispose(Object.values(b));
  disposeParams(params);
});

test('the gradient with respect to the raw word embeddings matches the reference (zero on padding)', async () => {
  await backend();
  const { params } = loadCheckpoint(DIR);
  const b = batch();
  const X = embedTokens(params, b.ids); // [3, 12, 128]
  const lossOf = (x: tf.Tensor) => crossEntropy(classificationLogits(params, encodeFromEmbeddings(params, x, { tokenTypeIds: b.types, attentionMask: b.mask }).hidden), b.labels);
  const { value, grad } = tf.valueAndGrad(lossOf)(X);
  assert.ok(Math.abs(value.dataSync()[0] - outputs.loss.data[0]) < 1e-5);
  const d = diffFromReference(grad, 'grad_word_embeds');
  assert.ok(d < 1e-6, `grad max diff ${d}`);
  const padGrad = tf.tidy(() => tf.max(tf.abs(tf.mul(grad, tf.expandDims(tf.sub(1, b.mask), 2)))).dataSync()[0]);
  assert.equal(padGrad, 0);
  tf.dispose([X, value, grad, ...Object.values(b)]);
  disposeParams(params);
});

test('MLM checkpoint: logits against the tied embeddings match the reference', async () => {
  await backend();
  const { params, unused } = loadCheckpoint(path.join(DIR, 'mlm'));
  assert.deepEqual(unused, []);
  assert.ok(params.mlm && !params.pooler);
  const b = batch();
  tf.tidy(() => {
    const hidden = encodeFromEmbeddings(params, embedTokens(params, b.ids), { tokenTypeIds: b.types, attentionMask: b.mask }).hidden;
    const logits = tf.reshape(mlmLogits(params, hidden), [3, 12, -1]); // [3, 12, V]
    const d = diffFromReference(logits, 'mlm_logits');
    assert.ok(d < 2e-5, `mlm logits max diff ${d}`);
  });
  tf.dispose(Object.values(b));
  disposeParams(params);
});
