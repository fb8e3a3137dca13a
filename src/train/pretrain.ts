/**
 * Masked-language-model pre-training (Devlin et al. 2019, section 3.1) on the corpus in
 * data/pretrain: packed sequences of up to `maxLength` tokens, 15% of tokens selected (80% [MASK],
 * 10% random, 10% kept), cross-entropy at the selected positions. A held-out slice of the sequences,
 * with fixed masks, measures MLM loss and accuracy after each epoch.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer, MlmArrays, createRng, loadTokenizer, mlmBatch, mlmBatches, packSequences, readCorpus, shuffled } from '../data';
import { BertConfig, BertParams, countParams, disposeParams, initParams, loadCheckpoint, namedConfig, saveCheckpoint } from '../model';
import { appendRunRecord, newRunRecord } from './run_record';
import { mlmLoss, mlmStep } from './steps';
import { TRAINER_DEFAULTS, TrainResult, TrainerConfig, hasTrainerState, trainLoop } from './trainer';

export interface PretrainConfig {
  /** A named size (tiny, mini, small, base) or a full configuration. */
  model: string | BertConfig;
  maxLength: number;
  batchSize: number;
  /** Fraction of packed sequences held out for the MLM dev measurement. */
  devFraction: number;
  trainer: TrainerConfig;
  /** Corpus folder (default data/pretrain) and tokenizer (default BERT uncased). */
  corpusDir?: string;
  tokenizer?: string;
  /** Read only this many lines per book (for tests). */
  limitLines?: number;
  /** Continue from this checkpoint's weights (a new schedule and optimiser) instead of random ones. */
  from?: string;
}

export const PRETRAIN_DEFAULTS: PretrainConfig = {
  model: 'tiny',
  maxLength: 128,
  batchSize: 32,
  devFraction: 0.01,
  trainer: { ...TRAINER_DEFAULTS, epochs: 4, lr: 1e-3, warmupRatio: 0.06, weightDecay: 0.01, saveEvery: 100 },
};

export interface MlmEval {
  loss: number;
  accuracy: number;
  masked: number;
}

/** MLM loss and accuracy over fixed-mask batches, without dropout. */
export async function evaluateMlm(p: BertParams, batches: readonly MlmArrays[]): Promise<MlmEval> {
  let lossSum = 0;
  let correct = 0;
  let masked = 0;
  for (const b of batches) {
    const out = mlmLoss(p, b, undefined, true);
    lossSum += (await out.loss.data())[0] * out.count;
    correct += (await out.correct!.data())[0];
    masked += out.count;
    tf.dispose([out.loss, out.correct!]);
  }
  return { loss: lossSum / masked, accuracy: correct / masked, masked };
}

export interface PretrainResult {
  params: BertParams;
  train: TrainResult;
  dev: MlmEval;
  tokens: number;
  sequences: number;
  parameters: number;
}

/**
 * Pre-trains and saves the model to `outDir` (resumable state in `outDir/resume`). With a state
 * present there, continues where it stopped.
 */
export async function pretrain(outDir: string, config: PretrainConfig = PRETRAIN_DEFAULTS, stopFlag?: { stop: boolean }): Promise<PretrainResult> {
  const c = config;
  const tok: BertTokenizer = loadTokenizer(c.tokenizer);
  const docs = readCorpus({ dir: c.corpusDir, limitLines: c.limitLines });
  const sequences = packSequences(tok, docs, { maxLength: c.maxLength });
  const order = shuffled(sequences, createRng(12345)); // fixed split, whatever the training seed
  const nDev = Math.max(1, Math.round(order.length * c.devFraction));
  const dev = order.slice(0, nDev);
  const train = order.slice(nDev);
  const tokens = train.reduce((n, s) => n + s.length, 0);
  const devBatches: MlmArrays[] = [];
  for (let i = 0; i < dev.length; i += c.batchSize) devBatches.push(mlmBatch(dev.slice(i, i + c.batchSize), tok, 777 + i));

  const modelConfig: BertConfig = { ...(typeof c.model === 'string' ? namedConfig(c.model) : c.model), vocabSize: tok.vocabSize };
  if (modelConfig.maxPositions < c.maxLength) throw new Error(`maxLength ${c.maxLength} exceeds the model's ${modelConfig.maxPositions} positions`);
  const stateDir = path.join(outDir, 'resume');
  const resuming = hasTrainerState(stateDir);
  const params = resuming
    ? loadCheckpoint(stateDir, { mlm: true }).params
    : c.from
      ? loadCheckpoint(c.from, { mlm: true, seed: c.trainer.seed }).params
      : initParams(modelConfig, { mlm: true, seed: c.trainer.seed });
  if (params.config.vocabSize !== tok.vocabSize) {
    disposeParams(params);
    throw new Error(`the checkpoint has ${params.config.vocabSize} tokens but the tokenizer ${tok.vocabSize}: use the tokenizer it was trained with`);
  }
  const stepsPerEpoch = Math.ceil(train.length / c.batchSize);
  const record = newRunRecord('pretrain', 'mlm', c.trainer.seed, { ...c, model: modelConfig } as unknown as Record<string, unknown>);
  console.log(
    `pre-training ${countParams(params)} parameters on ${train.length} sequences (${tokens} tokens), ${stepsPerEpoch} steps per epoch` +
      (resuming ? `, resuming from ${stateDir}` : c.from ? `, continuing from ${c.from}` : ''),
  );
  let result: TrainResult;
  try {
    result = await trainLoop({
      params,
      config: c.trainer,
      epochBatches: (epoch) => mlmBatches(train, c.batchSize, tok, c.trainer.seed * 1000 + epoch),
      stepsPerEpoch,
      step: mlmStep(params),
      evaluate: async () => {
        const e = await evaluateMlm(params, devBatches);
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
  }
  const devEval = await evaluateMlm(params, devBatches);
  const summary = {
    steps: result.steps,
    tokensSeen: result.steps * c.batchSize * (tokens / train.length),
    devMlmLoss: devEval.loss,
    devMlmAccuracy: devEval.accuracy,
    wallSeconds: result.seconds,
    backend: record.backend,
  };
  await saveCheckpoint(params, outDir, { advlm: { pretraining: { ...summary, config: { ...c, model: modelConfig } } } });
  record.epochs = result.epochs;
  record.wallSeconds = result.seconds;
  record.result = { ...summary, outDir, stopped: result.stopped };
  appendRunRecord(record);
  if (!result.stopped && fs.existsSync(stateDir)) fs.rmSync(stateDir, { recursive: true });
  return { params, train: result, dev: devEval, tokens, sequences: train.length, parameters: countParams(params) };
}
