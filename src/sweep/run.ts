/**
 * Runs a sweep's cells (those of one shard), each as a resumable job in `<out>/cells/<cell>/`:
 *
 *   1. skip the cell if a records file of the folder already has it done (same run identity and
 *      every evaluation it asks for); a failed cell is tried again (unless retryFailed is false);
 *   2. fine-tune with `finetune(config, { outDir: cellDir })`, which resumes by itself from the
 *      state it saves there; when it ends, `trained.json` marks the cell trained, so a sweep killed
 *      during the evaluations does not train again (it reloads the saved best model);
 *   3. run each evaluation, each result saved atomically as `eval-<name>.json` (a kill during the
 *      third evaluation keeps the first two);
 *   4. append the cell's record (one line, `appendRecord`), then delete the cell's folder, model
 *      included, unless the grid keeps the median-dev seed's checkpoint (then the group's other
 *      seeds are deleted once every seed of it is recorded).
 * A cell that throws is recorded as failed, with the stage and the error, and the sweep goes on.
 *
 * The one window where work can repeat: a kill in the few milliseconds between finetune removing
 * its resume state and trained.json being written retrains that cell.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { getTask } from '../data';
import { checkpointTokenizer } from '../tokenizer';
import { BertParams, WEIGHTS_FILE, disposeParams, loadCheckpoint } from '../model';
import { finetune } from '../train/finetune';
import type { ProgressOptions } from '../train/progress';
import { writeJsonAtomic } from '../util/atomic';
import { EvaluationResult, EvaluationSpec, evaluationDefinition, evaluationKey, splitReader } from './evaluations';
import { ExpandedGrid, SweepCell } from './grid';
import { SweepRecord, RECORD_KIND, appendRecord, covers, readRecords, reconcile, recordsFile } from './records';
import { NO_SHARD, Shard, shardItems, shardText } from './shard';

export interface SweepOptions {
  /** The sweep folder: records, sweep.json, cells/ (working folders), kept/ (which checkpoint each group kept). */
  outDir: string;
  shard?: Shard;
  /** Try cells recorded as failed again (default true). */
  retryFailed?: boolean;
  stopFlag?: { stop: boolean };
  progress?: ProgressOptions;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

export interface SweepRunResult {
  cells: number;
  ran: number;
  skipped: number;
  failed: number;
  stopped: boolean;
  recordsFile: string;
}

/** What sweep.json holds: the grid and its cells, for the summary and for merges. */
export interface SweepManifest {
  name: string;
  baseline: string;
  /** Set when the grid compares checkpoints rather than methods (the grid's `baselineCheckpoint`). */
  baselineCheckpoint?: string;
  keep: string;
  tasks: string[];
  methods: string[];
  checkpoints: string[];
  seeds: number[];
  grid: unknown;
  /** `evaluations`: the names of the cell's evaluations (absent in manifests written before it was added); `radiusUnit`: m, for "rho" entries. */
  cells: { index: number; id: string; task: string; method: string; checkpoint: string; seed: number; dir: string; evaluations?: string[]; radiusUnit?: number }[];
}

export function sweepManifest(g: ExpandedGrid): SweepManifest {
  return {
    name: g.name,
    baseline: g.baseline,
    ...(g.baselineCheckpoint !== undefined ? { baselineCheckpoint: g.baselineCheckpoint } : {}),
    keep: g.keep,
    tasks: g.tasks,
    methods: g.methods,
    checkpoints: g.checkpoints,
    seeds: g.seeds,
    grid: g.source,
    cells: g.cells.map((c) => ({ index: c.index, id: c.id, task: c.task, method: c.method, checkpoint: c.checkpoint, seed: c.seed, dir: c.dir, evaluations: c.evaluations.map((e) => e.name), ...(c.radiusUnit !== undefined ? { radiusUnit: c.radiusUnit } : {}) })),
  };
}

export const MANIFEST_FILE = 'sweep.json';

export function readManifest(dir: string): SweepManifest | undefined {
  const file = path.join(dir, MANIFEST_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as SweepManifest) : undefined;
}

/** The status of each cell of the grid as the folder's records say: done, failed or to do. */
export function cellStatus(g: ExpandedGrid, outDir: string): Map<number, 'done' | 'failed' | 'todo'> {
  const { records } = reconcile(readRecords([outDir]).records);
  const byId = new Map(records.map((r) => [r.id, r]));
  return new Map(
    g.cells.map((c) => {
      const r = byId.get(c.id);
      return [c.index, r && covers(r, c.evaluations) ? 'done' : r?.status === 'failed' ? 'failed' : 'todo'];
    }),
  );
}

