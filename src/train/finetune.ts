/**
 * Fine-tuning on a task (Devlin et al. 2019, section 4): the pooled [CLS] representation feeds a
 * new linear head; all parameters are trained with AdamW, linear warmup then decay, by a training
 * method (plain fine-tuning, 'vanilla', by default; any registered method: src/adversarial/). The
 * model of the best dev epoch (the task's main metric) is kept, saved and returned; the dev set
 * only ever chooses, never trains. A resumed run remembers its best epoch.
 *
 * `init: 'random'` trains the same architecture from random initialisation, the baseline that
 * shows what pre-training buys.
 *
 *   finetune({ task: 'SST-2', method: gaussianNoise({ sigma: 0.01 }), trainer: { epochs: 2 } })
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer, Example, TaskSpec, batches, getTask, loadTask, makeBatch } from '../data';
import { loadTokenizer, saveTokenizerFile, tokenizerFileIn } from '../tokenizer';
import { BertParams, disposeParams, initParams, loadCheckpoint, namedParams, readCheckpointConfig, saveCheckpoint } from '../model';
import { Method, MethodSpec, TrainBatch, checkTaskKind, methodSpec, resolveMethod } from '../adversarial/methods';
import { projectRoot } from '../paths';
import { evaluate } from './evaluate';
import { appendRunRecord, newRunRecord, RunRecord } from './run_record';
import { RunIdentity, checkpointDigest, runIdentity, shortId } from './run_identity';
import { taskBatchTensors } from './steps';
import { BestEpoch, TRAINER_DEFAULTS, TrainResult, TrainerConfig, checkTrainerConfig, recoverTrainerState, removeTrainerState, trainLoop } from './trainer';
import { ProgressOptions } from './progress';
import { dataParallel } from './data_parallel';

/** The project's own pre-trained model (see data/checkpoints/README.md). */
export function defaultCheckpoint(): string {
  return path.join(projectRoot(), 'data', 'checkpoints', 'advlm-bert-tiny-imdb');
}

export interface FinetuneConfig {
  task: string;
  /** Pre-trained checkpoint folder (default: the project's own). */
  checkpoint?: string;
  /** 'pretrained' loads the checkpoint's weights; 'random' keeps only its configuration. */
  init: 'pretrained' | 'random';
  /** The training method as JSON (name and full config). */
  method: Required<MethodSpec>;
  /** Word pieces per example (default: the task's recommended length, else 128). */
  maxLength?: number;
  batchSize: number;
  /** Sort-by-length buckets of this many batches (0 = plain shuffling); saves padding. */
  bucketBatches: number;
  /** Use only the first N training / dev examples (quick runs, tests). */
  limitTrain?: number;
  limitDev?: number;
  trainer: TrainerConfig;
}

export const FINETUNE_DEFAULTS: FinetuneConfig = {
  task: 'SST-2',
  init: 'pretrained',
  method: { name: 'vanilla', config: {} },
  batchSize: 32,
  bucketBatches: 50,
  trainer: { ...TRAINER_DEFAULTS, epochs: 3, lr: 1e-4, warmupRatio: 0.1 },
};

/** What `finetune` accepts: any part of the config (defaults fill the rest); the method as a value, JSON or a name. */
export type FinetuneInput = Omit<Partial<FinetuneConfig>, 'trainer' | 'method'> & {
  task: string;
  method?: Method | MethodSpec | string;
  trainer?: Partial<TrainerConfig>;
};

const DEFAULT_MAX_LENGTH = 128;

