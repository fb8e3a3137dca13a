/**
 * YOPO (Zhang et al., NeurIPS 2019) and ALUM (Liu et al. 2020) with SMART's adversarial loss
 * (Jiang et al., ACL 2020): the loss and its detached gradients, the steps' pass counts, leaks over
 * several steps, end-to-end runs through finetune and pretrain, and parity with an independent
 * PyTorch implementation (test/fixtures/make_yopo_alum_fixture.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  BertParams, MlmBatch, TaskBatch, batchLogits, countPasses, disposeModelBatch, disposeParams, embedTokens, lossAndGradients,
  loadCheckpoint, namedParams,
} from '../src/model';
import { ALUM_DEFAULTS, Method, YOPO_DEFAULTS, alum, alumStep, ascentObjective, methodFromJson, smartSymmetricKl, vanilla, yopo, yopoStep } from '../src/adversarial/methods';
import { finetune } from '../src/train/finetune';
import { TINY_CONFIGS, backend, checkGradient, disposeStepResult, expectNoLeak, maxAbsDiff, mlmBatch, taskBatch, tinyCheckpoint, tinyModel, tinyPretrainRecord } from './helpers';



const info = (s = 0, seed = 11) => ({ step: s, epoch: 0, seed, replay: 0 });


function stepOf(p: BertParams, method: Method, objective: 'task' | 'mlm' = 'task', taskKind: 'classification' | 'regression' = 'classification') {
  return method.makeStep({ params: p, objective, taskKind });
}

const num = (t: tf.Tensor) => t.dataSync()[0];

// ----------------------------------------------------------------------------- SMART's loss

test('the symmetric KL: zero for equal outputs, positive otherwise, with the detached gradients (finite differences)', async () => {
  await backend();
  const zc = tf.tensor2d([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4], [0, 0, 0], [-2, 1, 0.5]]); // [4, 3]
  const za = tf.tensor2d([[0.1, -0.7, 1.6], [1.0, 0.9, -0.2], [0.2, -0.3, 0.4], [-1.5, 1.2, 0.1]]); // [4, 3]
  await expectNoLeak(() => {
    const same = smartSymmetricKl(zc, zc);
    const differ = smartSymmetricKl(zc, za);
    assert.equal(num(same), 0);
    assert.ok(num(differ) > 0);
    tf.dispose([same, differ]);
    const [gc, ga] = tf.grads((a: tf.Tensor, b: tf.Tensor) => smartSymmetricKl(a as tf.Tensor2D, b as tf.Tensor2D))([zc, za]);
    // with p_a frozen, KL(p_a || softmax(z_c)) has d/dz_c = the first gradient; with p_c frozen, KL(p_c || softmax(z_a)) the second
    const pa = tf.softmax(za); // [4, 3]
    const pc = tf.softmax(zc); // [4, 3]
    const klFrom = (q: tf.Tensor) => (x: tf.Tensor) => tf.tidy(() => tf.div(tf.sum(tf.mul(q, tf.sub(tf.log(q), tf.logSoftmax(x)))), 4) as tf.Scalar);
    checkGradient(klFrom(pa), zc, gc, { h: 1e-2, tol: 1e-2 });
    checkGradient(klFrom(pc), za, ga, { h: 1e-2, tol: 1e-2 });
    // and they are not the gradient of the value: that would also differentiate the frozen sides
    const [fc] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.sub(tf.softmax(za), tf.softmax(a)), tf.sub(tf.logSoftmax(za), tf.logSoftmax(a)))).div(4) as tf.Scalar)([zc]);
    assert.ok(maxAbsDiff(fc, gc) > 1e-3);
    tf.dispose([gc, ga, pa, pc, fc]);
  }, 'the symmetric KL');
  assert.throws(() => smartSymmetricKl(zc, tf.zeros([4, 2]) as tf.Tensor2D), /smartSymmetricKl: clean and adversarial logits must both be \[N, C\]/);
  tf.dispose([zc, za]);
});

test('ALUM: KL_sym is exactly zero at delta = 0 with the dropout masks replayed, positive otherwise; fresh masks make it positive', async () => {
  await backend();
  const p = tinyModel();
  assert.ok(p.config.hiddenDropout > 0, 'the test needs dropout on');
  const b = taskBatch();
  const adv = (config: Partial<typeof ALUM_DEFAULTS>) => {
    const r = stepOf(p, alum(config)).step(b, info());
    const v = num(r.metrics.advTerm);
    disposeStepResult(r);
    return v;
  };
  assert.equal(adv({ sigma: 0 }), 0); // delta_0 = 0 and the KL's gradient at delta = 0 is 0: delta stays 0
  assert.equal(adv({ sigma: 0, variant: 'reference' }), 0);
  assert.ok(adv({ sigma: 0.1, eps: 0.1 }) > 0);
  assert.ok(adv({ sigma: 0, freshDropout: true }) > 0); // only the dropout noise differs
  disposeModelBatch(b);
  disposeParams(p);
});

test('ALUM: the ascent gradient with respect to delta passes a finite-difference check through the model', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const delta = tf.mul(tf.randomNormal([3, 6, 16], 0, 1, 'float32', 5), 0.1); // [B, T, D]
  const zc = batchLogits(p, b); // [B, C], no dropout
  const f = (d: tf.Tensor) => tf.tidy(() => ascentObjective(zc, batchLogits(p, b, { embeds: tf.add(embedTokens(p, b.inputIds), d) })));
  const r = lossAndGradients([], () => f(delta), [delta]);
  assert.ok(num(r.loss) > 0);
  checkGradient(f, delta, r.inputGrads[0], { h: 1e-2 });
  tf.dispose([delta, zc, r.loss, ...r.inputGrads]);
  disposeModelBatch(b);
  disposeParams(p);
});

test('ALUM with alpha = 0 is exactly plain training', async () => {
  await backend();
  for (const objective of ['task', 'mlm'] as const) {
    const p = tinyModel(objective === 'mlm' ? { mlm: true } : {});
    const b = objective === 'mlm' ? mlmBatch() : taskBatch();
    const a = stepOf(p, vanilla(), objective).step(b, info());
    const g = stepOf(p, alum({ alpha: 0, alphaMlm: 0, sigma: 0.1, eps: 0.1 }), objective).step(b, info());
    assert.ok(num(g.metrics.advTerm) > 0, 'the adversarial term is there, with weight 0');
    assert.equal(num(a.loss), num(g.loss), objective);
    assert.equal(a.grads.size, g.grads.size);
    for (const [name, t] of a.grads) assert.equal(maxAbsDiff(t, g.grads.get(name)!), 0, `${objective} ${name}`);
    disposeStepResult(a);
    disposeStepResult(g);
    disposeModelBatch(b);
    disposeParams(p);
  }
});

test('ALUM: delta stays in the linf ball (paper); the reference variant normalises each token to max |delta| = 1', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  for (const [eps, K] of [[0.05, 1], [0.02, 3]]) {
    const r = stepOf(p, alum({ sigma: 0.5, eta: 10, eps, K })).step(b, info());
    const linf = num(r.metrics.deltaLinf);
    assert.ok(linf <= Math.fround(eps) && linf > eps * 0.99, `||delta||_inf ${linf} vs eps ${eps}`);
    disposeStepResult(r);
  }
  // per token (delta + eta g) / (max |.| + 1e-6): about 1 once |delta| >> 1e-6; with sigma = 1e-5 the guard makes it about 0.9
  const r = stepOf(p, alum({ variant: 'reference', sigma: 0.1 })).step(b, info());
  assert.ok(Math.abs(num(r.metrics.deltaLinf) - 1) < 1e-4, `reference variant: ${num(r.metrics.deltaLinf)}`);
  const rd = stepOf(p, alum({ variant: 'reference' })).step(b, info());
  assert.ok(num(rd.metrics.deltaLinf) > 0.8 && num(rd.metrics.deltaLinf) < 0.99, `reference variant, sigma 1e-5: ${num(rd.metrics.deltaLinf)}`);
  disposeStepResult(rd);
  assert.ok(num(r.metrics.embedAbsMean) > 0.3, 'the embedding output is LayerNorm-scaled');
  disposeStepResult(r);
  const paper = stepOf(p, alum()).step(b, info());
  assert.ok(num(paper.metrics.embedAbsMean) < 0.1, 'raw word embeddings are initialised at N(0, 0.02^2)');
  assert.ok(num(paper.metrics.deltaLinf) <= Math.fround(1e-5));
  disposeStepResult(paper);
  disposeModelBatch(b);
  disposeParams(p);
});

test('ALUM with K = 1: three forwards and two backwards (one to delta only, one full through the clean and adversarial passes)', async () => {
  await backend();
  for (const variant of ['paper', 'reference'] as const) {
    for (const K of [1, 2]) {
      const p = tinyModel();
      const b = taskBatch();
      const { result, passes } = countPasses(() => stepOf(p, alum({ variant, K })).step(b, info()));
      // the full backward runs back through two forwards (clean and adversarial): two encoder backwards
      assert.deepEqual(passes, { forward: K + 2, partialForward: 0, backward: K + 2, partialBackward: 0, paramBackward: 1, inputBackward: K }, `${variant} K=${K}`);
      disposeStepResult(result);
      disposeModelBatch(b);
      disposeParams(p);
    }
  }
});

test('ALUM: regression uses the squared difference of the predictions; the MLM objective weights it by alphaMlm', async () => {
  await backend();
  const p = tinyModel({ numLabels: 1 });
  const b = taskBatch(3, 6, 1);
  const r = stepOf(p, alum({ sigma: 0.3, eps: 0.3, alpha: 2 }), 'task', 'regression').step(b, info());
  assert.ok(Math.abs(num(r.loss) - (num(r.metrics.cleanLoss) + 2 * num(r.metrics.advTerm))) < 1e-5);
  assert.ok(num(r.metrics.advTerm) > 0);
  disposeStepResult(r);
  disposeModelBatch(b);
  disposeParams(p);
  const pm = tinyModel({ mlm: true });
  const bm = mlmBatch(true);
  const m = stepOf(pm, alum({ sigma: 0.3, eps: 0.3 }), 'mlm').step(bm, info());
  assert.ok(Math.abs(num(m.loss) - (num(m.metrics.cleanLoss) + 10 * num(m.metrics.advTerm))) < 1e-4);
  disposeStepResult(m);
  disposeModelBatch(bm);
  disposeParams(pm);
});

// ----------------------------------------------------------------------------- YOPO

test('YOPO-m-n: m full passes plus (m - 1) n passes through the embeddings and layer 0; the inner steps take no parameter gradient', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  for (const [K, n] of [[1, 3], [2, 1], [3, 2]]) {
    const { result, passes } = countPasses(() => stepOf(p, yopo({ K, n })).step(b, info()));
    // a full pass runs f_0 then layers 1.. (two partial runs) with one backward for all parameters;
    // an inner step runs f_0 alone with a backward to delta only
    assert.deepEqual(passes, { forward: 0, partialForward: 2 * K + (K - 1) * n, backward: 0, partialBackward: 2 * K + (K - 1) * n, paramBackward: K, inputBackward: (K - 1) * n }, `K=${K} n=${n}`);
    if (K > 1 && n > 0) assert.ok(num(result.metrics.deltaNorm) > 0.01, 'the inner steps moved delta');
    disposeStepResult(result);
  }
  disposeModelBatch(b);
  disposeParams(p);
});

test('YOPO without inner steps is plain training; with them, delta moves and only the full passes give parameter gradients', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch();
  const named = namedParams(p);
  const a = stepOf(p, vanilla()).step(b, info());
  const y = stepOf(p, yopo({ K: 2, n: 0 })).step(b, info());
  assert.ok(Math.abs(num(a.loss) - num(y.loss)) < 1e-6);
  for (const [name, t] of a.grads) assert.ok(maxAbsDiff(t, y.grads.get(name)!) < 1e-6, name);
  disposeStepResult(a);
  disposeStepResult(y);
  // with inner steps: delta ends on the eps-sphere and the second pass's loss is higher (the parity
  // test checks the gradients themselves against an independent implementation)
  const c = { ...YOPO_DEFAULTS, K: 2, n: 2, alpha: 0.1, eps: 0.05 };
  const r = yopoStep(p, named, b, c, { seed: 3, training: false });
  assert.ok(Math.abs(num(r.metrics.deltaNorm) - 0.05) < 1e-4, `the projection binds: ${num(r.metrics.deltaNorm)}`);
  assert.ok(num(r.metrics.advLoss) > num(r.metrics.cleanLoss), 'the inner steps increased the loss');
  disposeStepResult(r);
  disposeModelBatch(b);
  disposeParams(p);
});

// ----------------------------------------------------------------------------- leaks

test('no leaks over several steps: YOPO and ALUM (both variants, fresh dropout), task, regression and MLM', async () => {
  await backend();
  const cases: { method: Method; objective: 'task' | 'mlm'; regression?: boolean }[] = [
    { method: yopo({ K: 2, n: 2, initMag: 0.1 }), objective: 'task' },
    { method: yopo({ K: 2, n: 1, norm: 'linf', eps: 0.01 }), objective: 'mlm' },
    { method: alum(), objective: 'task' },
    { method: alum({ K: 2, freshDropout: true }), objective: 'task', regression: true },
    { method: alum({ variant: 'reference' }), objective: 'mlm' },
    { method: alum(), objective: 'mlm' },
  ];
  for (const { method, objective, regression } of cases) {
    const p = tinyModel(objective === 'mlm' ? { mlm: true } : { numLabels: regression ? 1 : 2 });
    const step = stepOf(p, method, objective, regression ? 'regression' : 'classification');
    await expectNoLeak(() => {
      for (let s = 0; s < 3; s++) {
        const b = objective === 'mlm' ? mlmBatch(s === 1) : taskBatch(3, 6, regression ? 1 : 2);
        const r = step.step(b, info(s, s));
        assert.ok(Number.isFinite(num(r.loss)));
        for (const [k, v] of Object.entries(r.metrics)) assert.ok(Number.isFinite(num(v)), k);
        disposeStepResult(r);
        disposeModelBatch(b);
      }
    }, `${method.name} ${JSON.stringify(method.config)} on ${objective}`);
    step.dispose();
    disposeParams(p);
  }
});

test('the registry: defaults, documented options, bad values rejected', () => {
  assert.deepEqual(methodFromJson('alum').config, ALUM_DEFAULTS);
  assert.deepEqual(methodFromJson('yopo').config, YOPO_DEFAULTS);
  assert.throws(() => alum({ variant: 'mtdnn' as never }), /option variant must be one of paper, reference/);
  assert.throws(() => yopo({ K: 0 }), /option K must be >= 1/);
  assert.throws(() => yopo({ n: 1.5 }), /option n must be an integer/);
  const one = tinyModel({ config: { ...TINY_CONFIGS.small, numLayers: 1 }, numLabels: 2, seed: 1 });
  assert.throws(() => stepOf(one, yopo()), /needs at least 2 layers/);
  disposeParams(one);
});

// ----------------------------------------------------------------------------- end to end


test('end to end: YOPO and ALUM fine-tune (SST-2, STS-B) and ALUM pre-trains, with their metrics in the run record', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-yopo-alum-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  await expectNoLeak(async () => {
    const quiet = { mode: 'silent' as const };
    for (const [task, method, metric] of [['SST-2', yopo({ K: 2, n: 2 }), 'deltaNorm'], ['SST-2', alum(), 'advTerm'], ['STS-B', alum({ sigma: 0.01, eps: 0.01 }), 'advTerm']] as const) {
      const ft = await finetune({ task, checkpoint: ckpt, method, maxLength: 24, batchSize: 16, limitTrain: 32, limitDev: 16, trainer: { epochs: 1 } }, { progress: quiet });
      assert.equal(ft.record.method, method.name);
      assert.equal(ft.record.steps![metric].length, 2, `${task} ${method.name}`);
      assert.ok(Number.isFinite(ft.record.epochs[0].metrics![metric]));
      if (method.name === 'alum') assert.ok(ft.record.steps!.deltaLinf.length === 2 && ft.record.steps!.embedAbsMean[0] > 0);
      disposeParams(ft.params);
    }
    const rec = await tinyPretrainRecord(path.join(dir, 'pt'), ckpt, 'alum');
    assert.equal(rec.steps.advTerm.length, 2);
    assert.ok(rec.steps.cleanLoss[0] > 0);
  }, 'fine-tuning and pre-training');
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});

// ----------------------------------------------------------------------------- parity with PyTorch

const TINY_DIR = path.join(__dirname, 'fixtures', 'bert-tiny-random');
interface Stored { shape: number[]; data: number[] }
interface StepFixture {
  config: Record<string, number | string>;
  loss: number;
  metrics: Record<string, number>;
  grad_global_norm: number;
  grads: Record<string, Stored>;
  sgd_weights: Record<string, Stored>;
  word_rows: number[];
  grad_word_rows: Stored;
  sgd_word_rows: Stored;
}

function fixtureBatch(mlm: boolean, fx: { mlm_positions: number[]; mlm_targets: number[] }): TaskBatch | MlmBatch {
  const inputs = JSON.parse(fs.readFileSync(path.join(TINY_DIR, 'inputs.json'), 'utf8'));
  const base = {
    inputIds: tf.tensor2d(inputs.input_ids, undefined, 'int32'), // [3, 12]
    tokenTypeIds: tf.tensor2d(inputs.token_type_ids, undefined, 'int32'), // [3, 12]
    attentionMask: tf.tensor2d(inputs.attention_mask, undefined, 'float32'), // [3, 12]
  };
  if (mlm) return { ...base, kind: 'mlm', positions: tf.tensor1d(fx.mlm_positions, 'int32'), targets: tf.tensor1d(fx.mlm_targets, 'int32') };
  return { ...base, kind: 'task', labels: tf.tensor1d(inputs.labels, 'int32') };
}

/** Compares a step's loss, metrics, stored gradients and SGD weights with the fixture; returns the largest gradient difference. */
function compareStep(p: BertParams, r: { loss: tf.Scalar; grads: Map<string, tf.Tensor>; metrics: Record<string, tf.Scalar> }, ref: StepFixture, what: string): number {
  const named = new Map(namedParams(p));
  assert.ok(Math.abs(num(r.loss) - ref.loss) < 1e-5, `${what} loss ${num(r.loss)} vs ${ref.loss}`);
  for (const [k, v] of Object.entries(ref.metrics)) assert.ok(Math.abs(num(r.metrics[k]) - v) < 1e-5, `${what} ${k} ${num(r.metrics[k])} vs ${v}`);
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
    const rows = tf.tensor1d(ref.word_rows, 'int32');
    const word = 'bert.embeddings.word_embeddings.weight';
    worst = Math.max(worst, check(tf.gather(r.grads.get(word)!, rows), ref.grad_word_rows, 'word-embedding gradient rows'));
    check(tf.gather(tf.sub(named.get(word)!, tf.mul(r.grads.get(word)!, 0.1)), rows), ref.sgd_word_rows, 'SGD word-embedding rows');
    // summed in float64: a float32 sum over the 128,000 word-embedding entries drifts by about 1e-4 relative
    const norm = Math.sqrt([...r.grads.values()].reduce((s, g) => s + (g.dataSync() as Float32Array).reduce((a, x) => a + x * x, 0), 0));
    assert.ok(Math.abs(norm - ref.grad_global_norm) < 1e-5 * Math.max(1, ref.grad_global_norm), `${what} global gradient norm ${norm} vs ${ref.grad_global_norm}`);
    assert.equal(r.grads.size, named.size, `${what}: a gradient for every parameter`);
  });
  return worst;
}

