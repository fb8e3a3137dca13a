/**
 * The embedding-space robustness protocol (max_loss_increase.ts, after Zhu et al., FreeLB, ICLR 2020,
 * section 4.3; PGD of Madry et al., ICLR 2018) for a list of checkpoints on a task's dev examples,
 * resumable, with per-example records and a summary.
 *
 *   runEmbeddingAttack({ checkpoints: [anchor, ...others], outDir, task?, n?, seed?, ... })
 *     -> Promise<EmbeddingAttackResult>
 *
 * This is what `advlm attack --recipe pgd` calls. The command maps its flags onto the options one
 * to one (suggested flags: --checkpoints A,B,C (anchor first) --out DIR --task T --split dev --n N
 * --seed S --rho 0.002,0.005,0.01,0.02,0.05 --batch-size B --max-length L --frozen none|cls-sep), prints
 * `formatEmbeddingAttackSummary(result)` (or the result as JSON) and reports errors thrown here as
 * they are: every option is checked, and every checkpoint folder looked at, before any work.
 *
 * Steps (see max_loss_increase.ts for the definitions):
 *  1. examples: `n` examples of the split drawn without replacement with `seed` (all of them, in file
 *     order, when n >= the split's size), kept in their file order; record ids are their indices in
 *     the split;
 *  2. the anchor (checkpoints[0]): m = median ||X|| over these examples, eps_k = rho_k * m; PGD at
 *     every eps_k with the selection settings (20 steps, 1 restart); each example's radius
 *     (selectAnchorEps);
 *  3. every checkpoint, the anchor included: PGD at every eps_k with the measurement settings (50
 *     steps, 2 restarts, early stop 1e-4 over 5 steps) and the random control; records, summary.
 *
 * Files in outDir (each written atomically with src/util/atomic.ts, whole file per batch):
 *   run.json                    the run's identity (task, split, examples, seed, grid, settings,
 *                               batch size, max length, frozen tokens, the anchor's weights hash);
 *                               a rerun with different settings stops with the differences named
 *   selection.jsonl             the anchor's selection records, one JSON line per example
 *   records-<weights hash>.jsonl one checkpoint's records (named by the SHA-256 of its
 *                               model.safetensors, so a retrained checkpoint is measured afresh and
 *                               checkpoints may be added to or dropped from a rerun)
 *   summary.json                the result, rewritten at the end of every run
 * A rerun skips every example already in a records file. Batches are fixed for the run (examples
 * sorted by text length, then cut into batchSize pieces; seeds per batch, radius and restart), so a
 * resumed run computes exactly what an uninterrupted one would have.
 *
 * Statistics: M-Inc and N-Loss are medians (src/stats median); accuracies carry 95% t intervals over
 * examples (budgets.ts accuracyWithInterval, from src/stats).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BertParams, WEIGHTS_FILE, CONFIG_FILE, disposeParams, loadCheckpoint, readCheckpointConfig } from '../../model';
import { checkpointTokenizer, BertTokenizer } from '../../tokenizer';
import { disposeBatch, makeBatch } from '../../data/batch';
import { Example, loadTask } from '../../data/glue';
import { getTask } from '../../data/tasks';
import { createRng, shuffled } from '../../data/rng';
import { deriveSeed } from '../../seeds';
import { median } from '../../stats';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic';
import type { FrozenTokens } from '../../adversarial/embedding_delta';
import { AccuracyInterval, accuracyWithInterval } from './budgets';
import { MEASURE_PGD, RHO_GRID, SELECTION_PGD, embeddingNorms, lengthSortedBatches, pgdMaxLoss, selectAnchorEps } from './max_loss_increase';

/** PGD settings of one stage. */
export interface PgdSettings {
  steps: number;
  restarts: number;
  /** Early stop: less than tol gained over `patience` steps (patience 0: never). */
  tol: number;
  patience: number;
  /** Step size as a fraction of eps (default 2.5 / steps). */
  alphaOverEps?: number;
}

