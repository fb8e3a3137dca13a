/**
 * `npm run bench -- memory [--steps 300] [--every 10] [--methods vanilla,freelb]`: does memory stay
 * flat over a long run? Every registered fine-tuning method (or those given), each in a process of
 * its own (wasm memory is never returned, so a process's RSS is its own row's), takes `--steps`
 * training steps of the tiny BERT as the trainer takes them (scripts/bench/advlm_rows.ts
 * `benchTrainingStep`: the method's step for every replay, clipping, AdamW) on batches of 32
 * sentences of real text whose length cycles through 16, 24 and 32 word pieces (so that a cache
 * keyed by shape would show). Every `--every` steps it runs the garbage collector (the child runs
 * with --expose-gc) and samples `tf.memory().numBytes` and `numTensors`, the JavaScript heap in use,
 * the wasm backend's memory, and the process's RSS.
 *
 * Per method: least-squares slopes in MB per 100 steps over the steps after the first sixth (the wasm
 * heap grows to its high-water mark in the first steps, and AdamW's moments are allocated at the
 * first update), the peak RSS, and tensors leaked per step. "Flat" (the target of issue
 * "Performance"): tensor memory, JavaScript heap and wasm memory each grow less than 1 MB per 100
 * steps, and no tensor leaks. RSS is printed too but is not the criterion: V8 returns freed heap
 * pages to the system when it likes, so RSS moves by tens of MB either way with nothing retained. Prints a table and
 * writes runs/bench/memory-<date>.json. Asserts nothing: a benchmark, not a test.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { MethodStep, methodFromJson, methodNames } from '../../src/adversarial/methods';
import { BertParams, ModelBatch, disposeModelBatch, disposeParams, initParams, namedConfig, namedParams } from '../../src/model';
import { AdamWState, disposeAdamW, initAdamW } from '../../src/train/adamw';
import { loadTokenizer } from '../../src/data';
import { projectRoot } from '../../src/paths';
import { benchData, benchTrainingStep } from './advlm_rows';
import { jsonChild } from './child';

const LENGTHS = [16, 24, 32];
const BATCH = 32;

interface MemoryOptions {
  steps: number;
  every: number;
  methods: string[];
}

interface Sample {
  step: number;
  rssMB: number;
  tfMB: number;
  heapMB: number;
  /** The wasm backend's linear memory (0 on other backends). */
  wasmMB: number;
  tensors: number;
}

export interface MemoryRow {
  method: string;
  skipped?: string;
  steps?: number;
  msPerStep?: number;
  samples?: Sample[];
  /** Least-squares slopes over the samples after the first sixth of the steps, MB per 100 steps. */
  rssSlope?: number;
  tfSlope?: number;
  heapSlope?: number;
  wasmSlope?: number;
  rssPeakMB?: number;
  /** (numTensors at the end - after the first step) / (steps - 1). */
  leakedPerStep?: number;
}

/** Least-squares slope of y on x. */
export function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

function parseMemoryOptions(argv: string[]): MemoryOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, d: number, min: number) => {
    const v = value(flag);
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`bench memory: ${flag} needs a whole number >= ${min}, got '${v}'`);
    return n;
  };
  const known = methodNames();
  const methods = value('--methods')?.split(',').map((m) => m.trim()) ?? known;
  const unknown = methods.filter((m) => !known.includes(m));
  if (unknown.length) throw new Error(`bench memory: unknown method ${unknown.join(', ')}; registered: ${known.join(', ')}`);
  const steps = int('--steps', 300, 12);
  return { steps, every: int('--every', 10, 1), methods };
}

