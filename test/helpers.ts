/**
 * Shared test helpers: tiny model configurations and a saved tiny checkpoint, a leak check, disposal of a
 * method step's result, the largest absolute difference, and a central finite-difference check of a
 * gradient. Every test imports these instead of writing its own.
 */
import assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { BertConfig, BertParams, CONFIGS, MlmBatch, TaskBatch, disposeParams, initParams, saveCheckpoint } from '../src/model';
import { loadTokenizer } from '../src/tokenizer';
import * as fs from 'fs';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/train/pretrain';

/** The smallest configurations that still have every part of BERT (2 layers, 2 heads). */
export const TINY_CONFIGS = {
  /** 16 tokens, hidden 8: for loops and resume tests. */
  micro: { ...CONFIGS.tiny, vocabSize: 16, hiddenSize: 8, numHeads: 2, intermediateSize: 16, maxPositions: 16 } as BertConfig,
  /** 50 tokens, hidden 16: for gradients and methods. */
  small: { ...CONFIGS.tiny, vocabSize: 50, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 16 } as BertConfig,
};

/** A tiny model with a classification (numLabels >= 2), regression (1) or MLM head. */
export function tinyModel(options: { config?: BertConfig; numLabels?: number; mlm?: boolean; seed?: number } = {}): BertParams {
  const { config = TINY_CONFIGS.small, numLabels, mlm, seed = 1 } = options;
  return initParams(config, { numLabels: mlm ? undefined : (numLabels ?? 2), mlm, seed });
}

/** Saves a micro MLM model over BERT's vocabulary (maxPositions 64, seed 3) to DIR/ckpt, for trainer tests; returns that folder. */
export async function tinyCheckpoint(dir: string): Promise<string> {
  const p = tinyModel({ config: { ...TINY_CONFIGS.micro, vocabSize: loadTokenizer().vocabSize, maxPositions: 64 }, mlm: true, seed: 3 });
  const out = path.join(dir, 'ckpt');
  await saveCheckpoint(p, out);
  disposeParams(p);
  return out;
}

/** Disposes a method step's result: its loss, gradients and metrics. */
export function disposeStepResult(r: { loss: tf.Tensor; grads: Map<string, tf.Tensor>; metrics: Record<string, tf.Tensor> }): void {
  tf.dispose([r.loss, ...r.grads.values(), ...Object.values(r.metrics)]);
}

/** Initialises the default backend quietly (every test file calls it first). */
export async function backend(): Promise<void> {
  await initBackend({ log: false });
}

