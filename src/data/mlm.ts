/**
 * Masked-language-model inputs (Devlin et al. 2019, BERT, section 3.1 and appendix A.1):
 * each ordinary token is selected with probability 15%; a selected token is replaced by [MASK] 80% of
 * the time, by a random token 10% of the time, and kept 10% of the time; the model predicts the
 * original token at every selected position.
 *
 * Choices (documented because implementations differ):
 * - selection is an independent draw per token (as transformers' DataCollatorForLanguageModeling),
 *   not a fixed count per sequence as in the original BERT data generator; with `atLeastOne` (default)
 *   a sequence with no selected token gets one, so that no sequence is without a target;
 * - special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) and padding are never selected;
 * - a random replacement is drawn uniformly from the ordinary vocabulary: not a special token and not
 *   an '[unusedN]' placeholder (it may equal the original token, as in BERT);
 * - labels are the original ids at selected positions and -100 elsewhere (`IGNORE_INDEX`, the value
 *   PyTorch's cross-entropy ignores);
 * - everything is a pure function of its inputs and an explicit seed (dynamic masking as in RoBERTa:
 *   give a new seed each epoch).
 */
import * as tf from '@tensorflow/tfjs';
import { padEncodings } from '../tokenizer';
import { batches } from './batch';
import { createRng, mixSeeds } from './rng';

/** Label at positions that carry no prediction target. */
export const IGNORE_INDEX = -100;

export interface MaskOptions {
  /** Probability that an ordinary token is selected as a target. */
  selectProb: number;
  /** Of the selected: probability of [MASK]. */
  maskProb: number;
  /** Of the selected: probability of a random token (the rest are kept unchanged). */
  randomProb: number;
  /** Select one token in a sequence where the draw selected none. */
  atLeastOne: boolean;
}

export const MASK_DEFAULTS: MaskOptions = { selectProb: 0.15, maskProb: 0.8, randomProb: 0.1, atLeastOne: true };

/** What masking needs to know about the vocabulary (a BertTokenizer is one). */
export interface MaskVocab {
  maskId: number;
  padId: number;
  specialIds: ReadonlySet<number>;
  randomTokenIds(): readonly number[];
}

/** The ordinary (not special) token ids that occur in `sequences`, ascending: what a corpus can teach. */
export function corpusTokenIds(sequences: readonly (readonly number[])[], specialIds: ReadonlySet<number>): number[] {
  const seen = new Set<number>();
  for (const s of sequences) for (const id of s) if (!specialIds.has(id)) seen.add(id);
  return [...seen].sort((a, b) => a - b);
}

/** `vocab` with random replacements drawn from `ids` only (e.g. the corpus's tokens). */
export function withRandomTokens(vocab: MaskVocab, ids: readonly number[]): MaskVocab {
  const pool = ids.filter((id) => !vocab.specialIds.has(id));
  if (pool.length === 0) throw new Error('withRandomTokens: no ordinary token ids to draw random replacements from');
  return { maskId: vocab.maskId, padId: vocab.padId, specialIds: vocab.specialIds, randomTokenIds: () => pool };
}

/** A padded MLM batch as arrays; `shape` is [B, T]. */
export interface MlmArrays {
  inputIds: number[][];
  tokenTypeIds: number[][];
  attentionMask: number[][];
  /** Original id at selected positions, IGNORE_INDEX elsewhere. */
  labels: number[][];
  shape: [number, number];
}

/** MLM tensors for the model (caller disposes). */
export interface MlmTensors {
  inputIds: tf.Tensor2D; // [B, T] int32
  tokenTypeIds: tf.Tensor2D; // [B, T] int32
  attentionMask: tf.Tensor2D; // [B, T] float32
  labels: tf.Tensor2D; // [B, T] int32, IGNORE_INDEX where not selected
}

function checkOptions(o: MaskOptions): void {
  for (const k of ['selectProb', 'maskProb', 'randomProb'] as const) {
    if (!(o[k] >= 0 && o[k] <= 1)) throw new Error(`${k} must be in [0, 1], got ${o[k]}`);
  }
  if (o.maskProb + o.randomProb > 1 + 1e-12) throw new Error(`maskProb + randomProb must be at most 1, got ${o.maskProb + o.randomProb}`);
}

/**
 * Masks padded id rows. `attentionMask` marks real tokens (1) and padding (0). Returns new arrays;
 * the inputs are not changed.
 */
