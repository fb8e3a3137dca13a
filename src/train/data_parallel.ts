/**
 * Data-parallel training steps over worker threads: both cores on one minibatch.
 *
 * A minibatch of B examples is cut into S contiguous shards (S = the number of workers, the main
 * thread counting as one). The main thread runs the method on shard 0 while each worker thread runs
 * the same method, rebuilt from its registered name and JSON config, on its own shard with a replica
 * of the model. Each shard returns the mean loss over its own n_s examples (masked tokens for MLM)
 * and its gradients; the main thread combines them as the big batch would have them:
 *
 *   L = sum_s (n_s / N) L_s,    g = sum_s (n_s / N) g_s,    N = sum_s n_s
 *
 * which is exact whenever the loss is a mean over examples (or masked tokens) of per-example terms:
 * plain training, PGD and FreeLB (delta is normalised per example), FreeAT, YOPO, ALUM and ASCC (their
 * KL terms are batch means). With dropout off the result equals one big batch to float tolerance
 * (test/data_parallel.test.ts). The trainer then clips the combined gradient and takes one optimiser
 * step, on the main thread, exactly as without workers: a data-parallel step is just a MethodStep.
 *
 * Randomness: shard s draws its dropout masks and delta initialisation from (the minibatch's seed,
 * the shard's first example), `shardSeed`, so shards never share masks, and shard 0 (which starts at
 * example 0) draws exactly what the one-process step draws for those rows' seed.
 *
 * Transport: the weights go to the workers once per step through one SharedArrayBuffer (written by
 * the main thread, copied by each worker into its wasm memory), and each worker's gradients come back
 * through a SharedArrayBuffer of its own; the shard itself (token ids, a few KB) and the scalars
 * travel as messages. The main thread blocks on Atomics.wait while the workers finish, so the step
 * stays synchronous, as MethodStep requires.
 *
 * Not supported (refused when the step is built, with the reason): methods that own trainable
 * parameters, which today means RIFT (its projection heads; its InfoNCE also takes negatives from the
 * other examples of the batch, which a shard does not see), and methods with several replays per
 * minibatch (FreeAT), whose carried delta would have to follow the shard: run those with one worker.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'worker_threads';
import type { MethodSpec, MethodStep, Objective, StepInfo, StepResult, TaskKind, TrainBatch } from '../adversarial/method';
import { BertConfig, BertParams, disposeModelBatch, namedParams } from '../model';
import { defaultWasmThreads } from '../backend_wasm_threads';

/** Per-shard arrays of a minibatch: what a worker needs to rebuild the shard's tensors. */
export interface ShardArrays {
  kind: 'task' | 'mlm';
  shape: [number, number];
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Float32Array;
  /** Task: labels [n] (int32 for classes, float32 for regression). */
  labels?: Int32Array | Float32Array;
  /** MLM: flat positions b * T + t within the shard, targets, and the output vocabulary. */
  positions?: Int32Array;
  targets?: Int32Array;
  outputIds?: Int32Array;
  /** The raw examples of the shard's rows (word-level methods such as ASCC). */
  examples?: readonly unknown[];
}

/** The seed of shard s's randomness: the minibatch's own seed for the shard that starts at example 0. */
export function shardSeed(seed: number, firstExample: number): number {
  if (firstExample === 0) return seed;
  return (Math.imul(seed ^ 0x5bd1e995, 2246822519) + Math.imul(firstExample, 3266489917)) >>> 1;
}

/** Contiguous shard bounds [from, to) of B examples over S shards, sizes differing by at most one. */
export function shardBounds(B: number, S: number): [number, number][] {
  const n = Math.min(S, B);
  const out: [number, number][] = [];
  let from = 0;
  for (let s = 0; s < n; s++) {
    const size = Math.floor(B / n) + (s < B % n ? 1 : 0);
    out.push([from, from + size]);
    from += size;
  }
  return out;
}

