/**
 * Data-parallel steps (src/train/data_parallel.ts): with dropout off, two workers (this thread and a
 * worker thread, each on half of the batch) give the gradients and loss of one big batch, for plain
 * training, FreeLB and MLM pre-training; shards are cut and seeded as documented; methods that cannot
 * be sharded are refused before any work; nothing leaks.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { methodFromJson, methodNames, MethodStep } from '../src/adversarial/methods';
import { BackendReport } from '../src/backend';
import { mainWasmThreads, plannedWorkers, workersFor } from '../src/cli/workers';
import { BertConfig, MlmBatch, disposeModelBatch, disposeParams, namedParams } from '../src/model';
import { DataParallelStep, dataParallel, shardArrays, shardBatch, shardBounds, shardSeed } from '../src/train/data_parallel';
import { finetune } from '../src/train/finetune';
import { TINY_CONFIGS, backend, disposeStepResult, maxAbsDiff, mlmBatch, taskBatch, tinyCheckpoint, tinyModel } from './helpers';

const NO_DROPOUT: BertConfig = { ...TINY_CONFIGS.small, hiddenDropout: 0, attentionDropout: 0 };
const info = { step: 0, epoch: 0, seed: 7, replay: 0 };

test('shards: contiguous, sizes within one, seeds distinct except the first shard\'s', () => {
  assert.deepEqual(shardBounds(5, 2), [[0, 3], [3, 5]]);
  assert.deepEqual(shardBounds(7, 3), [[0, 3], [3, 5], [5, 7]]);
  assert.deepEqual(shardBounds(1, 4), [[0, 1]], 'never an empty shard');
  assert.equal(shardSeed(7, 0), 7);
  assert.notEqual(shardSeed(7, 3), 7);
  assert.notEqual(shardSeed(7, 3), shardSeed(7, 4));
  assert.notEqual(shardSeed(7, 3), shardSeed(8, 3));
});

test('an MLM batch is cut at its rows: positions move with their row, targets and output vocabulary follow', async () => {
  await backend();
  const b = mlmBatch(true); // 3 x 6, masked flat positions 1, 3, 7
  const second = shardArrays(b, 1, 3);
  assert.deepEqual(Array.from(second.positions!), [1], 'position 7 = row 1, column 1 -> row 0 of the shard');
  assert.deepEqual(Array.from(second.targets!), [5]);
  assert.equal(second.outputIds!.length, 12);
  const t = shardBatch(second);
  assert.deepEqual(t.inputIds.shape, [2, 6]);
  disposeModelBatch(t);
  disposeModelBatch(b);
});

/** 4 x 6 with masked flat positions 1, 3, 7 (rows 0, 0, 1) and 13, 20 (rows 2, 3): two shards score 3 and 2 tokens. */
function mlmBatch4(): MlmBatch {
  const b = taskBatch(4, 6);
  b.labels.dispose();
  return { ...b, kind: 'mlm', positions: tf.tensor1d([1, 3, 7, 13, 20], 'int32'), targets: tf.tensor1d([5, 9, 11, 2, 30], 'int32') };
}