export interface EmbeddingAttackOptions {
  /** Fine-tuned checkpoint folders; the first is the anchor that chooses each example's radius. */
  checkpoints: string[];
  /** Where the records, the identity and the summary are kept (resumable). */
  outDir: string;
  /** Task name (default: the anchor's config.json advlm.task). */
  task?: string;
  /** Split (default 'dev'). */
  split?: string;
  /** Examples drawn from the split (default 200; Infinity: all). */
  n?: number;
  /** Seed of the draw and of PGD's random starts and controls (default 0). */
  seed?: number;
  /** Radius grid in units of the anchor's median embedding norm (default RHO_GRID: 0.002, 0.005, 0.01, 0.02, 0.05; ascending). */
  rho?: number[];
  /** Anchor radius selection (default 20 steps, 1 restart, no early stop). */
  selection?: Partial<PgdSettings>;
  /** Measurement (default 50 steps, 2 restarts, tol 1e-4, patience 5). */
  measure?: Partial<PgdSettings>;
  /** Tokens that never move besides padding (default 'none', as FreeLB's reference code). */
  frozen?: FrozenTokens;
  /** Examples per batch (default 32). */
  batchSize?: number;
  /** Word pieces per example (default: the anchor's advlm.maxLength, else the task's, else 128). */
  maxLength?: number;
  /** Folder of the task data (default the project's data). */
  dataDir?: string;
  /** Use these examples instead of reading the split (tests, custom sets); `n` and `seed` still draw from them. */
  examples?: readonly Example[];
  /** Called after every batch. */
  onProgress?: (e: EmbeddingAttackProgress) => void;
}

export interface EmbeddingAttackProgress {
  stage: 'selection' | 'measure';
  checkpoint: string;
  /** Examples finished in this stage (resumed ones included) and the total. */
  done: number;
  total: number;
  seconds: number;
}

/** The anchor's selection record of one example. */
export interface AnchorSelectionRecord {
  index: number;
  label: number;
  cleanLoss: number;
  cleanCorrect: boolean;
  /** The anchor's maximum loss at every grid radius (selection settings). */
  maxLossByEps: number[];
  /** The chosen grid index, or null (anchor wrong, or above -log 0.5 at the smallest radius). */
  epsIndex: number | null;
}

/** One checkpoint's record of one example. */
export interface EmbeddingAttackRecord {
  index: number;
  label: number;
  cleanLoss: number;
  cleanCorrect: boolean;
  /** The anchor's radius for this example (null: left out of M-Inc and N-Loss). */
  epsIndex: number | null;
  eps: number | null;
  rho: number | null;
  /** At the example's radius (null when it has none). */
  maxLoss: number | null;
  increase: number | null;
  randomIncrease: number | null;
  /** At every grid radius, in grid order. */
  maxLossByEps: number[];
  randomIncreaseByEps: number[];
  /** Right clean and at every point PGD visited. */
  correctUnderPgd: boolean[];
  /** Right clean and at the random delta of the same norm as PGD's. */
  correctUnderRandom: boolean[];
  /** Norm of PGD's delta at every radius (<= eps). */
  deltaNorm: number[];
  /** Ascent steps taken per restart at every radius (the batch's early stop). */
  stepsTaken: number[][];
}

export interface AccuracyAtEps {
  rho: number;
  eps: number;
  pgd: AccuracyInterval;
  random: AccuracyInterval;
}

export interface EmbeddingAttackSummary {
  /** Examples evaluated. */
  examples: number;
  /** Examples behind M-Inc and N-Loss (the anchor right and a radius found). */
  kept: number;
  anchorWrong: number;
  /** The anchor right but above -log 0.5 already at the smallest radius. */
  noRadius: number;
  /** Median increase of the loss at each kept example's radius. */
  mInc: number;
  /** Median clean loss over the same examples. */
  nLoss: number;
  /** Median increase under the random direction of the same norm, same examples. */
  mIncRandom: number;
  /** How many kept examples have each grid radius. */
  radiusCounts: number[];
  clean: AccuracyInterval;
  accuracy: AccuracyAtEps[];
}

