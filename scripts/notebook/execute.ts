/**
 * Runs one notebook headlessly with `jupyter nbconvert --to notebook --execute` into another
 * folder (never over the input), on the project-local tslab kernel, without --allow-errors, and
 * tells exactly what went wrong: which cell (index and first line) and the error text.
 *
 * nbconvert and tslab facts shape this. nbconvert writes no notebook when a cell fails (the kernel
 * launcher, scripts/tslab-kernel.js, makes tslab report the failure as an `error` output); tslab
 * sends no `execute_input`, so nbconvert leaves execution counts empty; and a reply "abort" (a
 * request the kernel skipped) is accepted silently by nbconvert. scripts/nbconvert_tslab.py
 * (nbconvert hooks) therefore records each cell's reply status and a failing cell's outputs on the
 * side and copies tslab's execution counts into the cells. A notebook that "finished" is then
 * checked cell by cell: every code cell replied "ok" and has an execution count, no error output,
 * no asynchronous error escaped (tslab still prints those on stderr only).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CellProblem, describeCell, executionProblems, firstLine, isExecutable, Notebook, NotebookOutput, outputText, readNotebook } from './ipynb';
import { jupyterCommand, JUPYTER_INSTALL_HINT } from './jupyter';
import { jupyterEnv, KERNEL_NAME } from './kernelspec';

export interface ExecuteOptions {
  /** The project root (holds .jupyter-local and scripts/). */
  root: string;
  /** Folder for the executed copy (created if missing). */
  outDir: string;
  /** Sets ADVLM_FULL_RUN=1 for the kernel; otherwise it is removed from the environment. */
  fullRun?: boolean;
  /** Per-cell limit in seconds; 0 or less means none. Default 600. */
  cellTimeoutSeconds?: number;
  /** Limit for the kernel to start, in seconds. Default 120. */
  startupTimeoutSeconds?: number;
  /** Base environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called with each cell index as it starts (progress). */
  onCellStart?: (index: number, cellCount: number) => void;
}

export interface ExecuteResult {
  /** The executed copy (present when nbconvert finished). */
  outputFile?: string;
  notebook?: Notebook;
  /** Why the run failed, naming the notebook and the cell; undefined when it succeeded. */
  failure?: string;
  seconds: number;
}

/** One line of the side report written by scripts/nbconvert_tslab.py. */
export interface ReportLine {
  event: 'start' | 'executed' | 'error';
  index: number;
  /** For 'executed': the kernel's reply status ('ok', 'error', 'abort'). */
  status?: string;
  /** For 'error': the failing cell's outputs. */
  outputs?: NotebookOutput[];
}

function readReport(file: string): ReportLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as ReportLine];
      } catch {
        return [];
      }
    });
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The end of nbconvert's stderr from its last Python exception line (the readable part), else its tail. */
function pythonError(stderr: string, lines = 15): string {
  const all = stderr.trimEnd().split('\n');
  for (let i = all.length - 1; i >= 0; i--) {
    if (/^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*:?/.test(all[i])) return all.slice(i, i + lines).join('\n');
  }
  return tail(stderr, lines);
}

/** The nbconvert command line (without the `jupyter` command itself). */
export function nbconvertArgs(notebook: string, outDir: string, root: string, cellTimeoutSeconds: number, startupTimeoutSeconds: number): string[] {
  return [
    'nbconvert', '--to', 'notebook', '--execute',
    `--config=${path.join(root, 'scripts', 'nbconvert_tslab.py')}`,
    `--ExecutePreprocessor.timeout=${cellTimeoutSeconds > 0 ? cellTimeoutSeconds : -1}`,
    `--ExecutePreprocessor.startup_timeout=${startupTimeoutSeconds}`,
    '--output-dir', outDir,
    '--output', path.basename(notebook, '.ipynb'),
    notebook,
  ];
}