/** The full configuration: defaults filled in, every value checked before any work starts. */
export function finetuneConfig(input: FinetuneInput): FinetuneConfig {
  const task = getTask(input.task); // unknown task: an error listing the known ones
  const method = resolveMethod(input.method);
  if (!method.objectives.includes('task')) throw new Error(`method '${method.name}' does not fine-tune (it trains ${method.objectives.join(', ')})`);
  checkTaskKind(method, task.kind, task.name);
  const c: FinetuneConfig = {
    ...FINETUNE_DEFAULTS,
    ...input,
    task: task.name,
    method: methodSpec(method),
    maxLength: input.maxLength ?? task.maxLength ?? DEFAULT_MAX_LENGTH,
    trainer: { ...FINETUNE_DEFAULTS.trainer, ...input.trainer },
  };
  const bad: string[] = [];
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!positiveInt(c.batchSize)) bad.push(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (!(Number.isInteger(c.maxLength) && (c.maxLength as number) >= 3)) bad.push(`maxLength must be an integer >= 3 ([CLS], a token, [SEP]), got ${c.maxLength}`);
  if (!(Number.isInteger(c.bucketBatches) && c.bucketBatches >= 0)) bad.push(`bucketBatches must be an integer >= 0, got ${c.bucketBatches}`);
  if (c.limitTrain !== undefined && !positiveInt(c.limitTrain)) bad.push(`limitTrain must be a positive integer, got ${c.limitTrain}`);
  if (c.limitDev !== undefined && !positiveInt(c.limitDev)) bad.push(`limitDev must be a positive integer, got ${c.limitDev}`);
  if (c.init !== 'pretrained' && c.init !== 'random') bad.push(`init must be 'pretrained' or 'random', got '${c.init}'`);
  if (bad.length) throw new Error(`bad fine-tuning settings: ${bad.join('; ')}`);
  checkTrainerConfig(c.trainer);
  return c;
}

/**
 * The run's identity: everything that changes the result. The initial weights count by the SHA-256
 * of their file (pre-trained init) or by the architecture they come from (random init); the
 * checkpoint's path does not count.
 */
export function finetuneIdentity(c: FinetuneConfig): RunIdentity {
  const ckpt = c.checkpoint ?? defaultCheckpoint();
  const { saveEvery: _saveEvery, ...trainer } = c.trainer; // how often to save does not change the result
  return runIdentity({
    command: 'finetune',
    task: c.task,
    method: c.method,
    init: c.init === 'pretrained' ? { weights: checkpointDigest(ckpt) } : { random: readCheckpointConfig(ckpt).config },
    maxLength: c.maxLength,
    batchSize: c.batchSize,
    bucketBatches: c.bucketBatches,
    limitTrain: c.limitTrain,
    limitDev: c.limitDev,
    trainer,
  });
}

/** runs/finetune-<task>-<method>[-random]-s<seed>-<id>: one folder per identity. */
export function defaultFinetuneDir(c: FinetuneConfig, identity: RunIdentity): string {
  return path.join('runs', `finetune-${c.task}-${c.method.name}${c.init === 'random' ? '-random' : ''}-s${c.trainer.seed}-${shortId(identity.id)}`);
}

export interface FinetuneResult {
  /** The model of the best dev epoch. */
  params: BertParams;
  task: TaskSpec;
  train: TrainResult;
  /** Dev metrics of the kept (best) epoch. */
  best: { epoch: number; metrics: Record<string, number> };
  record: RunRecord;
  identity: RunIdentity;
}

export interface FinetuneOptions {
  /** Where to save the kept model (and the resumable state in outDir/resume). */
  outDir?: string;
  stopFlag?: { stop: boolean };
  tokenizer?: BertTokenizer;
  /** Record the run in runs/runs.jsonl (default true). */
  record?: boolean;
  /** Progress display (mode 'silent' to hide it) and its label (default: method and task). */
  progress?: ProgressOptions & { label?: string };
  /**
   * Threads sharing each minibatch (this one plus workers; src/train/data_parallel.ts), default 1.
   * Not part of the run's identity: with dropout off the result is the same to float tolerance.
   */
  workers?: number;
}