export interface CheckpointResult {
  checkpoint: string;
  weightsSha256: string;
  records: EmbeddingAttackRecord[];
  summary: EmbeddingAttackSummary;
  /** Wall-clock seconds of this call's work on the checkpoint (resumed examples cost nothing). */
  seconds: number;
  /** Examples read back from an earlier run. */
  resumed: number;
}

export interface EmbeddingAttackResult {
  task: string;
  split: string;
  seed: number;
  /** Indices of the evaluated examples in the split. */
  examples: number[];
  /** The anchor's median ||X|| (the unit of rho). */
  medianNorm: number;
  rho: number[];
  eps: number[];
  selectionSettings: PgdSettings;
  measureSettings: PgdSettings;
  anchor: { checkpoint: string; selection: AnchorSelectionRecord[]; seconds: number; resumed: number };
  models: CheckpointResult[];
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// summaries (plain numbers)

/**
 * M-Inc, N-Loss and accuracy under PGD and the random control from one checkpoint's records
 * (see the file header of max_loss_increase.ts).
 */
export function summarizeEmbeddingAttack(records: readonly EmbeddingAttackRecord[], rho: readonly number[], eps: readonly number[], anchorCorrect?: readonly boolean[]): EmbeddingAttackSummary {
  if (rho.length !== eps.length) throw new Error(`summarizeEmbeddingAttack: ${rho.length} rho for ${eps.length} eps`);
  records.forEach((r, i) => {
    if (r.correctUnderPgd.length !== eps.length || r.correctUnderRandom.length !== eps.length) {
      throw new Error(`summarizeEmbeddingAttack: record ${i} (example ${r.index}) has outcomes for ${r.correctUnderPgd.length} radii, the grid has ${eps.length}`);
    }
  });
  const kept = records.filter((r) => r.epsIndex !== null);
  const anchorWrong = anchorCorrect ? anchorCorrect.filter((c) => !c).length : NaN;
  const radiusCounts = eps.map((_, k) => kept.filter((r) => r.epsIndex === k).length);
  return {
    examples: records.length,
    kept: kept.length,
    anchorWrong,
    noRadius: anchorCorrect ? records.length - kept.length - anchorWrong : NaN,
    mInc: median(kept.map((r) => r.increase!)),
    nLoss: median(kept.map((r) => r.cleanLoss)),
    mIncRandom: median(kept.map((r) => r.randomIncrease!)),
    radiusCounts,
    clean: accuracyWithInterval(records.map((r) => r.cleanCorrect)),
    accuracy: eps.map((e, k) => ({
      rho: rho[k],
      eps: e,
      pgd: accuracyWithInterval(records.map((r) => r.correctUnderPgd[k])),
      random: accuracyWithInterval(records.map((r) => r.correctUnderRandom[k])),
    })),
  };
}

const pct = (a: AccuracyInterval) => `${(100 * a.accuracy).toFixed(1)}% [${(100 * a.interval[0]).toFixed(1)}, ${(100 * a.interval[1]).toFixed(1)}]`;

/** A plain-text report of a result: per checkpoint M-Inc, N-Loss and accuracy per rho. */
export function formatEmbeddingAttackSummary(r: EmbeddingAttackResult): string {
  const lines = [
    `${r.task} ${r.split}: ${r.examples.length} examples (seed ${r.seed}); median ||X|| of the anchor ${r.medianNorm.toFixed(4)}; ` +
      `eps = ${r.eps.map((e, k) => `${e.toFixed(3)} (rho ${r.rho[k]})`).join(', ')}`,
  ];
  for (const m of r.models) {
    const s = m.summary;
    lines.push(
      `${m.checkpoint}: M-Inc ${s.mInc.toExponential(3)}, N-Loss ${s.nLoss.toExponential(3)} over ${s.kept} examples ` +
        `(random direction: median increase ${s.mIncRandom.toExponential(3)}); clean accuracy ${pct(s.clean)}; ${m.seconds.toFixed(1)} s` +
        (m.resumed ? ` (${m.resumed} examples resumed)` : ''),
    );
    for (const a of s.accuracy) lines.push(`  rho ${a.rho} (eps ${a.eps.toFixed(3)}): PGD ${pct(a.pgd)}, random ${pct(a.random)}`);
  }
  const a = r.models[0]?.summary;
  if (a) lines.push(`left out of M-Inc/N-Loss: ${a.anchorWrong} examples the anchor gets wrong, ${a.noRadius} above -log 0.5 already at rho ${r.rho[0]}; radii chosen: ${a.radiusCounts.join(', ')}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// the run

function settingsOf(defaults: Readonly<PgdSettings>, given: Partial<PgdSettings> | undefined, what: string): PgdSettings {
  const s = { ...defaults, ...(given ?? {}) };
  if (!(Number.isInteger(s.steps) && s.steps >= 1)) throw new Error(`${what}.steps must be an integer >= 1, got ${s.steps}`);
  if (!(Number.isInteger(s.restarts) && s.restarts >= 1)) throw new Error(`${what}.restarts must be an integer >= 1, got ${s.restarts}`);
  if (!(Number.isFinite(s.tol) && s.tol >= 0)) throw new Error(`${what}.tol must be a number >= 0, got ${s.tol}`);
  if (!(Number.isInteger(s.patience) && s.patience >= 0)) throw new Error(`${what}.patience must be an integer >= 0, got ${s.patience}`);
  if (s.alphaOverEps !== undefined && !(Number.isFinite(s.alphaOverEps) && s.alphaOverEps > 0)) throw new Error(`${what}.alphaOverEps must be a number > 0, got ${s.alphaOverEps}`);
  return s;
}

function checkCheckpointFolder(dir: string): void {
  if (typeof dir !== 'string' || dir.trim() === '') throw new Error('runEmbeddingAttack: every checkpoint must be a folder name');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`runEmbeddingAttack: checkpoint folder ${dir} does not exist`);
  for (const f of [CONFIG_FILE, WEIGHTS_FILE]) {
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`runEmbeddingAttack: ${path.join(dir, f)} is missing (a fine-tuned checkpoint folder holds ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
  }
}

function sha256OfFile(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (e) {
        throw new Error(`${file} line ${i + 1}: not valid JSON (${(e as Error).message}); remove the file to measure its checkpoint afresh`);
      }
    });
}

