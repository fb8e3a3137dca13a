import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backendFromArgs, initBackend, parseBackendName } from '../src/backend';
import { unsortedSegmentSumValues } from '../src/backend_wasm_kernels';
import { backend, expectNoLeak, maxAbsDiff } from './helpers';

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    require(pkg);
    return tf.findBackendFactory('tensorflow') !== null;
  } catch {
    return false;
  }
}

test('with no setting, the first backend that loads is picked and the better ones say why not', async () => {
  const saved = process.env.ADVLM_BACKEND;
  delete process.env.ADVLM_BACKEND;
  try {
    const r = await initBackend({ log: false });
    const ok = r.attempts.filter((a) => a.ok);
    assert.equal(ok.length, 1);
    assert.equal(r.attempts[r.attempts.length - 1].name, r.name);
    for (const a of r.attempts.slice(0, -1)) assert.match(a.reason ?? '', /\S/);
    if (!installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node')) assert.equal(r.name, 'wasm');
    assert.equal(tf.getBackend(), r.tfName);
    assert.match(r.line, new RegExp(`backend ${r.name}`));
  } finally {
    if (saved !== undefined) process.env.ADVLM_BACKEND = saved;
  }
});

test('a backend asked for that cannot load is an error with the reason, not a fallback', async () => {
  if (installed('@tensorflow/tfjs-node')) return assert.ok(true, 'tfjs-node works on this machine');
  const before = tf.getBackend();
  await assert.rejects(initBackend({ backend: 'tensorflow', log: false }), /tensorflow.*cannot be used: @tensorflow\/tfjs-node/);
  assert.equal(tf.getBackend(), before);
});

test('ADVLM_BACKEND is honoured', async () => {
  const saved = process.env.ADVLM_BACKEND;
  process.env.ADVLM_BACKEND = 'cpu';
  try {
    const r = await initBackend({ log: false });
    assert.equal(r.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(r.requested, true);
  } finally {
    if (saved === undefined) delete process.env.ADVLM_BACKEND;
    else process.env.ADVLM_BACKEND = saved;
  }
});

test('backend names and the --backend flag are parsed strictly', () => {
  assert.equal(parseBackendName('WASM'), 'wasm');
  assert.equal(parseBackendName('tfjs-node-gpu'), 'tensorflow-gpu');
  assert.throws(() => parseBackendName('cuda'), /Unknown backend 'cuda'.*tensorflow-gpu, tensorflow, wasm, cpu/);
  assert.equal(backendFromArgs(['finetune', '--backend', 'cpu']), 'cpu');
  assert.equal(backendFromArgs(['--backend=wasm']), 'wasm');
  assert.equal(backendFromArgs(['finetune']), undefined);
  assert.throws(() => backendFromArgs(['--backend']), /needs a value/);
});

test('unsortedSegmentSumValues sums repeated ids and drops out-of-range ones', () => {
  const out = new Float32Array(6);
  // x: 4 rows of 2; ids 2, 0, 2, 5 (5 is out of range for 3 segments)
  unsortedSegmentSumValues(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), Int32Array.from([2, 0, 2, 5]), 3, out);
  assert.deepEqual(Array.from(out), [3, 4, 0, 0, 6, 8]);
});

/** Gradient of sum(w * gather(E, ids)) with respect to E, computed on one backend. */
async function gatherGrad(backend: string, E: number[], shape: [number, number], ids: number[][], w: number[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const table = tf.tensor2d(E, shape); // [V, D]
    const idx = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32'); // [B, T]
    const weights = tf.tensor(w, [ids.length, ids[0].length, shape[1]]); // [B, T, D]
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), weights)))(table); // [V, D]
    return g.dataSync() as Float32Array;
  });
}

test('the gradient of an embedding lookup on wasm matches the cpu backend (repeated indices)', async () => {
  await initBackend({ backend: 'wasm', log: false });
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const V = 50;
  const D = 16;
  const E = Array.from({ length: V * D }, rand);
  const ids = Array.from({ length: 4 }, (_, b) => Array.from({ length: 12 }, (_, t) => (b * 7 + t * 3) % 9)); // many repeats
  ids[0][0] = V - 1;
  const w = Array.from({ length: 4 * 12 * D }, rand);
  const cpu = await gatherGrad('cpu', E, [V, D], ids, w);
  const wasm = await gatherGrad('wasm', E, [V, D], ids, w);
  assert.equal(wasm.length, V * D);
  const maxDiff = maxAbsDiff(cpu, wasm);
  assert.ok(maxDiff < 1e-5, `max |cpu - wasm| = ${maxDiff}`);
  // a row hit many times is the sum of its weights, not one of them
  const row0 = Array.from(wasm.slice(0, D));
  assert.ok(row0.some((v) => Math.abs(v) > 1e-3));
  await backend();
});