export function maskTokens(
  ids: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[],
  vocab: MaskVocab,
  seed: number,
  options: Partial<MaskOptions> = {},
): { inputIds: number[][]; labels: number[][] } {
  const o = { ...MASK_DEFAULTS, ...options };
  checkOptions(o);
  if (attentionMask.length !== ids.length) throw new Error(`attentionMask has ${attentionMask.length} rows, ids ${ids.length}`);
  const pool = vocab.randomTokenIds();
  if (pool.length === 0 && o.randomProb > 0) throw new Error('no ordinary tokens to draw random replacements from');
  const rng = createRng(seed);
  const inputIds: number[][] = [];
  const labels: number[][] = [];
  ids.forEach((row, b) => {
    const am = attentionMask[b];
    if (am.length !== row.length) throw new Error(`row ${b}: attentionMask length ${am.length}, ids length ${row.length}`);
    const out = [...row];
    const lab = new Array<number>(row.length).fill(IGNORE_INDEX);
    const replace = (t: number) => {
      lab[t] = row[t];
      const v = rng.next();
      if (v < o.maskProb) out[t] = vocab.maskId;
      else if (v < o.maskProb + o.randomProb) out[t] = pool[rng.int(pool.length)];
    };
    const candidates: number[] = [];
    for (let t = 0; t < row.length; t++) {
      if (am[t] === 0 || vocab.specialIds.has(row[t])) continue;
      candidates.push(t);
      if (rng.next() < o.selectProb) replace(t);
    }
    if (o.atLeastOne && o.selectProb > 0 && candidates.length > 0 && !lab.some((l) => l !== IGNORE_INDEX)) {
      replace(candidates[rng.int(candidates.length)]);
    }
    inputIds.push(out);
    labels.push(lab);
  });
  return { inputIds, labels };
}

/** Pads unpadded `[CLS] ... [SEP]` sequences to the longest one and masks them. */
export function mlmBatch(sequences: readonly (readonly number[])[], vocab: MaskVocab, seed: number, options: Partial<MaskOptions> = {}): MlmArrays {
  if (sequences.length === 0) throw new Error('mlmBatch needs at least one sequence');
  const padded = padEncodings(
    sequences.map((s) => ({ inputIds: [...s], tokenTypeIds: s.map(() => 0), attentionMask: s.map(() => 1), tokens: [] })),
    vocab.padId,
  );
  const { inputIds, labels } = maskTokens(padded.inputIds, padded.attentionMask, vocab, seed, options);
  return { inputIds, tokenTypeIds: padded.tokenTypeIds, attentionMask: padded.attentionMask, labels, shape: padded.shape };
}

/**
 * Shuffled, masked minibatches of packed sequences for one epoch, made lazily; the same seed gives
 * the same batches and masks (pass e.g. `seed + epoch` for fresh ones each epoch).
 */
export function* mlmBatches(
  sequences: readonly (readonly number[])[],
  batchSize: number,
  vocab: MaskVocab,
  seed: number,
  options: Partial<MaskOptions> = {},
): Generator<MlmArrays> {
  const seeds = createRng(mixSeeds(seed, 1)); // a stream apart from the shuffling one
  for (const b of batches(sequences, batchSize, seed)) yield mlmBatch(b, vocab, Math.floor(seeds.next() * 4294967296), options);
}

/** Tensors of an MLM batch. */
export function mlmToTensors(batch: MlmArrays): MlmTensors {
  const [B, T] = batch.shape;
  for (const [rows, what] of [[batch.inputIds, 'inputIds'], [batch.tokenTypeIds, 'tokenTypeIds'], [batch.attentionMask, 'attentionMask'], [batch.labels, 'labels']] as const) {
    if (rows.length !== B || rows.some((r) => r.length !== T)) throw new Error(`${what} is not a ${B} x ${T} array; build batches with mlmBatch`);
  }
  return {
    inputIds: tf.tensor2d(batch.inputIds.flat(), [B, T], 'int32'), // [B, T]
    tokenTypeIds: tf.tensor2d(batch.tokenTypeIds.flat(), [B, T], 'int32'), // [B, T]
    attentionMask: tf.tensor2d(batch.attentionMask.flat(), [B, T], 'float32'), // [B, T]
    labels: tf.tensor2d(batch.labels.flat(), [B, T], 'int32'), // [B, T]
  };
}