async function compare(name: string, config: Record<string, unknown>, mlm: boolean) {
  const p = tinyModel({ config: NO_DROPOUT, mlm, seed: 2 });
  const spec = { name, config: methodFromJson(name, config).config as Record<string, unknown> };
  const objective = mlm ? 'mlm' : 'task';
  const one = methodFromJson(name, config).makeStep({ params: p, objective, taskKind: 'classification' });
  let two: MethodStep | undefined;
  try {
    two = await dataParallel(methodFromJson(name, config).makeStep({ params: p, objective, taskKind: 'classification' }), spec, p, { workers: 2, objective, taskKind: 'classification' });
    const batch = mlm ? mlmBatch4() : taskBatch(5, 6);
    const before = tf.memory().numTensors;
    const a = one.step(batch, info);
    const b = two.step(batch, info);
    assert.ok(Math.abs(a.loss.dataSync()[0] - b.loss.dataSync()[0]) < 1e-5, `${name}: loss ${a.loss.dataSync()[0]} vs ${b.loss.dataSync()[0]}`);
    assert.deepEqual([...b.grads.keys()].sort(), [...a.grads.keys()].sort());
    let worst = 0;
    for (const [k, g] of a.grads) worst = Math.max(worst, maxAbsDiff(g, b.grads.get(k)!));
    assert.ok(worst < 1e-5, `${name}: gradients differ by ${worst}`);
    assert.ok(tf.tidy(() => [...a.grads.values()].some((g) => tf.max(tf.abs(g)).dataSync()[0] > 1e-4)), 'the gradients are not all zero');
    disposeStepResult(a);
    disposeStepResult(b);
    // a second step on new weights: the worker's replica follows the main thread's weights
    for (const [, v] of namedParams(p)) tf.tidy(() => v.assign(tf.mul(v, 0.9)));
    const a2 = one.step(batch, info);
    const b2 = two.step(batch, info);
    assert.ok(Math.abs(a2.loss.dataSync()[0] - b2.loss.dataSync()[0]) < 1e-5, `${name}: after an update, loss ${a2.loss.dataSync()[0]} vs ${b2.loss.dataSync()[0]}`);
    disposeStepResult(a2);
    disposeStepResult(b2);
    assert.equal(tf.memory().numTensors, before, `${name}: the data-parallel step leaked`);
    // it says where its time went: two steps, each with a shard on either side
    const times = (two as DataParallelStep).times();
    assert.equal(times.steps, 2);
    assert.ok(times.ownShard > 0 && times.workerShard > 0 && times.workerCopyIn > 0 && times.workerCopyOut > 0, JSON.stringify(times));
    disposeModelBatch(batch);
  } finally {
    one.dispose();
    two?.dispose();
    disposeParams(p);
  }
}

test('plain fine-tuning on two workers equals one big batch (dropout off)', async () => {
  await backend();
  await compare('vanilla', {}, false);
});

test('FreeLB-2 (zero start) on two workers equals one big batch (dropout off)', async () => {
  await backend();
  await compare('freelb', { K: 2, initMag: 0, alpha: 0.05, eps: 0.2 }, false);
});

test('MLM pre-training on two workers equals one big batch: shards weighted by masked tokens (dropout off)', async () => {
  await backend();
  await compare('vanilla', {}, true);
});

test('methods that cannot be sharded are refused before any worker starts', async () => {
  await backend();
  const p = tinyModel({ config: NO_DROPOUT, seed: 2 });
  const freeat = methodFromJson('freeat', {});
  const s = freeat.makeStep({ params: p, objective: 'task', taskKind: 'classification' });
  await assert.rejects(dataParallel(s, { name: 'freeat', config: freeat.config as Record<string, unknown> }, p, { workers: 2, objective: 'task' }), /runs with one worker/);
  await assert.rejects(dataParallel(s, { name: 'freeat', config: {} }, p, { workers: 0, objective: 'task' }), /workers must be a whole number >= 1/);
  s.dispose();
  disposeParams(p);
});

test('finetune with two workers: trains and leaves no tensor behind; a method that cannot be sharded is refused', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-dp-'));
  const ckpt = await tinyCheckpoint(dir);
  const before = tf.memory().numTensors;
  const r = await finetune(
    { task: 'SST-2', checkpoint: ckpt, limitTrain: 24, limitDev: 8, batchSize: 8, maxLength: 16, trainer: { epochs: 1, seed: 0 } },
    { workers: 2, record: false, progress: { mode: 'silent' } },
  );
  assert.equal(r.train.steps, 3);
  assert.ok(r.train.losses.every(Number.isFinite));
  disposeParams(r.params);
  assert.equal(tf.memory().numTensors, before, 'finetune with workers leaked');
  await assert.rejects(
    finetune({ task: 'SST-2', checkpoint: ckpt, method: { name: 'rift' }, limitTrain: 8, batchSize: 4, maxLength: 16, trainer: { epochs: 1 } }, { workers: 2, record: false, progress: { mode: 'silent' } }),
    /'rift' owns trainable parameters .* runs with one worker/,
  );
  assert.equal(tf.memory().numTensors, before, 'a refused data-parallel run leaked');
  fs.rmSync(dir, { recursive: true });
});

