/**
 * Benchmarks of training steps: prints figures, asserts nothing. Run: npm run bench [-- --full]
 *
 * By default (a few minutes): the tiny BERT, vanilla and FreeLB-3, fine-tuning (batch 32 x 128,
 * classification) and MLM pre-training (batch 8 x 128, softmax over the corpus's tokens as
 * `pretrain` uses), at 1 wasm thread and at the default count (every core). Each row runs in a
 * process of its own (the thread count is fixed when the backend initialises; wasm memory is never
 * returned, so a row's peak RSS is its own): 2 warm-up steps, then 5 timed steps, each a full
 * training step as the trainer takes it (the method's step for every replay, clipping to norm 1,
 * AdamW). `--full` adds every registered method and the mini config.
 *
 * Per row: ms per step, tokens/s, passes per step (countPasses), peak RSS and tf.memory().numBytes,
 * tensors leaked per step (must be 0), achieved GFLOP/s (scripts/bench/flops.ts) next to the
 * backend's matMul GFLOP/s in the same process. Also: two single-thread processes side by side
 * (vanilla fine-tuning), the simplest use of two cores for a sweep; and, when `python3 -c 'import
 * torch'` works, the PyTorch reference of bench/reference/ on the same batches, with the ratio
 * advlm / PyTorch tokens/s per row. Results go to runs/bench/bench-<date>.json.
 *
 * Data-parallel rows (src/train/data_parallel.ts): vanilla and FreeLB-3 with N workers of one wasm
 * thread each sharing every minibatch (N = the cores, `--workers N`, 0 = none), next to the rows and
 * the PyTorch reference on N threads.
 *
 * Each advlm row is followed at once by the PyTorch row of the same shape and method (the order of
 * the two alternates between rounds), so the two are timed close together: the speed of these shared
 * machines drifts by several times over minutes, and ratios of rows timed far apart are mostly drift.
 * `--rounds N` repeats every pair N times; the table then shows each engine's median ms per step and
 * the median and range of the N per-round ratios advlm / PyTorch.
 *
 * Options: --full, --rounds N, --warmup N, --steps N, --threads 1,2 (thread counts), --workers N, --no-torch, --no-pair,
 * --methods a,b and --configs tiny,mini (rows of these only; with --full's defaults otherwise). The PyTorch
 * reference has every method's fine-tuning step, and vanilla's and FreeLB's MLM step.
 * `npm run bench -- matmul` instead compares advlm's wasm matMul with tfjs's stock kernel (scripts/bench/matmul.ts);
 * `npm run bench -- profile [--shape mlm|finetune] [--method NAME]` times one step kernel by kernel (scripts/bench/profile.ts).
 * `npm run bench -- memory [--steps 300] [--methods a,b]`: RSS and tf.memory() over a long run of every method (scripts/bench/memory.ts).
 * Absolute times on a shared machine are noisy: compare rows of one run.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { methodNames } from '../src/adversarial/methods';
import { defaultWasmThreads } from '../src/backend_wasm_threads';
import { projectRoot } from '../src/paths';
import { median } from '../src/stats/summary';
import { AdvlmRow, RowSpec, Shape, benchData, runChild } from './bench/advlm_rows';
import { matmulBench } from './bench/matmul';
import { jsonChild } from './bench/child';
import { memoryBench } from './bench/memory';
import { profileBench } from './bench/profile';

interface Options {
  /** Times each advlm / PyTorch pair of rows is run. */
  rounds: number;
  warmup: number;
  steps: number;
  threads: number[];
  torch: boolean;
  pair: boolean;
  /** Workers of the data-parallel rows (0 = none). */
  workers: number;
  /** The rows' methods and model configs: --methods / --configs, else the default set, or every one with --full. */
  methods: string[];
  configs: string[];
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, d: number, min: number): number => {
    const v = value(flag);
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number >= ${min}, got '${v}'`);
    return n;
  };
  const threads = value('--threads')?.split(',').map(Number) ?? [...new Set([1, defaultWasmThreads()])];
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`--threads needs thread counts such as 1,2; got '${value('--threads')}'`);
  const workers = int('--workers', defaultWasmThreads(), 0);
  if (workers > 1 && !threads.includes(workers)) threads.push(workers);
  const list = (flag: string, known: readonly string[]): string[] | undefined => {
    const v = value(flag);
    if (v === undefined) return undefined;
    const items = v.split(',').filter((x) => x !== '');
    const unknown = items.filter((x) => !known.includes(x));
    if (items.length === 0 || unknown.length) throw new Error(`${flag} takes a comma-separated list of ${known.join(', ')}; got '${v}'`);
    return items;
  };
  const full = argv.includes('--full');
  const methods = list('--methods', methodNames()) ?? (full ? methodNames() : ['vanilla', 'freelb']);
  const configs = list('--configs', ['tiny', 'mini']) ?? (full ? ['tiny', 'mini'] : ['tiny']);
  return { rounds: int('--rounds', 1, 1), warmup: int('--warmup', 2, 0), steps: int('--steps', 5, 1), threads, torch: !argv.includes('--no-torch'), pair: !argv.includes('--no-pair'), workers, methods, configs };
}

function specs(o: Pick<Options, 'methods' | 'configs'>): RowSpec[] {
  const out: RowSpec[] = [];
  for (const config of o.configs)
    for (const shape of ['finetune', 'mlm'] as const)
      for (const method of o.methods) out.push({ config, shape, method, ...(method === 'freelb' ? { options: { K: 3 } } : {}) });
  return out;
}

/**
 * Where a data-parallel row's step went, ms per step: the main thread's phases, the slowest worker's,
 * and the rest of the training step (clipping, AdamW), which runs on the main thread alone.
 */
function phasesText(r: AdvlmRow): string {
  const p = r.phases!;
  const dp = p.weightsOut + p.ownShard + p.wait + p.combine;
  const copies = p.weightsOut + p.combine + p.workerCopyIn + p.workerCopyOut;
  return (
    `main: shards and weights out ${fmt(p.weightsOut)}, own shard ${fmt(p.ownShard)}, waiting ${fmt(p.wait)}, combining gradients ${fmt(p.combine)}; ` +
    `slowest worker: weights in ${fmt(p.workerCopyIn)}, shard ${fmt(p.workerShard)}, gradients out ${fmt(p.workerCopyOut)}; ` +
    `clipping and AdamW ${fmt(r.msPerStep! - dp)}; copying and combining ${fmt(copies)} ms of ${fmt(r.msPerStep)}`
  );
}

/** The data-parallel rows: vanilla and FreeLB-3 (those of them among the rows' methods) on `workers` threads sharing each minibatch, one wasm thread each, for every config of the rows. */
function workerSpecs(workers: number, o: Options): RowSpec[] {
  const out: RowSpec[] = [];
  const methods = ['vanilla', 'freelb'].filter((m) => o.methods.includes(m));
  for (const config of o.configs) for (const shape of ['finetune', 'mlm'] as const) for (const method of methods) out.push({ config, shape, method, workers, ...(method === 'freelb' ? { options: { K: 3 } } : {}) });
  return out;
}

/** One row in a process of its own with `threads` wasm threads; a crash (a wasm abort cannot be caught) comes back as a skipped row. */
function advlmRow(threads: number, spec: RowSpec, dataFile: string, o: Options): Promise<AdvlmRow> {
  const arg = JSON.stringify({ data: dataFile, spec, warmup: o.warmup, steps: o.steps });
  return jsonChild<AdvlmRow>(__filename, ['--child', arg], { ...process.env, ADVLM_WASM_THREADS: String(threads) }, (why) => ({ ...spec, engine: 'advlm', backend: '?', threads, batch: 0, seqLen: 0, skipped: why }));
}

interface TorchRow {
  engine: 'torch';
  round?: number;
  torch: string;
  threads: number;
  config: string;
  shape: Shape;
  method: string;
  msPerStep: number;
  cpuMsPerStep: number;
  tokensPerSec: number;
}

/** The Python interpreter that imports torch: python3 on the PATH, else Debian's (a pyenv python3 on the PATH may lack the system's torch). */
function torchPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((py) => {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

/** The methods bench/reference/bench_torch.py implements (fine-tuning; MLM: vanilla and FreeLB). */
const TORCH_METHODS = ['vanilla', 'freelb', 'gaussian-noise', 'pgd', 'freeat', 'yopo', 'alum', 'ascc', 'rift'];
const TORCH_MLM_METHODS = ['vanilla', 'freelb'];

/** The PyTorch reference's row of `spec` at `threads` threads, or undefined where it has no such row. */
function torchRow(python: string, threads: number, spec: RowSpec, dataFile: string, o: Options): TorchRow | undefined {
  if (!TORCH_METHODS.includes(spec.method) || (spec.shape === 'mlm' && !TORCH_MLM_METHODS.includes(spec.method))) return undefined;
  const script = path.join(projectRoot(), 'bench', 'reference', 'bench_torch.py');
  const args = [script, '--data', dataFile, '--threads', String(threads), '--configs', spec.config, '--shapes', spec.shape, '--methods', spec.method, '--warmup', String(o.warmup), '--steps', String(o.steps)];
  // torch.set_num_threads bounds torch's own pool, not OpenBLAS's: its thread count is fixed when the
  // library loads, so it is set in the environment (otherwise a 1-thread row may use both cores)
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const out = execFileSync(python, args, { encoding: 'utf8', env });
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TorchRow)[0];
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '-' : x.toFixed(digits));
type RowKey = Pick<AdvlmRow, 'threads' | 'config' | 'shape' | 'workers'>;
/** Cores a row uses: wasm threads x workers. */
const coresOf = (r: RowKey) => r.threads * (r.workers ?? 1);
const sameRow = (a: RowKey) => (b: RowKey) => a.threads === b.threads && (a.workers ?? 1) === (b.workers ?? 1) && a.config === b.config && a.shape === b.shape;
/** The PyTorch row on as many threads as the advlm row uses cores. */
const torchMatch = (a: RowKey) => (t: TorchRow) => t.threads === coresOf(a) && t.config === a.config && t.shape === a.shape;

/** Passes of a step: full forwards F, backwards with parameter gradients B, to the inputs only b, partial forwards/backwards p. */
function passesOf(r: AdvlmRow): string {
  const p = r.passes!;
  return `${p.forward}F ${p.paramBackward}B` + (p.inputBackward ? ` ${p.inputBackward}b` : '') + (p.partialForward + p.partialBackward ? ` ${p.partialForward}/${p.partialBackward}p` : '');
}

const advlmKey = (r: AdvlmRow) => `${r.threads} ${r.workers ?? 1} ${r.config} ${r.shape} ${r.method}`;
const torchKey = (r: Pick<TorchRow, 'threads' | 'config' | 'shape' | 'method'>) => `${r.threads} ${r.config} ${r.shape} ${r.method}`;

/** One row per key over the rounds: median ms and CPU ms per step (tokens/s follows the ms); every other field from the first round's row. */
function medianOver<R extends { msPerStep?: number; cpuMsPerStep?: number; tokensPerSec?: number; skipped?: string }>(rs: readonly R[], key: (r: R) => string): R[] {
  const groups = new Map<string, R[]>();
  for (const r of rs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((g) => {
    const ran = g.filter((r) => !r.skipped && r.msPerStep !== undefined);
    if (ran.length === 0) return g[0];
    const ms = median(ran.map((r) => r.msPerStep!));
    return { ...ran[0], msPerStep: ms, cpuMsPerStep: median(ran.map((r) => r.cpuMsPerStep!)), tokensPerSec: (ran[0].tokensPerSec! * ran[0].msPerStep!) / ms };
  });
}

/** Each advlm row's ratio of tokens/s to PyTorch's row of the same round on as many cores, grouped by row. */
function roundRatios(rows: readonly AdvlmRow[], torch: readonly TorchRow[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const pt = torch.find((t) => t.round === r.round && torchMatch(r)(t) && t.method === r.method);
    if (r.skipped || !pt) continue;
    out.set(advlmKey(r), [...(out.get(advlmKey(r)) ?? []), r.tokensPerSec! / pt.tokensPerSec]);
  }
  return out;
}

/** The table of medians over the rounds; advlm/PT is the median of the rounds' ratios, with their range when there are several. */
function printTable(allRows: AdvlmRow[], allTorch: TorchRow[]): void {
  const ratios = roundRatios(allRows, allTorch);
  const rows = medianOver(allRows, advlmKey);
  const torch = medianOver(allTorch, torchKey);
  const rounds = Math.max(1, ...[...ratios.values()].map((x) => x.length));
  const head = ['threads', 'workers', 'config', 'shape', 'method', 'ms/step', 'CPU ms', 'tokens/s', 'x vanilla', 'passes', 'GFLOP/s', 'matMul', 'RSS MB', 'tf MB', 'leak/step', 'PyTorch tok/s', 'x vanilla', 'advlm/PT', ...(rounds > 1 ? ['range'] : []), 'by CPU'];
  const lines: string[][] = [];
  for (const r of rows) {
    if (r.skipped) {
      lines.push([String(r.threads), String(r.workers ?? 1), r.config, r.shape, r.method, `skipped: ${r.skipped}`]);
      continue;
    }
    const vanilla = rows.find((v) => sameRow(r)(v) && v.method === 'vanilla' && !v.skipped);
    const pt = torch.find((t) => torchMatch(r)(t) && t.method === r.method);
    const ptVanilla = torch.find((t) => torchMatch(r)(t) && t.method === 'vanilla');
    lines.push([
      String(r.threads), String(r.workers ?? 1), r.config, r.shape, r.method + (r.options ? ` ${JSON.stringify(r.options)}` : ''), fmt(r.msPerStep), fmt(r.cpuMsPerStep), fmt(r.tokensPerSec),
      vanilla ? fmt(r.msPerStep! / vanilla.msPerStep!, 2) : '-', passesOf(r), fmt(r.gflops, 1), fmt(r.matMulGflops, 1),
      fmt(r.rssPeakMB), fmt(r.tfPeakMB), fmt(r.leakedPerStep, 1),
      pt ? fmt(pt.tokensPerSec) : '-', pt && ptVanilla ? fmt(pt.msPerStep / ptVanilla.msPerStep, 2) : '-',
      ratios.has(advlmKey(r)) ? fmt(median(ratios.get(advlmKey(r))!), 2) : '-',
      ...(rounds > 1 ? [ratios.has(advlmKey(r)) ? `${fmt(Math.min(...ratios.get(advlmKey(r))!), 2)}-${fmt(Math.max(...ratios.get(advlmKey(r))!), 2)}` : '-'] : []),
      pt ? fmt(pt.cpuMsPerStep / r.cpuMsPerStep!, 2) : '-',
    ]);
  }
  const full = [head, ...lines.filter((l) => l.length === head.length)];
  const widths = head.map((_, j) => Math.max(...full.map((l) => l[j].length)));
  for (const l of [head, ...lines]) console.log(l.length === head.length ? l.map((c, j) => (j < 5 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ') : l.join('  '));
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--child');
  if (i >= 0) return runChild(process.argv[i + 1]);
  if (process.argv[2] === 'matmul') return matmulBench(__filename, process.argv.slice(3));
  if (process.argv[2] === 'profile') return profileBench(process.argv.slice(3));
  if (process.argv[2] === 'memory') return memoryBench(__filename, process.argv.slice(3));
  const o = parseOptions(process.argv.slice(2));
  const started = new Date();
  const dataFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-bench-')), 'data.json');
  fs.writeFileSync(dataFile, JSON.stringify(benchData(32, 8)));
  const rowSpecs = specs(o);
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAvgAtStart: os.loadavg() };
  console.log(
    `bench: ${rowSpecs.length} rows x threads ${o.threads.join(', ')}; ${o.warmup} warm-up + ${o.steps} timed steps; ` +
      `${machine.cpus} cores (${machine.model}), load average ${machine.loadAvgAtStart.map((x) => x.toFixed(1)).join(' ')}`,
  );
  const python = o.torch ? torchPython() : undefined;
  const torchNote = !o.torch
    ? 'PyTorch reference skipped (--no-torch)'
    : !python
      ? "PyTorch reference skipped: `python3 -c 'import torch'` failed (Debian: apt-get install python3-torch)"
      : undefined;
  if (torchNote) console.log(torchNote);
  // each thread count's advlm rows, then the PyTorch reference's at the same count: close in time, as
  // the load of a shared machine drifts
  const rows: AdvlmRow[] = [];
  const torch: TorchRow[] = [];
  // one advlm row and, right before or after it, PyTorch's on as many cores
  const pairOf = async (round: number, threads: number, spec: RowSpec, torchThreads: number) => {
    const advlm = async () => {
      const r = { ...(await advlmRow(threads, spec, dataFile, o)), round };
      const how = spec.workers ? `${spec.workers} workers of 1 thread` : `${threads} thread(s)`;
      console.log(`  advlm ${how}, ${spec.config} ${spec.shape} ${spec.method}: ${r.skipped ? `skipped (${r.skipped})` : `${fmt(r.msPerStep)} ms/step`}`);
      if (r.phases) console.log(`    ${phasesText(r)}`);
      rows.push(r);
    };
    const reference = async () => {
      // once per round: the data-parallel rows share the PyTorch rows of the plain ones at as many threads
      const key = torchKey({ threads: torchThreads, config: spec.config, shape: spec.shape, method: spec.method });
      if (!python || torch.some((r) => r.round === round && torchKey(r) === key)) return;
      const r = torchRow(python, torchThreads, spec, dataFile, o);
      if (!r) return;
      console.log(`  PyTorch ${r.threads} thread(s), ${r.config} ${r.shape} ${r.method}: ${fmt(r.msPerStep)} ms/step`);
      torch.push({ ...r, round });
    };
    // alternate which engine goes first, so that a drift of the machine's speed favours neither
    if (round % 2 === 0) {
      await advlm();
      await reference();
    } else {
      await reference();
      await advlm();
    }
  };
  for (let round = 0; round < o.rounds; round++) {
    if (o.rounds > 1) console.log(`round ${round + 1} of ${o.rounds}`);
    for (const t of o.threads) {
      for (const spec of rowSpecs) await pairOf(round, t, spec, t);
      // the data-parallel rows use as many cores as this thread count
      if (t === o.workers && t > 1) for (const spec of workerSpecs(t, o)) await pairOf(round, 1, spec, t);
    }
  }
  // two independent single-thread processes at once, each training vanilla fine-tuning
  let pair: { perProcess: number[]; aggregateTokensPerSec: number; overlapSeconds: number } | undefined;
  if (o.pair) {
    console.log('  two single-thread processes side by side ...');
    const spec: RowSpec = { config: 'tiny', shape: 'finetune', method: 'vanilla' };
    const both = await Promise.all([advlmRow(1, spec, dataFile, o), advlmRow(1, spec, dataFile, o)]);
    if (both.every((r) => !r.skipped)) {
      // both processes' tokens over the window from the first timed step's start to the last one's end
      // (conservative when the two windows do not coincide)
      const window = Math.max(...both.map((r) => r.timedTo!)) - Math.min(...both.map((r) => r.timedFrom!));
      const overlap = Math.min(...both.map((r) => r.timedTo!)) - Math.max(...both.map((r) => r.timedFrom!));
      const tokens = both.reduce((n, r) => n + r.batch * r.seqLen * o.steps, 0);
      pair = { perProcess: both.map((r) => r.tokensPerSec!), aggregateTokensPerSec: tokens / (window / 1000), overlapSeconds: overlap / 1000 };
    }
  }
  const backend = rows.find((r) => !r.skipped)?.backend;
  console.log(
    `\nadvlm on ${backend}, ${started.toISOString()}. passes: full forwards F, backwards with parameter gradients B, to the inputs only b, partial forwards/backwards p; ` +
      'GFLOP/s: scripts/bench/flops.ts (not estimated with partial passes); matMul: [4096, D] x [D, 4D] in the same process; "x vanilla": step time over vanilla\'s; ' +
      'CPU ms: CPU time of every thread per step; advlm/PT: the ratio of tokens/s (wall time) of rows timed back to back, the median over rounds (range: the lowest and highest of the rounds), by CPU: of CPU time per step (PyTorch\'s over advlm\'s)',
  );
  printTable(rows, torch);
  if (pair) {
    const one = rows.find((r) => r.threads === 1 && (r.workers ?? 1) === 1 && r.config === 'tiny' && r.shape === 'finetune' && r.method === 'vanilla');
    console.log(
      `two single-thread processes side by side (tiny, vanilla fine-tuning): ${pair.perProcess.map((x) => fmt(x)).join(' + ')} tokens/s; ` +
        `together ${fmt(pair.aggregateTokensPerSec)} tokens/s over their joint window (timed steps overlapped ${pair.overlapSeconds.toFixed(1)} s)` +
        (one?.tokensPerSec ? `, ${fmt(pair.aggregateTokensPerSec / one.tokensPerSec, 2)}x one single-thread process` : ''),
    );
  }
  if (torchNote) console.log(torchNote);
  else console.log('PyTorch: the independent BERT of test/fixtures/make_bert_fixture.py without dropout (bench/reference/bench_torch.py)');
  const leaks = rows.filter((r) => r.leakedPerStep);
  if (leaks.length) console.log(`LEAKS: ${leaks.map((r) => `${r.method} ${r.shape} ${r.config} (${r.threads} threads): ${r.leakedPerStep} tensors per step`).join('; ')}`);
  const outDir = path.join(projectRoot(), 'runs', 'bench');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const record = { started: started.toISOString(), options: o, machine: { ...machine, loadAvgAtEnd: os.loadavg() }, advlm: rows, pair, torch, torchNote };
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  fs.rmSync(path.dirname(dataFile), { recursive: true, force: true });
  console.log(`written: ${path.relative(projectRoot(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
