/**
 * The robustness attacks as sweep evaluations, so that a grid measures every fine-tuned model the
 * way it measures dev accuracy:
 *
 *   "evaluations": ["dev", "embedding-pgd", { "name": "word-attack", "options": { "recipe": "textfooler" } }]
 *
 *   embedding-pgd  accuracy under PGD in word-embedding space at every radius of a grid, and the
 *                  random direction of the same norm (accuracyUnderPgd, src/attacks/embedding). The radius unit is fixed per grid, not per
 *                  model: eps_k = rho_k * m with m the median ||X|| of the evaluated examples under
 *                  the cell's PRE-TRAINED checkpoint, so every method of a grid is attacked at the
 *                  same absolute radii (fine-tuning moves the word embeddings a little, and each
 *                  model's own median would move the radii with them). M-Inc needs an anchor model
 *                  that chooses each example's radius, so it stays with `advlm attack --recipe pgd
 *                  --checkpoints ANCHOR,...`, which a grid's kept checkpoints can be given to.
 *   word-attack    a word-substitution recipe (src/attacks/word/recipes) on the first `limit` dev
 *                  examples: clean accuracy, accuracy under attack, success rate, perturbed words,
 *                  queries (TextAttack's summary), single-text classification tasks only.
 *
 * Both use the cell's fine-tuned model in evaluation mode and record per-example outcomes in
 * `extra`, so that two methods can be compared example by example.
 */
import type { TaskSpec } from '../data';
import { RHO_GRID } from '../attacks/embedding/max_loss_increase';
import { accuracyUnderPgd } from '../attacks/embedding/accuracy_under_pgd';
import { WORD_RECIPES, modelScoreFn, runAttacks, summarizeAttacks, wordRecipe } from '../attacks/word';
import { defaultCheckpoint } from '../train/finetune';
import type { EvaluationContext, EvaluationDefinition, EvaluationResult } from './evaluations';
import { radiusUnit } from './radius_unit';

