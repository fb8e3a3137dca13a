/**
 * PGD (Madry et al. 2018), FreeLB (Zhu et al. 2020) and FreeAT (Shafahi et al. 2019) in word-embedding
 * space: projection and padding, FreeLB against plain training and against its passes done one by
 * one, PGD's ascent against the start and a random delta of the same norm, FreeAT's carried delta,
 * pass counts, leaks, end-to-end fine-tuning, and parity of one step with an independent PyTorch
 * implementation (test/fixtures/make_adversarial_fixture.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  BertParams, DropoutMasks, TaskBatch, countPasses, disposeModelBatch, disposeParams, lossAndGradients, loadCheckpoint, namedParams,
  taskLossPerExample, embedTokens,
} from '../src/model';
import {
  FREEAT_DEFAULTS, FREELB_DEFAULTS, Method, PGD_DEFAULTS, fitCarriedDelta, freeat, freelb, freelbStep, methodFromJson, pgd, pgdAscent, pgdStep, vanilla,
} from '../src/adversarial/methods';
import { lossAtDelta, perturbableMask, referenceInit } from '../src/adversarial/embedding_delta';
import { replaySeed } from '../src/adversarial/freeat_shafahi_2019';
import { ascentStep, initDelta, perExampleNorm, projectDelta } from '../src/adversarial/perturbation';
import { finetune } from '../src/train/finetune';
import { readSafetensors } from '../src/model/safetensors';
import { TINY_CONFIGS, backend, disposeStepResult, expectNoLeak, maxAbsDiff, taskBatch, tinyCheckpoint, tinyModel } from './helpers';

const NO_DROPOUT = { ...TINY_CONFIGS.small, hiddenDropout: 0, attentionDropout: 0 };


const info = (step: number, replay = 0) => ({ step, epoch: 0, seed: 11 + step, replay });
const values = (t: tf.Tensor) => Array.from(t.dataSync());

/** max over padding positions of |delta| ([B, T, D] against a [B, T] mask). */
function maxOnMasked(delta: tf.Tensor, keep: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.mul(delta, tf.expandDims(tf.sub(1, keep), 2)))).dataSync()[0]);
}

test('projection: every example stays within eps (l2 over T x D, and linf) and padding never moves', async () => {
  await backend();
  const p = tinyModel({ config: NO_DROPOUT });
  const b = taskBatch(3, 7, 2, true);
  for (const norm of ['l2', 'linf'] as const) {
    for (const frozen of ['none', 'cls-sep'] as const) {
      const eps = norm === 'l2' ? 0.3 : 0.05;
      const mask = perturbableMask(b, frozen);
      // a large step, so that the projection is what bounds delta
      const { delta, losses } = pgdAscent(p, b, { K: 3, alpha: 10, eps, norm, init: referenceInit(norm, 2), mask, seed: 3 });
      const norms = values(perExampleNorm(delta, norm));
      for (const n of norms) assert.ok(n <= eps * (1 + 1e-5), `${norm} norm ${n} > eps ${eps}`);
      for (const n of norms) assert.ok(n >= eps * 0.999, `${norm}: a step of 10 must reach the boundary, got ${n}`);
      assert.equal(maxOnMasked(delta, mask), 0, `${norm}/${frozen}: delta on padding${frozen === 'cls-sep' ? ', [CLS] or [SEP]' : ''}`);
      tf.dispose([delta, mask, ...losses]);
    }
  }
  // the frozen mask: [CLS], the segment boundary's [SEP] and the last real token's [SEP]
  const m = perturbableMask(b, 'cls-sep');
  assert.deepEqual(m.arraySync(), [
    [0, 1, 0, 1, 1, 1, 0],
    [0, 1, 0, 1, 1, 0, 0],
    [0, 1, 0, 1, 0, 0, 0],
  ]);
  m.dispose();
  // FreeLB's and FreeAT's deltas: within eps after every ascent, zero on padding (FreeAT's state is its delta)
  const fa = freeat({ eps: 0.2, alpha: 5 }).makeStep({ params: p, objective: 'task' });
  for (let r = 0; r < 2; r++) disposeStepResult(fa.step(b, info(0, r)));
  const st = fa.saveState!();
  const carried = st.get('delta')!;
  for (const n of values(perExampleNorm(carried, 'l2'))) assert.ok(n <= 0.2 * (1 + 1e-5) && n > 0.199, `FreeAT delta norm ${n}`);
  assert.equal(maxOnMasked(carried, b.attentionMask!), 0);
  // carried to a shorter / longer batch: cropped / zero-padded along T, zero on the new padding; another B: none
  const shorter = taskBatch(3, 5);
  const fitted = fitCarriedDelta(carried, [3, 5, 16], shorter.attentionMask)!;
  assert.ok(maxAbsDiff(tf.slice(fitted, [0, 0, 0], [1, 5, 16]), tf.slice(carried, [0, 0, 0], [1, 5, 16])) === 0);
  assert.equal(maxOnMasked(fitted, shorter.attentionMask!), 0);
  const longer = fitCarriedDelta(carried, [3, 9, 16])!;
  assert.equal(maxAbsDiff(tf.slice(longer, [0, 0, 0], [3, 7, 16]), carried), 0);
  assert.equal(tf.abs(tf.slice(longer, [0, 7, 0], [3, 2, 16])).max().dataSync()[0], 0);
  assert.equal(fitCarriedDelta(carried, [2, 7, 16]), undefined);
  tf.dispose([fitted, longer, ...st.values()]);
  fa.dispose();
  disposeModelBatch(shorter);
  disposeModelBatch(b);
  disposeParams(p);
});

