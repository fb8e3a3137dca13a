/** `advlm evaluate --checkpoint DIR --task T --split dev|test`: a fine-tuned model's metrics on a task's split. */
import { getTask, loadTask } from '../data';
import { checkpointTokenizer } from '../tokenizer';
import { disposeParams, loadCheckpoint } from '../model';
import { evaluate } from '../train/evaluate';
import { OptionSpec, parseArgs } from './args';

export const EVALUATE_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { kind: 'string', help: 'a fine-tuned checkpoint folder' },
  task: { kind: 'string', help: 'the task (default: the one the checkpoint was fine-tuned on)' },
  split: { kind: 'string', help: 'dev (default) or test (where the task has one: report it once, never choose with it)' },
  limit: { kind: 'number', help: 'only the first N examples' },
  'batch-size': { kind: 'number', help: 'examples per model call (default 64)' },
  json: { kind: 'boolean', help: 'print JSON' },
};

export async function evaluateCommand(argv: string[]): Promise<void> {
  const { options: o } = parseArgs(argv, EVALUATE_OPTIONS, 'evaluate');
  const dir = o.checkpoint as string | undefined;
  if (!dir) throw new Error('advlm evaluate: --checkpoint DIR is required (a model saved by advlm finetune)');
  const split = (o.split as string | undefined) ?? 'dev';
  if (split !== 'dev' && split !== 'test') throw new Error(`advlm evaluate: --split must be dev or test, got '${split}'`);
  const limit = o.limit as number | undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new Error(`advlm evaluate: --limit must be a positive integer, got ${limit}`);
  const { params, hfConfig } = loadCheckpoint(dir, { mlm: false });
  try {
    const advlm = (hfConfig.advlm ?? {}) as { task?: string; maxLength?: number };
    const taskName = (o.task as string | undefined) ?? advlm.task;
    if (!taskName) throw new Error(`advlm evaluate: ${dir} does not say which task it was fine-tuned on: give --task`);
    const task = getTask(taskName);
    if (!params.classifier || params.classifier.weight.shape[0] !== task.numLabels) {
      throw new Error(`${dir} has ${params.classifier ? params.classifier.weight.shape[0] : 'no'} outputs but ${task.name} needs ${task.numLabels}: evaluate it on the task it was fine-tuned on`);
    }
    const examples = loadTask(task.name, split, { limit });
    const r = await evaluate(params, checkpointTokenizer(dir), examples, task, { maxLength: advlm.maxLength ?? 128, batchSize: (o['batch-size'] as number | undefined) ?? 64 });
    const out = { task: task.name, split, examples: examples.length, ...r.metrics, loss: r.loss };
    console.log(o.json ? JSON.stringify(out) : Object.entries(out).map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`).join('\n'));
  } finally {
    disposeParams(params);
  }
}
