/**
 * ASCC (Dong et al., ICLR 2021) and RIFT (Dong et al., NeurIPS 2021): the convex weights, the
 * substitution sets, RIFT with w_mi = 0 against ASCC, the InfoNCE loss, the frozen teacher, the
 * method's own heads through a resume, leaks, class-balanced batches, end-to-end fine-tuning, and
 * parity with an independent PyTorch implementation (test/fixtures/make_ascc_rift_fixture.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertParams, TaskBatch, disposeModelBatch, disposeParams, loadCheckpoint, namedParams } from '../src/model';
import {
  ascc, asccAttack, asccTrainStep, candidatesOf, classBalancedBatches, classConditionalInfoNce, convexWeights, infoNce, methodFromJson, neighbourTable, rift,
  Method, MethodStep, RiftHeads,
} from '../src/adversarial/methods';
import { finetune } from '../src/train/finetune';
import { trainLoop } from '../src/train/trainer';
import { taskBatchTensors } from '../src/train/steps';
import { loadTask, makeBatch } from '../src/data';
import { loadTokenizer } from '../src/tokenizer';
import { TINY_CONFIGS, backend, disposeStepResult, expectNoLeak, maxAbsDiff, tinyCheckpoint, tinyModel } from './helpers';

const num = (t: tf.Tensor) => t.dataSync()[0];
const info = (s = 0, seed = 11) => ({ step: s, epoch: 0, seed, replay: 0 });
const quiet = { mode: 'silent' as const };

/** A micro model over the real vocabulary (the substitution sets are token ids of it). */
function microModel(seed = 3): BertParams {
  return tinyModel({ config: { ...TINY_CONFIGS.micro, vocabSize: loadTokenizer().vocabSize, maxPositions: 64 }, numLabels: 2, seed });
}

/** SST-2 training sentences as a task batch. */
function sst2Batch(n = 8, offset = 0): TaskBatch {
  const ex = loadTask('SST-2', 'train', { limit: offset + n }).slice(offset);
  return taskBatchTensors(makeBatch(loadTokenizer(), ex, 'classification', { maxLength: 24 }));
}

function stepOf(p: BertParams, m: Method, teacher?: BertParams): MethodStep {
  return m.makeStep({ params: p, objective: 'task', taskKind: 'classification', tokenizer: loadTokenizer(), teacher: teacher ? () => teacher : undefined });
}

const FAST = { attackSteps: 3 }; // fewer Adam steps keep the tests quick

// ----------------------------------------------------------------------------- convex weights and substitution sets