test('PGD whose delta barely moves (zero init, alpha 1e-30: X + delta == X in float32) is exactly plain training, dropout masks included', async () => {
  await backend();
  const p = tinyModel(); // dropout on: the final pass must reuse the first pass's masks, which are plain training's
  const b = taskBatch(3, 7);
  const plain = vanilla().makeStep({ params: p, objective: 'task' }).step(b, info(4));
  const still = pgd({ K: 3, alpha: 1e-30, eps: 0.5, init: 'zeros' }).makeStep({ params: p, objective: 'task' }).step(b, info(4));
  assert.equal(still.loss.dataSync()[0], plain.loss.dataSync()[0]);
  assert.equal(still.grads.size, plain.grads.size);
  for (const [name, g] of plain.grads) assert.equal(maxAbsDiff(still.grads.get(name)!, g), 0, name);
  assert.ok(still.metrics.deltaNorm.dataSync()[0] <= 1e-8, // norms are floored at 1e-8 (perturbation.ts)
    `deltaNorm ${still.metrics.deltaNorm.dataSync()[0]}`);
  disposeStepResult(plain);
  disposeStepResult(still);
  disposeParams(p);
  disposeModelBatch(b);
});

test('FreeLB with K = 1 and zero init is exactly plain training; its gradient is the mean of its passes done one by one', async () => {
  await backend();
  const p = tinyModel(); // dropout on: the passes must share the first pass's masks
  const named = namedParams(p);
  const b = taskBatch(3, 7);
  const plain = vanilla().makeStep({ params: p, objective: 'task' }).step(b, info(4));
  const one = freelb({ K: 1, initMag: 0 }).makeStep({ params: p, objective: 'task' }).step(b, info(4));
  assert.equal(one.loss.dataSync()[0], plain.loss.dataSync()[0]);
  assert.equal(one.grads.size, plain.grads.size);
  for (const [name, g] of plain.grads) assert.equal(maxAbsDiff(one.grads.get(name)!, g), 0, name);
  assert.equal(one.metrics.cleanLoss.dataSync()[0], plain.loss.dataSync()[0]);
  disposeStepResult(plain);
  disposeStepResult(one);

  // K = 3 by hand: the same delta0, the same dropout masks, the ascent from the primitives
  const c = { ...FREELB_DEFAULTS, K: 3, alpha: 0.3, eps: 0.5 };
  const delta0 = initDelta([3, 7, 16], referenceInit('l2', 1), { mask: b.attentionMask, seed: 5 });
  const got = freelbStep(p, named, b, c, { seed: 9, delta0 });
  const masks = new DropoutMasks();
  let d = delta0.clone();
  const perPass: Map<string, tf.Tensor>[] = [];
  const lossesByHand: number[] = [];
  for (let t = 0; t < c.K; t++) {
    const r = lossAndGradients(named, () => lossAtDelta(p, b, d, { seed: 9, masks }), [d]);
    perPass.push(r.grads);
    lossesByHand.push(r.loss.dataSync()[0]);
    const next = projectDelta(ascentStep(d, r.inputGrads[0], c.alpha, 'l2', { mask: b.attentionMask }), c.eps, 'l2');
    tf.dispose([d, r.loss, ...r.inputGrads]);
    d = next;
  }
  let worst = 0;
  for (const [name, g] of got.grads) {
    const mean = tf.tidy(() => tf.div(tf.addN(perPass.map((m) => m.get(name)!)), c.K));
    worst = Math.max(worst, maxAbsDiff(g, mean));
    mean.dispose();
  }
  assert.ok(worst < 1e-6, `FreeLB gradient vs mean of passes: ${worst}`);
  assert.ok(Math.abs(got.loss.dataSync()[0] - lossesByHand.reduce((a, x) => a + x, 0) / c.K) < 1e-6);
  assert.ok(Math.abs(got.metrics.cleanLoss.dataSync()[0] - lossesByHand[0]) < 1e-6);
  assert.ok(Math.abs(got.metrics.advLoss.dataSync()[0] - lossesByHand[2]) < 1e-6);
  // and the passes differ (delta moved): the test is not trivially satisfied
  assert.ok(lossesByHand[2] > lossesByHand[0], `loss rises along the ascent: ${lossesByHand}`);
  disposeStepResult(got);
  tf.dispose([d, delta0, ...perPass.flatMap((m) => [...m.values()])]);
  masks.dispose();
  disposeModelBatch(b);
  disposeParams(p);
});

