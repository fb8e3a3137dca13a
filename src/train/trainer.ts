/**
 * The training loop every method shares: AdamW with linear warmup then linear decay, no weight decay
 * on biases and LayerNorm, gradient clipping to a global norm, evaluation after each epoch, a
 * resumable state, and a stop flag (interrupting a notebook cell does not stop an async loop).
 *
 * A method (plain fine-tuning, MLM, PGD, FreeLB, ...) is only its step (src/adversarial/method.ts):
 * the loss, the gradients and the named metrics of one minibatch. The loop owns the optimiser, the
 * schedule, the per-step and per-epoch records, the choice of the best epoch on dev, and the
 * resumable state, which carries the run's identity (src/train/run_identity.ts), the best epoch so
 * far, the method's own parameters and state.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertParams, isNoDecay, namedParams, saveCheckpoint } from '../model';
import { readSafetensors, writeSafetensors, RawTensor } from '../model/safetensors';
import { writeJsonAtomic } from '../util/atomic';
import { ADAMW_DEFAULTS, AdamWConfig, AdamWState, adamWStep, clipGlobalNorm, disposeAdamW, initAdamW } from './adamw';
import type { MethodStep, StepInfo, StepResult, TrainBatch } from '../adversarial/method';
import { LossAndGrads, disposeGrads } from '../model/gradients';
import { disposeModelBatch } from '../model/forward';
import { RunIdentity, identityDifferences } from './run_identity';
import { stepSeed } from '../seeds';
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

/** What a method sees at each step (the replay index is 0 except for FreeAT's replays). */
export type StepContext = StepInfo;

/** The best epoch so far on the selection metric (dev set). */
export interface BestEpoch {
  epoch: number;
  metrics: Record<string, number>;
  value: number;
}

/** Set `stop` to end a run after the current step; `atStep` ends it once that many steps are done. */
export interface StopFlag {
  stop: boolean;
  atStep?: number;
}

export interface TrainLoopOptions<B> {
  params: BertParams;
  config: TrainerConfig;
  /** The minibatches of an epoch, deterministic given the epoch (shuffle with seed + epoch). */
  epochBatches: (epoch: number) => Iterable<B>;
  stepsPerEpoch: number;
  /** The method's step (method.makeStep(context)), with `toBatch` turning a minibatch into tensors. */
  method?: MethodStep;
  /** Tensors of a minibatch for `method` (the trainer disposes them after the step's replays). */
  toBatch?: (b: B) => TrainBatch;
  /** The method's name, for messages. */
  methodName?: string;
  /** A bare step function instead of a method: loss and gradients of one minibatch. It must dispose what it creates, except its result. */
  step?: (batch: B, ctx: StepContext) => LossAndGrads;
  /** Dev metrics after each epoch. */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
  /**
   * Measurements every `steps` optimiser steps within epochs (a learning curve: e.g. dev MLM loss every
   * few million tokens of pre-training); kept in the resumable state and returned as `curve`.
   */
  measureEvery?: { steps: number; measure: (step: number) => Promise<Record<string, number>> };
  /** Keeps the best epoch by this dev metric (higher is better); onBest runs when a new best appears. */
  select?: { metric: string; onBest?: (best: BestEpoch) => Promise<void> };
  /** The run's identity: stored with the state; a resume with another identity is an error naming the differences. */
  identity?: RunIdentity;
  /** Folder for the resumable state (model, optimiser, position); resumes from it if present. */
  stateDir?: string;
  /**
   * Set `.stop = true` to end after the current step (the state is saved); `atStep` ends the run
   * once that many steps are done, as if stopped there (not part of the run's identity: the schedule
   * stays the full run's, so a resume continues it).
   */
  stopFlag?: StopFlag;
  progress?: ProgressOptions & { label?: string };
  /** Called after each epoch with its record. */
  onEpoch?: (r: EpochRecord) => void;
  /** Called after each step with the loss (for curves) and the step's metrics. */
  onStep?: (step: number, loss: number, lr: number, metrics: Record<string, number>) => void;
}