test('parity with PyTorch: one YOPO step, one ALUM fine-tuning step and one ALUM MLM step (gradients and SGD weights within 1e-5)', async () => {
  await backend();
  const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'yopo_alum', 'steps.json'), 'utf8'));
  const delta0 = tf.tensor(fx.delta0.data, fx.delta0.shape); // [3, 12, 128]
  const diffs: Record<string, number> = {};
  {
    const { params } = loadCheckpoint(TINY_DIR);
    const b = fixtureBatch(false, fx);
    const named = namedParams(params);
    const yc = fx.yopo.config;
    const y = yopoStep(params, named, b, { ...YOPO_DEFAULTS, K: yc.K, n: yc.n, alpha: yc.alpha, eps: yc.eps, norm: yc.norm, initMag: 0 }, { delta0, seed: 0, training: false });
    diffs.yopo = compareStep(params, y, fx.yopo, 'YOPO');
    disposeStepResult(y);
    const ac = fx.alum_task.config;
    const a = alumStep(params, named, b, { ...ALUM_DEFAULTS, alpha: ac.alpha, eta: ac.eta, eps: ac.eps, K: ac.K }, ac.alpha, { delta0 });
    diffs.alumTask = compareStep(params, a, fx.alum_task, 'ALUM task');
    disposeStepResult(a);
    disposeModelBatch(b);
    disposeParams(params);
  }
  {
    const { params } = loadCheckpoint(path.join(TINY_DIR, 'mlm'));
    const b = fixtureBatch(true, fx);
    const mc = fx.alum_mlm.config;
    const m = alumStep(params, namedParams(params), b, { ...ALUM_DEFAULTS, alphaMlm: mc.alpha, eta: mc.eta, eps: mc.eps, K: mc.K }, mc.alpha, { delta0 });
    diffs.alumMlm = compareStep(params, m, fx.alum_mlm, 'ALUM MLM');
    disposeStepResult(m);
    disposeModelBatch(b);
    disposeParams(params);
  }
  delta0.dispose();
  console.log('parity: largest gradient differences', diffs);
});
