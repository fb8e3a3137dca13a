/**
 * A sweep's grid as data: tasks x initial checkpoints x methods x seeds, the fine-tuning settings
 * every cell shares (data limits, lengths, trainer), and the evaluations that follow each training
 * run. One cell = one fine-tuning run, named by its run identity (the SHA-256 of its canonical
 * settings, `finetuneIdentity`), so "is this cell done?" does not depend on folder names, on the
 * order of the grid or on which machine ran it.
 *
 *   {
 *     "name": "example",
 *     "tasks": ["SST-2", { "name": "RTE", "maxLength": 128 }],
 *     "methods": ["vanilla", { "name": "gaussian-noise", "config": { "sigma": 0.01 } },
 *                 { "name": "freelb", "label": "freelb-K2", "config": { "K": 2 }, "trainer": { "lr": 5e-5 } }],
 *     "seeds": [0, 1, 2],
 *     "checkpoints": ["default", { "path": "../../data/checkpoints/advlm-bert-tiny", "label": "random", "init": "random" }],
 *     "limitTrain": 2000, "limitDev": 500, "batchSize": 32,
 *     "trainer": { "epochs": 2, "lr": 1e-4 },
 *     "evaluations": ["dev", "test"],
 *     "baseline": "vanilla",
 *     "keep": "none"
 *   }
 *
 * A method entry may also give some of its options in units of the radius grid, "rho": { "eps":
 * 0.02, "alpha": 0.01, "initMag": 0.02 }: each cell sets option = rho x m, where m is the median
 * word-embedding norm of the cell's checkpoint (its pre-trained weights) on the task's dev examples
 * (src/sweep/radius_unit.ts), so that a grid keeps its meaning when the model changes. The absolute
 * values go into the cell's settings (and so its identity); `--dry-run` prints m.
 *
 * `baselineCheckpoint` (a checkpoint label, optional) makes the summary compare checkpoints rather
 * than methods: every row against the same method started from that checkpoint, paired by seed.
 *
 * Settings merge as grid < task entry < method entry (a method's `trainer` can change its learning
 * rate, for instance). The seed comes from `seeds` only. Checkpoint paths are relative to the grid
 * file's folder; "default" (or no `checkpoints`) is the project's own pre-trained model.
 * `evaluations`: names from the evaluation registry (src/sweep/evaluations.ts), or `{ name, options }`;
 * an evaluation that does not apply to a task (e.g. 'test' where the task has no test split) is
 * left out of that task's cells. `keep`: 'none' deletes each cell's weights once its evaluations are
 * recorded; 'median-dev-seed' keeps, per task, method and checkpoint, the checkpoint of the seed with
 * the median dev score (the lower middle one for an even number of seeds) and deletes the others as
 * soon as every seed of that group is recorded.
 *
 * `validateGrid` checks the whole grid before any work: every error, each naming its entry or cell.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getTask } from '../data';
import { methodDefinition, resolveMethod } from '../adversarial/methods';
import { FinetuneConfig, FinetuneInput, defaultCheckpoint, finetuneConfig, finetuneIdentity } from '../train/finetune';
import { RunIdentity, canonicalJson, shortId } from '../train/run_identity';
import { TRAINER_DEFAULTS, TrainerConfig } from '../train/trainer';
import { EvaluationSpec, evaluationDefinition, evaluationKey, normalizeEvaluation, splitReader } from './evaluations';
import { radiusUnit } from './radius_unit';
import { checkpointTokenizer } from '../tokenizer';

/** Fine-tuning settings a grid, a task entry or a method entry may set. */
export interface GridSettings {
  maxLength?: number;
  batchSize?: number;
  bucketBatches?: number;
  limitTrain?: number;
  limitDev?: number;
  /** Trainer settings except the seed (seeds come from `seeds`). */
  trainer?: Partial<Omit<TrainerConfig, 'seed'>>;
}

export interface GridTask extends GridSettings {
  name: string;
}