function writeJsonLines(file: string, rows: readonly unknown[]): void {
  writeFileAtomic(file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}

/** Differences between two JSON-able identities, as "key: stored vs now". */
function identityDifferences(stored: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(now)])];
  return keys.filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(now[k])).map((k) => `${k}: ${JSON.stringify(stored[k])} (stored) vs ${JSON.stringify(now[k])} (now)`);
}

interface Sample {
  index: number;
  example: Example;
}

/** Fixed batches: the sample sorted by text length, cut into pieces of batchSize (the sample is in index order, so ties go by index). */
function batchPlan(sample: readonly Sample[], batchSize: number): Sample[][] {
  return lengthSortedBatches(sample.map((s) => s.example), batchSize).map((batch) => batch.map((j) => sample[j]));
}

interface PgdRun {
  cleanLoss: number[];
  cleanCorrect: boolean[];
  labels: number[];
  /** [k][b] per radius. */
  byEps: ReturnType<typeof pgdMaxLoss>[];
}

function attackBatch(
  p: BertParams,
  tokenizer: BertTokenizer,
  items: readonly Sample[],
  eps: readonly number[],
  s: PgdSettings,
  o: { maxLength: number; frozen: FrozenTokens; seed: number; control: boolean; batchKey: number },
): PgdRun {
  const b = makeBatch(tokenizer, items.map((x) => x.example), 'classification', { maxLength: o.maxLength });
  try {
    const byEps = eps.map((e, k) =>
      pgdMaxLoss(p, b, {
        eps: e,
        steps: s.steps,
        restarts: s.restarts,
        alpha: s.alphaOverEps !== undefined ? s.alphaOverEps * e : undefined,
        tol: s.tol,
        patience: s.patience,
        frozen: o.frozen,
        control: o.control,
        // one seed per (run seed, batch of the plan, radius): the same for every checkpoint
        seed: deriveSeed(o.seed, 'embedding-attack', o.batchKey, k),
      }),
    );
    return { cleanLoss: byEps[0].cleanLoss, cleanCorrect: byEps[0].cleanCorrect, labels: items.map((x) => x.example.label), byEps };
  } finally {
    disposeBatch(b);
  }
}

