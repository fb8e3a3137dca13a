/**
 * Texts in, outputs out: a fine-tuned classifier's logits and class probabilities for any number
 * of texts (or text pairs), batch by batch, without dropout. Attacks, evaluation, the command line
 * and notebooks call this; it needs no trainer. One model call per batch: ceil(N / batchSize).
 */
import * as tf from '@tensorflow/tfjs';
import type { BertTokenizer, TextInput } from '../tokenizer';
import { classifierLogits } from './forward';
import { BertParams } from './params';

export interface PredictOptions {
  /** Texts per model call. */
  batchSize: number;
  /** Word pieces per text, special tokens included (longer texts are cut at the end). */
  maxLength: number;
}

export const PREDICT_DEFAULTS: PredictOptions = { batchSize: 64, maxLength: 128 };

/** Logits [N][C] (C = 1: the regression output) as plain numbers. */
export async function predictLogits(p: BertParams, tokenizer: BertTokenizer, texts: readonly TextInput[], options: Partial<PredictOptions> = {}): Promise<number[][]> {
  const o = { ...PREDICT_DEFAULTS, ...options };
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (!p.classifier) throw new Error('this model has no classification head: load a fine-tuned checkpoint with numLabels');
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += o.batchSize) {
    const enc = tokenizer.encodeBatch(texts.slice(i, i + o.batchSize), { maxLength: o.maxLength });
    const [B, T] = enc.shape;
    const logits = tf.tidy(() =>
      classifierLogits(p, {
        inputIds: tf.tensor2d(enc.inputIds.flat(), [B, T], 'int32'), // [B, T]
        tokenTypeIds: tf.tensor2d(enc.tokenTypeIds.flat(), [B, T], 'int32'), // [B, T]
        attentionMask: tf.tensor2d(enc.attentionMask.flat(), [B, T], 'float32'), // [B, T]
      }),
    ); // [B, C]
    out.push(...((await logits.array()) as number[][]));
    logits.dispose();
  }
  return out;
}

/** Class probabilities of one row of logits (max-shifted for stability). */
export function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export interface Prediction {
  /** The argmax class (classification) or the predicted value (regression). */
  label: number;
  /** Class probabilities (classification only). */
  probabilities?: number[];
}

/** The label and class probabilities of each text (regression: the value). */
export async function predict(p: BertParams, tokenizer: BertTokenizer, texts: readonly TextInput[], options: Partial<PredictOptions> = {}): Promise<Prediction[]> {
  const logits = await predictLogits(p, tokenizer, texts, options);
  return logits.map((row) => {
    if (row.length === 1) return { label: row[0] };
    const probabilities = softmax(row);
    return { label: probabilities.indexOf(Math.max(...probabilities)), probabilities };
  });
}
