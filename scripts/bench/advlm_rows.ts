/**
 * The advlm side of `npm run bench`, run in a child process per thread count (the wasm backend's
 * thread count is fixed when it first initialises): the backend's matMul rate, then one row per
 * (model config, batch shape, method): warm-up steps, then timed training steps as the trainer takes
 * them (the method's step for every replay, gradient clipping at 1, AdamW), with passes, memory and
 * leaks. Prints the rows as one JSON line.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { MethodStep, methodFromJson } from '../../src/adversarial/methods';
import { candidateArrays, neighbourTable } from '../../src/adversarial/ascc_dong_2021';
import { MlmArrays, corpusTokenIds, loadTokenizer, mlmBatch, packSequencesCached, readCorpus, withRandomTokens } from '../../src/data';
import { BertParams, ModelBatch, PassCounts, countPasses, disposeModelBatch, disposeParams, initParams, isNoDecay, namedConfig, namedParams, outputVocabulary } from '../../src/model';
import { ADAMW_DEFAULTS, AdamWState, adamWStep, clipGlobalNorm, disposeAdamW, initAdamW } from '../../src/train/adamw';
import { NamedVariables, disposeGrads } from '../../src/model/gradients';
import { mlmBatchTensors } from '../../src/train/steps';
import { DataParallelStep, DataParallelTimes, dataParallel } from '../../src/train/data_parallel';
import { forwardMatMulMacs, stepFlops } from './flops';

/** The batches every engine times: real text from the default pre-training corpus, full-length sequences. */
export interface BenchData {
  seqLen: number;
  vocabSize: number;
  /**
   * Fine-tuning: [B][T] ids (every token real), labels b % 2; and the substitution candidates of
   * ASCC and RIFT ([B][T][S] ids and usable-slot mask, as `candidatesOf` builds them from the
   * counter-fitted lists), so that the PyTorch reference combines the same candidates.
   */
  task: { inputIds: number[][]; labels: number[]; candidates: { ids: number[][][]; mask: number[][][] } };
  /** MLM pre-training: masked as `pretrain` masks (15%, 80/10/10), labels -100 where nothing is scored. */
  mlm: MlmArrays;
  /** The corpus-softmax output vocabulary `pretrain` uses (the ordinary tokens of the corpus, ascending). */
  outputIds: number[];
}

/** Builds the bench's batches from data/pretrain (packed as `pretrain` packs it; cached after the first run). */
export function benchData(taskBatch: number, mlmBatchSize: number, seqLen = 128): BenchData {
  const tok = loadTokenizer();
  const sequences = packSequencesCached(tok, readCorpus({}), { maxLength: seqLen });
  const full = sequences.filter((s) => s.length === seqLen);
  if (full.length < taskBatch + mlmBatchSize) throw new Error(`the corpus has only ${full.length} sequences of length ${seqLen}`);
  const corpusIds = corpusTokenIds(sequences, tok.specialIds);
  const inputIds = full.slice(0, taskBatch).map((s) => [...s]); // [B][T]
  const c = candidateArrays(inputIds.flat(), new Array(taskBatch * seqLen).fill(1), [taskBatch, seqLen], neighbourTable(tok));
  const nested = (flat: ArrayLike<number>) => {
    const all = Array.from(flat);
    return inputIds.map((_, b) => Array.from({ length: seqLen }, (_, t) => all.slice((b * seqLen + t) * c.S, (b * seqLen + t + 1) * c.S))); // [B][T][S]
  };
  const candidates = { ids: nested(c.ids), mask: nested(c.mask) };
  return {
    seqLen,
    vocabSize: tok.vocabSize,
    task: { inputIds, labels: inputIds.map((_, b) => b % 2), candidates },
    mlm: mlmBatch(full.slice(taskBatch, taskBatch + mlmBatchSize), withRandomTokens(tok, corpusIds), 12345),
    outputIds: corpusIds,
  };
}

export type Shape = 'finetune' | 'mlm';

export interface RowSpec {
  config: string;
  shape: Shape;
  method: string;
  /** The method's options (JSON), e.g. { K: 3 }. */
  options?: Record<string, unknown>;
  /** Threads sharing each minibatch (src/train/data_parallel.ts); absent = 1. */
  workers?: number;
}