function checkpointTask(dir: string): { task?: string; maxLength?: number } {
  const { hfConfig } = readCheckpointConfig(dir);
  return (hfConfig.advlm ?? {}) as { task?: string; maxLength?: number };
}

/** Runs the protocol (see the file header). Resumable: pass the same options and outDir again. */
export async function runEmbeddingAttack(options: EmbeddingAttackOptions): Promise<EmbeddingAttackResult> {
  const t0 = performance.now();
  // --- every check before any work
  const { checkpoints, outDir } = options;
  if (!Array.isArray(checkpoints) || checkpoints.length === 0) throw new Error('runEmbeddingAttack: give at least one checkpoint (the anchor first)');
  checkpoints.forEach(checkCheckpointFolder);
  const resolved = checkpoints.map((c) => path.resolve(c));
  const dup = resolved.find((c, i) => resolved.indexOf(c) !== i);
  if (dup) throw new Error(`runEmbeddingAttack: checkpoint ${dup} is listed twice`);
  if (typeof outDir !== 'string' || outDir.trim() === '') throw new Error('runEmbeddingAttack: outDir (where the records are kept) is required');
  const n = options.n ?? 200;
  if (!(n === Infinity || (Number.isInteger(n) && n >= 1))) throw new Error(`runEmbeddingAttack: n must be a positive integer (or Infinity for the whole split), got ${n}`);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`runEmbeddingAttack: seed must be an integer, got ${seed}`);
  const rho = options.rho ?? [...RHO_GRID];
  if (rho.length === 0) throw new Error('runEmbeddingAttack: rho is empty');
  rho.forEach((r, k) => {
    if (!(Number.isFinite(r) && r > 0)) throw new Error(`runEmbeddingAttack: every rho must be a number > 0, got ${r}`);
    if (k > 0 && !(r > rho[k - 1])) throw new Error(`runEmbeddingAttack: rho must be strictly ascending, got ${rho[k - 1]} then ${r}`);
  });
  const selection = settingsOf(SELECTION_PGD, options.selection, 'selection');
  const measure = settingsOf(MEASURE_PGD, options.measure, 'measure');
  const frozen = options.frozen ?? 'none';
  if (frozen !== 'none' && frozen !== 'cls-sep') throw new Error(`runEmbeddingAttack: frozen must be 'none' or 'cls-sep', got '${frozen}'`);
  const batchSize = options.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`runEmbeddingAttack: batchSize must be a positive integer, got ${batchSize}`);
  const anchorInfo = checkpointTask(checkpoints[0]);
  const taskName = options.task ?? anchorInfo.task;
  if (!taskName) throw new Error(`runEmbeddingAttack: ${checkpoints[0]} does not say which task it was fine-tuned on: give task`);
  const task = getTask(taskName);
  if (task.numLabels < 2) throw new Error(`runEmbeddingAttack: ${task.name} is a regression task; the protocol's threshold -log 0.5 needs a classifier`);
  for (const c of checkpoints) {
    const labels = Number((readCheckpointConfig(c).hfConfig as { num_labels?: number }).num_labels ?? NaN);
    if (labels !== task.numLabels) throw new Error(`runEmbeddingAttack: ${c} has ${Number.isNaN(labels) ? 'no' : labels} outputs but ${task.name} needs ${task.numLabels}`);
  }
  const maxLength = options.maxLength ?? anchorInfo.maxLength ?? task.maxLength ?? 128;
  if (!(Number.isInteger(maxLength) && maxLength >= 3)) throw new Error(`runEmbeddingAttack: maxLength must be an integer >= 3, got ${maxLength}`);
  const split = options.split ?? 'dev';

  // --- examples
  const all = options.examples ? [...options.examples] : loadTask(task.name, split, { dataDir: options.dataDir });
  if (all.length === 0) throw new Error(`runEmbeddingAttack: ${task.name} ${split} has no examples`);
  let indices = all.map((_, i) => i);
  if (n < all.length) indices = shuffled(indices, createRng(deriveSeed(seed, 'embedding-attack-sample'))).slice(0, n).sort((a, b) => a - b);
  const sample: Sample[] = indices.map((index) => ({ index, example: all[index] }));
  const plan = batchPlan(sample, batchSize);

  // --- identity
  const weightsSha = checkpoints.map((c) => sha256OfFile(path.join(c, WEIGHTS_FILE)));
  const identity = {
    task: task.name,
    split,
    seed,
    examples: indices,
    rho,
    selection,
    measure,
    frozen,
    batchSize,
    maxLength,
    anchorSha256: weightsSha[0],
  };
  const runFile = path.join(outDir, 'run.json');
  if (fs.existsSync(runFile)) {
    const stored = JSON.parse(fs.readFileSync(runFile, 'utf8')) as { identity?: Record<string, unknown> };
    const diff = identityDifferences(stored.identity ?? {}, identity);
    if (diff.length) throw new Error(`runEmbeddingAttack: ${outDir} holds a different run (${diff.join('; ')}); use another outDir or remove it`);
  } else {
    writeJsonAtomic(runFile, { identity, anchor: checkpoints[0] }); // as given (a machine path in a shared record says nothing)
  }

  // --- the anchor: the unit and the radius of each example
  const anchor = loadCheckpoint(checkpoints[0], { mlm: false }).params;
  const models: CheckpointResult[] = [];
  try {
    const anchorTok = checkpointTokenizer(checkpoints[0]);
    const medianNorm = median(embeddingNorms(anchor, anchorTok, sample.map((s) => s.example), { batchSize, maxLength, frozen }));
    const eps = rho.map((r) => r * medianNorm);

    const selFile = path.join(outDir, 'selection.jsonl');
    const selection_ = new Map(readJsonLines<AnchorSelectionRecord>(selFile).map((r) => [r.index, r]));
    const selResumed = sample.filter((s) => selection_.has(s.index)).length;
    const tSel = performance.now();
    for (const items of plan) {
      const todo = items.filter((s) => !selection_.has(s.index));
      if (todo.length === 0) continue;
      const run = attackBatch(anchor, anchorTok, todo, eps, selection, { maxLength, frozen, seed: deriveSeed(seed, 'selection'), control: false, batchKey: items[0].index });
      const maxLossByEps = todo.map((_, b) => run.byEps.map((r) => r.maxLoss[b]));
      const chosen = selectAnchorEps(maxLossByEps, run.cleanCorrect);
      todo.forEach((s, b) =>
        selection_.set(s.index, { index: s.index, label: run.labels[b], cleanLoss: run.cleanLoss[b], cleanCorrect: run.cleanCorrect[b], maxLossByEps: maxLossByEps[b], epsIndex: chosen[b] }),
      );
      writeJsonLines(selFile, indices.filter((i) => selection_.has(i)).map((i) => selection_.get(i)));
      options.onProgress?.({ stage: 'selection', checkpoint: checkpoints[0], done: selection_.size, total: sample.length, seconds: (performance.now() - t0) / 1000 });
    }
    const selSeconds = (performance.now() - tSel) / 1000;
    const anchorCorrect = indices.map((i) => selection_.get(i)!.cleanCorrect);

    // --- every checkpoint at every radius
    for (let c = 0; c < checkpoints.length; c++) {
      const dir = checkpoints[c];
      const p = c === 0 ? anchor : loadCheckpoint(dir, { mlm: false }).params;
      try {
        const tok = c === 0 ? anchorTok : checkpointTokenizer(dir);
        const file = path.join(outDir, `records-${weightsSha[c].slice(0, 16)}.jsonl`);
        const done = new Map(readJsonLines<EmbeddingAttackRecord>(file).map((r) => [r.index, r]));
        const resumed = sample.filter((s) => done.has(s.index)).length;
        const tc = performance.now();
        for (const items of plan) {
          const todo = items.filter((s) => !done.has(s.index));
          if (todo.length === 0) continue;
          const run = attackBatch(p, tok, todo, eps, measure, { maxLength, frozen, seed, control: true, batchKey: items[0].index });
          todo.forEach((s, b) => {
            const k = selection_.get(s.index)!.epsIndex;
            const at = k === null ? null : run.byEps[k];
            done.set(s.index, {
              index: s.index,
              label: run.labels[b],
              cleanLoss: run.cleanLoss[b],
              cleanCorrect: run.cleanCorrect[b],
              epsIndex: k,
              eps: k === null ? null : eps[k],
              rho: k === null ? null : rho[k],
              maxLoss: at ? at.maxLoss[b] : null,
              increase: at ? at.increase[b] : null,
              randomIncrease: at ? at.randomIncrease![b] : null,
              maxLossByEps: run.byEps.map((r) => r.maxLoss[b]),
              randomIncreaseByEps: run.byEps.map((r) => r.randomIncrease![b]),
              correctUnderPgd: run.byEps.map((r) => run.cleanCorrect[b] && r.correct[b]),
              correctUnderRandom: run.byEps.map((r) => run.cleanCorrect[b] && r.randomCorrect![b]),
              deltaNorm: run.byEps.map((r) => r.deltaNorm[b]),
              stepsTaken: run.byEps.map((r) => r.stepsTaken),
            });
          });
          writeJsonLines(file, indices.filter((i) => done.has(i)).map((i) => done.get(i)));
          options.onProgress?.({ stage: 'measure', checkpoint: dir, done: done.size, total: sample.length, seconds: (performance.now() - t0) / 1000 });
        }
        const records = indices.map((i) => done.get(i)!);
        models.push({
          checkpoint: dir,
          weightsSha256: weightsSha[c],
          records,
          summary: summarizeEmbeddingAttack(records, rho, eps, anchorCorrect),
          seconds: (performance.now() - tc) / 1000,
          resumed,
        });
      } finally {
        if (c > 0) disposeParams(p);
      }
    }

    const result: EmbeddingAttackResult = {
      task: task.name,
      split,
      seed,
      examples: indices,
      medianNorm,
      rho,
      eps,
      selectionSettings: selection,
      measureSettings: measure,
      anchor: { checkpoint: checkpoints[0], selection: indices.map((i) => selection_.get(i)!), seconds: selSeconds, resumed: selResumed },
      models,
      seconds: (performance.now() - t0) / 1000,
    };
    writeJsonAtomic(path.join(outDir, 'summary.json'), {
      ...result,
      anchor: { ...result.anchor, selection: undefined },
      models: models.map((m) => ({ ...m, records: undefined })),
    });
    return result;
  } finally {
    disposeParams(anchor);
  }
}
