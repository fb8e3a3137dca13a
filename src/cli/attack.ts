/**
 * `advlm attack --checkpoint DIR --task SST-2|IMDB --recipe NAME --n 500 --seed 0 [--out FILE] [--budget N]`:
 * a word-substitution attack (src/attacks/word) on the first n examples of a split, resumable (a
 * rerun with the same --out skips the examples already in it), with a progress bar and the
 * TextAttack-style summary at the end.
 *
 * Recipes: pwws (pwws_ren_2019, WordNet), pwws-cf (counter-fitted neighbours: not comparable with
 * WordNet PWWS), textfooler (textfooler_jin_2019-style), genetic (alzantot_2018), genetic-rift
 * (genetic_rift); the genetic ones have no language-model filter, which makes them stronger than
 * the papers'. Budget: the search's own bound, except 5,000 queries for the genetic attacks on
 * IMDB. Only words whose pieces fit in the model's maximum length are attacked.
 *
 * `--recipe pgd` runs the embedding-space protocol (src/attacks/embedding, `runEmbeddingAttack`):
 * --checkpoint DIR (or --checkpoints A,B,C, the anchor first), --out is then a folder.
 */
import * as path from 'path';
import { getTask, loadTask } from '../data';
import { checkpointTokenizer } from '../tokenizer';
import { disposeParams, loadCheckpoint } from '../model';
import { createProgress } from '../train/progress';
import { formatSummary, modelScoreFn, runAttacks, summarizeAttacks, WORD_RECIPES, wordRecipe } from '../attacks/word';
import { formatEmbeddingAttackSummary, runEmbeddingAttack } from '../attacks/embedding';
import type { FrozenTokens } from '../adversarial/embedding_delta';
import { OptionSpec, parseArgs } from './args';

export const ATTACK_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { kind: 'string', help: 'a fine-tuned checkpoint folder' },
  task: { kind: 'string', help: "SST-2 or IMDB (default: the checkpoint's task)" },
  recipe: { kind: 'string', help: `${Object.keys(WORD_RECIPES).join(', ')} or pgd (embedding space)` },
  n: { kind: 'number', help: 'attack the first N examples of the split (default 500)' },
  seed: { kind: 'number', help: 'seed of the searches (default 0)' },
  split: { kind: 'string', help: 'dev (default) or test' },
  out: { kind: 'string', help: 'JSON-lines output, resumable (default runs/attacks/<checkpoint>-<task>-<split>-<recipe>-seed<S>[-budget<B>].jsonl)' },
  budget: { kind: 'number', help: 'query budget per example (default: the search\'s own bound; 5,000 for the genetic attacks on IMDB)' },
  'batch-size': { kind: 'number', help: 'texts per model batch (default 64)' },
  'max-length': { kind: 'number', help: "word pieces per text (default: the checkpoint's, else the task's, else 128)" },
  'one-at-a-time': { kind: 'boolean', help: 'score candidates one text per call (slow; to measure what batching buys)' },
  json: { kind: 'boolean', help: 'print the summary as JSON' },
  checkpoints: { kind: 'string', help: 'pgd only: checkpoint folders, comma-separated, the anchor first' },
  rho: { kind: 'string', help: 'pgd only: radius grid in units of the median embedding norm, comma-separated' },
  frozen: { kind: 'string', help: 'pgd only: none or cls-sep' },
};

/** The genetic attacks' budget on IMDB when none is given. */
export const IMDB_GENETIC_BUDGET = 5000;

function positiveInteger(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new Error(`advlm attack: --${name} must be a positive integer, got ${v}`);
  return v;
}

