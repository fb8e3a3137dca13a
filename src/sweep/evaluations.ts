/**
 * What a sweep runs on each fine-tuned model: a small registry of evaluations, each a value
 * `{ name, summary, options, defaults, appliesTo(task), run(context, options) }`. A grid lists them
 * by name (`"evaluations": ["dev", "test"]`) or with options (`{ "name": "test", "options": { "limit": 500 } }`).
 *
 *   dev    the fine-tuned model's dev metrics and its per-example predictions (with the gold
 *          labels), which the summary's paired bootstrap needs
 *   test   the test metrics, where the task has a test split (IMDB); reported, never used to choose
 *   embedding-pgd, word-attack   the robustness attacks (attack_evaluations.ts)
 *
 * Adding one (an attack, say) is one line at the bottom of this file, `registerEvaluation(def)`,
 * with `def` written next to the attack: its `run` gets the model, tokenizer, task and the cell's
 * settings, and returns metrics (plus per-example values if it has them). Its name and options
 * become part of the cell's record, so a grid that adds an evaluation re-runs only what is missing.
 */
import { BertTokenizer, Example, TaskSpec, loadTask } from '../data';
import type { OptionDoc } from '../adversarial/method';
import type { BertParams } from '../model';
import { evaluate } from '../train/evaluate';
import type { FinetuneConfig } from '../train/finetune';
import { canonicalJson } from '../train/run_identity';
import { embeddingPgdEvaluation, wordAttackEvaluation } from './attack_evaluations';

/** An evaluation as a grid asks for it. */
export interface EvaluationSpec {
  name: string;
  /** Every option, defaults filled in (so that the record says exactly what ran). */
  options: Record<string, unknown>;
}

export interface EvaluationContext {
  /** The fine-tuned model (the best dev epoch's weights); do not dispose it. */
  params: BertParams;
  tokenizer: BertTokenizer;
  task: TaskSpec;
  /** The cell's fine-tuning settings (maxLength, limitDev, seed...). */
  config: FinetuneConfig;
  /** The cell's working folder (its model is saved there until the cell ends). */
  cellDir: string;
  /** Reads a split of the cell's task (dev is limited to the cell's limitDev unless a limit is given). */
  examples(split: string, limit?: number): Example[];
}

export interface EvaluationResult {
  split?: string;
  /** Named numbers (the task's metrics, an attack's success rate...). */
  metrics: Record<string, number>;
  /** Examples evaluated. */
  n: number;
  loss?: number;
  /** Per-example outputs: class index (or value, regression) per example, in the split's order. */
  predictions?: number[];
  /** The gold labels in the same order (the bootstrap checks that every record saw the same examples). */
  gold?: number[];
  /** Anything else small the evaluation wants to keep (per-example numbers, settings). */
  extra?: Record<string, unknown>;
}

export interface EvaluationDefinition {
  name: string;
  summary: string;
  options: Record<string, OptionDoc>;
  defaults: Record<string, unknown>;
  /** Whether the evaluation makes sense for a task (e.g. 'test' only where the task has a test split). */
  appliesTo(task: TaskSpec): boolean;
  /** Which of its metrics are fractions (accuracies, rates), printed x100 in sweep summaries; the rest print as recorded. */
  isFraction?(metric: string): boolean;
  /** Checks the options as a whole (beyond each option's kind and range) when the grid is read, before any work. */
  check?(options: Record<string, unknown>): void;
  run(context: EvaluationContext, options: Record<string, unknown>): Promise<EvaluationResult>;
}

const REGISTRY = new Map<string, EvaluationDefinition>();

export function registerEvaluation(def: EvaluationDefinition): void {
  if (REGISTRY.has(def.name)) throw new Error(`an evaluation named '${def.name}' is already registered`);
  for (const k of Object.keys(def.defaults)) if (!(k in def.options)) throw new Error(`evaluation '${def.name}': option '${k}' has no documentation`);
  REGISTRY.set(def.name, def);
}

/** Names of the registered evaluations. */
export function evaluationNames(): string[] {
  return [...REGISTRY.keys()];
}

export function evaluationDefinition(name: string): EvaluationDefinition {
  const def = REGISTRY.get(name);
  if (!def) throw new Error(`unknown evaluation '${name}'; known evaluations: ${evaluationNames().join(', ')}`);
  return def;
}

