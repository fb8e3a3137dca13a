/**
 * Masked-language-model pre-training (Devlin et al. 2019, section 3.1) on the corpus in
 * data/pretrain: packed sequences of up to `maxLength` tokens, 15% of tokens selected (80% [MASK],
 * 10% random, 10% kept), cross-entropy at the selected positions. A held-out slice of the sequences,
 * with fixed masks, measures MLM loss and accuracy after each epoch.
 *
 * Where we differ from BERT: by default (`outputVocabulary: 'corpus'`) the MLM softmax, and the
 * 10% random replacements, use only the tokens the corpus contains (18,046 of BERT's 30,522 word
 * pieces for data/pretrain). BERT pre-trains on billions of words, where almost every token occurs;
 * on a 1.8 M-token corpus the full softmax pushes every absent token's tied embedding away from all
 * contexts, and those rows collapse onto one direction (mean pairwise cosine 0.96, against 0.15 for
 * tokens the corpus has), which then hampers fine-tuning on text that uses them (4.5% of SST-2's
 * tokens, "movie" and "director" among them). Restricted, the absent rows keep their random
 * initial values, as they would in a model trained from scratch on the task.
 */
import { dataParallel } from './data_parallel';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer, MaskVocab, MlmArrays, corpusTokenIds, createRng, loadTokenizer, mlmBatch, mlmBatches, packSequencesCached, readCorpus, shuffled, taskTextDocuments, withRandomTokens } from '../data';
import { BertConfig, BertParams, OutputVocabulary, countParams, disposeParams, initParams, loadCheckpoint, namedConfig, outputVocabulary, readCheckpointConfig, saveCheckpoint } from '../model';
import { saveTokenizerFile, tokenizerFileIn } from '../tokenizer';
import { Method, MethodSpec, methodSpec, resolveMethod } from '../adversarial/methods';
import { appendRunRecord, newRunRecord } from './run_record';
import { finetune } from './finetune';
import { RunIdentity, checkpointDigest, runIdentity, sha256 } from './run_identity';
import { mlmBatchTensors, mlmLoss } from './steps';
import { CurvePoint, StopFlag, TRAINER_DEFAULTS, TrainResult, TrainerConfig, checkTrainerConfig, recoverTrainerState, removeTrainerState, trainLoop } from './trainer';

export interface PretrainConfig {
  /** A named size (tiny, mini, small, base) or a full configuration. */
  model: string | BertConfig;
  maxLength: number;
  batchSize: number;
  /** Fraction of packed sequences held out for the MLM dev measurement. */
  devFraction: number;
  trainer: TrainerConfig;
  /** Corpus folder (default data/pretrain; 'none' for no books). */
  corpusDir?: string;
  /**
   * GLUE tasks whose unlabelled training text is added to the corpus (task-adaptive pre-training,
   * Gururangan et al. 2020), e.g. ['SST-2']. Dev and test text are never used.
   */
  taskText?: string[];
  /**
   * tokenizer.json or vocab.txt (default: that of the `from` checkpoint, else BERT uncased). A
   * non-default tokenizer is saved with the checkpoint.
   */
  tokenizer?: string;
  /** Read only this many lines per book (for tests). */
  limitLines?: number;
  /** Continue from this checkpoint's weights (a new schedule and optimiser) instead of random ones. */
  from?: string;
  /**
   * The tokens the MLM softmax and the random replacements use: 'corpus' (those the corpus
   * contains; the default, see the note at the top) or 'full' (the whole vocabulary, as BERT).
   */
  outputVocabulary: 'corpus' | 'full';
  /** The training method: plain MLM ('vanilla') by default; any method that trains the MLM objective. */
  method?: Method | MethodSpec | string;
  /**
   * A learning curve: every this many training tokens (about; rounded to whole steps), measure dev
   * MLM loss and accuracy, and with `probe` also fine-tune a copy on the first 1,000 SST-2 training
   * sentences (3 epochs, seed 0) and record its best dev accuracy. Not part of the run's identity.
   */
  measureEveryTokens?: number;
  probe?: boolean;
}

/** The SST-2 probe of a pre-training curve: what 1,000 labelled sentences reach from these weights. */
export const PROBE = { task: 'SST-2', limitTrain: 1000, epochs: 3, seed: 0 } as const;

/**
 * The MLM output bias that a checkpoint pre-trained with the corpus output vocabulary gives every token
 * outside it: "never predicted" (e^-30 = 1e-13), since those tokens never received the training
 * signal that would have made them unlikely. Any BERT implementation that loads the checkpoint then
 * fills in masks sensibly. A later pre-training run whose corpus has such a token starts its bias at 0.
 */
