/**
 * A training method is a value: `{ name, config, objectives, makeStep(context) }`. The trainer
 * (src/train/trainer.ts) owns the optimiser, the schedule, evaluation, checkpoints and resuming; a
 * method owns only what happens to one minibatch: the loss, the parameter gradients and a record of
 * named metrics (adversarial loss, norm of delta, KL, ...). Plain training, MLM pre-training, PGD,
 * FreeAT, YOPO, FreeLB, ALUM, ASCC and RIFT are all methods, so none of them touches the trainer.
 *
 * A method is rebuilt from `(name, JSON config)` by the registry (src/adversarial/registry.ts): the
 * command line, a resumed run and a worker thread all start from that pair.
 *
 * Beyond the loss, a method may
 *  - own trainable parameters (RIFT's projection heads): `MethodStep.params`, updated by the
 *    optimiser and saved in the resume state apart from the exported model;
 *  - own state carried between minibatches (FreeAT's delta): `saveState` / `loadState`;
 *  - take several optimiser updates per minibatch (FreeAT's m replays): `replays`; the schedule
 *    counts minibatches, and `StepInfo.replay` says which replay this is;
 *  - read the frozen initial checkpoint (a teacher): `MethodContext.teacher()`;
 *  - choose the minibatches of fine-tuning (RIFT's class-balanced batches): `sampler`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BertParams, ModelBatch, NamedVariables } from '../model';
import type { BertTokenizer } from '../tokenizer';

/** What a method trains: a task head (classification / regression) or the MLM head. */
export type Objective = 'task' | 'mlm';

/** A minibatch as tensors (owned by the trainer), with the raw examples for word-level methods. */
export type TrainBatch = ModelBatch & { examples?: readonly unknown[] };

export interface StepInfo {
  /** Optimiser steps done so far, counted in minibatches (0-based index of this minibatch). */
  step: number;
  epoch: number;
  /** The seed of this minibatch's randomness (dropout masks, delta initialisation). */
  seed: number;
  /** Which replay of the minibatch this is, 0..replays-1 (FreeAT); always 0 for other methods. */
  replay: number;
}

export interface StepResult {
  /** The loss the method minimises (the value the trainer logs as the step's loss). */
  loss: tf.Scalar;
  /** Gradients of that loss by parameter name (model parameters and the method's own). */
  grads: Map<string, tf.Tensor>;
  /** Named scalars to log for this step, e.g. { cleanLoss, advLoss, deltaNorm }. The trainer disposes them. */
  metrics: Record<string, tf.Scalar>;
}

export interface MethodContext {
  /** The model being trained. */
  params: BertParams;
  objective: Objective;
  /** For the task objective. */
  taskKind?: TaskKind;
  tokenizer?: BertTokenizer;
  /**
   * The frozen initial model (the checkpoint training started from), loaded on first call, in
   * evaluation mode, never trained or saved. Absent when training starts from random weights.
   */
  teacher?: () => BertParams;
}

export interface MethodStep {
  /** The loss, gradients and metrics of one minibatch (one replay of it). */
  step(batch: TrainBatch, info: StepInfo): StepResult;
  /** Optimiser updates per minibatch (1 except for FreeAT). */
  replays: number;
  /** Trainable parameters the method owns (besides the model's); [] for most methods. */
  params: NamedVariables;
  /** State to carry across a resume (tensors the caller disposes), e.g. FreeAT's delta. */
  saveState?(): Map<string, tf.Tensor>;
  /** Restores what saveState returned (the method copies what it keeps). */
  loadState?(state: Map<string, tf.Tensor>): void;
  /**
   * Minibatches of an epoch as indices into the training examples, given their labels, instead of the
   * trainer's shuffled batches (RIFT's class-balanced batches); the same seed must give the same batches.
   */
  sampler?(labels: readonly number[], batchSize: number, seed: number): number[][];
  /** Releases the method's own tensors and variables. */
  dispose(): void;
}

export interface Method<C extends object = object> {
  name: string;
  /** Every setting, defaults filled in (plain JSON: it is part of the run's identity). */
  config: C;
  objectives: readonly Objective[];
  /** The kinds of task it can fine-tune (absent: every kind); checked before any work starts. */
  taskKinds?: readonly TaskKind[];
  /** Why it runs with one worker only (data-parallel workers cannot share its minibatches); absent: they can. */
  singleWorker?: string;
  makeStep(context: MethodContext): MethodStep;
}

export type TaskKind = 'classification' | 'regression';

/** A method as JSON: what run records, sweeps and worker threads pass around. */
export interface MethodSpec {
  name: string;
  config?: Record<string, unknown>;
}

/** One option of a method: type, help, and the checks the registry applies before any work. */
export interface OptionDoc {
  kind: 'number' | 'string' | 'boolean';
  help: string;
  integer?: boolean;
  /** Smallest allowed value (numbers). */
  min?: number;
  /** True if the value must be strictly greater than `min`. */
  exclusiveMin?: boolean;
  choices?: readonly string[];
}