export interface AdvlmRow extends RowSpec {
  engine: 'advlm';
  /** Which of the bench's rounds measured it (--rounds). */
  round?: number;
  backend: string;
  threads: number;
  /** The backend's GFLOP/s on one [4096, D] x [D, 4D] product (the feed-forward product of a 32 x 128 batch), in the same process. */
  matMulGflops?: number;
  batch: number;
  seqLen: number;
  /** Why the row was not run (the other fields are then absent). */
  skipped?: string;
  msPerStep?: number;
  /** CPU time of the process (every thread) per timed step, ms: less sensitive than wall time to other work on the machine. */
  cpuMsPerStep?: number;
  /** Each timed step, ms. */
  stepMs?: number[];
  tokensPerSec?: number;
  /** Passes of one step (all its replays). */
  passes?: PassCounts;
  /** Operations of a step's matrix products (scripts/bench/flops.ts); absent for steps with partial passes, which it cannot count. */
  gflopPerStep?: number;
  gflops?: number;
  /** Largest RSS seen after a step of this row, MB (the process's: wasm memory grows and is never returned). */
  rssPeakMB?: number;
  /** Largest tf.memory().numBytes seen with a step's gradients alive, MB. */
  tfPeakMB?: number;
  /** (numTensors after the timed steps - before) / steps. */
  leakedPerStep?: number;
  /** Data-parallel rows: where the timed steps' time went, ms per step (src/train/data_parallel.ts DataParallelTimes). */
  phases?: Omit<DataParallelTimes, 'steps'>;
  /** Wall-clock bounds of the timed steps (ms since the epoch), to align concurrent processes. */
  timedFrom?: number;
  timedTo?: number;
}

/** GFLOP/s of x [4096, D] times w [D, 4D], the feed-forward product of a 32 x 128 batch. */
function matMulGflops(D: number, repeats = 5): number {
  const a = tf.randomNormal([4096, D]);
  const b = tf.randomNormal([D, 4 * D]);
  tf.matMul(a, b).dispose(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const r = tf.matMul(a, b);
    r.dataSync();
    r.dispose();
  }
  const ms = (performance.now() - t0) / repeats;
  tf.dispose([a, b]);
  return (2 * 4096 * D * 4 * D) / ms / 1e6;
}

export function batchOf(data: BenchData, shape: Shape): ModelBatch {
  if (shape === 'mlm') return mlmBatchTensors(data.mlm, outputVocabulary(data.outputIds, data.vocabSize));
  const ids = data.task.inputIds;
  const [B, T] = [ids.length, data.seqLen];
  return {
    kind: 'task',
    inputIds: tf.tensor2d(ids.flat(), [B, T], 'int32'),
    tokenTypeIds: tf.zeros([B, T], 'int32'),
    attentionMask: tf.ones([B, T], 'float32'),
    labels: tf.tensor1d(data.task.labels, 'int32'),
  };
}

/**
 * One training step as the trainer takes it: the method's step for every replay, clipping to norm 1,
 * AdamW at lr 1e-4; `onGrads` runs while each replay's gradients are alive (for peak memory).
 */
export function benchTrainingStep(s: MethodStep, batch: ModelBatch, named: NamedVariables, o: AdamWState, i: number, onGrads?: () => void): void {
  for (let replay = 0; replay < s.replays; replay++) {
    const r = s.step(batch, { step: i, epoch: 0, seed: 1000 + i, replay });
    onGrads?.();
    r.loss.dataSync();
    tf.dispose([r.loss, ...Object.values(r.metrics)]);
    clipGlobalNorm(r.grads, 1);
    adamWStep(o, named, r.grads, 1e-4, ADAMW_DEFAULTS, (n) => !isNoDecay(n));
    disposeGrads(r.grads);
  }
}

