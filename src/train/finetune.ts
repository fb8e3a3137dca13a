/**
 * Fine-tuning on a GLUE task (Devlin et al. 2019, section 4): the pooled [CLS] representation feeds
 * a new linear head; all parameters are trained with AdamW, linear warmup then decay. The model of
 * the best dev epoch (main metric) is kept; the dev set only ever chooses, never trains.
 *
 * `init: 'random'` trains the same architecture from random initialisation, the baseline that
 * shows what pre-training buys.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BertTokenizer, Example, TaskSpec, batches, getTask, loadTask, makeBatch } from '../data';
import { loadTokenizer, saveTokenizerFile, tokenizerFileIn } from '../tokenizer';
import { BertParams, disposeParams, initParams, loadCheckpoint, readCheckpointConfig, saveCheckpoint } from '../model';
import { projectRoot } from '../environment';
import { evaluate } from './evaluate';
import { appendRunRecord, newRunRecord, RunRecord } from './run_record';
import { taskStep } from './steps';
import { LossAndGrads } from './grads';
import { StepContext, TRAINER_DEFAULTS, TrainResult, TrainerConfig, trainLoop } from './trainer';
import { ProgressOptions } from './progress';

/** The project's own pre-trained model (see data/checkpoints/README.md). */
export function defaultCheckpoint(): string {
  return path.join(projectRoot(), 'data', 'checkpoints', 'advlm-bert-tiny');
}

export interface FinetuneConfig {
  task: string;
  /** Pre-trained checkpoint folder (default: the project's own). */
  checkpoint?: string;
  /** 'pretrained' loads the checkpoint's weights; 'random' keeps only its configuration. */
  init: 'pretrained' | 'random';
  maxLength: number;
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
  maxLength: 128,
  batchSize: 32,
  bucketBatches: 50,
  trainer: { ...TRAINER_DEFAULTS, epochs: 3, lr: 1e-4, warmupRatio: 0.1 },
};

export interface FinetuneResult {
  params: BertParams;
  task: TaskSpec;
  train: TrainResult;
  /** Dev metrics of the kept (best) epoch. */
  best: { epoch: number; metrics: Record<string, number> };
  record: RunRecord;
}

/** A training step for a labelled batch: plain fine-tuning by default, or an adversarial method's. */
export type StepFactory = (p: BertParams, toTensors: (b: Example[]) => ReturnType<typeof makeBatch>) => (b: Example[], ctx: StepContext) => LossAndGrads;

export interface FinetuneOptions {
  /** Where to save the kept model (and the resumable state in outDir/resume). */
  outDir?: string;
  /** The method's step (default: plain fine-tuning). */
  step?: StepFactory;
  method?: string;
  stopFlag?: { stop: boolean };
  tokenizer?: BertTokenizer;
  /** Record the run in runs/runs.jsonl (default true). */
  record?: boolean;
  /** Progress display (mode 'silent' to hide it) and its label (default: method and task). */
  progress?: ProgressOptions & { label?: string };
}

export async function finetune(config: FinetuneConfig, options: FinetuneOptions = {}): Promise<FinetuneResult> {
  const c = config;
  const task = getTask(c.task);
  const ckpt = c.checkpoint ?? defaultCheckpoint();
  const ownTokenizer = options.tokenizer ? undefined : tokenizerFileIn(ckpt); // the checkpoint's vocabulary, if it carries one
  const tok = options.tokenizer ?? loadTokenizer(ownTokenizer);
  const train = loadTask(task.name, 'train', { limit: c.limitTrain });
  const dev = loadTask(task.name, 'dev', { limit: c.limitDev });
  const stateDir = options.outDir ? path.join(options.outDir, 'resume') : undefined;
  let params: BertParams;
  if (stateDir && fs.existsSync(path.join(stateDir, 'trainer_state.json'))) {
    params = loadCheckpoint(stateDir, { numLabels: task.numLabels, mlm: false }).params;
  } else if (c.init === 'pretrained') {
    params = loadCheckpoint(ckpt, { numLabels: task.numLabels, mlm: false, seed: c.trainer.seed }).params;
  } else {
    params = initParams(readCheckpointConfig(ckpt).config, { numLabels: task.numLabels, seed: c.trainer.seed });
  }
  if (tok.vocabSize !== params.config.vocabSize) {
    disposeParams(params);
    throw new Error(`the tokenizer has ${tok.vocabSize} tokens but the model ${params.config.vocabSize}: use the tokenizer the checkpoint was trained with`);
  }
  const method = options.method ?? 'standard';
  const record = newRunRecord('finetune', method, c.trainer.seed, { ...c, checkpoint: c.init === 'pretrained' ? ckpt : undefined } as unknown as Record<string, unknown>, task.name);
  const toTensors = (b: Example[]) => makeBatch(tok, b, task.kind, { maxLength: c.maxLength });
  const step = (options.step ?? ((p, t) => taskStep(p, t)))(params, toTensors);
  const main = task.metrics[0];
  let best = { epoch: 0, metrics: {} as Record<string, number>, value: -Infinity };
  let result: TrainResult;
  try {
    result = await trainLoop({
      params,
      config: c.trainer,
      epochBatches: (epoch) => batches(train, c.batchSize, c.trainer.seed * 1000 + epoch, { bucketBatches: c.bucketBatches }),
      stepsPerEpoch: Math.ceil(train.length / c.batchSize),
      step,
      evaluate: async (epoch) => {
        const e = await evaluate(params, tok, dev, task, { maxLength: c.maxLength });
        const metrics = { ...e.metrics, loss: e.loss };
        if (e.metrics[main] > best.value) {
          best = { epoch: epoch + 1, metrics, value: e.metrics[main] };
          if (options.outDir) {
            await saveFinetuned(params, options.outDir, task, c, best, ownTokenizer);
          }
        }
        return metrics;
      },
      stateDir,
      stopFlag: options.stopFlag,
      progress: { label: `${method} ${task.name}${c.init === 'random' ? ' (random init)' : ''}`, ...options.progress },
      onEpoch: (r) => console.log(`epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}; dev ${Object.entries(r.dev ?? {}).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (${r.seconds.toFixed(0)}s)`),
    });
  } catch (e) {
    disposeParams(params);
    throw e;
  }
  record.epochs = result.epochs;
  record.wallSeconds = result.seconds;
  record.result = { bestEpoch: best.epoch, dev: best.metrics, outDir: options.outDir, stopped: result.stopped };
  if (options.record ?? true) appendRunRecord(record);
  if (options.outDir && stateDir && !result.stopped) fs.rmSync(stateDir, { recursive: true, force: true });
  return { params, task, train: result, best: { epoch: best.epoch, metrics: best.metrics }, record };
}

/** Saves the fine-tuned model, with the tokenizer file of the checkpoint it started from if it has one. */
async function saveFinetuned(p: BertParams, dir: string, task: TaskSpec, c: FinetuneConfig, best: { epoch: number; metrics: Record<string, number> }, tokenizerFile?: string): Promise<void> {
  const id2label = Object.fromEntries(task.labelNames.map((n, i) => [i, n]));
  await saveCheckpoint(p, dir, {
    extraConfig: {
      finetuning_task: task.name,
      id2label,
      label2id: Object.fromEntries(task.labelNames.map((n, i) => [n, i])),
      problem_type: task.kind === 'regression' ? 'regression' : 'single_label_classification',
    },
    advlm: { task: task.name, maxLength: c.maxLength, bestEpoch: best.epoch, dev: best.metrics, init: c.init, seed: c.trainer.seed },
  });
  if (tokenizerFile) saveTokenizerFile(tokenizerFile, dir); // predict then finds it
}