/** The wasm backend's linear memory in bytes (0 on other backends). */
function wasmBytes(): number {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

/** One method's run, in this process. */
function runMethod(name: string, o: MemoryOptions): MemoryRow {
  const method = methodFromJson(name, {});
  if (!method.objectives.includes('task')) return { method: name, skipped: `trains ${method.objectives.join('/')} only` };
  const data = benchData(BATCH, 8, Math.max(...LENGTHS));
  const config = { ...namedConfig('tiny'), vocabSize: data.vocabSize };
  const p = initParams(config, { numLabels: 2, seed: 1 });
  let teacher: BertParams | undefined;
  let step: MethodStep | undefined;
  let opt: AdamWState | undefined;
  const batches: ModelBatch[] = LENGTHS.map((T) => ({
    kind: 'task',
    inputIds: tf.tensor2d(data.task.inputIds.flatMap((row) => row.slice(0, T)), [BATCH, T], 'int32'), // [B, T]
    tokenTypeIds: tf.zeros([BATCH, T], 'int32'), // [B, T]
    attentionMask: tf.ones([BATCH, T], 'float32'), // [B, T]
    labels: tf.tensor1d(data.task.labels, 'int32'), // [B]
  }));
  const samples: Sample[] = [];
  const MB = 2 ** 20;
  const sample = (i: number) => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    samples.push({ step: i, rssMB: m.rss / MB, heapMB: m.heapUsed / MB, wasmMB: wasmBytes() / MB, tfMB: tf.memory().numBytes / MB, tensors: tf.memory().numTensors });
  };
  try {
    step = method.makeStep({ params: p, objective: 'task', taskKind: 'classification', tokenizer: loadTokenizer(), teacher: () => (teacher ??= initParams(config, { numLabels: 2, seed: 1 })) });
    const named = [...namedParams(p), ...step.params];
    opt = initAdamW(named);
    const t0 = performance.now();
    let afterFirst = 0;
    for (let i = 0; i < o.steps; i++) {
      benchTrainingStep(step, batches[i % batches.length], named, opt, i);
      if (i === 0) afterFirst = tf.memory().numTensors;
      if ((i + 1) % o.every === 0) sample(i + 1);
    }
    const msPerStep = (performance.now() - t0) / o.steps;
    const late = samples.filter((s) => s.step > o.steps / 6);
    const x = late.map((s) => s.step / 100);
    return {
      method: name,
      steps: o.steps,
      msPerStep,
      samples,
      rssSlope: slope(x, late.map((s) => s.rssMB)),
      tfSlope: slope(x, late.map((s) => s.tfMB)),
      heapSlope: slope(x, late.map((s) => s.heapMB)),
      wasmSlope: slope(x, late.map((s) => s.wasmMB)),
      rssPeakMB: Math.max(...samples.map((s) => s.rssMB)),
      leakedPerStep: (tf.memory().numTensors - afterFirst) / (o.steps - 1),
    };
  } catch (e) {
    return { method: name, skipped: `failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  } finally {
    batches.forEach(disposeModelBatch);
    step?.dispose();
    if (opt) disposeAdamW(opt);
    disposeParams(p);
    if (teacher) disposeParams(teacher);
  }
}

/** The child process: `memory --memory-child <json>` with { method, options }; prints the row as a JSON line. */
export async function memoryChild(arg: string): Promise<void> {
  const { method, options } = JSON.parse(arg) as { method: string; options: MemoryOptions };
  await initBackend({ log: false });
  process.stdout.write('\n' + JSON.stringify(runMethod(method, options)) + '\n');
}

function childRow(script: string, method: string, o: MemoryOptions): Promise<MemoryRow> {
  return jsonChild<MemoryRow>(script, ['memory', '--memory-child', JSON.stringify({ method, options: o })], process.env, (why) => ({ method, skipped: why }), ['--expose-gc']);
}

const f = (v: number | undefined, d = 2) => (v === undefined ? '-' : v.toFixed(d));

export async function memoryBench(script: string, argv: string[]): Promise<void> {
  const ci = argv.indexOf('--memory-child');
  if (ci >= 0) return memoryChild(argv[ci + 1]);
  const o = parseMemoryOptions(argv);
  console.log(`memory over ${o.steps} steps: tiny BERT, batch ${BATCH}, lengths cycling ${LENGTHS.join('/')}, one process per method; slopes over steps > ${Math.round(o.steps / 6)}`);
  const rows: MemoryRow[] = [];
  console.log(['method', 'ms/step', 'RSS peak MB', 'MB per 100 steps: tf', 'JS heap', 'wasm', 'RSS', 'leaked/step', 'flat'].join('\t'));
  for (const m of o.methods) {
    const r = await childRow(script, m, o);
    rows.push(r);
    if (r.skipped) console.log(`${m}\tskipped: ${r.skipped}`);
    else {
      const flat = r.tfSlope! < 1 && r.heapSlope! < 1 && r.wasmSlope! < 1 && r.leakedPerStep === 0;
      console.log([m, f(r.msPerStep, 0), f(r.rssPeakMB, 0), f(r.tfSlope), f(r.heapSlope), f(r.wasmSlope), f(r.rssSlope), f(r.leakedPerStep, 3), flat ? 'yes' : 'NO'].join('\t'));
    }
  }
  const dir = path.join(projectRoot(), 'runs', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ steps: o.steps, every: o.every, batch: BATCH, lengths: LENGTHS, rows }, null, 1));
  console.log(`written to ${file}`);
}
