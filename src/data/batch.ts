/**
 * Minibatches for fine-tuning: seeded shuffling into batches, tokenisation with dynamic padding
 * (each batch padded to its own longest sequence), and the tensors the model consumes:
 *
 *   inputIds      [B, T] int32
 *   tokenTypeIds  [B, T] int32
 *   attentionMask [B, T] float32, 1 at real tokens and 0 at padding (float so the model can turn it
 *                 into an additive attention bias and a padding mask for perturbations without a cast)
 *   labels        [B]    int32 class indices, or float32 targets for regression
 *
 * Optional length bucketing (`bucketBatches` > 0): the shuffled examples are cut into buckets of
 * `bucketBatches * batchSize`, each bucket is sorted by length and cut into batches, and the order
 * of all batches is shuffled again. Rows of a batch then have similar lengths, so less padding is
 * computed (the attention cost grows with T^2); the batches stay random from epoch to epoch. This
 * is the "bucketing" of many NLP trainers (e.g. transformers' group_by_length).
 */
import * as tf from '@tensorflow/tfjs';
import type { BertTokenizer, EncodedBatch, EncodeOptions } from '../tokenizer';
import { ENCODE_DEFAULTS } from '../tokenizer';
import type { Example } from './glue';
import { createRng, shuffled } from './rng';

/** The model's inputs as tensors (the caller owns and disposes them). */
export interface BatchTensors {
  inputIds: tf.Tensor2D; // [B, T] int32
  tokenTypeIds: tf.Tensor2D; // [B, T] int32
  attentionMask: tf.Tensor2D; // [B, T] float32
}

/** A fine-tuning batch: inputs plus labels. */
export interface LabelledBatch extends BatchTensors {
  labels: tf.Tensor1D; // [B] int32 or float32
}

export interface BatchOptions<T = unknown> {
  /** Drop the last batch if it is smaller than batchSize (default false: keep it). */
  dropLast: boolean;
  /** Bucket size in batches for length bucketing; 0 = plain shuffling. */
  bucketBatches: number;
  /** Length of an item for bucketing (default: characters of textA + textB, or of a string). */
  lengthOf?: (item: T) => number;
}

export const BATCH_DEFAULTS: BatchOptions = { dropLast: false, bucketBatches: 0 };

function charLength(x: unknown): number {
  if (typeof x === 'string') return x.length;
  if (x && typeof x === 'object' && 'textA' in x) {
    const e = x as Example;
    return e.textA.length + (e.textB?.length ?? 0);
  }
  throw new Error('bucketing needs a lengthOf function for items that are not examples');
}

/**
 * Splits `items` into shuffled minibatches; the same seed gives the same batches (use e.g.
 * `seed + epoch` for a new order each epoch).
 */
export function batches<T>(items: readonly T[], batchSize: number, seed: number, options: Partial<BatchOptions<T>> = {}): T[][] {
  const o: BatchOptions<T> = { ...BATCH_DEFAULTS, ...options };
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(o.bucketBatches) || o.bucketBatches < 0) throw new Error(`bucketBatches must be a non-negative integer, got ${o.bucketBatches}`);
  const rng = createRng(seed);
  const order = shuffled(items, rng);
  const cut = (xs: T[]): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += batchSize) out.push(xs.slice(i, i + batchSize));
    return out;
  };
  let result: T[][];
  if (o.bucketBatches === 0) {
    result = cut(order);
  } else {
    const lengthOf: (item: T) => number = o.lengthOf ?? charLength;
    const bucket = o.bucketBatches * batchSize;
    result = [];
    for (let i = 0; i < order.length; i += bucket) {
      const part = order.slice(i, i + bucket);
      const lens = part.map((x) => lengthOf(x));
      const idx = part.map((_, k) => k).sort((a, b) => lens[a] - lens[b] || a - b);
      result.push(...cut(idx.map((k) => part[k])));
    }
    result = shuffled(result, rng);
  }
  if (o.dropLast) result = result.filter((b) => b.length === batchSize);
  return result;
}

/** Tokenises examples (text or pair) into one dynamically padded batch of arrays. */
export function encodeExamples(tokenizer: BertTokenizer, examples: readonly Example[], options: Partial<EncodeOptions> = {}): EncodedBatch {
  return tokenizer.encodeBatch(examples, { ...ENCODE_DEFAULTS, ...options });
}

function checkRect(rows: readonly (readonly number[])[], T: number, what: string): void {
  rows.forEach((r, i) => {
    if (r.length !== T) throw new Error(`${what}: row ${i} has length ${r.length}, expected ${T} (pad the batch first)`);
  });
}

/** int32/float32 tensors of an encoded batch. */
export function batchToTensors(batch: Pick<EncodedBatch, 'inputIds' | 'tokenTypeIds' | 'attentionMask' | 'shape'>): BatchTensors {
  const [B, T] = batch.shape;
  for (const [rows, what] of [[batch.inputIds, 'inputIds'], [batch.tokenTypeIds, 'tokenTypeIds'], [batch.attentionMask, 'attentionMask']] as const) {
    if (rows.length !== B) throw new Error(`${what}: ${rows.length} rows, expected ${B}`);
    checkRect(rows, T, what);
  }
  return {
    inputIds: tf.tensor2d(batch.inputIds.flat(), [B, T], 'int32'), // [B, T]
    tokenTypeIds: tf.tensor2d(batch.tokenTypeIds.flat(), [B, T], 'int32'), // [B, T]
    attentionMask: tf.tensor2d(batch.attentionMask.flat(), [B, T], 'float32'), // [B, T]
  };
}

/** Labels tensor: int32 class indices, or float32 for regression. */
export function labelsToTensor(labels: readonly number[], kind: 'classification' | 'regression'): tf.Tensor1D {
  if (kind === 'classification') {
    labels.forEach((l, i) => {
      if (!Number.isInteger(l) || l < 0) throw new Error(`label ${i} is ${l}; a class label must be a non-negative integer (use kind 'regression' for real targets)`);
    });
    return tf.tensor1d(labels as number[], 'int32'); // [B]
  }
  return tf.tensor1d(labels as number[], 'float32'); // [B]
}

/** Tokenises, pads and turns examples into tensors with their labels (the caller disposes: `disposeBatch`). */
export function makeBatch(
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  kind: 'classification' | 'regression',
  options: Partial<EncodeOptions> = {},
): LabelledBatch {
  const enc = encodeExamples(tokenizer, examples, options);
  const labels = labelsToTensor(examples.map((e) => e.label), kind); // [B]
  try {
    return { ...batchToTensors(enc), labels };
  } catch (e) {
    labels.dispose();
    throw e;
  }
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: object): void {
  for (const v of Object.values(batch)) if (v instanceof tf.Tensor) v.dispose();
}
