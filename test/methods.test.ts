import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  BertParams, GradientSum, MlmBatch, TaskBatch, batchLoss, classifierLogits, countPasses, disposeModelBatch, disposeParams, embedTokens,
  embeddingOutput, encode, encodeLayers, lossAndGradients, loadCheckpoint, namedParams,
} from '../src/model';
import { gaussianNoise, methodFromJson, methodNames, resolveMethod, vanilla } from '../src/adversarial/methods';
import { finetune, finetuneConfig } from '../src/train/finetune';
import { evaluate } from '../src/train/evaluate';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/train/pretrain';
import { canonicalJson, identityDifferences, runIdentity } from '../src/train/run_identity';
import { getTask, loadTask, loadTokenizer } from '../src/data';
import { main } from '../src/cli/main';
import { TINY_CONFIGS, backend, checkGradient, expectNoLeak, maxAbsDiff, mlmBatch, taskBatch, tinyCheckpoint, tinyModel, tinyPretrainRecord } from './helpers';



test('one road: logits from ids and from given embeddings agree; encodeLayers splits the encoder anywhere', async () => {
  await backend();
  const p = tinyModel({ mlm: false });
  const b = taskBatch();
  await expectNoLeak(() => {
    tf.tidy(() => {
      const direct = classifierLogits(p, b); // [B, C]
      const viaEmbeds = classifierLogits(p, b, { embeds: embedTokens(p, b.inputIds) });
      assert.equal(maxAbsDiff(direct, viaEmbeds), 0);
      const byHand = encode(p, b.inputIds, { tokenTypeIds: b.tokenTypeIds, attentionMask: b.attentionMask }).hidden; // [B, T, D]
      const h0 = embeddingOutput(p, embedTokens(p, b.inputIds), { tokenTypeIds: b.tokenTypeIds });
      const h1 = encodeLayers(p, h0, { from: 0, to: 1, attentionMask: b.attentionMask }).hidden;
      const h2 = encodeLayers(p, h1, { from: 1, attentionMask: b.attentionMask }).hidden;
      assert.ok(maxAbsDiff(byHand, h2) < 1e-6);
    });
  }, 'the forward functions');
  assert.throws(() => classifierLogits(p, b, { embeds: tf.zeros([3, 5, 16]) }), /embeds must be \[3, 6, 16\]/);
  assert.throws(() => encodeLayers(p, tf.zeros([1, 2, 16]), { from: 2, to: 1 }), /0 <= from <= to <= 2/);
  disposeModelBatch(b);
  disposeParams(p);
});