export async function finetune(input: FinetuneInput, options: FinetuneOptions = {}): Promise<FinetuneResult> {
  const c = finetuneConfig(input);
  const method = resolveMethod(c.method);
  const task = getTask(c.task);
  const ckpt = c.checkpoint ?? defaultCheckpoint();
  const identity = finetuneIdentity(c);
  const ownTokenizer = options.tokenizer ? undefined : tokenizerFileIn(ckpt); // the checkpoint's vocabulary, if it carries one
  const tok = options.tokenizer ?? loadTokenizer(ownTokenizer);
  const train = loadTask(task.name, 'train', { limit: c.limitTrain });
  const dev = loadTask(task.name, 'dev', { limit: c.limitDev });
  const stateDir = options.outDir ? path.join(options.outDir, 'resume') : undefined;
  const resuming = stateDir !== undefined && recoverTrainerState(stateDir);
  let params: BertParams;
  if (resuming) {
    params = loadCheckpoint(stateDir!, { numLabels: task.numLabels, mlm: false }).params;
  } else if (c.init === 'pretrained') {
    params = loadCheckpoint(ckpt, { numLabels: task.numLabels, mlm: false, seed: c.trainer.seed }).params;
  } else {
    params = initParams(readCheckpointConfig(ckpt).config, { numLabels: task.numLabels, seed: c.trainer.seed });
  }
  if (tok.vocabSize !== params.config.vocabSize) {
    disposeParams(params);
    throw new Error(`the tokenizer has ${tok.vocabSize} tokens but the model ${params.config.vocabSize}: use the tokenizer the checkpoint was trained with`);
  }
  const record = newRunRecord('finetune', method.name, c.trainer.seed, { ...c, checkpoint: c.init === 'pretrained' ? ckpt : undefined } as unknown as Record<string, unknown>, task.name);
  record.identity = identity;
  let teacher: BertParams | undefined;
  let step: ReturnType<typeof method.makeStep>;
  try {
    const made = method.makeStep({
      params,
      objective: 'task',
      taskKind: task.kind,
      tokenizer: tok,
      teacher:
        c.init === 'pretrained'
          ? () => (teacher ??= loadCheckpoint(ckpt, { numLabels: task.numLabels, mlm: false, seed: c.trainer.seed }).params)
          : undefined,
    });
    try {
      step = (options.workers ?? 1) > 1 ? await dataParallel(made, c.method, params, { workers: options.workers, objective: 'task', taskKind: task.kind, tokenizerFile: ownTokenizer }) : made;
    } catch (e) {
      made.dispose();
      throw e;
    }
  } catch (e) {
    disposeParams(params); // a method that cannot start loses nothing and leaks nothing
    if (teacher) disposeParams(teacher);
    throw e;
  }
  // the method's sampler (e.g. class-balanced batches), if it has one, else shuffled (bucketed) batches
  const labels = train.map((e) => e.label);
  const epochBatches = (epoch: number): Example[][] =>
    step.sampler
      ? step.sampler(labels, c.batchSize, c.trainer.seed * 1000 + epoch).map((ix) => ix.map((i) => train[i]))
      : batches(train, c.batchSize, c.trainer.seed * 1000 + epoch, { bucketBatches: c.bucketBatches });
  const toBatch = (b: Example[]): TrainBatch => ({ ...taskBatchTensors(makeBatch(tok, b, task.kind, { maxLength: c.maxLength })), examples: b });
  // the best epoch's weights: kept in memory (a copy) so that the run returns them; on disk in outDir
  let bestWeights: Map<string, tf.Tensor> | undefined;
  const keepBest = (best: BestEpoch) => {
    if (bestWeights) tf.dispose([...bestWeights.values()]);
    bestWeights = new Map(namedParams(params).map(([n, v]) => [n, tf.clone(v)]));
    return best;
  };
  let result: TrainResult;
  try {
    result = await trainLoop({
      params,
      config: c.trainer,
      epochBatches,
      stepsPerEpoch: step.sampler ? epochBatches(0).length : Math.ceil(train.length / c.batchSize),
      method: step,
      methodName: method.name,
      toBatch,
      evaluate: async () => {
        const e = await evaluate(params, tok, dev, task, { maxLength: c.maxLength });
        return { ...e.metrics, loss: e.loss };
      },
      select: {
        metric: task.metrics[0],
        onBest: async (best) => {
          keepBest(best);
          if (options.outDir) await saveFinetuned(params, options.outDir, task, c, best, identity, ownTokenizer);
        },
      },
      identity,
      stateDir,
      stopFlag: options.stopFlag,
      progress: { label: `${method.name} ${task.name}${c.init === 'random' ? ' (random init)' : ''}`, ...options.progress },
      onEpoch: (r) =>
        console.log(
          `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}${Object.entries(r.metrics ?? {}).map(([k, v]) => `, ${k} ${v.toPrecision(4)}`).join('')}; dev ${Object.entries(r.dev ?? {}).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (${r.seconds.toFixed(0)}s)`,
        ),
    });
    // return the best epoch's weights, not the last epoch's
    const best = result.best;
    const lastEpoch = result.epochs[result.epochs.length - 1]?.epoch;
    if (best && best.epoch !== lastEpoch) {
      if (bestWeights) restoreWeights(params, bestWeights);
      else if (options.outDir) restoreFromCheckpoint(params, options.outDir, task.numLabels); // best epoch came before a resume
    }
  } catch (e) {
    disposeParams(params);
    throw e;
  } finally {
    if (bestWeights) tf.dispose([...bestWeights.values()]);
    step.dispose();
    if (teacher) disposeParams(teacher);
  }
  const best = result.best ? { epoch: result.best.epoch, metrics: result.best.metrics } : { epoch: 0, metrics: {} };
  record.epochs = result.epochs;
  record.steps = result.metrics;
  record.wallSeconds = result.seconds;
  record.result = { bestEpoch: best.epoch, dev: best.metrics, outDir: options.outDir, stopped: result.stopped };
  if (options.record ?? true) appendRunRecord(record);
  if (options.outDir && stateDir && !result.stopped) removeTrainerState(stateDir);
  return { params, task, train: result, best, record, identity };
}