/** One row: warm-up steps, then timed steps, each as the trainer takes it. */
async function runRow(spec: RowSpec, data: BenchData, base: Pick<AdvlmRow, 'backend' | 'threads' | 'matMulGflops'>, warmup: number, steps: number): Promise<AdvlmRow> {
  const B = spec.shape === 'mlm' ? data.mlm.shape[0] : data.task.inputIds.length;
  const row: AdvlmRow = { ...spec, engine: 'advlm', ...base, batch: B, seqLen: data.seqLen };
  const method = methodFromJson(spec.method, spec.options ?? {});
  const objective = spec.shape === 'mlm' ? 'mlm' : 'task';
  if (!method.objectives.includes(objective)) return { ...row, skipped: `trains ${method.objectives.join('/')} only` };
  const config = { ...namedConfig(spec.config), vocabSize: data.vocabSize };
  const heads = objective === 'mlm' ? { mlm: true } : { numLabels: 2 };
  const p = initParams(config, { ...heads, seed: 1 });
  // RIFT's frozen teacher: the initial model (a second copy, as fine-tuning loads it from the checkpoint)
  let teacher: BertParams | undefined;
  let step: MethodStep | undefined;
  let opt: AdamWState | undefined;
  const batch = batchOf(data, spec.shape);
  let rssPeak = 0;
  let tfPeak = 0;
  let passes: PassCounts | undefined;
  const trainStep = (s: MethodStep, named: NamedVariables, o: AdamWState, i: number) => {
    const counted = countPasses(() => benchTrainingStep(s, batch, named, o, i, () => (tfPeak = Math.max(tfPeak, tf.memory().numBytes))));
    passes = counted.passes;
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  };
  try {
    step = method.makeStep({ params: p, objective, taskKind: 'classification', tokenizer: loadTokenizer(), teacher: () => (teacher ??= initParams(config, { ...heads, seed: 1 })) });
    if ((spec.workers ?? 1) > 1) step = await dataParallel(step, { name: method.name, config: method.config as Record<string, unknown> }, p, { workers: spec.workers, objective, taskKind: 'classification' });
    const named = [...namedParams(p), ...step.params];
    opt = initAdamW(named);
    for (let i = 0; i < warmup; i++) trainStep(step, named, opt, i);
    const before = tf.memory().numTensors;
    const phasesBefore = 'times' in step ? (step as DataParallelStep).times() : undefined;
    const stepMs: number[] = [];
    const timedFrom = Date.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainStep(step, named, opt, warmup + i);
      stepMs.push(performance.now() - t0);
    }
    const timedTo = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const leakedPerStep = (tf.memory().numTensors - before) / steps;
    let phases: AdvlmRow['phases'];
    if (phasesBefore) {
      const after = (step as DataParallelStep).times();
      const n = after.steps - phasesBefore.steps;
      const { steps: _s, ...keys } = after;
      phases = Object.fromEntries(Object.keys(keys).map((k) => [k, (after[k as keyof DataParallelTimes] - phasesBefore[k as keyof DataParallelTimes]) / n])) as AdvlmRow['phases'];
    }
    const msPerStep = stepMs.reduce((a, b) => a + b, 0) / steps;
    const head = batch.kind === 'mlm' ? { kind: 'mlm' as const, masked: batch.positions.shape[0], outputVocab: batch.outputIds!.shape[0] } : { kind: 'task' as const, numLabels: 2 };
    const partial = passes!.partialForward + passes!.partialBackward > 0;
    const flop = partial ? undefined : stepFlops(forwardMatMulMacs(config, B, data.seqLen, head).total, passes!);
    return {
      ...row,
      msPerStep,
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
      stepMs,
      tokensPerSec: (B * data.seqLen) / (msPerStep / 1000),
      passes,
      gflopPerStep: flop === undefined ? undefined : flop / 1e9,
      gflops: flop === undefined ? undefined : flop / 1e6 / msPerStep,
      rssPeakMB: rssPeak / 2 ** 20,
      tfPeakMB: tfPeak / 2 ** 20,
      leakedPerStep,
      phases,
      timedFrom,
      timedTo,
    };
  } catch (e) {
    // wasm aborts when its heap would pass 4 GB: the process's RSS at the failure says whether that is likely
    const rss = (process.memoryUsage().rss / 2 ** 30).toFixed(1);
    return { ...row, skipped: `failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]} (process RSS ${rss} GB at the failure)` };
  } finally {
    disposeModelBatch(batch);
    step?.dispose();
    if (opt) disposeAdamW(opt);
    disposeParams(p);
    if (teacher) disposeParams(teacher);
  }
}

/**
 * The child process, one row: `--child <json>` with { data (file), spec, warmup, steps }. Prints the
 * row as a JSON line. One process per row, so that each row's peak RSS is its own (wasm memory
 * grows and is never returned) and a wasm abort, which cannot be caught, loses only its row.
 */
export async function runChild(arg: string): Promise<void> {
  const o = JSON.parse(arg) as { data: string; spec: RowSpec; warmup: number; steps: number };
  const report = await initBackend({ log: false });
  const data = JSON.parse(fs.readFileSync(o.data, 'utf8')) as BenchData;
  const base = { backend: report.name, threads: report.threads, matMulGflops: matMulGflops(namedConfig(o.spec.config).hiddenSize) };
  process.stdout.write('\n' + JSON.stringify(await runRow(o.spec, data, base, o.warmup, o.steps)) + '\n');
}