/** Parses a comma-separated, ascending list of positive radii ("0.002,0.005"). */
export function parseRhoList(text: string, what = 'rho'): number[] {
  const rho = text.split(',').map((s) => Number(s.trim()));
  if (rho.length === 0 || rho.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error(`${what} must be positive numbers separated by commas, got '${text}'`);
  for (let k = 1; k < rho.length; k++) if (!(rho[k] > rho[k - 1])) throw new Error(`${what} must be ascending, got '${text}'`);
  return rho;
}

const classificationOnly = (task: TaskSpec) => task.kind === 'classification';

/** The metric name of the accuracy at one radius: `pgd@0.01`, `random@0.01`. */
export const atRho = (what: 'pgd' | 'random', rho: number) => `${what}@${rho}`;

export const embeddingPgdEvaluation: EvaluationDefinition = {
  name: 'embedding-pgd',
  summary: 'accuracy under PGD in word-embedding space (l2 ball per example) at each rho x the pre-trained median ||X||, with the random-direction control',
  isFraction: (metric) => metric !== 'medianNorm',
  options: {
    rho: { kind: 'string', help: 'radii in units of the median ||X|| under the pre-trained checkpoint, comma-separated, ascending' },
    limit: { kind: 'number', integer: true, min: 0, help: 'only the first N dev examples (0 = the cell\'s dev examples)' },
    steps: { kind: 'number', integer: true, min: 1, help: 'ascent steps per restart (step size 2.5 eps / steps)' },
    restarts: { kind: 'number', integer: true, min: 1, help: 'restarts, each from a uniform point in the ball' },
    seed: { kind: 'number', integer: true, min: 0, help: 'seed of the random starts and of the control' },
    batchSize: { kind: 'number', integer: true, min: 1, help: 'examples per batch' },
  },
  defaults: { rho: RHO_GRID.join(','), limit: 0, steps: 20, restarts: 1, seed: 0, batchSize: 32 },
  appliesTo: classificationOnly,
  check: (o) => void parseRhoList(o.rho as string, "evaluation 'embedding-pgd', option rho"),
  run: runEmbeddingPgd,
};

async function runEmbeddingPgd(ctx: EvaluationContext, o: Record<string, unknown>): Promise<EvaluationResult> {
  const rho = parseRhoList(o.rho as string, "evaluation 'embedding-pgd': rho");
  const limit = o.limit as number;
  const examples = ctx.examples('dev', limit > 0 ? limit : undefined);
  const maxLength = ctx.config.maxLength;
  const batchSize = o.batchSize as number;
  // the radius unit, from the pre-trained weights (see the file header)
  const m = radiusUnit(ctx.config.checkpoint ?? defaultCheckpoint(), ctx.tokenizer, examples, { maxLength, batchSize });
  const r = await accuracyUnderPgd(ctx.params, ctx.tokenizer, examples, {
    eps: rho.map((x) => x * m), steps: o.steps as number, restarts: o.restarts as number, seed: o.seed as number, batchSize, maxLength,
  });
  const metrics: Record<string, number> = { clean: r.clean, medianNorm: m };
  rho.forEach((x, k) => {
    metrics[atRho('pgd', x)] = r.pgd[k];
    metrics[atRho('random', x)] = r.random[k];
  });
  return {
    split: 'dev',
    metrics,
    n: examples.length,
    gold: examples.map((e) => e.label),
    extra: { rho, eps: r.eps, cleanCorrect: r.cleanCorrect, correctUnderPgd: r.correctUnderPgd, correctUnderRandom: r.correctUnderRandom },
  };
}

export const wordAttackEvaluation: EvaluationDefinition = {
  name: 'word-attack',
  summary: 'a word-substitution attack recipe on the first dev examples (TextAttack-style summary)',
  isFraction: (metric) => ['clean', 'underAttack', 'successRate'].includes(metric),
  options: {
    recipe: { kind: 'string', choices: Object.keys(WORD_RECIPES), help: 'the attack recipe' },
    limit: { kind: 'number', integer: true, min: 1, help: 'the first N dev examples' },
    seed: { kind: 'number', integer: true, min: 0, help: 'seed of the attack\'s random choices' },
    budget: { kind: 'number', integer: true, min: 0, help: 'model queries per example (0 = the recipe\'s own)' },
    batchSize: { kind: 'number', integer: true, min: 1, help: 'texts per model call' },
  },
  defaults: { recipe: 'textfooler', limit: 200, seed: 0, budget: 0, batchSize: 64 },
  appliesTo: (task) => task.kind === 'classification' && task.columns.textB === undefined,
  run: async (ctx, o) => {
    const attack = wordRecipe(o.recipe as string);
    const examples = ctx.examples('dev', o.limit as number);
    const inputs = examples.map((e, index) => ({ text: e.textA, label: e.label, id: e.id, index }));
    const score = modelScoreFn(ctx.params, ctx.tokenizer, { batchSize: o.batchSize as number, maxLength: ctx.config.maxLength });
    const budget = (o.budget as number) > 0 ? (o.budget as number) : attack.budget;
    const { records } = await runAttacks(attack, score, inputs, { seed: o.seed as number, budget, batched: true, window: { tokenizer: ctx.tokenizer, maxLength: ctx.config.maxLength! } });
    const s = summarizeAttacks(records);
    return {
      split: 'dev',
      metrics: {
        clean: s.cleanAccuracy.value,
        underAttack: s.accuracyUnderAttack.value,
        successRate: s.attackSuccessRate.value,
        perturbedWordPercent: s.perturbedWordPercent.value,
        queries: s.queries.value,
      },
      n: records.length,
      gold: examples.map((e) => e.label),
      extra: { recipe: attack.recipe, status: records.map((r) => r.status), queries: records.map((r) => r.queries) },
    };
  },
};