function restoreWeights(params: BertParams, weights: Map<string, tf.Tensor>): void {
  for (const [name, v] of namedParams(params)) {
    const w = weights.get(name);
    if (w) v.assign(w);
  }
}

function restoreFromCheckpoint(params: BertParams, dir: string, numLabels: number): void {
  const saved = loadCheckpoint(dir, { numLabels, mlm: false }).params;
  try {
    const byName = new Map(namedParams(saved));
    for (const [name, v] of namedParams(params)) {
      const w = byName.get(name);
      if (w) v.assign(w);
    }
  } finally {
    disposeParams(saved);
  }
}

/** Saves the fine-tuned model, with the tokenizer file of the checkpoint it started from if it has one. */
async function saveFinetuned(p: BertParams, dir: string, task: TaskSpec, c: FinetuneConfig, best: BestEpoch, identity: RunIdentity, tokenizerFile?: string): Promise<void> {
  const id2label = Object.fromEntries(task.labelNames.map((n, i) => [i, n]));
  await saveCheckpoint(p, dir, {
    extraConfig: {
      finetuning_task: task.name,
      id2label,
      label2id: Object.fromEntries(task.labelNames.map((n, i) => [n, i])),
      problem_type: task.kind === 'regression' ? 'regression' : 'single_label_classification',
    },
    advlm: { task: task.name, maxLength: c.maxLength, bestEpoch: best.epoch, dev: best.metrics, init: c.init, seed: c.trainer.seed, method: c.method, runId: identity.id, identity: identity.fields },
  });
  if (tokenizerFile) saveTokenizerFile(tokenizerFile, dir); // predict then finds it
}