test('the wasm UnsortedSegmentSum kernel leaks no tensors', async () => {
  await initBackend({ backend: 'wasm', log: false });
  await expectNoLeak(() => {
    const x = tf.randomNormal([6, 3]);
    const ids = tf.tensor1d([0, 1, 1, 3, 3, 3], 'int32');
    const y = tf.unsortedSegmentSum(x, ids, 4); // [4, 3]
    const expected = tf.tidy(() => tf.stack([x.slice(0, 1).sum(0), x.slice(1, 2).sum(0), tf.zeros([3]), x.slice(3, 3).sum(0)]));
    assert.ok(maxAbsDiff(y, expected) < 1e-5);
    tf.dispose([x, ids, y, expected]);
  }, 'unsortedSegmentSum on wasm');
});

test('wasm matMul with transposes, batches and broadcasting matches the cpu backend', async () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [2, 3, 5, 7], b: [2, 3, 7, 4], ta: false, tb: false },
    { a: [2, 3, 5, 7], b: [2, 3, 4, 7], ta: false, tb: true },
    { a: [4, 7, 5], b: [4, 7, 3], ta: true, tb: false },
    { a: [4, 5, 7], b: [1, 7, 3], ta: false, tb: false }, // b broadcast over the batch
  ];
  for (const c of cases) {
    const av = Array.from({ length: c.a.reduce((x, y) => x * y) }, (_, i) => Math.sin(i * 1.3));
    const bv = Array.from({ length: c.b.reduce((x, y) => x * y) }, (_, i) => Math.cos(i * 0.7));
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const y = tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb);
        return { shape: y.shape, values: Array.from(y.dataSync()) };
      });
    };
    const cpu = await run('cpu');
    await initBackend({ backend: 'wasm', log: false });
    const wasm = await expectNoLeak(() => run('wasm'), 'matMul on wasm');
    assert.deepEqual(wasm.shape, cpu.shape, JSON.stringify(c));
    const diff = maxAbsDiff(cpu.values, wasm.values);
    assert.ok(diff < 1e-4, `${JSON.stringify(c)}: max diff ${diff}`);
  }
  await backend();
});

test('wasm gather (slice copies) matches the cpu backend on every axis, index shape and dtype, and rejects bad indices', async () => {
  const cases: { x: number[]; dtype: 'float32' | 'int32' | 'bool'; ids: number[]; idShape: number[]; axis: number }[] = [
    { x: [9, 4], dtype: 'float32', ids: [3, 0, 3, 8], idShape: [4], axis: 0 }, // embedding rows, repeated
    { x: [9, 4], dtype: 'float32', ids: [2, 5, 1, 1, 0, 7], idShape: [2, 3], axis: 0 }, // [B, T] ids
    { x: [11], dtype: 'float32', ids: [10, 0, 4], idShape: [3], axis: 0 }, // a bias vector
    { x: [3, 5, 2], dtype: 'float32', ids: [4, 0], idShape: [2], axis: 1 }, // a middle axis
    { x: [3, 5, 2], dtype: 'int32', ids: [1, 1, 0], idShape: [3], axis: 2 }, // the last axis, ints
    { x: [6], dtype: 'bool', ids: [5, 2], idShape: [2], axis: 0 },
    { x: [4, 3], dtype: 'float32', ids: [], idShape: [0], axis: 0 }, // nothing gathered
  ];
  for (const c of cases) {
    const size = c.x.reduce((a, b) => a * b, 1);
    const xv = Array.from({ length: size }, (_, i) => (c.dtype === 'float32' ? Math.sin(i * 0.9) : i % 3 === 0 ? 1 : i));
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const y = tf.gather(tf.tensor(xv, c.x, c.dtype), tf.tensor(c.ids, c.idShape, 'int32'), c.axis);
        return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
      });
    };
    const cpu = await run('cpu');
    await initBackend({ backend: 'wasm', log: false });
    const wasm = await expectNoLeak(() => run('wasm'), 'gather on wasm');
    assert.deepEqual(wasm, cpu, JSON.stringify(c));
  }
  await initBackend({ backend: 'wasm', log: false });
  await expectNoLeak(() => {
    const x = tf.ones([4, 2]);
    const ids = tf.tensor1d([1, 4], 'int32');
    assert.throws(() => tf.gather(x, ids), /index value 4 is not in \[0, 3\]/);
    tf.dispose([x, ids]);
  }, 'gather with an index out of range');
  await backend();
});

