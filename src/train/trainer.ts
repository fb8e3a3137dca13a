/**
 * The training loop every method shares: AdamW with linear warmup then linear decay, no weight decay
 * on biases and LayerNorm, gradient clipping to a global norm, evaluation after each epoch, a
 * resumable state, and a stop flag (interrupting a notebook cell does not stop an async loop).
 *
 * A method (plain fine-tuning, MLM, PGD, FreeLB, ...) is only its `step`: the loss and the gradients
 * of one minibatch. The loop owns the optimiser, the schedule and the bookkeeping.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertParams, isNoDecay, namedParams, saveCheckpoint } from '../model';
import { readSafetensors, writeSafetensors, RawTensor } from '../model/safetensors';
import { writeJsonAtomic } from '../util/atomic';
import { ADAMW_DEFAULTS, AdamWConfig, AdamWState, adamWStep, clipGlobalNorm, disposeAdamW, initAdamW } from './adamw';
import { LossAndGrads, disposeGrads } from './grads';
import { createProgress, ProgressOptions } from './progress';
import { EpochRecord } from './run_record';
import { linearWarmupDecay } from './schedule';

export interface TrainerConfig {
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Fraction of all steps spent warming up (BERT: 0.1; 0.06 for RoBERTa-style recipes). */
  warmupRatio: number;
  weightDecay: number;
  /** Clip gradients to this global norm (0 = no clipping). */
  maxGradNorm: number;
  /** Stop after this many optimiser steps in total (0 = no limit). */
  maxSteps: number;
  /** Save the resumable state every this many steps (0 = only at the end of each epoch). */
  saveEvery: number;
  seed: number;
}

export const TRAINER_DEFAULTS: TrainerConfig = {
  epochs: 3,
  lr: 5e-5,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1.0,
  maxSteps: 0,
  saveEvery: 0,
  seed: 0,
};

/** What a method sees at each step. */
export interface StepContext {
  /** Optimiser steps done so far (0-based index of this step). */
  step: number;
  epoch: number;
  /** A seed for this step's randomness (dropout, perturbation init). */
  seed: number;
}

export interface TrainLoopOptions<B> {
  params: BertParams;
  config: TrainerConfig;
  /** The minibatches of an epoch, deterministic given the epoch (shuffle with seed + epoch). */
  epochBatches: (epoch: number) => Iterable<B>;
  stepsPerEpoch: number;
  /** Loss and gradients of one minibatch. It must dispose the tensors it creates, except its result. */
  step: (batch: B, ctx: StepContext) => LossAndGrads;
  /** Dev metrics after each epoch. */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
  /** Folder for the resumable state (model, optimiser, position); resumes from it if present. */
  stateDir?: string;
  /** Set `.stop = true` to end after the current step (the state is saved). */
  stopFlag?: { stop: boolean };
  progress?: ProgressOptions & { label?: string };
  /** Called after each epoch with its record. */
  onEpoch?: (r: EpochRecord) => void;
  /** Called after each step with the loss (for curves). */
  onStep?: (step: number, loss: number, lr: number) => void;
}

export interface TrainResult {
  epochs: EpochRecord[];
  steps: number;
  stopped: boolean;
  seconds: number;
  /** Loss of every step, for training curves. */
  losses: number[];
}

interface TrainerState {
  epoch: number;
  stepInEpoch: number;
  step: number;
  epochs: EpochRecord[];
  losses: number[];
  seconds: number;
  config: TrainerConfig;
}

const STATE_FILE = 'trainer_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';

async function saveState(dir: string, params: BertParams, opt: AdamWState, state: TrainerState): Promise<void> {
  await saveCheckpoint(params, dir, { advlm: { resumable: true } });
  const tensors = new Map<string, RawTensor>();
  for (const [name, m] of opt.m) tensors.set(`m/${name}`, { shape: m.shape, values: (await m.data()) as Float32Array });
  for (const [name, v] of opt.v) tensors.set(`v/${name}`, { shape: v.shape, values: (await v.data()) as Float32Array });
  writeSafetensors(path.join(dir, OPTIMIZER_FILE), tensors, { step: String(opt.step) });
  writeJsonAtomic(path.join(dir, STATE_FILE), state); // last: its presence marks a complete state
}

/** True if `dir` holds a resumable training state. */
export function hasTrainerState(dir: string): boolean {
  return fs.existsSync(path.join(dir, STATE_FILE)) && fs.existsSync(path.join(dir, OPTIMIZER_FILE));
}