test("PGD's final delta raises every example's loss above delta0 and above a random delta of the same norm (and a flipped gradient fails)", async () => {
  await backend();
  const p = tinyModel({ config: NO_DROPOUT, seed: 4 });
  const b = taskBatch(4, 7);
  const perExample = (delta: tf.Tensor) => tf.tidy(() => taskLossPerExample(p, b, { embeds: tf.add(embedTokens(p, b.inputIds), delta) }));
  const run = (sign: 1 | -1) => {
    // the sum of per-example losses: each example's gradient is its own
    const lossFn = (embeds: tf.Tensor) => tf.mul(tf.sum(taskLossPerExample(p, b, { embeds })), sign) as tf.Scalar;
    const zeros = tf.zeros([4, 7, 16]);
    const { delta, losses } = pgdAscent(p, b, { K: 3, alpha: 0.05, eps: 0.1, norm: 'l2', init: zeros, lossFn });
    zeros.dispose();
    tf.dispose(losses);
    return delta;
  };
  const clean = values(perExample(tf.zeros([4, 7, 16])));
  const adv = run(1);
  const advLoss = values(perExample(adv));
  // a random direction on the padding-free positions, scaled to each example's ||delta||
  const random = tf.tidy(() => {
    const u = tf.mul(tf.randomNormal([4, 7, 16], 0, 1, 'float32', 21), tf.expandDims(b.attentionMask!, 2)); // [B, T, D]
    return tf.mul(u, tf.div(perExampleNorm(adv, 'l2'), perExampleNorm(u, 'l2')).reshape([4, 1, 1])); // [B, T, D]
  });
  const randomLoss = values(perExample(random));
  for (let i = 0; i < 4; i++) {
    assert.ok(advLoss[i] > clean[i], `example ${i}: adversarial ${advLoss[i]} vs delta0 ${clean[i]}`);
    assert.ok(advLoss[i] > randomLoss[i], `example ${i}: adversarial ${advLoss[i]} vs random ${randomLoss[i]}`);
  }
  // the same run with the gradient's sign flipped descends: the checks above would fail for every example
  const flipped = run(-1);
  const flippedLoss = values(perExample(flipped));
  for (let i = 0; i < 4; i++) assert.ok(flippedLoss[i] < clean[i], `flipped example ${i}: ${flippedLoss[i]} vs ${clean[i]}`);
  tf.dispose([adv, random, flipped]);
  disposeModelBatch(b);
  disposeParams(p);
});

