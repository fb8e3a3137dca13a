/**
 * Evaluation of a classifier or regressor on a list of examples: predictions, mean loss and the
 * task's metrics (accuracy, F1, Matthews correlation, Pearson/Spearman), without dropout.
 */
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer, Example, TaskSpec, batchToTensors, disposeBatch, encodeExamples, labelsToTensor, taskMetrics } from '../data';
import { BertParams, classifierLogits, taskLoss } from '../model';

export interface EvalOptions {
  batchSize: number;
  maxLength: number;
}

export const EVAL_DEFAULTS: EvalOptions = { batchSize: 64, maxLength: 128 };

export interface EvalResult {
  metrics: Record<string, number>;
  loss: number;
  /** Class index (classification) or value (regression) per example. */
  predictions: number[];
  /** Class probabilities per example (classification only). */
  probabilities?: number[][];
}

/** Logits [B, C] of examples, batch by batch (the caller owns nothing: plain arrays come back). */
export async function predictLogits(p: BertParams, tokenizer: BertTokenizer, examples: readonly Example[], options: Partial<EvalOptions> = {}): Promise<number[][]> {
  const o = { ...EVAL_DEFAULTS, ...options };
  const out: number[][] = [];
  for (let i = 0; i < examples.length; i += o.batchSize) {
    const chunk = examples.slice(i, i + o.batchSize);
    const t = batchToTensors(encodeExamples(tokenizer, chunk, { maxLength: o.maxLength }));
    const logits = classifierLogits(p, t); // [B, C]
    out.push(...((await logits.array()) as number[][]));
    logits.dispose();
    disposeBatch(t);
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

export async function evaluate(p: BertParams, tokenizer: BertTokenizer, examples: readonly Example[], task: TaskSpec, options: Partial<EvalOptions> = {}): Promise<EvalResult> {
  if (examples.length === 0) throw new Error(`no examples to evaluate for ${task.name}`);
  const logits = await predictLogits(p, tokenizer, examples, options);
  const gold = examples.map((e) => e.label);
  const loss = tf.tidy(() => taskLoss(tf.tensor2d(logits), labelsToTensor(gold, task.kind)).dataSync()[0]);
  if (task.kind === 'regression') {
    const predictions = logits.map((r) => r[0]);
    return { metrics: taskMetrics(task, predictions, gold), loss, predictions };
  }
  const probabilities = logits.map(softmax);
  const predictions = logits.map((r) => r.indexOf(Math.max(...r)));
  return { metrics: taskMetrics(task, predictions, gold), loss, predictions, probabilities };
}