/** The arrays of rows [from, to) of a minibatch (read from its tensors). */
export function shardArrays(batch: TrainBatch, from: number, to: number): ShardArrays {
  const [, T] = batch.inputIds.shape as [number, number];
  const rows = <A extends Int32Array | Float32Array>(a: A) => a.slice(from * T, to * T) as A;
  const base = {
    shape: [to - from, T] as [number, number],
    inputIds: rows(batch.inputIds.dataSync() as Int32Array),
    tokenTypeIds: batch.tokenTypeIds ? rows(batch.tokenTypeIds.dataSync() as Int32Array) : new Int32Array((to - from) * T),
    attentionMask: batch.attentionMask ? rows(batch.attentionMask.dataSync() as Float32Array) : new Float32Array((to - from) * T).fill(1),
    ...(batch.examples ? { examples: batch.examples.slice(from, to) } : {}),
  };
  if (batch.kind === 'task') {
    const labels = batch.labels.dataSync() as Int32Array | Float32Array;
    return { kind: 'task', ...base, labels: labels.slice(from, to) };
  }
  const positions = batch.positions.dataSync() as Int32Array;
  const targets = batch.targets.dataSync() as Int32Array;
  const keep: number[] = [];
  for (let i = 0; i < positions.length; i++) if (positions[i] >= from * T && positions[i] < to * T) keep.push(i);
  return {
    kind: 'mlm',
    ...base,
    positions: Int32Array.from(keep, (i) => positions[i] - from * T),
    targets: Int32Array.from(keep, (i) => targets[i]),
    ...(batch.outputIds ? { outputIds: batch.outputIds.dataSync() as Int32Array } : {}),
  };
}

/** A shard's tensors (the caller disposes them with disposeModelBatch). */
export function shardBatch(a: ShardArrays): TrainBatch {
  const inputs = {
    inputIds: tf.tensor2d(a.inputIds, a.shape, 'int32'), // [n, T]
    tokenTypeIds: tf.tensor2d(a.tokenTypeIds, a.shape, 'int32'), // [n, T]
    attentionMask: tf.tensor2d(a.attentionMask, a.shape, 'float32'), // [n, T]
  };
  const examples = a.examples ? { examples: a.examples } : {};
  if (a.kind === 'task') return { kind: 'task', ...inputs, labels: tf.tensor1d(a.labels!, a.labels instanceof Int32Array ? 'int32' : 'float32'), ...examples }; // [n]
  return {
    kind: 'mlm',
    ...inputs,
    positions: tf.tensor1d(a.positions!, 'int32'), // [M_s]
    targets: tf.tensor1d(a.targets!, 'int32'), // [M_s]
    ...(a.outputIds ? { outputIds: tf.tensor1d(a.outputIds, 'int32') } : {}), // [S]
    ...examples,
  };
}

/** What the loss of a shard averages over: its examples, or its masked tokens for MLM. */
function shardCount(a: ShardArrays): number {
  return a.kind === 'mlm' ? a.positions!.length : a.shape[0];
}

/** How a worker builds its replica: the same method, objective and architecture as the main thread's. */
export interface WorkerSetup {
  method: Required<MethodSpec>;
  objective: Objective;
  taskKind?: TaskKind;
  /** The model's architecture and heads, for the replica (its values come from the main thread each step). */
  config: BertConfig;
  heads: { numLabels?: number; mlm?: boolean };
  /** tokenizer.json of the run (word-level methods), else BERT uncased. */
  tokenizerFile?: string;
  /** The names and sizes of the parameters, in namedParams order (a check that the replica matches). */
  names: string[];
  sizes: number[];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  /** Int32 flag: 0 idle, 1 working, 2 done, 3 failed. */
  flag: SharedArrayBuffer;
  port: MessagePort;
  /** wasm threads of the worker's backend (1: the workers are the parallelism). */
  threads: number;
}

/** A worker's answer for one shard (its gradients are in its SharedArrayBuffer). */
export interface ShardReply {
  loss: number;
  metrics: Record<string, number>;
  /** Parameters the shard's loss reached (the others have no gradient). */
  present: boolean[];
  /** Where the worker's time went, ms: weights into its replica, the method's step, gradients out. */
  ms: { copyIn: number; shard: number; copyOut: number };
  error?: string;
}

/**
 * Where a data-parallel step's time goes, ms summed over `steps` steps (read with `times()` on the
 * step `dataParallel` returns; the bench prints it per step). On the main thread: cutting the shards
 * and writing the weights for the workers, its own shard, waiting for the slowest worker after it,
 * and combining the gradients; in the slowest worker of each step: copying the weights into its
 * replica, its shard, copying its gradients out. The copies and the combining are what the workers
 * cost beyond the shards themselves.
 */
export interface DataParallelTimes {
  steps: number;
  /** Cutting the shards and writing the weights into shared memory. */
  weightsOut: number;
  ownShard: number;
  wait: number;
  combine: number;
  workerCopyIn: number;
  workerShard: number;
  workerCopyOut: number;
}

/** A data-parallel step: a MethodStep that also says where its time went. */
export type DataParallelStep = MethodStep & { times(): DataParallelTimes };