test("FreeAT: the delta after replay r is where replay r + 1 starts; a new minibatch re-initialises it unless carried; state survives save/load", async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch(3, 7);
  const seed = info(2).seed;
  const step = freeat({ replays: 3 }).makeStep({ params: p, objective: 'task' });
  // replay 0 starts from the reference init with the step's seed
  const r0 = step.step(b, info(2, 0));
  const init = initDelta([3, 7, 16], referenceInit('l2', FREEAT_DEFAULTS.initMag), { mask: b.attentionMask, seed });
  assert.ok(Math.abs(r0.loss.dataSync()[0] - lossAtDelta(p, b, init, { seed }).dataSync()[0]) < 1e-7);
  const after0 = step.saveState!().get('delta')!;
  assert.ok(maxAbsDiff(after0, init) > 1e-3, 'replay 0 ascended delta');
  // replay 1 starts where replay 0 ended (with its own dropout masks)
  const r1 = step.step(b, info(2, 1));
  const expected1 = lossAtDelta(p, b, after0, { seed: replaySeed(seed, 1) });
  assert.equal(r1.loss.dataSync()[0], expected1.dataSync()[0]);
  // a state loaded into a fresh step is where its next replay starts
  const after1 = step.saveState!().get('delta')!;
  const fresh = freeat({ replays: 3 }).makeStep({ params: p, objective: 'task' });
  fresh.loadState!(new Map([['delta', after1]]));
  const r2a = step.step(b, info(2, 2));
  const r2b = fresh.step(b, info(2, 2));
  assert.equal(r2a.loss.dataSync()[0], r2b.loss.dataSync()[0]);
  // next minibatch: re-initialised by default, carried with carryAcrossBatches
  const last = step.saveState!().get('delta')!;
  const next = step.step(b, info(3, 0));
  const reinit = initDelta([3, 7, 16], referenceInit('l2', FREEAT_DEFAULTS.initMag), { mask: b.attentionMask, seed: info(3).seed });
  assert.equal(next.loss.dataSync()[0], lossAtDelta(p, b, reinit, { seed: info(3).seed }).dataSync()[0]);
  const carry = freeat({ replays: 3, carryAcrossBatches: true }).makeStep({ params: p, objective: 'task' });
  carry.loadState!(new Map([['delta', last]]));
  const carried = carry.step(b, info(3, 0));
  assert.equal(carried.loss.dataSync()[0], lossAtDelta(p, b, last, { seed: info(3).seed }).dataSync()[0]);
  // replays out of order are an error that says so
  const other = freeat({}).makeStep({ params: p, objective: 'task' });
  assert.throws(() => other.step(b, info(0, 1)), /replay 1 of a minibatch of shape \[3,7,16\] has no delta from replay 0/);
  for (const r of [r0, r1, r2a, r2b, next, carried]) disposeStepResult(r);
  tf.dispose([init, after0, expected1, after1, last, reinit]);
  for (const s of [step, fresh, carry, other]) s.dispose();
  disposeModelBatch(b);
  disposeParams(p);
});

