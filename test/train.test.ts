import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertParams, CONFIGS, disposeParams, initParams, loadCheckpoint, namedParams } from '../src/model';
import { ADAMW_DEFAULTS, adamWStep, clipGlobalNorm, disposeAdamW, initAdamW } from '../src/train/adamw';
import { linearWarmupDecay } from '../src/train/schedule';
import { initBackend } from '../src/backend';
import { recoverTrainerState, removeTrainerState, trainLoop, TRAINER_DEFAULTS } from '../src/train/trainer';
import { lossAndGrads } from '../src/train/grads';
import { FINETUNE_DEFAULTS, finetune } from '../src/train/finetune';
import { PRETRAIN_DEFAULTS, UNSEEN_TOKEN_BIAS, mlmDevBatches, pretrain, unmarkTokens } from '../src/train/pretrain';
import { remainingSeconds } from '../src/train/progress';
import { outputVocabulary } from '../src/model';
import { fillMask } from '../src/fill_mask';
import { checkpointTokenizer, loadTokenizer, mlmBatch, packSequences, readCorpus } from '../src/data';
import { TINY_CONFIGS, backend, expectNoLeak, maxAbsDiff, tinyModel } from './helpers';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'adamw.json'), 'utf8'));

test('AdamW on wasm (one fused pass per tensor) equals the tensor-op form on cpu, with and without weight decay, and leaks nothing', async () => {
  const shapes: [string, number[]][] = [['w', [37, 5]], ['b', [5]]];
  const values = (shape: number[], k: number) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + k));
  const run = async (backendName: string) => {
    await tf.setBackend(backendName);
    const named = shapes.map(([n, s]) => [n, tf.variable(tf.tensor(values(s, 1), s), true, `adamw-${backendName}-${n}`)] as [string, tf.Variable]);
    const state = initAdamW(named);
    await expectNoLeak(() => {
      for (let t = 0; t < 4; t++) {
        const grads = new Map(shapes.map(([n, s]) => [n, tf.tensor(values(s, 10 + t).map((x) => x * (t + 1)), s)] as [string, tf.Tensor]));
        adamWStep(state, named, grads, 0.01 * (t + 1), ADAMW_DEFAULTS, (n) => n === 'w');
        tf.dispose([...grads.values()]);
      }
    }, `AdamW steps on ${backendName}`);
    const out = [...named.map(([, v]) => Array.from(v.dataSync())), ...[...state.m.values(), ...state.v.values()].map((v) => Array.from(v.dataSync()))];
    disposeAdamW(state);
    named.forEach(([, v]) => v.dispose());
    return out;
  };
  const cpu = await run('cpu');
  await initBackend({ backend: 'wasm', log: false });
  const wasm = await run('wasm');
  for (let k = 0; k < cpu.length; k++) assert.ok(maxAbsDiff(cpu[k], wasm[k]) < 1e-6, `tensor ${k}: max diff ${maxAbsDiff(cpu[k], wasm[k])}`);
  assert.ok(maxAbsDiff(cpu[0], values([37, 5], 1)) > 1e-3, 'the parameters moved');
  await backend();
});

test('AdamW matches torch.optim.AdamW (decoupled decay on weights, none on biases)', async () => {
  await backend();
  const w = tf.variable(tf.tensor2d(fixture.w0));
  const b = tf.variable(tf.tensor1d(fixture.b0));
  const named: [string, tf.Variable][] = [['layer.weight', w], ['layer.bias', b]];
  const state = initAdamW(named);
  await expectNoLeak(() => {
    fixture.grads.forEach(([gw, gb]: [number[][], number[]], i: number) => {
      const grads = new Map<string, tf.Tensor>([['layer.weight', tf.tensor2d(gw)], ['layer.bias', tf.tensor1d(gb)]]);
      adamWStep(state, named, grads, fixture.lrs[i], { ...ADAMW_DEFAULTS, weightDecay: fixture.weight_decay, epsilon: fixture.epsilon }, (n) => !n.endsWith('.bias'));
      tf.dispose([...grads.values()]);
    });
  }, 'AdamW steps');
  const dw = maxAbsDiff(w, fixture.w);
  const db = maxAbsDiff(b, fixture.b);
  assert.ok(dw < 1e-6 && db < 1e-6, `max diff ${dw} ${db}`);
  disposeAdamW(state);
  tf.dispose([w, b]);
});