export interface TrainResult {
  epochs: EpochRecord[];
  steps: number;
  stopped: boolean;
  seconds: number;
  /** Loss of every step, for training curves. */
  losses: number[];
  /** Every named metric of every step (gradNorm: the global gradient norm before clipping). */
  metrics: Record<string, number[]>;
  /** The best epoch by the selection metric, when `select` was given. */
  best?: BestEpoch;
  /** The measurements of `measureEvery`, in step order. */
  curve: CurvePoint[];
}

/** One measurement of a learning curve. */
export interface CurvePoint {
  step: number;
  seconds: number;
  metrics: Record<string, number>;
}

interface TrainerState {
  /** 2 since run identities; states without it were written before. */
  format?: number;
  identity?: RunIdentity;
  epoch: number;
  stepInEpoch: number;
  step: number;
  epochs: EpochRecord[];
  losses: number[];
  metrics?: Record<string, number[]>;
  best?: BestEpoch;
  curve?: CurvePoint[];
  seconds: number;
  config: TrainerConfig;
}

const STATE_FILE = 'trainer_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const METHOD_PARAMS_FILE = 'method_params.safetensors';
const METHOD_STATE_FILE = 'method_state.safetensors';

async function tensorsToRaw(entries: Iterable<[string, tf.Tensor]>): Promise<Map<string, RawTensor>> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of entries) out.set(name, { shape: t.shape, values: (await t.data()) as Float32Array });
  return out;
}

/**
 * Writes the whole state into `${dir}.next`, then swaps it in: `dir` -> `${dir}.prev`, `${dir}.next`
 * -> `dir`, and removes `${dir}.prev`. A kill at any moment leaves one complete state that
 * `recoverTrainerState` finds (the new one if its write ended, else the previous one), never a folder
 * that mixes two steps' files or lacks some of them.
 */
async function saveState(dir: string, params: BertParams, opt: AdamWState, state: TrainerState, method: MethodStep): Promise<void> {
  const next = `${dir}.next`;
  fs.rmSync(next, { recursive: true, force: true });
  await saveCheckpoint(params, next, { advlm: { resumable: true } });
  const tensors = new Map<string, RawTensor>();
  for (const [name, m] of opt.m) tensors.set(`m/${name}`, { shape: m.shape, values: (await m.data()) as Float32Array });
  for (const [name, v] of opt.v) tensors.set(`v/${name}`, { shape: v.shape, values: (await v.data()) as Float32Array });
  writeSafetensors(path.join(next, OPTIMIZER_FILE), tensors, { step: String(opt.step) });
  if (method.params.length) writeSafetensors(path.join(next, METHOD_PARAMS_FILE), await tensorsToRaw(method.params));
  if (method.saveState) {
    const st = method.saveState();
    try {
      writeSafetensors(path.join(next, METHOD_STATE_FILE), await tensorsToRaw(st));
    } finally {
      tf.dispose([...st.values()]);
    }
  }
  writeJsonAtomic(path.join(next, STATE_FILE), state); // last: its presence marks a complete state
  const prev = `${dir}.prev`;
  removeTrainerState(prev);
  if (fs.existsSync(dir)) fs.renameSync(dir, prev);
  fs.renameSync(next, dir);
  removeTrainerState(prev);
}

function isCompleteState(dir: string): boolean {
  return fs.existsSync(path.join(dir, STATE_FILE)) && fs.existsSync(path.join(dir, OPTIMIZER_FILE));
}

/**
 * Removes a state folder, its marker (trainer_state.json) first: a kill in the middle leaves a folder
 * that no longer claims to be a state, rather than a state with files missing.
 */