/** Executes `notebook` (a path) into options.outDir; resolves with the result, never rejects for a notebook error. */
export async function executeNotebook(notebook: string, options: ExecuteOptions): Promise<ExecuteResult> {
  const t0 = Date.now();
  const rel = path.relative(options.root, path.resolve(notebook));
  const name = rel.startsWith('..') || path.isAbsolute(rel) ? notebook : rel;
  const elapsed = () => (Date.now() - t0) / 1000;
  const input = readNotebook(notebook);
  const kernel = input.metadata.kernelspec?.name;
  if (kernel !== KERNEL_NAME) {
    return { failure: `${name}: metadata.kernelspec.name is ${JSON.stringify(kernel)}, expected "${KERNEL_NAME}" (choose the TypeScript (tslab) kernel and save)`, seconds: elapsed() };
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const outputFile = path.join(path.resolve(options.outDir), path.basename(notebook));
  if (path.resolve(notebook) === outputFile) throw new Error(`refusing to execute ${name} over itself: choose another outDir`);
  fs.rmSync(outputFile, { force: true });
  const report = path.join(path.resolve(options.outDir), `.${path.basename(notebook)}.report.jsonl`);
  fs.rmSync(report, { force: true });

  const env = jupyterEnv(options.root, options.env ?? process.env);
  env.ADVLM_NB_REPORT = report;
  if (options.fullRun) env.ADVLM_FULL_RUN = '1';
  else delete env.ADVLM_FULL_RUN;
  const args = nbconvertArgs(path.resolve(notebook), path.resolve(options.outDir), options.root, options.cellTimeoutSeconds ?? 600, options.startupTimeoutSeconds ?? 120);

  const { status, stderr, spawnError } = await new Promise<{ status: number | null; stderr: string; spawnError?: Error }>((resolve) => {
    const child = spawn(jupyterCommand(env), args, { env, cwd: options.root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let seen = 0;
    const progress = () => {
      if (!options.onCellStart) return;
      const started = readReport(report).filter((r) => r.event === 'start');
      for (; seen < started.length; seen++) options.onCellStart(started[seen].index, input.cells.length);
    };
    const timer = setInterval(progress, 500);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.on('error', (e) => {
      clearInterval(timer);
      resolve({ status: null, stderr: err, spawnError: e });
    });
    child.on('close', (code) => {
      clearInterval(timer);
      progress();
      resolve({ status: code, stderr: err });
    });
  });

  if (spawnError) {
    return { failure: `${name}: could not run \`${jupyterCommand(env)} nbconvert\` (${spawnError.message}).\n${JUPYTER_INSTALL_HINT}`, seconds: elapsed() };
  }
  const events = readReport(report);
  fs.rmSync(report, { force: true });
  if (status !== 0) {
    return { failure: describeNbconvertFailure(name, input, events, stderr), seconds: elapsed() };
  }
  const nb = readNotebook(outputFile);
  const problems = [...replyProblems(nb, events), ...executionProblems(nb)];
  if (problems.length) {
    const lines = problems.map((p) => `  ${describeCell(p.index, p.firstLine)}: ${p.problem}`);
    return { outputFile, notebook: nb, failure: `${name} finished but not cleanly:\n${lines.join('\n')}`, seconds: elapsed() };
  }
  return { outputFile, notebook: nb, seconds: elapsed() };
}

/**
 * Cells whose kernel reply was not "ok" according to the side report. No report at all for a
 * notebook with code means the hooks did not load (nbclient older than 0.6): without them the
 * other checks cannot be trusted, so that is a problem too.
 */
export function replyProblems(nb: Notebook, events: readonly ReportLine[]): CellProblem[] {
  const status = new Map<number, string | undefined>();
  for (const e of events) if (e.event === 'executed') status.set(e.index, e.status);
  const executable = nb.cells.map((c, i) => [c, i] as const).filter(([c]) => isExecutable(c));
  if (executable.length > 0 && status.size === 0) {
    return [{ index: executable[0][1], firstLine: firstLine(executable[0][0]), problem: 'no cell reported back: nbconvert did not load scripts/nbconvert_tslab.py (needs nbclient >= 0.6; upgrade nbconvert/nbclient)' }];
  }
  const problems: CellProblem[] = [];
  for (const [cell, index] of executable) {
    const s = status.get(index);
    if (s !== 'ok') problems.push({ index, firstLine: firstLine(cell), problem: s === undefined ? 'was not executed' : `kernel replied "${s}"${s === 'abort' ? ' (tslab skipped it)' : ''}` });
  }
  return problems;
}

/** Explains a failed nbconvert run from the side report, falling back to nbconvert's own stderr. */
export function describeNbconvertFailure(name: string, input: Notebook, events: readonly ReportLine[], stderr: string): string {
  const error = [...events].reverse().find((e) => e.event === 'error');
  const lastStart = [...events].reverse().find((e) => e.event === 'start');
  const cellAt = (i: number) => describeCell(i, input.cells[i] ? firstLine(input.cells[i]) : '?');
  if (error) {
    const text = outputText(error.outputs ?? []) || pythonError(stderr);
    return `${name}: ${cellAt(error.index)} failed:\n${text}`;
  }
  if (/No such kernel named/i.test(stderr)) {
    return `${name}: Jupyter does not find the "${KERNEL_NAME}" kernel: run \`node scripts/lab.js --register-only\` (npm run lab -- --register-only) first.\n${tail(stderr, 5)}`;
  }
  if (/No module named|not a jupyter command|command not found/i.test(stderr)) {
    return `${name}: nbconvert is not available.\n${JUPYTER_INSTALL_HINT}\n${tail(stderr, 5)}`;
  }
  const where = lastStart ? ` while running ${cellAt(lastStart.index)}` : ' before any cell ran';
  const why = /CellTimeoutError|timed out/i.test(stderr) ? 'timed out' : /DeadKernelError|Kernel died/i.test(stderr) ? 'lost its kernel (it died)' : 'failed';
  return `${name}: nbconvert ${why}${where}:\n${pythonError(stderr)}`;
}