export async function runSweep(g: ExpandedGrid, options: SweepOptions): Promise<SweepRunResult> {
  const shard = options.shard ?? NO_SHARD;
  const log = options.log ?? ((s: string) => console.log(s));
  const outDir = path.resolve(options.outDir);
  fs.mkdirSync(path.join(outDir, 'cells'), { recursive: true });
  writeJsonAtomic(path.join(outDir, MANIFEST_FILE), sweepManifest(g));
  const file = recordsFile(outDir, shard);
  const mine = shardItems(g.cells, shard);
  const status = cellStatus(g, outDir);
  const result: SweepRunResult = { cells: mine.length, ran: 0, skipped: 0, failed: 0, stopped: false, recordsFile: file };
  log(`sweep ${g.name}: ${g.cells.length} cells, shard ${shardText(shard)} runs ${mine.length}; records in ${file}`);
  for (const [k, cell] of mine.entries()) {
    const where = `[${k + 1}/${mine.length}] cell ${cell.index} (${cell.task}, ${cell.method}${g.checkpoints.length > 1 ? `, ${cell.checkpoint}` : ''}, seed ${cell.seed})`;
    // Let signal handlers run: on the wasm backend a training loop never yields to the event loop
    // (its awaits resolve as microtasks), so a SIGTERM from Slurm is seen here, between cells.
    await new Promise((resolve) => setImmediate(resolve));
    if (options.stopFlag?.stop) {
      result.stopped = true;
      break;
    }
    const s = status.get(cell.index);
    if (s === 'done' || (s === 'failed' && options.retryFailed === false)) {
      log(`${where}: ${s === 'done' ? 'already recorded' : 'failed before, not retried'}, skipped`);
      result.skipped++;
      // a kill between the record and the clean-up leaves the folder behind: clean up now
      if (s === 'done' && fs.existsSync(path.join(outDir, 'cells', cell.dir))) cleanUp(g, cell, outDir, true, log);
      continue;
    }
    const r = await runCell(g, cell, outDir, shard, options);
    if (r === 'stopped') {
      log(`${where}: stopped; run the same command again to resume it`);
      result.stopped = true;
      break;
    }
    appendRecord(file, r);
    result.ran++;
    if (r.status === 'failed') {
      result.failed++;
      log(`${where}: FAILED (${r.error!.stage}): ${r.error!.message}`);
    } else {
      const dev = r.results?.dev?.metrics ?? r.training?.dev ?? {};
      log(`${where}: done in ${r.seconds.toFixed(1)}s; dev ${Object.entries(dev).map(([m, v]) => `${m} ${v.toFixed(4)}`).join(', ')}`);
    }
    cleanUp(g, cell, outDir, r.status === 'done', log);
  }
  log(`sweep ${g.name} shard ${shardText(shard)}: ${result.ran} ran (${result.failed} failed), ${result.skipped} skipped${result.stopped ? ', stopped early' : ''}`);
  return result;
}

interface TrainedMarker {
  id: string;
  training: NonNullable<SweepRecord['training']>;
}