test('every method declares whether it can share a minibatch (singleWorker), and the declaration matches what dataParallel refuses', async () => {
  await backend();
  const p = tinyModel({ config: NO_DROPOUT, seed: 2 });
  try {
    for (const name of methodNames()) {
      for (const config of name === 'freeat' ? [{}, { replays: 1 }] : [{}]) {
        const method = methodFromJson(name, config);
        const objective = method.objectives.includes('task') ? 'task' : 'mlm';
        const step = method.makeStep({ params: p, objective, taskKind: 'classification', teacher: () => p });
        try {
          const refused = step.params.length > 0 || step.replays > 1; // dataParallel's two refusals
          assert.equal(!!method.singleWorker, refused, `${name} ${JSON.stringify(config)}: singleWorker '${method.singleWorker}' but refused ${refused}`);
        } finally {
          step.dispose();
        }
      }
    }
  } finally {
    disposeParams(p);
  }
});

test('the command line shares minibatches by default on wasm: as many workers as the wasm threads would be, one for RIFT and FreeAT and on native backends', () => {
  const env = (threads?: string) => ({ ...(threads ? { ADVLM_WASM_THREADS: threads } : {}), SLURM_CPUS_PER_TASK: '3' });
  assert.equal(plannedWorkers(['--task', 'SST-2'], env()), 3, 'the cores (here Slurm\'s)');
  assert.equal(plannedWorkers(['--task', 'SST-2'], env('2')), 2);
  assert.equal(plannedWorkers(['--task', 'SST-2'], env('1')), 1, 'one thread, as sweep shards run: no workers');
  assert.equal(plannedWorkers(['--method', 'freelb'], env()), 3);
  assert.equal(plannedWorkers(['--method', 'rift'], env()), 1);
  assert.equal(plannedWorkers(['--method=freeat'], env()), 1);
  assert.equal(plannedWorkers(['--method', 'alum', '--workers', '2'], env('1')), 2, '--workers wins');
  assert.equal(plannedWorkers(['--backend', 'cpu'], env()), 1);
  assert.equal(plannedWorkers([], { ...env(), ADVLM_BACKEND: 'tensorflow' }), 1);
  assert.equal(mainWasmThreads(['--task', 'SST-2'], env('2')), 1, 'with workers, this thread takes one wasm thread');
  assert.equal(mainWasmThreads(['--method', 'rift'], env('2')), undefined);
  const wasm = { name: 'wasm' } as BackendReport;
  assert.equal(workersFor(['--task', 'SST-2'], wasm, env('2')), 2);
  assert.equal(workersFor(['--task', 'SST-2'], { name: 'tensorflow' } as BackendReport, env('2')), 1, 'a native backend uses every core itself');
  assert.equal(workersFor(['--workers', '2'], { name: 'tensorflow' } as BackendReport, env('2')), 2);
});

test('advlm finetune with no --workers on a 2-core wasm machine: two workers, this thread on one wasm thread', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-dp-cli-'));
  try {
    const { ADVLM_WASM_THREADS: _t, ADVLM_BACKEND: _b, ...rest } = process.env;
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, '..', 'src', 'cli', 'main.ts'), 'finetune', '--task', 'SST-2', '--max-steps', '2', '--limit-train', '16', '--limit-dev', '8', '--batch-size', '8', '--max-length', '16', '--out', path.join(dir, 'run')],
      { encoding: 'utf8', env: { ...rest, SLURM_CPUS_PER_TASK: '2', ADVLM_RUNS_FILE: path.join(dir, 'runs.jsonl') } },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /backend wasm .*1 thread\b/);
    assert.match(r.stdout, /data-parallel: 2 threads share each minibatch/);
    assert.ok(fs.existsSync(path.join(dir, 'run', 'model.safetensors')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