export interface DataParallelOptions {
  /** Worker threads plus the main thread (default: as many as wasm threads would be, `defaultWasmThreads`). 1 = no workers. */
  workers?: number;
  objective: Objective;
  taskKind?: TaskKind;
  tokenizerFile?: string;
}

interface WorkerHandle {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
  grads: Float32Array;
}

/** How long a step waits for a worker before giving up on it. */
const WORKER_DEADLINE_MS = 30 * 60_000;

const BOOT = `require('tsx/cjs/api').register(); require(require('worker_threads').workerData.file);`;

/**
 * Wraps a method's step on `params` so that each minibatch is shared with `workers - 1` worker
 * threads (see the header). Returns the step unchanged for one worker. The returned step's dispose
 * ends the workers and disposes the local step.
 */
export async function dataParallel(local: MethodStep, spec: Required<MethodSpec>, params: BertParams, o: DataParallelOptions): Promise<MethodStep | DataParallelStep> {
  const S = o.workers ?? defaultWasmThreads();
  if (!(Number.isInteger(S) && S >= 1)) throw new Error(`workers must be a whole number >= 1, got ${S}`);
  if (S === 1) return local;
  if (local.params.length > 0) throw new Error(`method '${spec.name}' owns trainable parameters (${local.params.length} tensors, e.g. ${local.params[0][0]}): it runs with one worker (workers: 1)`);
  if (local.replays > 1) throw new Error(`method '${spec.name}' takes ${local.replays} optimiser steps per minibatch with a carried delta: it runs with one worker (workers: 1)`);
  const named = namedParams(params);
  const names = named.map(([n]) => n);
  const sizes = named.map(([, v]) => v.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const weightsBuf = new SharedArrayBuffer(total * 4);
  const weights = new Float32Array(weightsBuf);
  const heads = { ...(params.classifier ? { numLabels: params.classifier.weight.shape[0] } /* [numLabels, D] */ : {}), ...(params.mlm ? { mlm: true } : {}) };
  const handles: WorkerHandle[] = [];
  const file = path.join(__dirname, 'data_parallel_worker.ts');
  try {
    for (let w = 1; w < S; w++) {
      const gradsBuf = new SharedArrayBuffer(total * 4);
      const flagBuf = new SharedArrayBuffer(4);
      const { port1, port2 } = new MessageChannel();
      const setup: WorkerSetup = { method: spec, objective: o.objective, taskKind: o.taskKind, config: params.config, heads, tokenizerFile: o.tokenizerFile, names, sizes, weights: weightsBuf, grads: gradsBuf, flag: flagBuf, port: port2, threads: 1 };
      const worker = new Worker(BOOT, { eval: true, workerData: { file, setup }, transferList: [port2] });
      worker.unref();
      handles.push({ worker, port: port1, flag: new Int32Array(flagBuf), grads: new Float32Array(gradsBuf) });
    }
    // every worker builds its replica and says so (or why it could not)
    await Promise.all(
      handles.map(
        (h, i) =>
          new Promise<void>((resolve, reject) => {
            h.worker.once('error', (e) => reject(new Error(`data-parallel worker ${i + 1} failed to start: ${e.message}`)));
            h.port.once('message', (m: { ready?: boolean; error?: string }) => {
              h.port.removeAllListeners('message'); // from now on replies are read synchronously (receiveMessageOnPort)
              if (m.ready) resolve();
              else reject(new Error(`data-parallel worker ${i + 1}: ${m.error}`));
            });
          }),
      ),
    );
  } catch (e) {
    await Promise.all(handles.map((h) => h.worker.terminate()));
    throw e;
  }

  const writeWeights = () => {
    let at = 0;
    for (const [, v] of named) {
      weights.set(v.dataSync() as Float32Array, at);
      at += v.size;
    }
  };

  const times: DataParallelTimes = { steps: 0, weightsOut: 0, ownShard: 0, wait: 0, combine: 0, workerCopyIn: 0, workerShard: 0, workerCopyOut: 0 };
  const disposeResult = (r: StepResult) => tf.dispose([r.loss, ...r.grads.values(), ...Object.values(r.metrics)]);

  const step = (batch: TrainBatch, info: StepInfo): StepResult => {
    const bounds = shardBounds(batch.inputIds.shape[0], S);
    if (bounds.length === 1) return local.step(batch, info);
    const t0 = performance.now();
    const shards = bounds.map(([from, to]) => shardArrays(batch, from, to));
    const counts = shards.map(shardCount);
    const N = counts.reduce((a, b) => a + b, 0);
    if (N === 0) return local.step(batch, info); // nothing to score anywhere: the method says what it does with that
    writeWeights();
    const t1 = performance.now();
    // the workers start on their shards (a shard with nothing to score, e.g. no masked token, is left out)...
    const sent = shards.map((_, s) => s).filter((s) => s > 0 && counts[s] > 0);
    for (const s of sent) {
      const h = handles[s - 1];
      Atomics.store(h.flag, 0, 1);
      h.port.postMessage({ shard: shards[s], info: { ...info, seed: shardSeed(info.seed, bounds[s][0]) } });
    }
    // ...while this thread takes shard 0
    let mine: StepResult | undefined;
    let failure: unknown;
    if (counts[0] > 0) {
      const own = shardBatch(shards[0]);
      try {
        mine = local.step(own, info);
      } catch (e) {
        failure = e;
      } finally {
        disposeModelBatch(own);
      }
    }
    const t2 = performance.now();
    // wait for every worker, even after a failure here, so that none is left mid-shard
    const replies = new Map<number, ShardReply>();
    for (const s of sent) {
      const h = handles[s - 1];
      // a worker answers every shard (its errors included); the deadline only guards against one that died (out of memory)
      const deadline = Date.now() + WORKER_DEADLINE_MS;
      while (Atomics.load(h.flag, 0) === 1 && Date.now() < deadline) Atomics.wait(h.flag, 0, 1, 1000);
      if (Atomics.load(h.flag, 0) === 1) {
        failure ??= new Error(`data-parallel worker ${s} did not answer within ${WORKER_DEADLINE_MS / 60000} minutes (did it run out of memory?); run with workers: 1`);
        continue;
      }
      const reply = receiveMessageOnPort(h.port)?.message as ShardReply | undefined;
      Atomics.store(h.flag, 0, 0);
      if (!reply || reply.error) failure ??= new Error(`data-parallel worker ${s}: ${reply?.error ?? 'no reply'}`);
      else replies.set(s, reply);
    }
    if (failure) {
      if (mine) disposeResult(mine);
      throw failure;
    }
    const t3 = performance.now();
    // combine, each shard weighted by n_s / N
    const own = mine;
    const w0 = counts[0] / N;
    const others = sent.map((s) => ({ reply: replies.get(s)!, grads: handles[s - 1].grads, w: counts[s] / N }));
    const metricNames = Object.keys(own?.metrics ?? others[0].reply.metrics);
    const grads = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      let at = 0;
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        let g: tf.Tensor | undefined = own?.grads.has(name) ? tf.mul(own.grads.get(name)!, w0) : undefined;
        for (const o of others) {
          if (!o.reply.present[i]) continue;
          const gs = tf.mul(tf.tensor(o.grads.subarray(at, at + sizes[i]), named[i][1].shape, 'float32'), o.w);
          g = g ? tf.add(g, gs) : gs;
        }
        at += sizes[i];
        if (g) grads.set(name, tf.keep(g));
      }
    });
    // the loss and the metrics: numbers mixed on the CPU, one scalar each
    const mix = (mineValue: number, theirs: (r: ShardReply) => number) => w0 * mineValue + others.reduce((a, o) => a + o.w * theirs(o.reply), 0);
    const loss = tf.scalar(mix(own ? own.loss.dataSync()[0] : 0, (r) => r.loss));
    const metrics = Object.fromEntries(metricNames.map((k) => [k, tf.scalar(mix(own ? own.metrics[k].dataSync()[0] : 0, (r) => r.metrics[k] ?? 0))]));
    if (own) disposeResult(own);
    const slowest = others.reduce((a, x) => (x.reply.ms.copyIn + x.reply.ms.shard + x.reply.ms.copyOut > a.copyIn + a.shard + a.copyOut ? x.reply.ms : a), { copyIn: 0, shard: 0, copyOut: 0 });
    times.steps++;
    times.weightsOut += t1 - t0;
    times.ownShard += t2 - t1;
    times.wait += t3 - t2;
    times.combine += performance.now() - t3;
    times.workerCopyIn += slowest.copyIn;
    times.workerShard += slowest.shard;
    times.workerCopyOut += slowest.copyOut;
    return { loss, grads, metrics };
  };

  return {
    step,
    replays: 1,
    params: [],
    saveState: local.saveState?.bind(local),
    loadState: local.loadState?.bind(local),
    sampler: local.sampler?.bind(local),
    times: () => ({ ...times }),
    dispose() {
      for (const h of handles) {
        h.port.close();
        void h.worker.terminate();
      }
      local.dispose();
    },
  };
}