test('gradient clipping rescales to the global norm and leaves small gradients alone', async () => {
  await backend();
  const g = new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]); // global norm 5
  const small = new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 0])]]);
  const smallA = small.get('a');
  const norm = await expectNoLeak(() => clipGlobalNorm(g, 1), 'clipGlobalNorm'); // originals replaced, not kept beside the copies
  assert.ok(Math.abs(norm - 5) < 1e-6);
  const after = Math.hypot(...g.get('a')!.dataSync(), ...g.get('b')!.dataSync());
  assert.ok(Math.abs(after - 1) < 1e-5);
  assert.ok(Math.abs(clipGlobalNorm(small, 10) - 3) < 1e-6);
  assert.equal(small.get('a'), smallA); // under the norm: untouched, no copy
  assert.deepEqual(Array.from(small.get('a')!.dataSync()), [3, 0]);
  tf.dispose([...g.values(), ...small.values()]);
});

test('the schedule warms up linearly, peaks, then decays linearly to zero', () => {
  const s = { peak: 1, warmupSteps: 10, totalSteps: 110 };
  assert.equal(linearWarmupDecay(s, 0), 0.1);
  assert.equal(linearWarmupDecay(s, 9), 1);
  assert.ok(Math.abs(linearWarmupDecay(s, 59) - 0.5) < 1e-12);
  assert.equal(linearWarmupDecay(s, 109), 0);
  assert.equal(linearWarmupDecay({ peak: 2, warmupSteps: 0, totalSteps: 4 }, 0), 1.5);
});

/** A tiny regression problem for the loop: fit y from the mean word embedding of three tokens. */
function toyProblem(seed: number) {
  const p = tinyModel({ config: { ...TINY_CONFIGS.micro, vocabSize: 20, intermediateSize: 8, maxPositions: 8, initializerRange: 0.5 }, numLabels: 1, seed });
  const data = Array.from({ length: 24 }, (_, i) => ({ ids: [1, 2 + (i % 7), 3 + (i % 5)], y: (i % 7) / 7 }));
  type Batch = typeof data;
  const epochBatches = (epoch: number): Batch[] => {
    const order = data.map((_, i) => (i * (7 + epoch * 2)) % data.length);
    return Array.from({ length: 6 }, (_, k) => order.slice(k * 4, k * 4 + 4).map((i) => data[i]));
  };
  const stepFor = (q: BertParams) => (batch: Batch) =>
    lossAndGrads(namedParams(q), () =>
      tf.tidy(() => {
        const ids = tf.tensor2d(batch.map((d) => d.ids), undefined, 'int32'); // [4, 3]
        const emb = tf.gather(q.embeddings.word, ids); // [4, 3, 8]
        const pred = tf.sum(tf.mul(tf.mean(emb, 1), tf.sum(q.classifier!.weight, 0)), 1); // [4]
        return tf.mean(tf.square(tf.sub(pred, tf.tensor1d(batch.map((d) => d.y))))) as tf.Scalar;
      }),
    );
  return { p, epochBatches, stepFor };
}

