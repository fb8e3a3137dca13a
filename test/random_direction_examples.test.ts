/**
 * randomDirectionExamples (src/attacks/embedding/random_direction_examples.ts): the random control
 * of FGM in word-embedding space. Its clean numbers are FGM's, its perturbations have norm eps, it
 * is reproducible and independent of the batch size only through its seed per batch, and on a
 * classifier with a strong gradient it raises the loss far less than FGM of the same norm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TINY_CONFIGS, backend, expectNoLeak, maxAbsDiff, tinyModel } from './helpers';
import { disposeParams } from '../src/model';
import { loadTokenizer } from '../src/tokenizer';
import type { Example } from '../src/data/glue';
import { embeddingFgsmExamples } from '../src/adversarial/embedding_fgsm';
import { randomDirectionExamples } from '../src/attacks/embedding/random_direction_examples';

// 16 word pieces: [PAD] [UNK] [CLS] [SEP] [MASK] un ##aff ##able a ##a the . ##s runner run ##ner
const tok = loadTokenizer(path.join(__dirname, 'fixtures', 'tiny-vocab.txt'));
const SENTENCES: Example[] = ['the runner', 'unaffable a the run', 'run', 'a runner runs the a', 'the', 'runner runner', 'a a a', 'unaffable']
  .map((textA, i) => ({ textA, label: i % 2 }));
const EPS = [0, 0.5, 2];

async function classifier() {
  await backend();
  const p = tinyModel({ config: { ...TINY_CONFIGS.small, vocabSize: 16 }, numLabels: 2, seed: 5 });
  p.classifier!.weight.assign(tf.tidy(() => tf.mul(p.classifier!.weight, 20))); // a strong, far from flat, classifier
  return p;
}

test('clean numbers equal FGM\'s, the perturbation has norm eps, and eps = 0 is the clean model', async () => {
  const p = await classifier();
  const frozenIds = [tok.clsId, tok.sepId];
  const r = await expectNoLeak(() => randomDirectionExamples(p, tok, SENTENCES, { eps: EPS, frozenIds, batchSize: 3, seed: 1 }), 'randomDirectionExamples');
  const fgm = embeddingFgsmExamples(p, tok, SENTENCES, { eps: EPS, frozenIds, batchSize: 3 });
  assert.deepEqual(r.labels, fgm.labels);
  assert.deepEqual(r.clean.predictions, fgm.clean.predictions);
  assert.ok(maxAbsDiff(r.clean.loss, fgm.clean.loss) < 1e-5);
  assert.deepEqual(r.random.map((s) => s.eps), EPS);
  r.random.forEach((s) => s.exampleNorm.forEach((n) => assert.ok(Math.abs(n - s.eps) < 1e-4 * (1 + s.eps), `norm ${n} for eps ${s.eps}`)));
  assert.ok(maxAbsDiff(r.random[0].loss, r.clean.loss) < 1e-5);
  // the gradient direction raises the loss more than a random one of the same norm, summed over the sentences
  const rise = (losses: number[]) => losses.reduce((s, l, i) => s + l - r.clean.loss[i], 0);
  assert.ok(rise(fgm.adversarial[2].loss) > rise(r.random[2].loss), `FGM ${rise(fgm.adversarial[2].loss)} vs random ${rise(r.random[2].loss)}`);
  disposeParams(p);
});

test('the same seed gives the same numbers, another seed others; bad settings are refused', async () => {
  const p = await classifier();
  const run = (seed: number) => randomDirectionExamples(p, tok, SENTENCES, { eps: [2], batchSize: 4, seed }).random[0].loss;
  assert.deepEqual(run(3), run(3));
  assert.ok(maxAbsDiff(run(3), run(4)) > 1e-4);
  assert.throws(() => randomDirectionExamples(p, tok, SENTENCES, { eps: [] }), /empty list/);
  assert.throws(() => randomDirectionExamples(p, tok, SENTENCES, { eps: -1 }), /finite number >= 0/);
  assert.throws(() => randomDirectionExamples(p, tok, SENTENCES, { batchSize: 0 }), /batchSize/);
  disposeParams(p);
});