function checkOption(evaluation: string, key: string, value: unknown, doc: OptionDoc): void {
  const where = `evaluation '${evaluation}', option ${key}`;
  if (doc.kind === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where} must be a finite number, got ${JSON.stringify(value)} (${doc.help})`);
    if (doc.integer && !Number.isInteger(value)) throw new Error(`${where} must be an integer, got ${value} (${doc.help})`);
    if (doc.min !== undefined && (doc.exclusiveMin ? value <= doc.min : value < doc.min)) throw new Error(`${where} must be ${doc.exclusiveMin ? '>' : '>='} ${doc.min}, got ${value} (${doc.help})`);
  } else if (doc.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new Error(`${where} must be true or false, got ${JSON.stringify(value)}`);
  } else {
    if (typeof value !== 'string') throw new Error(`${where} must be a string, got ${JSON.stringify(value)}`);
    if (doc.choices && !doc.choices.includes(value)) throw new Error(`${where} must be one of ${doc.choices.join(', ')}; got '${value}'`);
  }
}

/** A grid's evaluation entry (a name, or { name, options }) checked, with defaults filled in. */
export function normalizeEvaluation(entry: unknown): EvaluationSpec {
  const e = typeof entry === 'string' ? { name: entry } : entry;
  if (!e || typeof e !== 'object' || Array.isArray(e) || typeof (e as { name?: unknown }).name !== 'string') {
    throw new Error(`an evaluation is a name or { "name": ..., "options": {...} }, got ${JSON.stringify(entry)}`);
  }
  const { name, options = {}, ...rest } = e as { name: string; options?: Record<string, unknown> };
  if (Object.keys(rest).length) throw new Error(`evaluation '${name}': unknown key${Object.keys(rest).length > 1 ? 's' : ''} ${Object.keys(rest).join(', ')} (known: name, options)`);
  const def = evaluationDefinition(name);
  if (!options || typeof options !== 'object' || Array.isArray(options)) throw new Error(`evaluation '${name}': options must be an object`);
  for (const k of Object.keys(options)) {
    const doc = def.options[k];
    if (!doc) throw new Error(`evaluation '${name}' has no option '${k}'; its options: ${Object.keys(def.options).join(', ') || 'none'}`);
    checkOption(name, k, options[k], doc);
  }
  const full: Record<string, unknown> = { ...def.defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) full[k] = v;
  def.check?.(full);
  return { name, options: full };
}

/** The canonical text of an evaluation (name and options), as records compare them. */
export function evaluationKey(spec: EvaluationSpec): string {
  return canonicalJson({ name: spec.name, options: spec.options });
}

// ---------------------------------------------------------------------------------------------
// built-in evaluations

async function splitEvaluation(ctx: EvaluationContext, split: 'dev' | 'test', limit: number | undefined, perExample: boolean): Promise<EvaluationResult> {
  const examples = ctx.examples(split, limit);
  const r = await evaluate(ctx.params, ctx.tokenizer, examples, ctx.task, { maxLength: ctx.config.maxLength });
  return {
    split,
    metrics: r.metrics,
    n: examples.length,
    loss: r.loss,
    ...(perExample ? { predictions: r.predictions, gold: examples.map((e) => e.label) } : {}),
  };
}

export const devEvaluation: EvaluationDefinition = {
  name: 'dev',
  summary: "the fine-tuned model's dev metrics and per-example predictions (the cell's limitDev examples)",
  options: {},
  defaults: {},
  appliesTo: () => true,
  run: (ctx) => splitEvaluation(ctx, 'dev', undefined, true),
};

export const testEvaluation: EvaluationDefinition = {
  name: 'test',
  summary: 'test metrics, where the task has a labelled test split (reported only, never used to choose)',
  options: {
    limit: { kind: 'number', integer: true, min: 0, help: 'only the first N test examples (0 = all)' },
    perExample: { kind: 'boolean', help: 'also keep per-example predictions' },
  },
  defaults: { limit: 0, perExample: false },
  appliesTo: (task) => 'test' in task.files,
  run: (ctx, o) => splitEvaluation(ctx, 'test', (o.limit as number) > 0 ? (o.limit as number) : undefined, o.perExample as boolean),
};

/** Reads a split of a cell's task: dev limited to the cell's limitDev unless told otherwise. */
export function splitReader(config: FinetuneConfig): (split: string, limit?: number) => Example[] {
  return (split, limit) => loadTask(config.task, split, { limit: limit ?? (split === 'dev' ? config.limitDev : undefined) });
}

// The registry: one line per evaluation.
registerEvaluation(devEvaluation);
registerEvaluation(testEvaluation);
registerEvaluation(embeddingPgdEvaluation);
registerEvaluation(wordAttackEvaluation);