test('pass counts per step: PGD-K K + 1 forwards, K backwards to delta only, 1 full; FreeLB-K K full; FreeAT 1 per replay', async () => {
  await backend();
  const p = tinyModel();
  const b = taskBatch(3, 7);
  const passes = (m: Method, replay = 0, step = 0) => {
    const s = m.makeStep({ params: p, objective: 'task' });
    let out;
    for (let r = 0; r <= replay; r++) {
      const { result, passes: ps } = countPasses(() => s.step(b, info(step, r)));
      disposeStepResult(result);
      out = ps;
    }
    s.dispose();
    return out;
  };
  const counts = (forward: number, backward: number, paramBackward: number, inputBackward: number) => ({ forward, partialForward: 0, backward, partialBackward: 0, paramBackward, inputBackward });
  for (const K of [1, 3]) {
    assert.deepEqual(passes(pgd({ K })), counts(K + 1, K + 1, 1, K), `PGD-${K}`);
    assert.deepEqual(passes(freelb({ K })), counts(K, K, K, 0), `FreeLB-${K}`);
  }
  // the symmetric-KL term adds the clean forward at the last pass (its backward runs through both)
  assert.deepEqual(passes(freelb({ K: 2, regWeight: 1 })), counts(3, 3, 2, 0), 'FreeLB-2 with regWeight');
  // before advBeginIter: a plain step
  assert.deepEqual(passes(freelb({ K: 3, advBeginIter: 5 }), 0, 4), counts(1, 1, 1, 0), 'FreeLB before advBeginIter');
  assert.deepEqual(passes(freelb({ K: 3, advBeginIter: 5 }), 0, 5), counts(3, 3, 3, 0), 'FreeLB from advBeginIter');
  assert.deepEqual(passes(freeat({ replays: 3 }), 0), counts(1, 1, 1, 0), 'FreeAT replay 0');
  assert.deepEqual(passes(freeat({ replays: 3 }), 2), counts(1, 1, 1, 0), 'FreeAT replay 2');
  disposeModelBatch(b);
  disposeParams(p);
});

test('no leaks over several steps, for every method and variant; metrics are finite and named', async () => {
  await backend();
  const variants: Method[] = [
    pgd(), pgd({ norm: 'linf', eps: 0.01, alpha: 0.005, initMag: 0.01, frozen: 'cls-sep' }), pgd({ init: 'zeros', eps: 0 }),
    freelb(), freelb({ norm: 'linf', eps: 0.01, alpha: 0.005, initMag: 0.01, regWeight: 0.5, advBeginIter: 1 }), freelb({ initMag: 0, eps: 0 }),
    freeat(), freeat({ carryAcrossBatches: true, norm: 'linf', eps: 0.01, alpha: 0.01, initMag: 0 }),
  ];
  const expectedMetrics: Record<string, string[]> = { pgd: ['advLoss', 'cleanLoss', 'deltaNorm'], freelb: ['advLoss', 'cleanLoss', 'deltaNorm'], freeat: ['advLoss', 'deltaNorm'] };
  for (const objective of ['task', 'mlm'] as const) {
    const p = tinyModel(objective === 'mlm' ? { mlm: true } : {});
    for (const m of variants) {
      const s = m.makeStep({ params: p, objective });
      await expectNoLeak(() => {
        for (let step = 0; step < 3; step++) {
          const b = taskBatch(3, 7 - step, 2, true); // lengths change between minibatches (FreeAT's carry crops)
          const batch = objective === 'mlm' ? { ...b, kind: 'mlm' as const, positions: tf.tensor1d([1, 3, 7], 'int32'), targets: tf.tensor1d([5, 9, 11], 'int32') } : b;
          for (let r = 0; r < s.replays; r++) {
            const res = s.step(batch, info(step, r));
            const names = Object.keys(res.metrics).sort();
            const want = [...expectedMetrics[m.name], ...((m.config as { regWeight?: number }).regWeight ? ['symKl'] : [])].sort();
            assert.deepEqual(names, want, `${m.name} metrics`);
            for (const [k, v] of [['loss', res.loss] as const, ...Object.entries(res.metrics)]) assert.ok(Number.isFinite(v.dataSync()[0]), `${m.name} ${k}`);
            disposeStepResult(res);
          }
          disposeModelBatch(batch);
        }
        s.dispose();
      }, `${m.name} ${JSON.stringify(m.config)} on ${objective}`);
    }
    disposeParams(p);
  }
});