test('passes are counted: a full forward-backward, a partial one, and what each backward was for', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const named = namedParams(p);
  const { passes } = countPasses(() => {
    const r = lossAndGradients(named, () => batchLoss(p, b));
    tf.dispose([r.loss, ...r.grads.values()]);
  });
  assert.deepEqual(passes, { forward: 1, partialForward: 0, backward: 1, partialBackward: 0, paramBackward: 1, inputBackward: 0 });
  const X = embedTokens(p, b.inputIds);
  const partial = countPasses(() => {
    const r = lossAndGradients([], () => tf.sum(encodeLayers(p, embeddingOutput(p, X), { to: 1 }).hidden) as tf.Scalar, [X]);
    tf.dispose([r.loss, ...r.inputGrads]);
  }).passes;
  assert.deepEqual(partial, { forward: 0, partialForward: 1, backward: 0, partialBackward: 1, paramBackward: 0, inputBackward: 1 });
  tf.dispose([X]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('gradients to delta and to the parameters come from one backward pass and match separate ones', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const named = namedParams(p);
  const X = embedTokens(p, b.inputIds); // [B, T, D]
  const delta = tf.mul(tf.randomNormal(X.shape, 0, 1, 'float32', 3), 0.05); // [B, T, D]
  const lossAt = (d: tf.Tensor) => batchLoss(p, b, { embeds: tf.add(embedTokens(p, b.inputIds), d) });
  await expectNoLeak(() => {
    const both = lossAndGradients(named, () => lossAt(delta), [delta]);
    const deltaOnly = tf.grad((d: tf.Tensor) => lossAt(d))(delta);
    const paramsOnly = tf.variableGrads(() => lossAt(delta), named.map(([, v]) => v));
    assert.ok(maxAbsDiff(both.inputGrads[0], deltaOnly) < 1e-7);
    for (const [name, v] of named) {
      const g = both.grads.get(name);
      assert.ok(g, `gradient of ${name}`);
      assert.ok(maxAbsDiff(g!, paramsOnly.grads[v.name]) < 1e-7, name);
    }
    checkGradient(lossAt, delta, both.inputGrads[0], { h: 1e-2 });
    tf.dispose([both.loss, ...both.grads.values(), ...both.inputGrads, deltaOnly, paramsOnly.value, ...Object.values(paramsOnly.grads)]);
  }, 'lossAndGradients');
  tf.dispose([X, delta]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('GradientSum: the scaled sum of K passes equals the mean of the per-pass gradients, without leaks', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const named = namedParams(p);
  const K = 3;
  const deltas = Array.from({ length: K }, (_, k) => tf.mul(tf.randomNormal([3, 6, 16], 0, 1, 'float32', 10 + k), 0.1));
  const gradsAt = (d: tf.Tensor) => {
    const r = lossAndGradients(named, () => batchLoss(p, b, { embeds: tf.add(embedTokens(p, b.inputIds), d) }));
    r.loss.dispose();
    return r.grads;
  };
  const one = deltas.map(gradsAt);
  const name = 'bert.encoder.layer.0.attention.self.query.weight';
  const mean = tf.div(tf.addN(one.map((g) => g.get(name)!)), K);
  await expectNoLeak(() => {
    const sum = new GradientSum();
    for (const d of deltas) sum.add(gradsAt(d), 1 / K);
    const out = sum.take();
    assert.ok(maxAbsDiff(out.get(name)!, mean) < 1e-7);
    assert.equal(out.size, one[0].size);
    tf.dispose([...out.values()]);
    sum.dispose();
  }, 'GradientSum');
  tf.dispose([mean, ...deltas, ...one.flatMap((g) => [...g.values()])]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('the method registry rebuilds methods from JSON and rejects unknown names, options and bad values', () => {
  assert.ok(methodNames().includes('vanilla') && methodNames().includes('gaussian-noise'));
  const m = gaussianNoise({ sigma: 0.2 });
  const again = methodFromJson(m.name, JSON.parse(JSON.stringify(m.config)));
  assert.equal(canonicalJson(again.config), canonicalJson(m.config));
  assert.deepEqual(resolveMethod(undefined).name, 'vanilla');
  assert.deepEqual(resolveMethod({ name: 'gaussian-noise' }).config, { sigma: 0.01 });
  assert.throws(() => methodFromJson('freelb-typo'), /unknown method 'freelb-typo'; known methods: .*vanilla/);
  assert.throws(() => methodFromJson('gaussian-noise', { sgima: 1 }), /method 'gaussian-noise' has no option 'sgima'; its options are sigma/);
  assert.throws(() => gaussianNoise({ sigma: -1 }), /option sigma must be >= 0, got -1/);
  assert.throws(() => gaussianNoise({ sigma: 'big' as unknown as number }), /option sigma must be a finite number/);
  assert.throws(() => vanilla({ K: 3 } as never), /method 'vanilla' has no option 'K'; it takes no options/);
});

function methodSteps(p: BertParams, method = vanilla(), objective: 'task' | 'mlm' = 'task') {
  return method.makeStep({ params: p, objective, taskKind: 'classification' });
}

test('vanilla and gaussian noise: one forward and one full backward per step, per-step metrics, no leaks over several steps', async () => {
  await backend();
  for (const objective of ['task', 'mlm'] as const) {
    const p = tinyModel(objective === 'mlm' ? { mlm: true } : {});
    for (const method of [vanilla(), gaussianNoise({ sigma: 0.05 })]) {
      const step = methodSteps(p, method, objective);
      await expectNoLeak(() => {
        for (let s = 0; s < 3; s++) {
          const b = objective === 'mlm' ? mlmBatch() : taskBatch();
          const { result, passes } = countPasses(() => step.step(b, { step: s, epoch: 0, seed: s, replay: 0 }));
          assert.deepEqual(passes, { forward: 1, partialForward: 0, backward: 1, partialBackward: 0, paramBackward: 1, inputBackward: 0 }, `${method.name} ${objective}`);
          assert.ok(Number.isFinite(result.loss.dataSync()[0]));
          if (method.name === 'gaussian-noise') assert.ok(result.metrics.deltaNorm.dataSync()[0] > 0);
          tf.dispose([result.loss, ...result.grads.values(), ...Object.values(result.metrics)]);
          disposeModelBatch(b);
        }
      }, `${method.name} on ${objective}`);
      step.dispose();
    }
    disposeParams(p);
  }
});

test('gaussian noise with sigma 0 is exactly plain training', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const info = { step: 0, epoch: 0, seed: 5, replay: 0 };
  const a = methodSteps(p, vanilla()).step(b, info);
  const g = methodSteps(p, gaussianNoise({ sigma: 0 })).step(b, info);
  assert.equal(a.loss.dataSync()[0], g.loss.dataSync()[0]);
  for (const [name, t] of a.grads) assert.equal(maxAbsDiff(t, g.grads.get(name)!), 0, name);
  tf.dispose([a.loss, g.loss, ...a.grads.values(), ...g.grads.values(), ...Object.values(g.metrics)]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('run identities: canonical (key order and undefined do not matter), and differences are named', () => {
  const a = runIdentity({ b: 1, a: { y: 2, x: [1, 2] }, c: undefined });
  const b = runIdentity({ a: { x: [1, 2], y: 2 }, b: 1 });
  assert.equal(a.id, b.id);
  assert.notEqual(a.id, runIdentity({ a: { x: [1, 2], y: 3 }, b: 1 }).id);
  assert.deepEqual(identityDifferences({ method: { name: 'vanilla' }, seed: 0 }, { method: { name: 'gaussian-noise' }, seed: 0 }), ['method.name: was "vanilla", now "gaussian-noise"']);
});

const quiet = { mode: 'silent' as const };

test('a registered method fine-tunes and pre-trains through the one trainer, with its per-step metrics in the run record', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-methods-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  await expectNoLeak(async () => {
    const ft = await finetune(
      { task: 'SST-2', checkpoint: ckpt, method: gaussianNoise({ sigma: 0.02 }), maxLength: 24, batchSize: 16, limitTrain: 48, limitDev: 16, trainer: { epochs: 1 } },
      { progress: quiet },
    );
    assert.equal(ft.record.method, 'gaussian-noise');
    assert.equal(ft.record.steps!.deltaNorm.length, 3);
    assert.equal(ft.record.steps!.gradNorm.length, 3);
    assert.ok(ft.record.epochs[0].metrics!.deltaNorm > 0);
    assert.deepEqual((ft.record.identity!.fields as { method: unknown }).method, { name: 'gaussian-noise', config: { sigma: 0.02 } });
    disposeParams(ft.params);
    const rec = await tinyPretrainRecord(path.join(dir, 'pt'), ckpt, 'gaussian-noise');
    assert.equal(rec.steps.deltaNorm.length, 2);
  }, 'fine-tuning and pre-training');
  await assert.rejects(pretrain(path.join(dir, 'pt3'), { ...PRETRAIN_DEFAULTS, batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});

test('a resumed fine-tuning run keeps its best epoch: saved model, reported epoch and returned weights agree', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-best-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  const config = { task: 'SST-2', checkpoint: ckpt, maxLength: 24, batchSize: 8, limitTrain: 48, limitDev: 48, trainer: { epochs: 4, lr: 3e-2, warmupRatio: 0 } };
  // an uninterrupted run, for reference: its best epoch must not be its last, or the test proves nothing
  const ref = await finetune(config, { outDir: path.join(dir, 'ref'), progress: quiet });
  const lastEpoch = ref.train.epochs.length;
  assert.notEqual(ref.best.epoch, lastEpoch, `dev accuracy per epoch ${ref.train.epochs.map((e) => e.dev?.accuracy)}: pick settings whose best epoch is not the last`);
  // the same run stopped right after its best epoch's evaluation, then resumed
  const out = path.join(dir, 'ft');
  const stepsPerEpoch = 6;
  let calls = 0;
  const stopAfterBest = { get stop() { return ++calls === ref.best.epoch * stepsPerEpoch + 1; }, set stop(_v: boolean) {} };
  const first = await finetune(config, { outDir: out, stopFlag: stopAfterBest, progress: quiet });
  assert.ok(first.train.stopped);
  disposeParams(first.params);
  const resumed = await finetune(config, { outDir: out, progress: quiet });
  assert.equal(resumed.best.epoch, ref.best.epoch);
  assert.deepEqual(resumed.best.metrics, ref.best.metrics);
  // the saved model is the best epoch's, and so are the returned weights
  const saved = loadCheckpoint(out, { numLabels: 2, mlm: false });
  assert.equal((saved.hfConfig.advlm as { bestEpoch: number }).bestEpoch, ref.best.epoch);
  for (const [[name, a], [, b]] of namedParams(resumed.params).map((x, i) => [x, namedParams(saved.params)[i]] as const)) assert.equal(maxAbsDiff(a, b), 0, name);
  const dev = loadTask('SST-2', 'dev', { limit: 48 });
  const again = await evaluate(resumed.params, loadTokenizer(), dev, getTask('SST-2'), { maxLength: 24 });
  assert.equal(again.metrics.accuracy, ref.best.metrics.accuracy);
  for (const [[, a], [, b]] of namedParams(ref.params).map((x, i) => [x, namedParams(resumed.params)[i]] as const)) assert.ok(maxAbsDiff(a, b) < 1e-5);
  // a resume with another method is an error that names the difference
  const other = path.join(dir, 'other');
  const s2 = await finetune(config, { outDir: other, stopFlag: { stop: true }, progress: quiet });
  disposeParams(s2.params);
  await assert.rejects(
    finetune({ ...config, method: gaussianNoise({ sigma: 0.1 }) }, { outDir: other, progress: quiet }),
    /cannot resume from .*other\/resume: it belongs to another run \(method\.config\.sigma: was unset, now 0\.1; method\.name: was "vanilla", now "gaussian-noise"\)/,
  );
  disposeParams(saved.params);
  disposeParams(ref.params);
  disposeParams(resumed.params);
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});

test('bad settings fail before any work, with the cause: the library and the command line', async () => {
  assert.throws(() => finetuneConfig({ task: 'SST-2', trainer: { epochs: -1 } }), /epochs must be a positive integer, got -1/);
  assert.throws(() => finetuneConfig({ task: 'SST-2', batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.throws(() => finetuneConfig({ task: 'SST-3' }), /unknown task 'SST-3'/);
  assert.throws(() => finetuneConfig({ task: 'SST-2', method: 'pgd-typo' }), /unknown method 'pgd-typo'/);
  await assert.rejects(main(['finetune', '--task', 'SST-2', '--epochs', '-1']), /epochs must be a positive integer, got -1/);
  await assert.rejects(main(['finetune', '--task', 'SST-2', '--method', 'nope']), /unknown method 'nope'; known methods: vanilla, gaussian-noise/);
  await assert.rejects(main(['finetune', '--task', 'SST-2', '--method', 'gaussian-noise', '--sigma', '-2']), /option sigma must be >= 0, got -2/);
});

test('advlm predict --file answers 1,000 lines in ceil(1000 / batch size) model calls; batched and one-by-one agree; advlm evaluate prints the metrics', async () => {
  await backend();
  const { resetPassCounts, passCounts } = await import('../src/model');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-predict-'));
  const ckpt = path.join(__dirname, '..', 'data', 'checkpoints', 'advlm-bert-tiny-imdb-sst2');
  const dev = loadTask('SST-2', 'dev');
  const lines = Array.from({ length: 1000 }, (_, i) => dev[i % dev.length].textA);
  const file = path.join(dir, 'texts.txt');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const printed: string[] = [];
  const log = console.log;
  console.log = (s: string) => printed.push(s);
  try {
    resetPassCounts();
    await main(['predict', '--checkpoint', ckpt, '--file', file, '--batch-size', '64']);
    assert.equal(passCounts().forward, Math.ceil(1000 / 64));
    resetPassCounts();
    await main(['predict', '--checkpoint', ckpt, '--json', lines[3]]);
    assert.equal(passCounts().forward, 1);
    printed.push('--');
    await main(['evaluate', '--checkpoint', ckpt, '--split', 'dev', '--limit', '100', '--json']);
  } finally {
    console.log = log;
  }
  const answers = printed.slice(0, 1000).map((l) => JSON.parse(l) as { label: string; probabilities: Record<string, number> });
  assert.equal(answers.length, 1000);
  for (const a of answers) assert.ok(Math.abs(Object.values(a.probabilities).reduce((x, y) => x + y, 0) - 1) < 1e-5);
  const single = JSON.parse(printed[1000]);
  assert.equal(single.label, answers[3].label);
  assert.ok(Math.abs(single.probabilities.positive - answers[3].probabilities.positive) < 1e-5, 'padding in a batch does not change a prediction');
  const metrics = JSON.parse(printed[1002]);
  const { params } = loadCheckpoint(ckpt, { mlm: false });
  const expected = await evaluate(params, loadTokenizer(), dev.slice(0, 100), getTask('SST-2'));
  disposeParams(params);
  assert.equal(metrics.examples, 100);
  assert.ok(Math.abs(metrics.accuracy - expected.metrics.accuracy) < 1e-12);
  fs.writeFileSync(file, 'a\n\nb\n');
  await assert.rejects(main(['predict', '--checkpoint', ckpt, '--file', file]), /texts\.txt:2: empty line/);
  fs.rmSync(dir, { recursive: true });
});

test('pre-training records a learning curve (dev MLM loss and the SST-2 probe) every N tokens, kept across a resume', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-curve-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  const config = { ...PRETRAIN_DEFAULTS, from: ckpt, maxLength: 32, batchSize: 8, limitLines: 12, devFraction: 0.1, measureEveryTokens: 400, probe: true, trainer: { ...PRETRAIN_DEFAULTS.trainer, epochs: 1, maxSteps: 6 } };
  const out = path.join(dir, 'pt');
  let calls = 0;
  const first = await pretrain(out, config, { get stop() { return ++calls === 4; }, set stop(_v: boolean) {} });
  assert.ok(first.train.stopped);
  const every = first.curve[0].step;
  assert.ok(every >= 1 && every < 4, `measured every ${every} steps`);
  disposeParams(first.params);
  const done = await pretrain(out, config);
  assert.deepEqual(done.curve.map((p) => p.step), Array.from({ length: Math.floor(6 / every) }, (_, i) => (i + 1) * every));
  for (const p of done.curve) {
    assert.ok(p.metrics.mlmLoss > 0 && p.metrics.mlmAccuracy >= 0 && p.metrics.mlmAccuracy <= 1);
    assert.ok(p.metrics.probeSst2 > 0.3 && p.metrics.probeSst2 < 1, `probe accuracy ${p.metrics.probeSst2}`);
  }
  const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(saved.advlm.pretraining.curve.length, done.curve.length);
  disposeParams(done.params);
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});