/** Runs f and asserts that it leaves no tensor behind (tensors it returns count as left behind). */
export async function expectNoLeak<T>(f: () => T | Promise<T>, what = 'the operation'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await f();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensor(s)`);
  return result;
}

/** max |a - b| over all entries (tensors or nested number arrays of the same shape). */
export function maxAbsDiff(a: tf.Tensor | ArrayLike<number> | number[][], b: tf.Tensor | ArrayLike<number> | number[][]): number {
  const flat = (x: tf.Tensor | ArrayLike<number> | number[][]): number[] =>
    x instanceof tf.Tensor ? Array.from(x.dataSync() as Float32Array) : Array.isArray(x) && Array.isArray(x[0]) ? (x as number[][]).flat() : Array.from(x as ArrayLike<number>);
  const fa = flat(a);
  const fb = flat(b);
  assert.equal(fa.length, fb.length, `maxAbsDiff: ${fa.length} vs ${fb.length} entries`);
  let m = 0;
  for (let i = 0; i < fa.length; i++) m = Math.max(m, Math.abs(fa[i] - fb[i]));
  return m;
}

/**
 * Checks an analytic gradient against central finite differences of f at `x` along `directions`
 * random directions u: (f(x + h u) - f(x - h u)) / 2h must equal <grad, u> within `tol` (relative to
 * the larger of the two, floored at 1e-3), or within `atol` absolutely (float32 losses resolve
 * differences of about 1e-7 times their size). The first direction is the gradient itself (the
 * strongest signal), the others random. f must be deterministic (no dropout). Returns the worst
 * relative error.
 */
export function checkGradient(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, grad: tf.Tensor, options: { h?: number; tol?: number; atol?: number; directions?: number; seed?: number } = {}): number {
  const { h = 1e-2, tol = 2e-2, atol = 2e-5, directions = 3, seed = 7 } = options;
  let worst = 0;
  for (let k = 0; k < directions; k++) {
    const [fd, an] = tf.tidy(() => {
      const raw = k === 0 ? grad : tf.randomUniform(x.shape, -1, 1, 'float32', seed + k); // x.shape
      const u = tf.div(raw, tf.add(tf.norm(raw), 1e-12)); // x.shape, unit norm
      const plus = f(tf.add(x, tf.mul(u, h))).dataSync()[0];
      const minus = f(tf.sub(x, tf.mul(u, h))).dataSync()[0];
      return [(plus - minus) / (2 * h), tf.sum(tf.mul(grad, u)).dataSync()[0]];
    });
    const rel = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-3);
    worst = Math.max(worst, rel);
    assert.ok(rel < tol || Math.abs(fd - an) < atol, `finite difference ${fd} vs analytic ${an} (relative error ${rel.toExponential(2)}) along direction ${k}`);
  }
  return worst;
}

/**
 * A small task batch: B sequences of length T, sequence b with T - b real tokens (ids below 42),
 * padding after; labels b % numLabels (numLabels 1: regression targets); with `pairs`, token type 1
 * from position 3.
 */
export function taskBatch(B = 3, T = 6, numLabels = 2, pairs = false): TaskBatch {
  const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t < T - b ? 2 + ((b * 7 + t * 3) % 40) : 0)));
  return {
    kind: 'task',
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    tokenTypeIds: tf.tensor2d(ids.map((r) => r.map((v, t) => (pairs && v && t >= 3 ? 1 : 0))), [B, T], 'int32'),
    attentionMask: tf.tensor2d(ids.map((r) => r.map((v) => (v ? 1 : 0))), [B, T], 'float32'),
    labels: numLabels === 1 ? tf.tensor1d([0.5, 2, 4.5, 1, 3].slice(0, B)) : tf.tensor1d(Array.from({ length: B }, (_, b) => b % numLabels), 'int32'),
  };
}

/** The MLM version of taskBatch() (3 x 6): masked positions 1, 3, 7 with targets 5, 9, 11; with `withOutputIds`, a 12-token output vocabulary. */
export function mlmBatch(withOutputIds = false): MlmBatch {
  const b = taskBatch();
  b.labels.dispose();
  const out: MlmBatch = { ...b, kind: 'mlm', positions: tf.tensor1d([1, 3, 7], 'int32'), targets: tf.tensor1d([5, 9, 11], 'int32') };
  if (withOutputIds) {
    out.outputIds = tf.tensor1d([0, 3, 5, 7, 9, 11, 13, 20, 30, 41, 42, 43], 'int32');
    out.targets.dispose();
    out.targets = tf.tensor1d([2, 4, 5], 'int32'); // columns of the output vocabulary
  }
  return out;
}

/**
 * Two MLM pre-training steps with `method` from the tiny checkpoint `ckpt` into `dir`, on 12 lines
 * of the corpus; returns the run record that pre-training appended to $ADVLM_RUNS_FILE (set it).
 */
export async function tinyPretrainRecord(dir: string, ckpt: string, method: string): Promise<Record<string, any>> {
  if (!process.env.ADVLM_RUNS_FILE) throw new Error('tinyPretrainRecord: set ADVLM_RUNS_FILE to a temporary file first');
  const pt = await pretrain(dir, {
    ...PRETRAIN_DEFAULTS, from: ckpt, method, maxLength: 32, batchSize: 8, limitLines: 12, devFraction: 0.1, trainer: { ...PRETRAIN_DEFAULTS.trainer, epochs: 1, maxSteps: 2 },
  });
  disposeParams(pt.params);
  const rec = JSON.parse(fs.readFileSync(process.env.ADVLM_RUNS_FILE, 'utf8').trim().split('\n').pop()!);
  assert.equal(rec.command, 'pretrain');
  assert.equal(rec.method, method);
  return rec;
}