export function removeTrainerState(dir: string): void {
  if (!fs.existsSync(dir)) return;
  fs.rmSync(path.join(dir, STATE_FILE), { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * True if `dir` holds a resumable training state, after finishing a state write that a kill
 * interrupted (see `saveState`): a complete `${dir}.next`, or else `${dir}.prev`, takes the place of
 * a missing or incomplete `dir`, and the leftovers are removed.
 */
export function recoverTrainerState(dir: string): boolean {
  const next = `${dir}.next`;
  const prev = `${dir}.prev`;
  if (!isCompleteState(dir)) {
    const found = [next, prev].find(isCompleteState);
    if (found) {
      removeTrainerState(dir);
      fs.renameSync(found, dir);
    }
  }
  removeTrainerState(next);
  removeTrainerState(prev);
  return isCompleteState(dir);
}

function loadOptimizer(dir: string, opt: AdamWState): void {
  const file = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  opt.step = Number(file.metadata.step ?? 0);
  for (const [kind, map] of [['m', opt.m], ['v', opt.v]] as const) {
    for (const [name, variable] of map) {
      const t = file.tensors.get(`${kind}/${name}`);
      if (!t) throw new Error(`${dir}/${OPTIMIZER_FILE} lacks ${kind}/${name}: the state belongs to another model or method; delete ${dir} to start afresh`);
      tf.tidy(() => variable.assign(tf.tensor(t.values, t.shape)));
    }
  }
}

function loadMethod(dir: string, method: MethodStep): void {
  if (method.params.length) {
    const file = readSafetensors(path.join(dir, METHOD_PARAMS_FILE));
    for (const [name, v] of method.params) {
      const t = file.tensors.get(name);
      if (!t) throw new Error(`${dir}/${METHOD_PARAMS_FILE} lacks ${name}: delete ${dir} to start afresh`);
      tf.tidy(() => v.assign(tf.tensor(t.values, t.shape)));
    }
  }
  const stateFile = path.join(dir, METHOD_STATE_FILE);
  if (method.loadState && fs.existsSync(stateFile)) {
    const st = new Map<string, tf.Tensor>();
    for (const [name, t] of readSafetensors(stateFile).tensors) st.set(name, tf.tensor(t.values, t.shape));
    try {
      method.loadState(st);
    } finally {
      tf.dispose([...st.values()]);
    }
  }
}

/** Checks that a saved state belongs to this run; returns a warning for states written before run identities. */
function checkResumable(dir: string, saved: TrainerState, c: TrainerConfig, identity: RunIdentity | undefined): string | undefined {
  if (saved.identity && identity) {
    if (saved.identity.id === identity.id) return undefined;
    const diff = identityDifferences(saved.identity.fields, identity.fields);
    throw new Error(`cannot resume from ${dir}: it belongs to another run (${diff.join('; ')}). Use the same settings, or another output folder.`);
  }
  const changed = (Object.keys(c) as (keyof TrainerConfig)[]).filter((k) => k !== 'saveEvery' && saved.config[k] !== c[k]);
  if (changed.length) {
    throw new Error(`cannot resume from ${dir}: ${changed.map((k) => `${k} was ${saved.config[k]}, now ${c[k]}`).join('; ')}. Use the same settings, or another output folder.`);
  }
  if (!saved.identity && identity) {
    return `resuming ${dir}, a state written before run identities: only the trainer settings could be checked (the task, method, data and initial weights could not); the identity is recorded from now on`;
  }
  return undefined;
}

/** What the loop knows of a bare step function (called directly with the minibatch): no parameters, state or replays. */
const BARE: MethodStep = {
  replays: 1,
  params: [],
  step: () => {
    throw new Error('a bare step function is called with the minibatch itself');
  },
  dispose: () => {},
};

/**
 * Runs the loop. With `stateDir` holding a state from an interrupted run (same identity), it resumes
 * at the step where that run stopped: the caller must have loaded the model from the same folder.
 */
export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainResult> {
  const c = o.config;
  checkTrainerConfig(c);
  if (!o.method === !o.step) throw new Error('trainLoop needs either a method (with toBatch) or a bare step function');
  if (o.method && !o.toBatch) throw new Error('trainLoop: a method needs toBatch to turn minibatches into tensors');
  const methodName = o.methodName ?? (o.method ? 'method' : 'step');
  // a bare step function is a method with no parameters, state or replays of its own
  const method: MethodStep = o.method ?? BARE;
  if (!(Number.isInteger(method.replays) && method.replays >= 1)) throw new Error(`method ${methodName}: replays must be a positive integer, got ${method.replays}`);
  const named = [...namedParams(o.params), ...method.params];
  const opt = initAdamW(named);
  const adamw: AdamWConfig = { ...ADAMW_DEFAULTS, weightDecay: c.weightDecay };
  const plannedSteps = c.epochs * o.stepsPerEpoch;
  const totalSteps = c.maxSteps > 0 ? Math.min(c.maxSteps, plannedSteps) : plannedSteps;
  const schedule = { peak: c.lr, warmupSteps: Math.round(c.warmupRatio * totalSteps), totalSteps };
  if (o.measureEvery && !(Number.isInteger(o.measureEvery.steps) && o.measureEvery.steps > 0)) throw new Error(`measureEvery.steps must be a positive integer, got ${o.measureEvery.steps}`);
  let state: TrainerState = { format: 2, identity: o.identity, epoch: 0, stepInEpoch: 0, step: 0, epochs: [], losses: [], metrics: {}, curve: [], seconds: 0, config: c };
  if (o.stateDir && recoverTrainerState(o.stateDir)) {
    const saved = JSON.parse(fs.readFileSync(path.join(o.stateDir, STATE_FILE), 'utf8')) as TrainerState;
    const warning = checkResumable(o.stateDir, saved, c, o.identity);
    if (warning) console.warn(warning);
    loadOptimizer(o.stateDir, opt);
    loadMethod(o.stateDir, method);
    state = { ...saved, format: 2, identity: o.identity ?? saved.identity, metrics: saved.metrics ?? {}, curve: saved.curve ?? [], config: c };
  }
  const start = performance.now() - state.seconds * 1000;
  const progress = createProgress(o.progress?.label ?? 'train', totalSteps, { ...o.progress, initial: state.step });
  let stopped = false;
  const epochSums: Record<string, number> = {};
  let epochCount = 0;
  const save = async () => {
    if (o.stateDir) await saveState(o.stateDir, o.params, opt, { ...state, seconds: (performance.now() - start) / 1000 }, method);
  };
  const record = (name: string, value: number) => {
    (state.metrics![name] ??= []).push(value);
    epochSums[name] = (epochSums[name] ?? 0) + value;
  };
  try {
    outer: for (let epoch = state.epoch; epoch < c.epochs; epoch++) {
      let i = 0;
      for (const b of o.epochBatches(epoch)) {
        if (i++ < state.stepInEpoch) continue; // resuming: skip the batches already trained on
        if (state.step >= totalSteps) break; // the step budget ends this epoch early
        const lr = linearWarmupDecay(schedule, state.step);
        const sums: Record<string, number> = {};
        let batch: TrainBatch | undefined;
        try {
          for (let replay = 0; replay < method.replays; replay++) {
            const info: StepInfo = { step: state.step, epoch, seed: stepSeed(c.seed, state.step), replay };
            let result: StepResult;
            if (o.step) result = { ...o.step(b, info), metrics: {} };
            else {
              batch ??= o.toBatch!(b);
              result = method.step(batch, info);
            }
            const values = await readTerms(result, state.step, methodName);
            for (const [k, v] of Object.entries(values)) sums[k] = (sums[k] ?? 0) + v;
            const gradNorm = clipGlobalNorm(result.grads, c.maxGradNorm);
            sums.gradNorm = (sums.gradNorm ?? 0) + gradNorm;
            adamWStep(opt, named, result.grads, lr, adamw, (n) => !isNoDecay(n));
            disposeGrads(result.grads);
          }
        } finally {
          if (batch) disposeModelBatch(batch);
        }
        const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / method.replays]));
        const l = means.loss;
        delete means.loss;
        state.step += 1;
        state.stepInEpoch = i;
        state.losses.push(l);
        epochSums.loss = (epochSums.loss ?? 0) + l;
        for (const [k, v] of Object.entries(means)) record(k, v);
        epochCount += 1;
        o.onStep?.(state.step, l, lr, means);
        progress.update(state.step, `epoch ${epoch + 1}/${c.epochs} loss ${l.toFixed(4)} lr ${lr.toExponential(2)}`);
        if (o.measureEvery && state.step % o.measureEvery.steps === 0) {
          const metrics = await o.measureEvery.measure(state.step);
          state.curve!.push({ step: state.step, seconds: (performance.now() - start) / 1000, metrics });
          await save(); // a measurement is never lost to an interruption
        } else if (c.saveEvery > 0 && state.step % c.saveEvery === 0) await save();
        // let the event loop run once per step: on wasm every await above resolves as a microtask, so
        // without this a SIGINT/SIGTERM handler (which sets the stop flag) would never run
        await new Promise((resolve) => setImmediate(resolve));
        if (o.stopFlag?.stop || (o.stopFlag?.atStep !== undefined && state.step >= o.stopFlag.atStep)) {
          stopped = true;
          break outer;
        }
      }
      const dev = o.evaluate ? await o.evaluate(epoch) : undefined;
      const { loss: lossSum = NaN, ...rest } = epochSums;
      const epochRecord: EpochRecord = {
        epoch: epoch + 1,
        step: state.step,
        trainLoss: epochCount ? lossSum / epochCount : NaN,
        metrics: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, v / Math.max(epochCount, 1)])),
        dev,
        seconds: (performance.now() - start) / 1000,
      };
      state.epochs.push(epochRecord);
      state.epoch = epoch + 1;
      state.stepInEpoch = 0;
      for (const k of Object.keys(epochSums)) delete epochSums[k];
      epochCount = 0;
      if (o.select && dev) {
        const value = dev[o.select.metric];
        if (value === undefined) throw new Error(`the dev metrics have no '${o.select.metric}' to choose the best epoch by (they have ${Object.keys(dev).join(', ')})`);
        if (Number.isFinite(value) && (!state.best || value > state.best.value)) {
          state.best = { epoch: epoch + 1, metrics: dev, value };
          await o.select.onBest?.(state.best);
        }
      }
      o.onEpoch?.(epochRecord);
      await save();
      if (state.step >= totalSteps) break;
    }
    if (stopped) await save();
    const last = state.epochs[state.epochs.length - 1];
    progress.finish(last?.dev ? Object.entries(last.dev).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ') : '');
  } finally {
    disposeAdamW(opt);
  }
  return {
    epochs: state.epochs,
    steps: state.step,
    stopped,
    seconds: (performance.now() - start) / 1000,
    losses: state.losses,
    metrics: state.metrics ?? {},
    best: state.best,
    curve: state.curve ?? [],
  };
}