test('the registry checks the options of the three methods', () => {
  assert.throws(() => freelb({ K: 0 }), /option K must be >= 1, got 0/);
  assert.throws(() => pgd({ K: 1.5 }), /option K must be an integer, got 1.5/);
  assert.throws(() => freeat({ norm: 'l1' as never }), /option norm must be one of l2, linf; got 'l1'/);
  assert.throws(() => methodFromJson('pgd', { alpha: 0 }), /option alpha must be > 0, got 0/);
  assert.deepEqual(methodFromJson('freelb').config, FREELB_DEFAULTS);
  assert.deepEqual(methodFromJson('pgd').config, PGD_DEFAULTS);
  assert.deepEqual(methodFromJson('freeat', { carryAcrossBatches: true }).config, { ...FREEAT_DEFAULTS, carryAcrossBatches: true });
});


test('each method fine-tunes SST-2 end to end, with its per-step metrics in the run record', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-adv-methods-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  try {
    const ckpt = await tinyCheckpoint(dir);
    await expectNoLeak(async () => {
      for (const method of [pgd({ K: 2 }), freelb({ K: 2 }), freeat({ replays: 2, carryAcrossBatches: true })]) {
        const config = { task: 'SST-2', checkpoint: ckpt, method, limitTrain: 32, limitDev: 16, maxLength: 24, batchSize: 16, trainer: { epochs: 1 } };
        const outDir = path.join(dir, method.name);
        if (method.name === 'freeat') {
          // stopped after its first minibatch: the carried delta is in the resume state, and the run resumes from it
          const first = await finetune(config, { outDir, stopFlag: { stop: true }, progress: { mode: 'silent' } });
          disposeParams(first.params);
          const file = path.join(outDir, 'resume', 'method_state.safetensors');
          assert.ok(fs.existsSync(file), "FreeAT's carried delta is in the resume state");
          assert.deepEqual(readSafetensors(file).tensors.get('delta')!.shape.slice(0, 1), [16]);
        }
        const ft = await finetune(config, { outDir, progress: { mode: 'silent' } });
        assert.equal(ft.record.method, method.name);
        for (const k of method.name === 'freeat' ? ['advLoss', 'deltaNorm', 'gradNorm'] : ['cleanLoss', 'advLoss', 'deltaNorm', 'gradNorm']) {
          assert.equal(ft.record.steps![k]?.length, 2, `${method.name}: ${k} per step`);
          assert.ok(Number.isFinite(ft.record.epochs[0].metrics![k]), `${method.name}: ${k} per epoch`);
        }
        assert.ok(ft.record.epochs[0].metrics!.deltaNorm > 0);
        const rec = JSON.parse(fs.readFileSync(process.env.ADVLM_RUNS_FILE!, 'utf8').trim().split('\n').pop()!);
        assert.equal(rec.method, method.name);
        assert.deepEqual(rec.steps.deltaNorm, ft.record.steps!.deltaNorm);
        disposeParams(ft.params);
      }
    }, 'fine-tuning');
  } finally {
    delete process.env.ADVLM_RUNS_FILE;
    fs.rmSync(dir, { recursive: true });
  }
});