test('training can stop and resume to exactly the weights of an uninterrupted run', async () => {
  await backend();
  const config = { ...TRAINER_DEFAULTS, epochs: 3, lr: 5e-2, warmupRatio: 0.2, saveEvery: 0 };
  const quiet = { mode: 'silent' as const };
  const a = toyProblem(1);
  const full = await trainLoop({ params: a.p, config, epochBatches: a.epochBatches, stepsPerEpoch: 6, step: a.stepFor(a.p), progress: quiet });
  assert.equal(full.steps, 18);
  assert.ok(full.epochs[2].trainLoss < full.epochs[0].trainLoss, `the loss went down: ${full.epochs.map((e) => e.trainLoss)}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-resume-'));
  const b = toyProblem(1);
  // stop in the middle of the second epoch, as `advlm pretrain --stop-at-step 9` does (the schedule stays the 18-step one)
  const first = await trainLoop({ params: b.p, config, epochBatches: b.epochBatches, stepsPerEpoch: 6, stateDir: dir, stopFlag: { stop: false, atStep: 9 }, step: b.stepFor(b.p), progress: quiet });
  assert.equal(first.stopped, true);
  assert.equal(first.steps, 9);
  // as a new process would: the model comes from the state folder
  const c = loadCheckpoint(dir, { numLabels: 1 });
  const rest = await trainLoop({ params: c.params, config, epochBatches: b.epochBatches, stepsPerEpoch: 6, step: b.stepFor(c.params), stateDir: dir, progress: quiet });
  assert.equal(rest.steps, 18);
  assert.deepEqual(rest.losses.slice(0, 9), first.losses);
  const fa = namedParams(a.p);
  const fc = namedParams(c.params);
  for (let i = 0; i < fa.length; i++) {
    const d = maxAbsDiff(fa[i][1], fc[i][1]);
    assert.ok(d < 1e-6, `${fa[i][0]} differs by ${d}`);
  }
  // the same folder with other settings is refused
  await assert.rejects(
    trainLoop({ params: c.params, config: { ...config, lr: 0.5 }, epochBatches: b.epochBatches, stepsPerEpoch: 6, step: b.stepFor(c.params), stateDir: dir, progress: quiet }),
    /cannot resume .* lr was 0.05, now 0.5/,
  );
  [a.p, b.p, c.params].forEach(disposeParams);
  fs.rmSync(dir, { recursive: true });
});

test('a state write cut off at any moment leaves one complete state: the new one if it was written, else the last', async () => {
  await backend();
  const config = { ...TRAINER_DEFAULTS, epochs: 2, lr: 5e-2, warmupRatio: 0.2, saveEvery: 3 };
  const quiet = { mode: 'silent' as const };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-state-swap-'));
  const dir = path.join(root, 'resume');
  const stateStep = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'trainer_state.json'), 'utf8')).step as number;
  // states at steps 3 and 6 of one run, kept aside to build the folders a kill can leave
  const a = toyProblem(2);
  await trainLoop({ params: a.p, config, epochBatches: a.epochBatches, stepsPerEpoch: 6, stateDir: dir, stopFlag: { stop: false, atStep: 3 }, step: a.stepFor(a.p), progress: quiet });
  const at3 = path.join(root, 'at3');
  fs.cpSync(dir, at3, { recursive: true });
  const b = loadCheckpoint(dir, { numLabels: 1 });
  await trainLoop({ params: b.params, config, epochBatches: a.epochBatches, stepsPerEpoch: 6, stateDir: dir, stopFlag: { stop: false, atStep: 6 }, step: a.stepFor(b.params), progress: quiet });
  assert.equal(stateStep(dir), 6);
  assert.deepEqual(fs.readdirSync(root).sort(), ['at3', 'resume'], 'a finished write leaves no .next or .prev folder');
  const at6 = path.join(root, 'at6');
  fs.cpSync(dir, at6, { recursive: true });
  const reset = (folders: Record<string, string | undefined>) => {
    for (const s of ['', '.next', '.prev']) fs.rmSync(dir + s, { recursive: true, force: true });
    for (const [suffix, from] of Object.entries(folders)) if (from) fs.cpSync(from, dir + suffix, { recursive: true });
  };
  // 1. cut off while writing the new state: it lacks its marker, so the last state stands
  reset({ '': at3, '.next': at6 });
  fs.rmSync(path.join(`${dir}.next`, 'trainer_state.json'));
  assert.equal(recoverTrainerState(dir), true);
  assert.equal(stateStep(dir), 3);
  // 2. cut off between the two renames: the written new state is taken
  reset({ '.prev': at3, '.next': at6 });
  assert.equal(recoverTrainerState(dir), true);
  assert.equal(stateStep(dir), 6);
  // 3. cut off after the swap, while the previous state is removed
  reset({ '': at6, '.prev': at3 });
  fs.rmSync(path.join(`${dir}.prev`, 'model.safetensors'));
  assert.equal(recoverTrainerState(dir), true);
  assert.equal(stateStep(dir), 6);
  for (const s of ['.next', '.prev']) assert.equal(fs.existsSync(dir + s), false, `${s} is removed`);
  // 4. cut off while a finished run removes its state: the marker goes first, so what is left is no
  // state (the failure this replaces: a marker beside a missing config.json stopped the resume)
  reset({ '': at6 });
  const left = fs.readdirSync(dir);
  removeTrainerState(dir);
  assert.equal(fs.existsSync(dir), false);
  reset({ '': at6 });
  for (const f of left.filter((f) => f !== 'optimizer.safetensors')) fs.rmSync(path.join(dir, f)); // first the marker, then the rest
  assert.equal(recoverTrainerState(dir), false);
  // and a run started on such leftovers trains from the start and ends like a run on an empty folder
  const c = toyProblem(2);
  const again = await trainLoop({ params: c.p, config, epochBatches: c.epochBatches, stepsPerEpoch: 6, stateDir: dir, step: c.stepFor(c.p), progress: quiet });
  const d = toyProblem(2);
  const fresh = await trainLoop({ params: d.p, config, epochBatches: d.epochBatches, stepsPerEpoch: 6, step: d.stepFor(d.p), progress: quiet });
  assert.deepEqual(again.losses, fresh.losses);
  [a.p, b.params, c.p, d.p].forEach(disposeParams);
  fs.rmSync(root, { recursive: true });
});

test('a diverging loss stops training with a clear error', async () => {
  await backend();
  const t = toyProblem(2);
  await assert.rejects(
    trainLoop({ params: t.p, config: { ...TRAINER_DEFAULTS, epochs: 1 }, epochBatches: t.epochBatches, stepsPerEpoch: 6, step: () => ({ loss: tf.scalar(NaN), grads: new Map() }), progress: { mode: 'silent' } }),
    /step 0, method step: the loss is NaN. Lower the learning rate/,
  );
  disposeParams(t.p);
});

test('pre-training then fine-tuning run end to end on a small slice, with records and no leaks', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-pt-'));
  const runs = path.join(dir, 'runs.jsonl');
  process.env.ADVLM_RUNS_FILE = runs;
  await expectNoLeak(async () => {
    const model = { ...CONFIGS.tiny, hiddenSize: 32, numHeads: 2, intermediateSize: 64, maxPositions: 64 };
    const pt = await pretrain(path.join(dir, 'pt'), { ...PRETRAIN_DEFAULTS, model, maxLength: 32, batchSize: 8, limitLines: 12, devFraction: 0.1, trainer: { ...PRETRAIN_DEFAULTS.trainer, epochs: 2, saveEvery: 5 } });
    assert.ok(pt.train.losses[pt.train.losses.length - 1] < pt.train.losses[0], 'MLM loss decreased');
    // with the default output vocabulary ('corpus'), rows of tokens the slice never contains keep
    // their initial values (only AdamW's decoupled weight decay touches them); the others are trained
    const init = initParams({ ...model, vocabSize: pt.params.config.vocabSize }, { mlm: true, seed: PRETRAIN_DEFAULTS.trainer.seed });
    const seen = new Set(packSequences(loadTokenizer(), readCorpus({ limitLines: 12 }), { maxLength: 32 }).flat());
    const E0 = (await init.embeddings.word.array()) as number[][];
    const E1 = (await pt.params.embeddings.word.array()) as number[][];
    const rowChange = (id: number) => Math.max(...E0[id].map((x, j) => Math.abs(x - E1[id][j]) - 1e-3 * Math.abs(x)));
    const absent = E0.map((_, id) => id).filter((id) => id > 999 && !seen.has(id)).filter((_, i) => i % 97 === 0); // a spread of ~300 rows
    assert.ok(absent.length > 100);
    for (const id of absent) assert.ok(rowChange(id) <= 1e-7, `row ${id} (absent from the slice) unchanged`);
    assert.ok([...seen].filter((id) => id > 999).some((id) => rowChange(id) > 1e-4), 'rows of corpus tokens are trained');
    disposeParams(init);
    // the saved MLM bias marks the tokens the corpus lacks as never predicted; fill-mask keeps to the corpus
    const saved = loadCheckpoint(path.join(dir, 'pt'), { mlm: true }).params;
    const bias = (await saved.mlm!.bias.array()) as number[];
    for (const id of absent) assert.equal(bias[id], UNSEEN_TOKEN_BIAS);
    const specials = loadTokenizer().specialIds;
    assert.ok([...seen].every((id) => specials.has(id) === (bias[id] === UNSEEN_TOKEN_BIAS)), 'only special tokens and absent ones are marked');
    const [pred] = await fillMask(saved, loadTokenizer(), 'the [MASK] of the house .', 20);
    assert.ok(pred.candidates.every((c) => seen.has(loadTokenizer().tokenToId(c.token)!)), 'fill-mask predicts only corpus tokens');
    // continuing from it on text that has some of those tokens starts their bias at 0
    const v = outputVocabulary([absent[0], absent[1], [...seen][5]], bias.length);
    unmarkTokens(saved, v);
    const after = (await saved.mlm!.bias.array()) as number[];
    assert.deepEqual([after[absent[0]], after[absent[1]], after[absent[2]], after[[...seen][5]]], [0, 0, UNSEEN_TOKEN_BIAS, bias[[...seen][5]]]);
    disposeParams(saved);
    // continuing from it: a new schedule, and the saved record keeps the first run's as `previous`
    const pt2 = await pretrain(path.join(dir, 'pt2'), { ...PRETRAIN_DEFAULTS, model, maxLength: 32, batchSize: 8, limitLines: 12, devFraction: 0.1, from: path.join(dir, 'pt'), trainer: { ...PRETRAIN_DEFAULTS.trainer, epochs: 1, maxSteps: 2, seed: 1 } });
    assert.equal(pt2.train.steps, 2);
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'pt2', 'config.json'), 'utf8')).advlm.pretraining;
    assert.equal(rec.steps, 2);
    assert.equal(rec.previous.steps, pt.train.steps);
    disposeParams(pt2.params);
    assert.ok(fs.existsSync(path.join(dir, 'pt', 'model.safetensors')));
    assert.ok(!fs.existsSync(path.join(dir, 'pt', 'resume')), 'a finished run removes its resume state');
    disposeParams(pt.params);
    const ft = await finetune({ ...FINETUNE_DEFAULTS, task: 'SST-2', checkpoint: path.join(dir, 'pt'), maxLength: 32, limitTrain: 64, limitDev: 32, trainer: { ...FINETUNE_DEFAULTS.trainer, epochs: 1 } }, { outDir: path.join(dir, 'ft') });
    assert.equal(ft.train.steps, 2);
    assert.ok(ft.best.metrics.accuracy >= 0 && ft.best.metrics.accuracy <= 1);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'ft', 'config.json'), 'utf8'));
    assert.deepEqual(cfg.id2label, { 0: 'negative', 1: 'positive' });
    disposeParams(ft.params);
  }, 'pre-training, continuing and fine-tuning');
  const records = fs.readFileSync(runs, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records.map((r) => r.command), ['pretrain', 'pretrain', 'finetune']);
  assert.equal(records[2].epochs.length, 1);
  assert.equal(records[2].backend, 'wasm');
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});

test('softmax of a logit row: sums to one, keeps the order, stable for large logits', async () => {
  const { softmax } = await import('../src/model/predict');
  const p = softmax([1000, 1001, 999]);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(p[1] > p[0] && p[0] > p[2]);
  assert.ok(Math.abs(p[1] / p[0] - Math.E) < 1e-9);
});

test('MLM loss over an output vocabulary: cross-entropy over those tokens only, zero gradient for the rest', async () => {
  await backend();
  const { mlmLoss } = await import('../src/train/steps');
  const { mlmLogits, outputVocabulary, encode } = await import('../src/model');
  const p = tinyModel({ config: { ...TINY_CONFIGS.small, vocabSize: 40 }, mlm: true, seed: 4 });
  const v = outputVocabulary([5, 7, 11, 12, 20, 33], 40);
  const batch = {
    inputIds: [[2, 5, 4, 11, 3], [2, 20, 4, 4, 3]],
    tokenTypeIds: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
    attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    labels: [[-100, -100, 7, -100, -100], [-100, -100, 33, 12, -100]],
    shape: [2, 5] as [number, number],
  };
  const before = tf.memory().numTensors; // by hand: the loss and the correct count are returned on purpose
  const out = mlmLoss(p, batch, undefined, true, v);
  assert.equal(tf.memory().numTensors - before, 2);
  // by hand: log-softmax over the six output tokens of the full logits at positions 2, 7, 8
  const expected = tf.tidy(() => {
    const ids = tf.tensor2d(batch.inputIds, undefined, 'int32');
    const full = mlmLogits(p, encode(p, ids).hidden, tf.tensor1d([2, 7, 8], 'int32')); // [3, 40]
    const sub = tf.gather(full, tf.tensor1d(v.ids, 'int32'), 1); // [3, 6]
    const logp = tf.logSoftmax(sub); // [3, 6]
    const picked = tf.gather(tf.reshape(logp, [-1]), tf.tensor1d([0 * 6 + 1, 1 * 6 + 5, 2 * 6 + 3], 'int32')); // [3]
    return -tf.mean(picked).arraySync();
  });
  assert.ok(Math.abs((await out.loss.data())[0] - (expected as number)) < 1e-5);
  assert.equal(out.count, 3);
  tf.dispose([out.loss, out.correct!]);
  const { grads } = lossAndGrads(namedParams(p), () => mlmLoss(p, batch, 1, false, v).loss);
  const gE = (await grads.get('bert.embeddings.word_embeddings.weight')!.array()) as number[][];
  const gB = (await grads.get('cls.predictions.bias')!.array()) as number[];
  const used = new Set([...v.ids, ...batch.inputIds.flat()]);
  for (let id = 0; id < 40; id++) {
    if (used.has(id)) continue;
    assert.ok(gE[id].every((x) => x === 0), `no gradient reaches the row of token ${id}`);
    assert.equal(gB[id], 0);
  }
  assert.ok(gE[33].some((x) => x !== 0) && gB[33] !== 0, 'output tokens get gradients');
  tf.dispose([...grads.values()]);
  assert.throws(() => mlmLoss(p, { ...batch, labels: [[-100, -100, 8, -100, -100], [-100, -100, -100, -100, -100]] }, undefined, false, v), /MLM target token 8 is not in the output vocabulary/);
  disposeParams(p);
});

test('the MLM dev batches are the same draw whatever the training batch size', () => {
  const tok = loadTokenizer();
  const dev = packSequences(tok, readCorpus({ limitLines: 40 }), { maxLength: 32 }).slice(0, 70);
  const b = mlmDevBatches(dev, tok);
  assert.deepEqual(b.map((x) => x.shape[0]), [32, 32, 6]);
  assert.deepEqual(b[1], mlmBatch(dev.slice(32, 64), tok, 777 + 32));
  assert.deepEqual(mlmDevBatches(dev, tok), b, 'deterministic');
});

test('progress: time left counts only the steps done since a resumed run started', () => {
  assert.equal(remainingSeconds(10, 0, 100), undefined);
  assert.equal(remainingSeconds(10, 10, 100), 90); // 1 s per step, 90 steps left
  assert.equal(remainingSeconds(10, 1610, 1700, 1600), 90); // resumed at 1,600: 10 steps in 10 s
  assert.equal(remainingSeconds(10, 1600, 1700, 1600), undefined);
});

test('a checkpoint carries its own vocabulary: pre-training saves it, continuing and fine-tuning use it', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-vocab-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  await expectNoLeak(async () => {
    // a smaller WordPiece vocabulary: BERT's first 3,000 entries (specials, single characters, common words)
    const bert = fs.readFileSync(path.join(__dirname, '..', 'data', 'vocab', 'bert-base-uncased-vocab.txt'), 'utf8').split('\n');
    const vocabFile = path.join(dir, 'small-vocab.txt');
    fs.writeFileSync(vocabFile, bert.slice(0, 3000).join('\n') + '\n');
    const model = { ...CONFIGS.tiny, hiddenSize: 32, numHeads: 2, intermediateSize: 64, maxPositions: 64 };
    const small = { ...PRETRAIN_DEFAULTS, model, maxLength: 32, batchSize: 8, limitLines: 6, devFraction: 0.1, trainer: { ...PRETRAIN_DEFAULTS.trainer, epochs: 1, maxSteps: 2 } };
    const pt = await pretrain(path.join(dir, 'pt'), { ...small, tokenizer: vocabFile });
    assert.equal(pt.params.config.vocabSize, 3000);
    disposeParams(pt.params);
    assert.equal(fs.readFileSync(path.join(dir, 'pt', 'vocab.txt'), 'utf8'), fs.readFileSync(vocabFile, 'utf8'), 'the checkpoint carries its vocabulary');
    // continuing from it needs no --tokenizer (BERT's 30,522 tokens would be a size mismatch), and saves it again
    const pt2 = await pretrain(path.join(dir, 'pt2'), { ...small, from: path.join(dir, 'pt') });
    assert.equal(pt2.params.config.vocabSize, 3000);
    disposeParams(pt2.params);
    assert.ok(fs.existsSync(path.join(dir, 'pt2', 'vocab.txt')));
    const ft = await finetune({ ...FINETUNE_DEFAULTS, task: 'SST-2', checkpoint: path.join(dir, 'pt2'), maxLength: 32, limitTrain: 32, limitDev: 16, trainer: { ...FINETUNE_DEFAULTS.trainer, epochs: 1 } }, { outDir: path.join(dir, 'ft') });
    disposeParams(ft.params);
    assert.equal(checkpointTokenizer(path.join(dir, 'ft')).vocabSize, 3000, 'the fine-tuned model carries it too, for predict');
    assert.equal(checkpointTokenizer(fs.mkdtempSync(path.join(dir, 'none-'))).vocabSize, 30522, 'a folder without one means BERT uncased');
  }, 'pre-training, continuing and fine-tuning with a checkpoint vocabulary');
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});