export interface GridMethod {
  /** A registered method (src/adversarial/methods.ts). */
  name: string;
  /** The row name in tables (default: the method's name); required when a method appears twice. */
  label?: string;
  config?: Record<string, unknown>;
  /** Options given in units of the radius grid (option = rho x m; see the header). */
  rho?: Record<string, number>;
  trainer?: Partial<Omit<TrainerConfig, 'seed'>>;
}

export interface GridCheckpoint {
  /** A checkpoint folder, relative to the grid file (default: the project's own pre-trained model). */
  path?: string;
  /** Its name in tables (default: the folder's name, or 'default'). */
  label?: string;
  /** 'pretrained' (default) loads its weights; 'random' keeps only its architecture. */
  init?: 'pretrained' | 'random';
}

export type KeepPolicy = 'none' | 'median-dev-seed';

export interface Grid extends GridSettings {
  name?: string;
  tasks: (string | GridTask)[];
  methods: (string | GridMethod)[];
  seeds: number[];
  checkpoints?: (string | GridCheckpoint)[];
  evaluations?: (string | EvaluationSpec)[];
  /** The method label every other method is compared with (default 'vanilla'). */
  baseline?: string;
  /**
   * A checkpoint label: when set, the summary compares checkpoints instead of methods (each row with
   * the same task and method from this checkpoint, paired by seed), e.g. pre-trained vs "random".
   */
  baselineCheckpoint?: string;
  keep?: KeepPolicy;
}

export const GRID_KEYS = ['name', 'tasks', 'methods', 'seeds', 'checkpoints', 'evaluations', 'baseline', 'baselineCheckpoint', 'keep', 'maxLength', 'batchSize', 'bucketBatches', 'limitTrain', 'limitDev', 'trainer'];
const SETTING_KEYS = ['maxLength', 'batchSize', 'bucketBatches', 'limitTrain', 'limitDev', 'trainer'];
const TASK_KEYS = ['name', ...SETTING_KEYS];
const METHOD_KEYS = ['name', 'label', 'config', 'rho', 'trainer'];
const CHECKPOINT_KEYS = ['path', 'label', 'init'];
const TRAINER_KEYS = Object.keys(TRAINER_DEFAULTS).filter((k) => k !== 'seed');

/** One cell of the grid: one fine-tuning run and the evaluations that follow it. */
export interface SweepCell {
  /** Position in the grid's cell order (tasks, then checkpoints, then methods, then seeds). */
  index: number;
  task: string;
  /** The method's label (its row in tables) and its registered name. */
  method: string;
  methodName: string;
  checkpoint: string;
  seed: number;
  config: FinetuneConfig;
  identity: RunIdentity;
  /** The run identity's id: the cell's config hash. */
  id: string;
  /** The evaluations that apply to this cell's task, in grid order. */
  evaluations: EvaluationSpec[];
  /** The cell's working folder name inside the sweep's cells/ folder. */
  dir: string;
  /** m, when the method entry gives options in units of it ("rho"). */
  radiusUnit?: number;
}

/** A checked grid: the normalised entries and every cell. */
export interface ExpandedGrid {
  name: string;
  baseline: string;
  baselineCheckpoint?: string;
  keep: KeepPolicy;
  tasks: string[];
  methods: string[];
  checkpoints: string[];
  seeds: number[];
  cells: SweepCell[];
  /** The grid as given (what the sweep folder stores in sweep.json). */
  source: Grid;
}

/** Reads a grid file (JSON). */
export function readGrid(file: string): Grid {
  if (!fs.existsSync(file)) throw new Error(`grid file not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Grid;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

function unknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string, errors: string[]): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) errors.push(`${where}: unknown key '${k}' (known: ${known.join(', ')})`);
}

function checkSettings(obj: Record<string, unknown>, where: string, errors: string[]): void {
  if (obj.trainer !== undefined) {
    if (!isObject(obj.trainer)) errors.push(`${where}: trainer must be an object of trainer settings`);
    else {
      if ('seed' in obj.trainer) errors.push(`${where}: trainer.seed is not allowed: seeds come from the grid's "seeds" list`);
      unknownKeys(obj.trainer, [...TRAINER_KEYS, 'seed'], `${where}: trainer`, errors);
    }
  }
}