test('parity: one step of PGD-3 and FreeLB-3 matches an independent PyTorch implementation (gradients and weights after SGD within 1e-5)', async () => {
  await backend();
  const dir = path.join(__dirname, 'fixtures');
  const inputs = JSON.parse(fs.readFileSync(path.join(dir, 'bert-tiny-random', 'inputs.json'), 'utf8'));
  const fx = JSON.parse(fs.readFileSync(path.join(dir, 'adversarial_parity.json'), 'utf8'));
  type T = { shape: number[]; data: number[] };
  const { params } = loadCheckpoint(path.join(dir, 'bert-tiny-random'));
  const named = namedParams(params);
  const byName = new Map(named);
  const b: TaskBatch = {
    kind: 'task',
    inputIds: tf.tensor2d(inputs.input_ids, undefined, 'int32'), // [3, 12]
    tokenTypeIds: tf.tensor2d(inputs.token_type_ids, undefined, 'int32'), // [3, 12]
    attentionMask: tf.tensor2d(inputs.attention_mask, undefined, 'float32'), // [3, 12]
    labels: tf.tensor1d(inputs.labels, 'int32'), // [3]
  };
  const delta0 = tf.tensor(fx.delta0.data, fx.delta0.shape); // [3, 12, 128]
  const { K, alpha, eps, sgd_lr: lr, rows } = fx.notes as { K: number; alpha: number; eps: number; sgd_lr: number; rows: Record<string, number[]> };
  const worst: Record<string, number> = {};
  const runs = {
    pgd: () => pgdStep(params, named, b, { ...PGD_DEFAULTS, K, alpha, eps }, { seed: 0, delta0, training: false }),
    freelb: () => freelbStep(params, named, b, { ...FREELB_DEFAULTS, K, alpha, eps }, { seed: 0, delta0, training: false }),
  };
  for (const [name, run] of Object.entries(runs)) {
    const ref = fx[name] as { loss: number; pass_losses: number[]; delta_norms: number[]; grad_norm: number; grad_norms: Record<string, number>; grads: Record<string, T>; after_sgd: Record<string, T> };
    const r = run();
    let gradDiff = 0;
    let weightDiff = 0;
    tf.tidy(() => {
      const pick = (k: string, t: tf.Tensor) => (rows[k] ? tf.gather(t, rows[k]) : t);
      for (const [k, want] of Object.entries(ref.grads)) {
        const g = r.grads.get(k);
        assert.ok(g, `${name}: gradient of ${k}`);
        gradDiff = Math.max(gradDiff, maxAbsDiff(pick(k, g!), tf.tensor(want.data, want.shape)));
        const after = pick(k, tf.sub(byName.get(k)!, tf.mul(g!, lr)));
        weightDiff = Math.max(weightDiff, maxAbsDiff(after, tf.tensor(ref.after_sgd[k].data, ref.after_sgd[k].shape)));
      }
      assert.deepEqual([...r.grads.keys()].sort(), Object.keys(ref.grad_norms).sort(), `${name}: the same parameters get gradients`);
      let normDiff = 0;
      let sq = 0;
      for (const [k, g] of r.grads) {
        const n = tf.norm(g).dataSync()[0];
        sq += n * n;
        normDiff = Math.max(normDiff, Math.abs(n - ref.grad_norms[k]));
      }
      worst[`${name} per-tensor grad norms`] = normDiff;
      assert.ok(normDiff < 1e-5, `${name}: per-tensor gradient norms differ by ${normDiff}`);
      assert.ok(Math.abs(Math.sqrt(sq) - ref.grad_norm) < 1e-5, `${name}: global gradient norm ${Math.sqrt(sq)} vs ${ref.grad_norm}`);
    });
    worst[`${name} grads`] = gradDiff;
    worst[`${name} weights after SGD`] = weightDiff;
    assert.ok(gradDiff < 1e-5, `${name}: gradients differ by ${gradDiff}`);
    assert.ok(weightDiff < 1e-5, `${name}: weights after one SGD step differ by ${weightDiff}`);
    assert.ok(Math.abs(r.loss.dataSync()[0] - ref.loss) < 1e-5, `${name}: loss ${r.loss.dataSync()[0]} vs ${ref.loss}`);
    assert.ok(Math.abs(r.metrics.cleanLoss.dataSync()[0] - ref.pass_losses[0]) < 1e-5);
    if (name === 'freelb') assert.ok(Math.abs(r.metrics.advLoss.dataSync()[0] - ref.pass_losses[K - 1]) < 1e-5);
    const meanNorm = ref.delta_norms.reduce((a, x) => a + x, 0) / ref.delta_norms.length;
    assert.ok(Math.abs(r.metrics.deltaNorm.dataSync()[0] - meanNorm) < 1e-5);
    disposeStepResult(r);
  }
  console.log(`parity max abs differences: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join('; ')}`);
  tf.dispose([delta0]);
  disposeModelBatch(b);
  disposeParams(params);
});