export const UNSEEN_TOKEN_BIAS = -30;

/** [V] bool: true for the tokens of `vocab`. */
function inVocabulary(vocab: OutputVocabulary): tf.Tensor1D {
  return tf.tensor1d(Array.from(vocab.index, (j) => j >= 0), 'bool');
}

/** Sets the MLM output bias of every token outside `vocab` to UNSEEN_TOKEN_BIAS (in place). */
export function markUnseenTokens(p: BertParams, vocab: OutputVocabulary): void {
  const bias = p.mlm?.bias;
  if (!bias) return;
  tf.tidy(() => bias.assign(tf.where(inVocabulary(vocab), bias, tf.fill(bias.shape, UNSEEN_TOKEN_BIAS)) as tf.Tensor1D)); // [V]
}

/** Resets to 0 the MLM output bias of tokens in `vocab` that a previous run marked as never seen (in place). */
export function unmarkTokens(p: BertParams, vocab: OutputVocabulary): void {
  const bias = p.mlm?.bias;
  if (!bias) return;
  tf.tidy(() => {
    const marked = tf.logicalAnd(tf.lessEqual(bias, UNSEEN_TOKEN_BIAS), inVocabulary(vocab)); // [V]
    bias.assign(tf.where(marked, tf.zerosLike(bias), bias) as tf.Tensor1D); // [V]
  });
}

export const PRETRAIN_DEFAULTS: PretrainConfig = {
  model: 'tiny',
  maxLength: 128,
  // 8 sequences (1,024 tokens) per step. On data/pretrain, after one epoch, batch 8 reached dev MLM
  // loss 6.17 and batch 32 reached 6.25, in about the same time; after three passes the two were
  // level (6.00 and 6.01). The project's checkpoint was trained at 8.
  batchSize: 8,
  devFraction: 0.01,
  outputVocabulary: 'corpus',
  trainer: { ...TRAINER_DEFAULTS, epochs: 4, lr: 1e-3, warmupRatio: 0.06, weightDecay: 0.01, saveEvery: 100 },
};

/**
 * The fixed-mask dev batches: 32 sequences each, masks seeded by position, so the dev measurement
 * is the same draw whatever the training batch size.
 */
export function mlmDevBatches(dev: readonly (readonly number[])[], vocab: MaskVocab, size = 32): MlmArrays[] {
  const out: MlmArrays[] = [];
  for (let i = 0; i < dev.length; i += size) out.push(mlmBatch(dev.slice(i, i + size), vocab, 777 + i));
  return out;
}

export interface MlmEval {
  loss: number;
  accuracy: number;
  masked: number;
}

/** MLM loss and accuracy over fixed-mask batches, without dropout (over `vocab` if given). */
export async function evaluateMlm(p: BertParams, batches: readonly MlmArrays[], vocab?: OutputVocabulary): Promise<MlmEval> {
  let lossSum = 0;
  let correct = 0;
  let masked = 0;
  for (const b of batches) {
    const out = mlmLoss(p, b, undefined, true, vocab);
    lossSum += (await out.loss.data())[0] * out.count;
    correct += (await out.correct!.data())[0];
    masked += out.count;
    tf.dispose([out.loss, out.correct!]);
  }
  return { loss: lossSum / masked, accuracy: correct / masked, masked };
}

/**
 * The pre-training run's identity: everything that changes the result (see run_identity.ts). The
 * tokenizer and the checkpoint continued from count by the SHA-256 of their files.
 */
export function pretrainIdentity(c: PretrainConfig, modelConfig: BertConfig): RunIdentity {
  const { saveEvery: _saveEvery, ...trainer } = c.trainer;
  const tokenizerFile = c.tokenizer ?? (c.from ? tokenizerFileIn(c.from) : undefined);
  return runIdentity({
    command: 'pretrain',
    method: methodSpec(resolveMethod(c.method)),
    model: modelConfig,
    corpus: c.corpusDir ?? 'data/pretrain',
    taskText: c.taskText,
    limitLines: c.limitLines,
    tokenizer: tokenizerFile ? sha256(fs.readFileSync(tokenizerFile)) : 'bert-base-uncased',
    from: c.from ? checkpointDigest(c.from) : undefined,
    maxLength: c.maxLength,
    batchSize: c.batchSize,
    devFraction: c.devFraction,
    outputVocabulary: c.outputVocabulary,
    trainer,
  });
}