test('the convex weights sum to one on every position and are exactly zero outside the synonym set, before and after the attack', async () => {
  await backend();
  const p = microModel();
  const b = sst2Batch();
  const cand = candidatesOf(b, neighbourTable(loadTokenizer()));
  const [B, T, S] = cand.ids.shape;
  assert.ok(S > 1 && cand.kept > 0, 'the batch has positions with substitutes');
  await expectNoLeak(() => {
    const w0 = tf.randomNormal([B, T, S], 0, 3, 'float32', 1);
    const adv = asccAttack(p, b, cand, w0, { attackSteps: 3, attackLr: 1, attackWeightDecay: 2e-5, sparseWeight: 15 });
    for (const a of [convexWeights(w0, cand.mask), adv.weights]) {
      tf.tidy(() => {
        const sums = tf.sum(a, -1); // [B, T]
        assert.ok(maxAbsDiff(sums, tf.onesLike(sums)) < 1e-6, 'rows sum to one');
        assert.equal(num(tf.sum(tf.mul(a, tf.sub(1, cand.mask)))), 0, 'no weight off the synonym set');
        assert.ok(num(tf.min(a)) >= 0);
      });
      if (a !== adv.weights) a.dispose();
    }
    // the attack moved the weights, and only where there is a choice
    tf.tidy(() => {
      const moved = tf.greater(tf.max(tf.abs(tf.sub(adv.w, w0)), -1), 0.1); // [B, T]
      const choice = tf.greater(tf.sum(cand.mask, -1), 1); // [B, T]
      assert.ok(num(tf.sum(tf.cast(moved, 'float32'))) > 0);
      // where there is no choice the weight is 1 whatever w does
      const single = tf.mul(tf.cast(tf.logicalNot(choice), 'float32'), tf.slice(adv.weights, [0, 0, 0], [-1, -1, 1]).squeeze([2])); // [B, T]
      assert.equal(num(tf.sum(single)), num(tf.sum(tf.cast(tf.logicalNot(choice), 'float32'))));
    });
    tf.dispose([adv.w, adv.weights, adv.attackKl, w0]);
  }, 'the attack');
  tf.dispose([cand.ids, cand.mask]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('substitution sets: slot 0 is the token, substitutes are single pieces from the counter-fitted lists, multi-piece words and specials are left alone', async () => {
  await backend();
  const tok = loadTokenizer();
  const table = neighbourTable(tok);
  assert.equal(neighbourTable(tok), table, 'built once');
  const good = tok.tokenToId('good')!;
  assert.ok(table.neighbours.get(good)!.length > 0);
  // "unflinchingly" is several pieces: none of them may be substituted
  const ids = [tok.clsId, good, ...tok.tokenIds('unflinchingly'), tok.tokenToId('movie')!, tok.sepId, tok.padId];
  const T = ids.length;
  const inputIds = tf.tensor2d([ids], [1, T], 'int32');
  const attentionMask = tf.tensor2d([ids.map((id) => (id === tok.padId ? 0 : 1))], [1, T], 'float32');
  const cand = candidatesOf({ inputIds, attentionMask }, table);
  const S = cand.ids.shape[2];
  const c = cand.ids.arraySync()[0];
  const m = cand.mask.arraySync()[0];
  c.forEach((slots, t) => assert.equal(slots[0], ids[t], 'slot 0 is the token'));
  const usable = m.map((row) => row.reduce((a, x) => a + x, 0));
  assert.ok(usable[1] > 1, '"good" has substitutes');
  for (let t = 2; t < 2 + T - 5; t++) assert.equal(usable[t], 1, `piece ${t} of a multi-piece word keeps its token`);
  assert.equal(usable[0], 1);
  assert.equal(usable[T - 2], 1);
  assert.equal(usable[T - 1], 1);
  const subs = c[1].filter((_, s) => m[1][s] === 1).slice(1);
  const words = new Set(['good', ...(tok.tokenize('good'))]);
  for (const id of subs) assert.ok(!words.has(tok.idToToken(id)!) && !tok.idToToken(id)!.startsWith('##'));
  assert.ok(S >= 2);
  assert.equal(cand.positions, T - 3); // real tokens without [CLS], [SEP]
  assert.ok(cand.kept >= 1 && cand.kept <= 2);
  tf.dispose([inputIds, attentionMask, cand.ids, cand.mask]);
});

// ----------------------------------------------------------------------------- RIFT = ASCC at w_mi = 0

test('RIFT with w_mi = 0 is ASCC training exactly (loss, every gradient, metrics), with dropout on', async () => {
  await backend();
  const p = microModel();
  const b = sst2Batch();
  const a = stepOf(p, ascc({ ...FAST, beta: 4 }));
  const r = stepOf(p, rift({ ...FAST, wKl: 4, wMi: 0, balanced: false }));
  assert.ok(p.config.hiddenDropout > 0);
  const ra = a.step(b, info());
  const rr = r.step(b, info());
  assert.equal(num(ra.loss), num(rr.loss));
  assert.equal(ra.grads.size, rr.grads.size);
  for (const [name, g] of ra.grads) assert.equal(maxAbsDiff(g, rr.grads.get(name)!), 0, name);
  for (const k of Object.keys(ra.metrics)) assert.equal(num(ra.metrics[k]), num(rr.metrics[k]), k);
  assert.ok(num(ra.metrics.kl) > 0 && num(ra.metrics.keptFraction) > 0);
  disposeStepResult(ra);
  disposeStepResult(rr);
  a.dispose();
  r.dispose();
  disposeModelBatch(b);
  disposeParams(p);
});

// ----------------------------------------------------------------------------- InfoNCE

test('InfoNCE with identity heads: aligned features score lower than the same features permuted, and equal features give log N', async () => {
  await backend();
  await expectNoLeak(() => {
    const s = tf.randomNormal([6, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
    const noise = tf.randomNormal([6, 5], 0, 0.1, 'float32', 4);
    const t = tf.add(s, noise) as tf.Tensor2D;
    const perm = tf.gather(t, [1, 2, 3, 4, 5, 0]) as tf.Tensor2D;
    const aligned = tf.tidy(() => num(infoNce(s, t, 0.2)));
    const permuted = tf.tidy(() => num(infoNce(s, perm, 0.2)));
    assert.ok(aligned < permuted, `aligned ${aligned} vs permuted ${permuted}`);
    assert.ok(aligned < Math.log(6));
    const same = tf.ones([6, 5]) as tf.Tensor2D;
    assert.ok(Math.abs(tf.tidy(() => num(infoNce(same, same, 0.2))) - Math.log(6)) < 1e-6);
    // class-conditional: the mean over the classes with two or more examples (class 7 has one)
    const [cc, c0, c1] = tf.tidy(() => {
      const labels = [0, 1, 0, 1, 0, 7];
      const part = (ix: number[]) => num(infoNce(tf.gather(s, ix) as tf.Tensor2D, tf.gather(t, ix) as tf.Tensor2D, 0.2));
      return [num(classConditionalInfoNce(s, t, labels, null, 0.2)), part([0, 2, 4]), part([1, 3])];
    });
    assert.ok(Math.abs(cc - (c0 + c1) / 2) < 1e-6);
    tf.dispose([s, noise, t, perm, same]);
  }, 'InfoNCE');
});

// ----------------------------------------------------------------------------- teacher, heads, resume, leaks

test('RIFT through the trainer: the teacher never changes, the heads train, are saved in the resume state and restored; no leaks over several steps', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-rift-'));
  const p = microModel();
  const teacher = microModel();
  const teacherBefore = namedParams(teacher).map(([, v]) => tf.clone(v));
  const ex = loadTask('SST-2', 'train', { limit: 40 });
  const tok = loadTokenizer();
  const method = rift({ ...FAST, headHidden: 8, headOut: 4 });
  const config = { epochs: 1, lr: 1e-3, warmupRatio: 0, weightDecay: 0.01, maxGradNorm: 1, maxSteps: 4, saveEvery: 0, seed: 0 };
  const run = async (step: MethodStep, stopAfter?: number) => {
    let calls = 0;
    return trainLoop({
      params: p,
      config,
      epochBatches: (e) => step.sampler!(ex.map((x) => x.label), 8, e).map((ix) => ix.map((i) => ex[i])),
      stepsPerEpoch: 4,
      method: step,
      toBatch: (bb) => ({ ...taskBatchTensors(makeBatch(tok, bb, 'classification', { maxLength: 24 })), examples: bb }),
      stateDir: path.join(dir, 'state'),
      stopFlag: stopAfter ? { get stop() { return ++calls === stopAfter; }, set stop(_v: boolean) {} } : undefined,
      progress: quiet,
    });
  };
  const s1 = stepOf(p, method, teacher);
  assert.ok(s1.params.length > 0 && s1.sampler);
  const headsInit = s1.params.map(([, v]) => tf.clone(v));
  const r1 = await expectNoLeak(() => run(s1, 2), 'two RIFT steps through the trainer');
  assert.ok(r1.stopped);
  assert.equal(r1.metrics.nce.length, 2);
  assert.ok(r1.metrics.keptFraction[0] > 0 && r1.metrics.attackKl[0] > -1e-6);
  const headsTrained = s1.params.map(([, v]) => tf.clone(v));
  assert.ok(headsTrained.some((h, i) => maxAbsDiff(h, headsInit[i]) > 0), 'the heads are trained');
  namedParams(teacher).forEach(([n, v], i) => assert.equal(maxAbsDiff(v, teacherBefore[i]), 0, `teacher ${n} unchanged`));
  assert.ok(fs.existsSync(path.join(dir, 'state', 'method_params.safetensors')));
  // a new step starts from the initial heads; the resume puts the trained ones back
  const s2 = stepOf(p, method, teacher);
  s2.params.forEach(([, v], i) => assert.equal(maxAbsDiff(v, headsInit[i]), 0));
  const r2 = await run(s2);
  assert.equal(r2.steps, 4);
  assert.ok(s2.params.some(([, v], i) => maxAbsDiff(v, headsTrained[i]) > 0), 'and keep training');
  namedParams(teacher).forEach(([n, v], i) => assert.equal(maxAbsDiff(v, teacherBefore[i]), 0, `teacher ${n} unchanged`));
  // restore check on a fresh step with no steps left: the loaded heads are the saved ones
  const saved = s2.params.map(([, v]) => tf.clone(v));
  const s3 = stepOf(p, method, teacher);
  await trainLoop({
    params: p, config, epochBatches: () => [], stepsPerEpoch: 4, method: s3, toBatch: () => { throw new Error('unused'); }, stateDir: path.join(dir, 'state'), progress: quiet,
  });
  s3.params.forEach(([n, v], i) => assert.equal(maxAbsDiff(v, saved[i]), 0, `head ${n} restored`));
  // leaks of single steps, both methods
  const b = sst2Batch();
  for (const m of [ascc(FAST), rift({ ...FAST, headHidden: 8, headOut: 4 })]) {
    const s = stepOf(p, m, teacher);
    await expectNoLeak(() => {
      for (let k = 0; k < 3; k++) disposeStepResult(s.step(b, info(k, 5 + k)));
    }, `${m.name} steps`);
    s.dispose();
  }
  disposeModelBatch(b);
  tf.dispose([...teacherBefore, ...headsInit, ...headsTrained, ...saved]);
  [s1, s2, s3].forEach((s) => s.dispose());
  disposeParams(p);
  disposeParams(teacher);
  fs.rmSync(dir, { recursive: true });
});

test('class-balanced batches hold as many examples of each class; RIFT refuses to start without a teacher', async () => {
  await backend();
  const labels = [0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1];
  const bs = classBalancedBatches(labels, 4, 7);
  assert.equal(bs.length, 2); // 5 of class 0 fill two batches of 2
  for (const b of bs) assert.deepEqual(b.map((i) => labels[i]).sort(), [0, 0, 1, 1]);
  assert.deepEqual(classBalancedBatches(labels, 4, 7), bs, 'seeded');
  assert.equal(new Set(bs.flat()).size, 8);
  assert.throws(() => classBalancedBatches(labels, 1, 0), /batchSize >= the number of classes/);
  const p = microModel();
  assert.throws(() => stepOf(p, rift()), /needs the pre-trained checkpoint as its frozen teacher, but this run starts from random weights/);
  assert.throws(() => rift({ ...FAST }).makeStep({ params: p, objective: 'task', taskKind: 'regression' }), /method 'rift' fine-tunes classification tasks only; this is a regression task/);
  assert.deepEqual(Object.keys(methodFromJson('rift').config).sort(), Object.keys(rift().config).sort());
  disposeParams(p);
});

// ----------------------------------------------------------------------------- end to end

test('ASCC and RIFT fine-tune SST-2 through finetune, with every term in the run record', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-ascc-rift-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  const common = { task: 'SST-2', checkpoint: ckpt, maxLength: 24, batchSize: 16, limitTrain: 48, limitDev: 16, trainer: { epochs: 1 } };
  await expectNoLeak(async () => {
    const a = await finetune({ ...common, method: ascc(FAST) }, { progress: quiet });
    assert.equal(a.record.steps!.kl.length, 3);
    for (const k of ['cleanLoss', 'advLoss', 'kl', 'attackKl', 'weightEntropy', 'keptFraction', 'gradNorm']) assert.ok(a.record.steps![k].every(Number.isFinite), k);
    disposeParams(a.params);
    const r = await finetune({ ...common, method: rift({ ...FAST, headHidden: 8, headOut: 4 }) }, { outDir: path.join(dir, 'rift'), progress: quiet });
    // class-balanced: 8 per class, as many batches as the smaller class fills
    const counts = [0, 1].map((c) => loadTask('SST-2', 'train', { limit: 48 }).filter((e) => e.label === c).length);
    assert.equal(r.record.steps!.nce.length, Math.floor(Math.min(...counts) / 8));
    assert.ok(r.record.steps!.nce.every((v) => v > 0));
    assert.ok(fs.existsSync(path.join(r.record.result!.outDir as string, 'model.safetensors')));
    disposeParams(r.params);
  }, 'fine-tuning with ASCC and RIFT (the teacher is disposed)');
  await assert.rejects(finetune({ ...common, init: 'random', method: 'rift' }, { progress: quiet }), /frozen teacher, but this run starts from random weights/);
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});

// ----------------------------------------------------------------------------- parity with PyTorch

const TINY_DIR = path.join(__dirname, 'fixtures', 'bert-tiny-random');
interface Stored { shape: number[]; data: number[] }
interface StepFixture {
  config: Record<string, number>;
  loss: number;
  metrics: Record<string, number>;
  grad_global_norm: number;
  grads: Record<string, Stored>;
  sgd_weights: Record<string, Stored>;
  grad_word_rows: Stored;
  sgd_word_rows: Stored;
}

/** The checkpoint with the fixture's sharpened classifier and pooler (make_ascc_rift_fixture.py SHARPEN). */
function sharpened(): BertParams {
  const { params } = loadCheckpoint(TINY_DIR);
  tf.tidy(() => {
    params.classifier!.weight.assign(tf.mul(params.classifier!.weight, 30));
    params.pooler!.weight.assign(tf.mul(params.pooler!.weight, 5));
  });
  return params;
}

function compareStep(named: Map<string, tf.Variable>, r: { loss: tf.Scalar; grads: Map<string, tf.Tensor>; metrics: Record<string, tf.Scalar> }, ref: StepFixture, rows: number[], what: string): number {
  assert.ok(Math.abs(num(r.loss) - ref.loss) < 1e-5 * Math.max(1, ref.loss), `${what} loss ${num(r.loss)} vs ${ref.loss}`);
  for (const [k, v] of Object.entries(ref.metrics)) assert.ok(Math.abs(num(r.metrics[k]) - v) < 1e-5 * Math.max(1, Math.abs(v)), `${what} ${k} ${num(r.metrics[k])} vs ${v}`);
  let worst = 0;
  tf.tidy(() => {
    const check = (actual: tf.Tensor, stored: Stored, label: string) => {
      assert.deepEqual(actual.shape, stored.shape, label);
      const d = maxAbsDiff(actual, stored.data);
      assert.ok(d < 1e-5, `${what} ${label}: max difference ${d}`);
      return d;
    };
    for (const [name, stored] of Object.entries(ref.grads)) {
      worst = Math.max(worst, check(r.grads.get(name)!, stored, `grad ${name}`));
      check(tf.sub(named.get(name)!, tf.mul(r.grads.get(name)!, 0.1)), ref.sgd_weights[name], `SGD weights ${name}`);
    }
    const ix = tf.tensor1d(rows, 'int32');
    const word = 'bert.embeddings.word_embeddings.weight';
    worst = Math.max(worst, check(tf.gather(r.grads.get(word)!, ix), ref.grad_word_rows, 'word-embedding gradient rows'));
    check(tf.gather(tf.sub(named.get(word)!, tf.mul(r.grads.get(word)!, 0.1)), ix), ref.sgd_word_rows, 'SGD word-embedding rows');
    const norm = Math.sqrt([...r.grads.values()].reduce((s, g) => s + (g.dataSync() as Float32Array).reduce((a, x) => a + x * x, 0), 0));
    assert.ok(Math.abs(norm - ref.grad_global_norm) < 1e-5 * Math.max(1, ref.grad_global_norm), `${what} global gradient norm ${norm} vs ${ref.grad_global_norm}`);
  });
  return worst;
}

test('parity with PyTorch: the ASCC attack (final w), one ASCC step and one RIFT step (gradients and SGD weights within 1e-5)', async () => {
  await backend();
  const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'ascc_rift', 'steps.json'), 'utf8'));
  const p = sharpened();
  const teacher = sharpened();
  const b: TaskBatch = {
    kind: 'task',
    inputIds: tf.tensor2d(fx.input_ids, undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(fx.token_type_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(fx.attention_mask, undefined, 'float32'),
    labels: tf.tensor1d(fx.labels, 'int32'),
  };
  const cand = { ids: tf.tensor3d(fx.cand_ids, undefined, 'int32'), mask: tf.tensor3d(fx.cand_mask, undefined, 'float32') };
  const w0 = tf.tensor(fx.w0.data, fx.w0.shape);
  const diffs: Record<string, number> = {};
  const adv = asccAttack(p, b, cand, w0, fx.attack);
  diffs.wFinal = maxAbsDiff(adv.w, fx.w_final.data);
  diffs.weights = maxAbsDiff(adv.weights, fx.weights.data);
  // Adam normalises each coordinate's gradient, so w is ill-conditioned where a gradient crosses zero:
  // the same attack in float32 PyTorch lands fx.w_final_float32_max_abs_dev (6e-6) from the float64 one
  assert.ok(diffs.wFinal < 2e-5, `final w differs by ${diffs.wFinal}`);
  assert.ok(diffs.weights < 1e-5, `convex weights differ by ${diffs.weights}`);
  assert.ok(Math.abs(num(adv.attackKl) - fx.attack_kl) < 1e-6, `attack KL ${num(adv.attackKl)} vs ${fx.attack_kl}`);
  // the training steps from the fixture's weights a (the float64 reference's), so that only the step is compared
  const a = tf.tensor(fx.weights.data, fx.weights.shape);
  const named = namedParams(p);
  const ra = asccTrainStep(p, named, b, cand.ids, a, { klWeight: fx.ascc.config.beta });
  diffs.ascc = compareStep(new Map(named), ra, fx.ascc, fx.word_rows, 'ASCC');
  assert.equal(ra.grads.size, named.length);
  disposeStepResult(ra);
  // RIFT: heads from the fixture (3 classes; class 2 has one example and no term)
  const heads: RiftHeads = { student: [], teacher: [] };
  const headVars: [string, tf.Variable][] = [];
  for (const who of ['student', 'teacher'] as const) {
    for (let c = 0; c < 3; c++) {
      const lin = (layer: string) => {
        const [weight, bias] = ['weight', 'bias'].map((k) => {
          const name = `rift.${who}.${c}.${layer}.${k}`;
          const v = tf.variable(tf.tensor(fx.heads[name].data, fx.heads[name].shape));
          headVars.push([name, v]);
          return v;
        });
        return { weight, bias };
      };
      heads[who].push({ first: lin('0'), second: lin('2') });
    }
  }
  const { encodeBatch, pooledOutput } = await import('../src/model');
  const tp = tf.tidy(() => pooledOutput(teacher, encodeBatch(teacher, b).hidden));
  const rc = fx.rift.config;
  const all = [...named, ...headVars];
  const rr = asccTrainStep(p, all, b, cand.ids, a, {
    klWeight: rc.wKl,
    mi: { weight: rc.wMi, loss: (pooled) => classConditionalInfoNce(pooled, tp, fx.labels, heads, rc.temperature) },
  });
  diffs.rift = compareStep(new Map(all), rr, fx.rift, fx.word_rows, 'RIFT');
  assert.equal(rr.grads.size, all.length - 8, 'class 2 heads get no gradient');
  disposeStepResult(rr);
  tf.dispose([adv.w, adv.weights, adv.attackKl, a, w0, tp, cand.ids, cand.mask]);
  headVars.forEach(([, v]) => v.dispose());
  disposeModelBatch(b);
  disposeParams(p);
  disposeParams(teacher);
  console.log('parity: largest differences', diffs);
});
