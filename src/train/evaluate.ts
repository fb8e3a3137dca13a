/**
 * Evaluation of a classifier or regressor on a list of examples: predictions, mean loss and the
 * task's metrics (accuracy, F1, Matthews correlation, Pearson/Spearman), without dropout.
 */
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer, Example, TaskSpec, labelsToTensor, taskMetrics } from '../data';
import { BertParams, predictLogits, softmax, taskLoss } from '../model';

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