test('wasm sum over leading axes (row additions) matches the cpu backend; other reductions are unchanged', async () => {
  const cases: { x: number[]; axis: number | number[]; keepDims?: boolean; dtype?: 'float32' | 'int32' }[] = [
    { x: [7, 5], axis: 0 }, // a bias gradient
    { x: [3, 4, 5], axis: [0, 1] }, // a bias gradient of [B, T, D]
    { x: [3, 4, 5], axis: [1, 0], keepDims: true },
    { x: [3, 4, 5], axis: 0 },
    { x: [3, 4, 5], axis: -1 }, // the last axis: the original kernel
    { x: [3, 4, 5], axis: [0, 2] }, // not a leading block: the original kernel
    { x: [3, 4], axis: [0, 1] }, // every axis: the original kernel
    { x: [6, 2], axis: 0, dtype: 'int32' },
    { x: [0, 3], axis: 0 }, // no rows: zeros
  ];
  for (const c of cases) {
    const size = c.x.reduce((a, b) => a * b, 1);
    const xv = Array.from({ length: size }, (_, i) => (c.dtype === 'int32' ? i % 7 : Math.sin(i * 1.7) * 3));
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const y = tf.sum(tf.tensor(xv, c.x, c.dtype ?? 'float32'), c.axis, c.keepDims);
        return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
      });
    };
    const cpu = await run('cpu');
    await initBackend({ backend: 'wasm', log: false });
    const wasm = await expectNoLeak(() => run('wasm'), 'sum on wasm');
    assert.deepEqual([wasm.shape, wasm.dtype], [cpu.shape, cpu.dtype], JSON.stringify(c));
    assert.ok(maxAbsDiff(wasm.values, cpu.values) < 1e-5, `${JSON.stringify(c)}: max diff ${maxAbsDiff(wasm.values, cpu.values)}`);
  }
  await backend();
});

test('wasm sign is exact for tiny magnitudes (as on cpu)', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const s = await expectNoLeak(() => tf.tidy(() => Array.from(tf.sign(tf.tensor1d([1e-9, -1e-9, 1e-30, -3e-8, 0, 2, -5])).dataSync())), 'sign on wasm');
  assert.deepEqual(s, [1, -1, 1, -1, 0, 1, -1]);
  await backend();
});

test('the threaded wasm build runs on 2 threads under Node, computes what one thread does, and lets the process exit', () => {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  const run = (threads: string) => {
    const text = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/wasm_threads_probe.ts'], {
      env: { ...process.env, ADVLM_BACKEND: 'wasm', ADVLM_WASM_THREADS: threads },
      encoding: 'utf8',
      timeout: 120_000, // a pool that kept the process alive would hang here
    });
    return JSON.parse(text.trim().split('\n').pop() as string) as { threads: number; line: string; product: number[]; logits: number[] };
  };
  const one = run('1');
  const two = run('2');
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2, two.line);
  assert.match(two.line, /wasm \(requested, 2 threads\)/);
  assert.ok(maxAbsDiff(one.product, two.product) < 1e-4, `matMul differs by ${maxAbsDiff(one.product, two.product)}`);
  assert.ok(maxAbsDiff(one.logits, two.logits) < 1e-5, `logits differ by ${maxAbsDiff(one.logits, two.logits)}`);
});

test('ADVLM_WASM_THREADS is checked before the backend starts', () => {
  const { parseWasmThreads, defaultWasmThreads } = require('../src/backend_wasm_threads') as typeof import('../src/backend_wasm_threads');
  assert.equal(parseWasmThreads(undefined), defaultWasmThreads());
  assert.equal(parseWasmThreads('2'), 2);
  for (const bad of ['0', '1.5', 'two', '9']) assert.throws(() => parseWasmThreads(bad), /ADVLM_WASM_THREADS must be a whole number from 1 to 8.*got/);
});