function loadOptimizer(dir: string, opt: AdamWState): void {
  const file = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  opt.step = Number(file.metadata.step ?? 0);
  for (const [kind, map] of [['m', opt.m], ['v', opt.v]] as const) {
    for (const [name, variable] of map) {
      const t = file.tensors.get(`${kind}/${name}`);
      if (!t) throw new Error(`${dir}/${OPTIMIZER_FILE} lacks ${kind}/${name}: the state belongs to another model; delete ${dir} to start afresh`);
      tf.tidy(() => variable.assign(tf.tensor(t.values, t.shape)));
    }
  }
}

/**
 * Runs the loop. With `stateDir` holding a state from an interrupted run (same config), it resumes
 * at the step where that run stopped: the caller must have loaded the model from the same folder.
 */
export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainResult> {
  const c = o.config;
  const named = namedParams(o.params);
  const opt = initAdamW(named);
  const adamw: AdamWConfig = { ...ADAMW_DEFAULTS, weightDecay: c.weightDecay };
  const plannedSteps = c.epochs * o.stepsPerEpoch;
  const totalSteps = c.maxSteps > 0 ? Math.min(c.maxSteps, plannedSteps) : plannedSteps;
  const schedule = { peak: c.lr, warmupSteps: Math.round(c.warmupRatio * totalSteps), totalSteps };
  let state: TrainerState = { epoch: 0, stepInEpoch: 0, step: 0, epochs: [], losses: [], seconds: 0, config: c };
  if (o.stateDir && hasTrainerState(o.stateDir)) {
    const saved = JSON.parse(fs.readFileSync(path.join(o.stateDir, STATE_FILE), 'utf8')) as TrainerState;
    const changed = (Object.keys(c) as (keyof TrainerConfig)[]).filter((k) => k !== 'maxSteps' && k !== 'saveEvery' && saved.config[k] !== c[k]);
    if (changed.length) {
      throw new Error(`cannot resume from ${o.stateDir}: ${changed.map((k) => `${k} was ${saved.config[k]}, now ${c[k]}`).join('; ')}. Use the same settings, or another output folder.`);
    }
    loadOptimizer(o.stateDir, opt);
    state = { ...saved, config: c };
  }
  const start = performance.now() - state.seconds * 1000;
  const progress = createProgress(o.progress?.label ?? 'train', totalSteps, { ...o.progress, initial: state.step });
  let stopped = false;
  let epochLoss = 0;
  let epochCount = 0;
  const save = async () => {
    if (o.stateDir) await saveState(o.stateDir, o.params, opt, { ...state, seconds: (performance.now() - start) / 1000 });
  };
  try {
    outer: for (let epoch = state.epoch; epoch < c.epochs; epoch++) {
      let i = 0;
      for (const batch of o.epochBatches(epoch)) {
        if (i++ < state.stepInEpoch) continue; // resuming: skip the batches already trained on
        if (state.step >= totalSteps) break; // the step budget ends this epoch early
        const lr = linearWarmupDecay(schedule, state.step);
        const { loss, grads } = o.step(batch, { step: state.step, epoch, seed: c.seed * 1000003 + state.step });
        const l = (await loss.data())[0];
        loss.dispose();
        if (!Number.isFinite(l)) {
          disposeGrads(grads);
          throw new Error(`the loss became ${l} at step ${state.step}: lower the learning rate (${c.lr}) or check the inputs`);
        }
        clipGlobalNorm(grads, c.maxGradNorm);
        adamWStep(opt, named, grads, lr, adamw, (n) => !isNoDecay(n));
        disposeGrads(grads);
        state.step += 1;
        state.stepInEpoch = i;
        state.losses.push(l);
        epochLoss += l;
        epochCount += 1;
        o.onStep?.(state.step, l, lr);
        progress.update(state.step, `epoch ${epoch + 1}/${c.epochs} loss ${l.toFixed(4)} lr ${lr.toExponential(2)}`);
        if (c.saveEvery > 0 && state.step % c.saveEvery === 0) await save();
        if (o.stopFlag?.stop) {
          stopped = true;
          break outer;
        }
      }
      const dev = o.evaluate ? await o.evaluate(epoch) : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        step: state.step,
        trainLoss: epochCount ? epochLoss / epochCount : NaN,
        dev,
        seconds: (performance.now() - start) / 1000,
      };
      state.epochs.push(record);
      state.epoch = epoch + 1;
      state.stepInEpoch = 0;
      epochLoss = 0;
      epochCount = 0;
      o.onEpoch?.(record);
      await save();
      if (state.step >= totalSteps) break;
    }
    if (stopped) await save();
    const last = state.epochs[state.epochs.length - 1];
    progress.finish(last?.dev ? Object.entries(last.dev).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ') : '');
  } finally {
    disposeAdamW(opt);
  }
  return { epochs: state.epochs, steps: state.step, stopped, seconds: (performance.now() - start) / 1000, losses: state.losses };
}