/** Best SST-2 dev accuracy after fine-tuning a copy of `params` on the probe's 1,000 sentences. */
export async function probeSst2(params: BertParams, tokenizerFile?: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-probe-'));
  try {
    await saveCheckpoint(params, dir);
    if (tokenizerFile) saveTokenizerFile(tokenizerFile, dir);
    const r = await finetune(
      { task: PROBE.task, checkpoint: dir, limitTrain: PROBE.limitTrain, trainer: { epochs: PROBE.epochs, seed: PROBE.seed } },
      { record: false, progress: { mode: 'silent' } },
    );
    disposeParams(r.params);
    return r.best.metrics.accuracy;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface PretrainResult {
  params: BertParams;
  /** The learning curve (measureEveryTokens): dev MLM loss, accuracy and the SST-2 probe by tokens seen. */
  curve: CurvePoint[];
  train: TrainResult;
  dev: MlmEval;
  tokens: number;
  sequences: number;
  parameters: number;
}

/**
 * Pre-trains and saves the model to `outDir` (resumable state in `outDir/resume`). With a state
 * present there, continues where it stopped. `workers`: threads sharing each minibatch
 * (src/train/data_parallel.ts), default 1; like the stop flag, not part of the run's identity.
 */
export async function pretrain(outDir: string, config: PretrainConfig = PRETRAIN_DEFAULTS, stopFlag?: StopFlag, workers = 1): Promise<PretrainResult> {
  const c = { ...PRETRAIN_DEFAULTS, ...config };
  if (c.outputVocabulary !== 'corpus' && c.outputVocabulary !== 'full') throw new Error(`outputVocabulary must be 'corpus' or 'full', got '${c.outputVocabulary}'`);
  for (const [k, v] of [['batchSize', c.batchSize], ['maxLength', c.maxLength]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`bad pre-training settings: ${k} must be a positive integer, got ${v}`);
  }
  if (!(c.devFraction > 0 && c.devFraction < 1)) throw new Error(`bad pre-training settings: devFraction must be in (0, 1), got ${c.devFraction}`);
  checkTrainerConfig(c.trainer);
  const method = resolveMethod(c.method);
  if (!method.objectives.includes('mlm')) throw new Error(`method '${method.name}' does not pre-train (it trains ${method.objectives.join(', ')}); methods that do: those with the mlm objective`);
  // the tokenizer given, else the one the checkpoint we continue from carries, else BERT uncased
  const tokenizerSource = c.tokenizer ?? (c.from ? tokenizerFileIn(c.from) : undefined);
  const tok: BertTokenizer = loadTokenizer(tokenizerSource);
  const docs = [
    ...(c.corpusDir === 'none' ? [] : readCorpus({ dir: c.corpusDir, limitLines: c.limitLines })),
    ...taskTextDocuments(c.taskText ?? [], { limitLines: c.limitLines }),
  ];
  if (docs.length === 0) throw new Error("nothing to pre-train on: give a corpus folder, or task text with corpusDir 'none'");
  const sequences = packSequencesCached(tok, docs, { maxLength: c.maxLength, log: console.log });
  const order = shuffled(sequences, createRng(12345)); // fixed split, whatever the training seed
  const nDev = Math.max(1, Math.round(order.length * c.devFraction));
  const dev = order.slice(0, nDev);
  const train = order.slice(nDev);
  const tokens = train.reduce((n, s) => n + s.length, 0);
  const corpusIds = corpusTokenIds(sequences, tok.specialIds); // ascending
  const vocab: OutputVocabulary | undefined = c.outputVocabulary === 'corpus' ? outputVocabulary(corpusIds, tok.vocabSize) : undefined;
  const maskVocab: MaskVocab = vocab ? withRandomTokens(tok, corpusIds) : tok;
  const devBatches = mlmDevBatches(dev, maskVocab);

  const modelConfig: BertConfig = { ...(typeof c.model === 'string' ? namedConfig(c.model) : c.model), vocabSize: tok.vocabSize };
  if (modelConfig.maxPositions < c.maxLength) throw new Error(`maxLength ${c.maxLength} exceeds the model's ${modelConfig.maxPositions} positions`);
  const stateDir = path.join(outDir, 'resume');
  const resuming = recoverTrainerState(stateDir);
  const params = resuming
    ? loadCheckpoint(stateDir, { mlm: true }).params
    : c.from
      ? loadCheckpoint(c.from, { mlm: true, seed: c.trainer.seed }).params
      : initParams(modelConfig, { mlm: true, seed: c.trainer.seed });
  if (params.config.vocabSize !== tok.vocabSize) {
    disposeParams(params);
    throw new Error(`the checkpoint has ${params.config.vocabSize} tokens but the tokenizer ${tok.vocabSize}: use the tokenizer it was trained with`);
  }
  if (vocab && c.from && !resuming) unmarkTokens(params, vocab);
  const stepsPerEpoch = Math.ceil(train.length / c.batchSize);
  const identity = pretrainIdentity(c, modelConfig);
  const record = newRunRecord('pretrain', method.name, c.trainer.seed, { ...c, method: methodSpec(method), model: modelConfig } as unknown as Record<string, unknown>);
  record.identity = identity;
  let teacher: BertParams | undefined;
  const made = method.makeStep({
    params,
    objective: 'mlm',
    tokenizer: tok,
    teacher: c.from ? () => (teacher ??= loadCheckpoint(c.from!, { mlm: true }).params) : undefined,
  });
  let step = made;
  if (workers > 1) {
    try {
      step = await dataParallel(made, methodSpec(method), params, { workers, objective: 'mlm', tokenizerFile: tokenizerSource });
    } catch (e) {
      made.dispose();
      disposeParams(params);
      if (teacher) disposeParams(teacher);
      throw e;
    }
  }
  console.log(
    `pre-training ${countParams(params)} parameters on ${train.length} sequences (${tokens} tokens), ${stepsPerEpoch} steps per epoch, ` +
      (vocab ? `MLM softmax over the corpus's ${vocab.ids.length} of ${tok.vocabSize} tokens` : `MLM softmax over all ${tok.vocabSize} tokens`) +
      (resuming ? `, resuming from ${stateDir}` : c.from ? `, continuing from ${c.from}` : ''),
  );
  let result: TrainResult;
  try {
    result = await trainLoop({
      params,
      config: c.trainer,
      epochBatches: (epoch) => mlmBatches(train, c.batchSize, maskVocab, c.trainer.seed * 1000 + epoch),
      stepsPerEpoch,
      method: step,
      methodName: method.name,
      toBatch: (b) => mlmBatchTensors(b, vocab),
      identity,
      measureEvery: c.measureEveryTokens
        ? {
            steps: Math.max(1, Math.round(c.measureEveryTokens / (c.batchSize * (tokens / train.length)))),
            measure: async (step) => {
              const e = await evaluateMlm(params, devBatches, vocab);
              const out: Record<string, number> = { tokens: step * c.batchSize * (tokens / train.length), mlmLoss: e.loss, mlmAccuracy: e.accuracy };
              if (c.probe) out.probeSst2 = await probeSst2(params, tokenizerSource);
              console.log(`step ${step}: ${Object.entries(out).map(([k, v]) => `${k} ${k === 'tokens' ? (v / 1e6).toFixed(2) + 'M' : v.toFixed(4)}`).join(', ')}`);
              return out;
            },
          }
        : undefined,
      evaluate: async () => {
        const e = await evaluateMlm(params, devBatches, vocab);
        return { mlmLoss: e.loss, mlmAccuracy: e.accuracy };
      },
      stateDir,
      stopFlag,
      progress: { label: 'pretrain' },
      onEpoch: (r) => console.log(`epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, dev MLM loss ${r.dev?.mlmLoss.toFixed(4)}, accuracy ${r.dev?.mlmAccuracy.toFixed(4)} (${r.seconds.toFixed(0)}s)`),
    });
  } catch (e) {
    disposeParams(params);
    throw e;
  } finally {
    step.dispose();
    if (teacher) disposeParams(teacher);
  }
  const devEval = await evaluateMlm(params, devBatches, vocab);
  const summary = {
    steps: result.steps,
    tokensSeen: result.steps * c.batchSize * (tokens / train.length),
    devMlmLoss: devEval.loss,
    devMlmAccuracy: devEval.accuracy,
    outputTokens: vocab ? vocab.ids.length : tok.vocabSize,
    wallSeconds: result.seconds,
    backend: record.backend,
  };
  if (vocab) markUnseenTokens(params, vocab);
  // a run continued from another checkpoint keeps that one's record too, so the whole recipe stays readable
  const previous = c.from ? (readCheckpointConfig(c.from).hfConfig.advlm as { pretraining?: unknown } | undefined)?.pretraining : undefined;
  await saveCheckpoint(params, outDir, {
    advlm: { pretraining: { ...summary, config: { ...c, method: methodSpec(method), model: modelConfig }, runId: identity.id, curve: result.curve, ...(previous ? { previous } : {}) } },
  });
  if (tokenizerSource) saveTokenizerFile(tokenizerSource, outDir); // a checkpoint carries a non-default vocabulary
  record.epochs = result.epochs;
  record.steps = result.metrics;
  record.wallSeconds = result.seconds;
  record.result = { ...summary, outDir, stopped: result.stopped, curve: result.curve };
  appendRunRecord(record);
  if (!result.stopped) removeTrainerState(stateDir);
  return { params, train: result, curve: result.curve, dev: devEval, tokens, sequences: train.length, parameters: countParams(params) };
}