async function runCell(g: ExpandedGrid, cell: SweepCell, outDir: string, shard: Shard, options: SweepOptions): Promise<SweepRecord | 'stopped'> {
  const cellDir = path.join(outDir, 'cells', cell.dir);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  let stage = 'train';
  let params: BertParams | undefined;
  const base = {
    kind: RECORD_KIND,
    format: 1 as const,
    id: cell.id,
    sweep: g.name,
    cell: { index: cell.index, task: cell.task, method: cell.method, methodName: cell.methodName, checkpoint: cell.checkpoint, seed: cell.seed, dir: cell.dir },
    identity: cell.identity.fields,
    evaluations: cell.evaluations,
    shard: { index: shard.index, count: shard.count },
    host: os.hostname(),
    pid: process.pid,
    startedAt,
  };
  try {
    const task = getTask(cell.task);
    const markerFile = path.join(cellDir, 'trained.json');
    const marker = fs.existsSync(markerFile) ? (JSON.parse(fs.readFileSync(markerFile, 'utf8')) as TrainedMarker) : undefined;
    let training: TrainedMarker['training'];
    if (marker && marker.id === cell.id && fs.existsSync(path.join(cellDir, 'model.safetensors'))) {
      params = loadCheckpoint(cellDir, { numLabels: task.numLabels, mlm: false }).params; // trained before a stop: evaluate only
      training = marker.training;
    } else {
      const r = await finetune(cell.config, {
        outDir: cellDir,
        record: false,
        stopFlag: options.stopFlag,
        progress: { ...options.progress, label: `${cell.task} ${cell.method} s${cell.seed}` },
      });
      params = r.params;
      if (r.train.stopped) return 'stopped';
      training = { bestEpoch: r.best.epoch, dev: r.best.metrics, epochs: r.record.epochs, trainSeconds: r.record.wallSeconds, backend: r.record.backend, versions: r.record.versions };
      writeJsonAtomic(markerFile, { id: cell.id, training } satisfies TrainedMarker);
    }
    const tokenizer = checkpointTokenizer(cellDir);
    const results: Record<string, EvaluationResult> = {};
    for (const spec of cell.evaluations) {
      stage = `evaluate ${spec.name}`;
      const file = path.join(cellDir, `eval-${spec.name}.json`);
      const saved = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { spec: EvaluationSpec; result: EvaluationResult }) : undefined;
      if (saved && evaluationKey(saved.spec) === evaluationKey(spec)) {
        results[spec.name] = saved.result;
        continue;
      }
      const def = evaluationDefinition(spec.name);
      const result = await def.run({ params, tokenizer, task, config: cell.config, cellDir, examples: splitReader(cell.config) }, spec.options);
      writeJsonAtomic(file, { spec, result });
      results[spec.name] = result;
    }
    return { ...base, status: 'done', results, training, finishedAt: new Date().toISOString(), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return {
      ...base,
      status: 'failed',
      error: { stage, message: err.message, stack: err.stack?.split('\n').slice(0, 6).join('\n') },
      finishedAt: new Date().toISOString(),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    if (params) disposeParams(params);
  }
}

/** The main dev score of a done record (the dev evaluation's, else the best epoch's). */
export function devScore(r: SweepRecord): number | undefined {
  const metric = getTask(r.cell.task).metrics[0];
  const v = r.results?.dev?.metrics?.[metric] ?? r.training?.dev?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The seed whose dev score is the median of its group (the lower middle one for an even count;
 * ties by seed), among done records.
 */
export function medianSeedRecord(records: readonly SweepRecord[]): SweepRecord | undefined {
  const scored = records.filter((r) => r.status === 'done' && devScore(r) !== undefined).sort((a, b) => devScore(a)! - devScore(b)! || a.cell.seed - b.cell.seed);
  return scored.length ? scored[Math.floor((scored.length - 1) / 2)] : undefined;
}

/**
 * The rule that chose ASCC's and RIFT's weights on dev (src/adversarial/ascc_dong_2021.ts): among done
 * records with the attack evaluation, the highest accuracy under attack (the papers' criterion, on dev
 * instead of test); the higher dev score breaks a tie, then the lower cell index.
 */
export function mostRobustRecord(records: readonly SweepRecord[], evaluation = 'word-attack'): SweepRecord | undefined {
  const underAttack = (r: SweepRecord) => r.results?.[evaluation]?.metrics?.underAttack;
  const scored = records.filter((r) => r.status === 'done' && typeof underAttack(r) === 'number');
  scored.sort((a, b) => underAttack(b)! - underAttack(a)! || (devScore(b) ?? -Infinity) - (devScore(a) ?? -Infinity) || a.cell.index - b.cell.index);
  return scored[0];
}

/** After a cell: delete its folder, or, keeping median-dev seeds, prune the group once complete. */
function cleanUp(g: ExpandedGrid, cell: SweepCell, outDir: string, done: boolean, log: (s: string) => void): void {
  if (!done) return; // a failed cell keeps its folder: a retry resumes from it
  const cellDir = path.join(outDir, 'cells', cell.dir);
  if (g.keep === 'none') {
    fs.rmSync(cellDir, { recursive: true, force: true });
    return;
  }
  const group = g.cells.filter((c) => c.task === cell.task && c.method === cell.method && c.checkpoint === cell.checkpoint);
  const { records } = reconcile(readRecords([outDir]).records);
  const byId = new Map(records.map((r) => [r.id, r]));
  const groupRecords = group.map((c) => byId.get(c.id)).filter((r): r is SweepRecord => !!r && covers(r, group.find((c) => c.id === r.id)!.evaluations));
  if (groupRecords.length < group.length) return; // not every seed recorded yet: keep the models until it is
  const median = medianSeedRecord(groupRecords);
  if (!median) return;
  const key = `${cell.task} ${cell.method}${g.checkpoints.length > 1 ? ` ${cell.checkpoint}` : ''}`;
  const medianDir = path.join(outDir, 'cells', median.cell.dir);
  if (!fs.existsSync(path.join(medianDir, WEIGHTS_FILE))) {
    // a record merged from another folder or machine comes without its weights: pruning now would
    // leave no checkpoint at all
    log(
      `not keeping a checkpoint of ${key} yet: the median-dev seed, ${median.cell.seed}, has a record here but no weights ` +
        `(${medianDir} is missing: its record came from another folder or machine). Every other seed's weights stay. ` +
        `To rebuild seed ${median.cell.seed}'s, remove its record from ${outDir}'s records and run the sweep again.`,
    );
    return;
  }
  for (const c of group) if (c.id !== median.id) fs.rmSync(path.join(outDir, 'cells', c.dir), { recursive: true, force: true });
  // one file per group (shards sharing the folder never write the same file)
  writeJsonAtomic(path.join(outDir, 'kept', `${cell.dir.replace(/-s-?\d+-[0-9a-f]+$/, '')}.json`), {
    group: key,
    seed: median.cell.seed,
    dev: devScore(median),
    checkpoint: path.join('cells', median.cell.dir),
    id: median.id,
  });
  log(`kept the median-dev seed's checkpoint of ${key}: seed ${median.cell.seed} in ${path.join(outDir, 'cells', median.cell.dir)}`);
}