/** Reads the loss and every metric of a step, disposing them; a NaN or infinite term stops the run with its name. */
async function readTerms(r: StepResult, step: number, method: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const terms: [string, tf.Scalar][] = [['loss', r.loss], ...Object.entries(r.metrics)];
  try {
    for (const [name, t] of terms) out[name] = (await t.data())[0];
  } finally {
    tf.dispose(terms.map(([, t]) => t));
  }
  for (const [name, v] of Object.entries(out)) {
    if (!Number.isFinite(v)) {
      disposeGrads(r.grads);
      throw new Error(`step ${step}, method ${method}: the ${name === 'loss' ? 'loss' : `term '${name}'`} is ${v}. Lower the learning rate or the method's step sizes, or check the inputs.`);
    }
  }
  return out;
}


/** Rejects trainer settings that cannot work, before any work starts. */
export function checkTrainerConfig(c: TrainerConfig): void {
  const bad: string[] = [];
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) bad.push(`epochs must be a positive integer, got ${c.epochs}`);
  if (!(Number.isFinite(c.lr) && c.lr > 0)) bad.push(`lr must be a positive number, got ${c.lr}`);
  if (!(c.warmupRatio >= 0 && c.warmupRatio <= 1)) bad.push(`warmupRatio must be in [0, 1], got ${c.warmupRatio}`);
  if (!(c.weightDecay >= 0)) bad.push(`weightDecay must be >= 0, got ${c.weightDecay}`);
  if (!(c.maxGradNorm >= 0)) bad.push(`maxGradNorm must be >= 0 (0 = no clipping), got ${c.maxGradNorm}`);
  if (!(Number.isInteger(c.maxSteps) && c.maxSteps >= 0)) bad.push(`maxSteps must be an integer >= 0 (0 = no limit), got ${c.maxSteps}`);
  if (!(Number.isInteger(c.saveEvery) && c.saveEvery >= 0)) bad.push(`saveEvery must be an integer >= 0, got ${c.saveEvery}`);
  if (!Number.isInteger(c.seed)) bad.push(`seed must be an integer, got ${c.seed}`);
  if (bad.length) throw new Error(`bad training settings: ${bad.join('; ')}`);
}