export async function attackCommand(argv: string[]): Promise<void> {
  const { options: o } = parseArgs(argv, ATTACK_OPTIONS, 'attack');
  const recipeName = o.recipe as string | undefined;
  if (!recipeName) throw new Error(`advlm attack: --recipe is required (${Object.keys(WORD_RECIPES).join(', ')}, pgd)`);
  if (recipeName === 'pgd') return pgdCommand(o);
  const attack = wordRecipe(recipeName);
  for (const k of ['checkpoints', 'rho', 'frozen']) if (o[k] !== undefined) throw new Error(`advlm attack: --${k} is for --recipe pgd only`);
  const dir = o.checkpoint as string | undefined;
  if (!dir) throw new Error('advlm attack: --checkpoint DIR is required (a model saved by advlm finetune)');
  const n = positiveInteger(o.n, 'n') ?? 500;
  const seed = (o.seed as number | undefined) ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`advlm attack: --seed must be an integer, got ${seed}`);
  const batchSize = positiveInteger(o['batch-size'], 'batch-size') ?? 64;
  const split = (o.split as string | undefined) ?? 'dev';
  if (split !== 'dev' && split !== 'test') throw new Error(`advlm attack: --split must be dev or test, got '${split}'`);
  const { params, hfConfig } = loadCheckpoint(dir, { mlm: false });
  try {
    const advlm = (hfConfig.advlm ?? {}) as { task?: string; maxLength?: number };
    const taskName = (o.task as string | undefined) ?? advlm.task;
    if (!taskName) throw new Error(`advlm attack: ${dir} does not say which task it was fine-tuned on: give --task`);
    const task = getTask(taskName);
    if (task.kind !== 'classification' || task.columns.textB !== undefined) throw new Error(`advlm attack: word-substitution attacks here take single-text classification tasks (SST-2, IMDB), not ${task.name}`);
    if (!params.classifier || params.classifier.weight.shape[0] !== task.numLabels) throw new Error(`${dir} has ${params.classifier ? params.classifier.weight.shape[0] : 'no'} outputs but ${task.name} needs ${task.numLabels}`);
    const maxLength = positiveInteger(o['max-length'], 'max-length') ?? advlm.maxLength ?? task.maxLength ?? 128;
    const genetic = attack.recipe === 'alzantot_2018' || attack.recipe === 'genetic_rift';
    const budget = positiveInteger(o.budget, 'budget') ?? (genetic && task.name === 'IMDB' ? IMDB_GENETIC_BUDGET : attack.budget);
    const out =
      (o.out as string | undefined) ??
      path.join('runs', 'attacks', `${path.basename(path.resolve(dir))}-${task.name}-${split}-${recipeName}-seed${seed}${budget === Infinity ? '' : `-budget${budget}`}.jsonl`);
    const examples = loadTask(task.name, split, { limit: n }).map((e, index) => ({ text: e.textA, label: e.label, id: e.id, index }));
    const tokenizer = checkpointTokenizer(dir);
    const score = modelScoreFn(params, tokenizer, { batchSize, maxLength });
    console.log(`${attack.recipe} (${attack.citation}) on ${examples.length} ${task.name} ${split} examples, seed ${seed}, budget ${budget === Infinity ? 'none' : budget}, max length ${maxLength}`);
    for (const d of attack.differences) console.log(`  note: ${d}`);
    console.log(`records: ${out}`);
    let progress: ReturnType<typeof createProgress> | undefined;
    const t0 = performance.now();
    const result = await runAttacks(attack, score, examples, {
      out,
      seed,
      budget,
      batched: !o['one-at-a-time'],
      window: { tokenizer, maxLength },
      onRecord: (done, total, records) => {
        progress ??= createProgress(`attack ${recipeName}`, total, { initial: done - 1 });
        const s = summarizeAttacks(records);
        progress.update(done, `under attack ${(100 * s.accuracyUnderAttack.value).toFixed(1)}%, ${Number.isNaN(s.queries.value) ? 0 : s.queries.value.toFixed(0)} queries/attack`);
      },
    });
    progress?.finish();
    const seconds = (performance.now() - t0) / 1000;
    const summary = summarizeAttacks(result.records);
    if (o.json) console.log(JSON.stringify({ recipe: attack.recipe, task: task.name, split, seed, budget: budget === Infinity ? null : budget, out, resumed: result.resumed, attacked: result.attacked, seconds, differences: attack.differences, ...summary }));
    else {
      console.log(`${result.resumed} examples resumed from ${out}, ${result.attacked} attacked in ${seconds.toFixed(1)}s`);
      console.log(formatSummary(summary));
    }
  } finally {
    disposeParams(params);
  }
}

/** `--recipe pgd`: the embedding-space protocol on one or more checkpoints (the anchor first). */
async function pgdCommand(o: Record<string, string | number | boolean>): Promise<void> {
  for (const k of ['budget', 'one-at-a-time']) if (o[k] !== undefined) throw new Error(`advlm attack: --${k} is not an option of --recipe pgd`);
  const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined);
  const checkpoints = list(o.checkpoints) ?? (typeof o.checkpoint === 'string' ? [o.checkpoint] : undefined);
  if (!checkpoints || checkpoints.length === 0) throw new Error('advlm attack --recipe pgd: give --checkpoint DIR or --checkpoints A,B,C (the anchor first)');
  const rho = list(o.rho)?.map(Number);
  if (rho && rho.some((x) => !Number.isFinite(x))) throw new Error(`advlm attack: --rho must be numbers separated by commas, got '${o.rho}'`);
  const seed = (o.seed as number | undefined) ?? 0;
  const outDir = (o.out as string | undefined) ?? path.join('runs', 'attacks', `pgd-${path.basename(path.resolve(checkpoints[0]))}-seed${seed}`);
  // every option left undefined takes runEmbeddingAttack's default
  const result = await runEmbeddingAttack({
    checkpoints,
    outDir,
    seed,
    task: o.task as string | undefined,
    split: o.split as string | undefined,
    n: o.n as number | undefined,
    rho,
    frozen: o.frozen as FrozenTokens | undefined,
    batchSize: o['batch-size'] as number | undefined,
    maxLength: o['max-length'] as number | undefined,
  });
  console.log(o.json ? JSON.stringify(result) : formatEmbeddingAttackSummary(result));
}