function settingsOf(x: Record<string, unknown>): GridSettings {
  return Object.fromEntries(SETTING_KEYS.filter((k) => x[k] !== undefined).map((k) => [k, x[k]])) as GridSettings;
}

/** A label usable in folder names. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
}

/**
 * Checks the whole grid and expands it into cells. Every problem is collected and reported at
 * once, each naming the entry or the cell it is about. `gridDir` anchors relative checkpoint paths.
 */
export function expandGrid(grid: Grid, gridDir = '.'): ExpandedGrid {
  const errors: string[] = [];
  if (!isObject(grid)) throw new Error('a grid is a JSON object with tasks, methods and seeds');
  unknownKeys(grid, GRID_KEYS, 'grid', errors);
  checkSettings(grid, 'grid', errors);
  const list = (key: 'tasks' | 'methods' | 'seeds') => {
    const v = grid[key];
    if (!Array.isArray(v) || v.length === 0) {
      errors.push(`grid: "${key}" must be a non-empty list`);
      return [];
    }
    return v as unknown[];
  };

  // tasks
  const tasks: { name: string; settings: GridSettings }[] = [];
  list('tasks').forEach((t, i) => {
    const where = `tasks[${i}]`;
    const entry = typeof t === 'string' ? { name: t } : t;
    if (!isObject(entry) || typeof entry.name !== 'string') return errors.push(`${where}: a task name or { "name": ..., settings }`);
    unknownKeys(entry, TASK_KEYS, `${where} (${entry.name})`, errors);
    checkSettings(entry, `${where} (${entry.name})`, errors);
    try {
      const name = getTask(entry.name).name;
      if (tasks.some((x) => x.name === name)) errors.push(`${where}: task ${name} is listed twice`);
      tasks.push({ name, settings: settingsOf(entry) });
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
    }
  });

  // methods
  const methods: { label: string; name: string; config: Record<string, unknown>; rho?: Record<string, number>; trainer?: GridMethod['trainer'] }[] = [];
  list('methods').forEach((m, i) => {
    const entry = typeof m === 'string' ? { name: m } : m;
    const where = `methods[${i}]`;
    if (!isObject(entry) || typeof entry.name !== 'string') return errors.push(`${where}: a method name or { "name": ..., "config": {...} }`);
    const label = typeof entry.label === 'string' && entry.label !== '' ? entry.label : entry.name;
    const at = `${where} (${label})`;
    unknownKeys(entry, METHOD_KEYS, at, errors);
    if (entry.label !== undefined && (typeof entry.label !== 'string' || entry.label === '')) errors.push(`${at}: label must be a non-empty string`);
    if (entry.config !== undefined && !isObject(entry.config)) errors.push(`${at}: config must be an object of the method's options`);
    checkSettings(entry, at, errors);
    try {
      methodDefinition(entry.name);
      const method = resolveMethod({ name: entry.name, config: (entry.config as Record<string, unknown>) ?? {} });
      if (!method.objectives.includes('task')) throw new Error(`method '${method.name}' does not fine-tune (it trains ${method.objectives.join(', ')})`);
    } catch (e) {
      errors.push(`${at}: ${(e as Error).message}`);
      return;
    }
    if (methods.some((x) => x.label === label)) errors.push(`${at}: two methods are labelled '${label}': give each a distinct "label"`);
    const rho = entry.rho;
    if (rho !== undefined) {
      const known = Object.keys(methodDefinition(entry.name).options);
      if (!isObject(rho) || Object.keys(rho).length === 0) errors.push(`${at}: rho must be an object of options in units of the median embedding norm, e.g. { "eps": 0.02 }`);
      else
        for (const [k, v] of Object.entries(rho)) {
          if (!known.includes(k)) errors.push(`${at}: rho.${k}: method '${entry.name}' has no option '${k}' (its options: ${known.join(', ')})`);
          else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) errors.push(`${at}: rho.${k} must be a number >= 0, got ${JSON.stringify(v)}`);
          else if (isObject(entry.config) && k in entry.config) errors.push(`${at}: ${k} is given both in config and in rho; give it once`);
        }
    }
    methods.push({ label, name: entry.name, config: (entry.config as Record<string, unknown>) ?? {}, rho: rho as Record<string, number> | undefined, trainer: entry.trainer as GridMethod['trainer'] });
  });

  // seeds
  const seeds: number[] = [];
  list('seeds').forEach((s, i) => {
    if (!Number.isInteger(s)) errors.push(`seeds[${i}]: a seed is an integer, got ${JSON.stringify(s)}`);
    else if (seeds.includes(s as number)) errors.push(`seeds[${i}]: seed ${s} is listed twice`);
    else seeds.push(s as number);
  });

  // checkpoints
  const checkpoints: { label: string; path: string; init: 'pretrained' | 'random' }[] = [];
  const ckptEntries = grid.checkpoints === undefined ? ['default'] : grid.checkpoints;
  if (!Array.isArray(ckptEntries) || ckptEntries.length === 0) errors.push('grid: "checkpoints" must be a non-empty list (or left out for the project\'s own model)');
  else
    ckptEntries.forEach((c, i) => {
      const entry = typeof c === 'string' ? { path: c } : c;
      const where = `checkpoints[${i}]`;
      if (!isObject(entry)) return errors.push(`${where}: a folder or { "path": ..., "label": ..., "init": "pretrained" | "random" }`);
      unknownKeys(entry, CHECKPOINT_KEYS, where, errors);
      const given = entry.path === undefined || entry.path === 'default' ? undefined : entry.path;
      if (given !== undefined && typeof given !== 'string') return errors.push(`${where}: path must be a string`);
      const dir = given === undefined ? defaultCheckpoint() : path.resolve(gridDir, given as string);
      const init = (entry.init ?? 'pretrained') as 'pretrained' | 'random';
      if (init !== 'pretrained' && init !== 'random') return errors.push(`${where}: init must be 'pretrained' or 'random', got ${JSON.stringify(entry.init)}`);
      const label = typeof entry.label === 'string' && entry.label ? entry.label : given === undefined ? 'default' : path.basename(dir);
      if (!fs.existsSync(path.join(dir, 'config.json'))) return errors.push(`${where} (${label}): no checkpoint at ${dir} (a folder with config.json and model.safetensors)`);
      if (checkpoints.some((x) => x.label === label)) return errors.push(`${where}: two checkpoints are labelled '${label}': give each a distinct "label"`);
      checkpoints.push({ label, path: dir, init });
    });

  // evaluations
  const evaluations: EvaluationSpec[] = [];
  const evalEntries = grid.evaluations === undefined ? ['dev'] : grid.evaluations;
  if (!Array.isArray(evalEntries)) errors.push('grid: "evaluations" must be a list of evaluation names (or { "name", "options" })');
  else
    evalEntries.forEach((e, i) => {
      try {
        const spec = normalizeEvaluation(e);
        if (evaluations.some((x) => x.name === spec.name)) throw new Error(`evaluation '${spec.name}' is listed twice`);
        evaluations.push(spec);
      } catch (err) {
        errors.push(`evaluations[${i}]: ${(err as Error).message}`);
      }
    });

  const baseline = grid.baseline ?? 'vanilla';
  if (typeof baseline !== 'string') errors.push('grid: baseline must be a method label');
  else if (methods.length && !methods.some((m) => m.label === baseline)) {
    errors.push(`grid: baseline '${baseline}' is not one of the methods (${methods.map((m) => m.label).join(', ')}); set "baseline" to the method every other one is compared with`);
  }
  const baselineCheckpoint = grid.baselineCheckpoint;
  if (baselineCheckpoint !== undefined && !checkpoints.some((c) => c.label === baselineCheckpoint)) {
    errors.push(`grid: baselineCheckpoint ${JSON.stringify(baselineCheckpoint)} is not one of the checkpoints' labels (${checkpoints.map((c) => c.label).join(', ')})`);
  }
  const keep = (grid.keep ?? 'none') as KeepPolicy;
  if (keep !== 'none' && keep !== 'median-dev-seed') errors.push(`grid: keep must be 'none' or 'median-dev-seed', got ${JSON.stringify(grid.keep)}`);
  if (grid.name !== undefined && (typeof grid.name !== 'string' || !grid.name)) errors.push('grid: name must be a non-empty string');
  if (errors.length) throw new Error(`the grid has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n  ${errors.join('\n  ')}`);

  // cells
  const cells: SweepCell[] = [];
  const units = new Map<string, number>(); // radius unit per checkpoint, task and dev set
  const g = settingsOf(grid as unknown as Record<string, unknown>);
  for (const t of tasks)
    for (const c of checkpoints)
      for (const m of methods)
        for (const seed of seeds) {
          const index = cells.length;
          const where = `cell ${index} (${t.name}, ${m.label}${checkpoints.length > 1 ? `, ${c.label}` : ''}, seed ${seed})`;
          const input: FinetuneInput = {
            ...g,
            ...t.settings,
            task: t.name,
            checkpoint: c.path,
            init: c.init,
            method: { name: m.name, config: m.config },
            trainer: { ...g.trainer, ...t.settings.trainer, ...m.trainer, seed },
          };
          try {
            let config = finetuneConfig(input);
            let radiusUnit: number | undefined;
            if (m.rho) {
              const key = canonicalJson({ checkpoint: c.path, task: t.name, maxLength: config.maxLength, limitDev: config.limitDev });
              radiusUnit = units.get(key) ?? radiusUnitOf(config, c.path);
              units.set(key, radiusUnit);
              const scaled = Object.fromEntries(Object.entries(m.rho).map(([k, v]) => [k, v * radiusUnit!]));
              config = finetuneConfig({ ...input, method: { name: m.name, config: { ...m.config, ...scaled } } });
            }
            const identity = finetuneIdentity(config);
            const evs = evaluations.filter((e) => evaluationDefinition(e.name).appliesTo(getTask(t.name)));
            const dir = `${slug(t.name)}-${slug(m.label)}${checkpoints.length > 1 ? `-${slug(c.label)}` : ''}-s${seed}-${shortId(identity.id)}`;
            cells.push({ index, task: t.name, method: m.label, methodName: m.name, checkpoint: c.label, seed, config, identity, id: identity.id, evaluations: evs, dir, ...(radiusUnit !== undefined ? { radiusUnit } : {}) });
          } catch (e) {
            errors.push(`${where}: ${(e as Error).message}`);
          }
        }
  const ids = new Map<string, number>();
  for (const cell of cells) {
    const other = ids.get(cell.id);
    if (other !== undefined) errors.push(`cell ${cell.index} (${cell.task}, ${cell.method}, seed ${cell.seed}) is the same run as cell ${other}: two entries of the grid give identical settings`);
    ids.set(cell.id, cell.index);
  }
  for (const e of evaluations) {
    if (!cells.some((c) => c.evaluations.some((x) => x.name === e.name))) console.warn(`sweep: evaluation '${e.name}' applies to none of the grid's tasks`);
  }
  if (errors.length) throw new Error(`the grid has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n  ${errors.join('\n  ')}`);
  return {
    name: grid.name ?? 'sweep',
    baseline,
    ...(baselineCheckpoint !== undefined ? { baselineCheckpoint } : {}),
    keep,
    tasks: tasks.map((t) => t.name),
    methods: methods.map((m) => m.label),
    checkpoints: checkpoints.map((c) => c.label),
    seeds,
    cells,
    source: grid,
  };
}

/** m for a cell: its checkpoint's pre-trained weights on the task's dev examples, at the cell's max length. */
function radiusUnitOf(config: FinetuneConfig, checkpointDir: string): number {
  return radiusUnit(checkpointDir, checkpointTokenizer(checkpointDir), splitReader(config)('dev'), { maxLength: config.maxLength, batchSize: 64 });
}

/** The canonical key of a cell's evaluation list (a record covers a cell when it has every one). */
export function evaluationsKey(evaluations: readonly EvaluationSpec[]): string {
  return canonicalJson(evaluations.map(evaluationKey));
}
