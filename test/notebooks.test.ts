/**
 * Notebook execution test: every notebooks/*.ipynb runs top to bottom on the project-local tslab
 * kernel with nbconvert (no --allow-errors), into a temporary folder (the committed notebooks are
 * never written), with ADVLM_FULL_RUN unset (the fast path). One subtest per notebook; a failure
 * names the notebook, the cell (index and first line) and the error text.
 *
 * Needs Jupyter's nbconvert (Debian: jupyter-nbconvert python3-nbclient). Also checks that the
 * committed notebooks carry outputs and clean metadata, and that a deliberately failing notebook
 * is reported as failing at the right cell (the launcher in scripts/notebook makes tslab send an error output with ename, evalue and traceback).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { executeNotebook, replyProblems } from '../scripts/notebook/execute';
import { cleanNotebook, commitProblems, executionProblems, formatNotebook, hidePaths, Notebook, NotebookOutput, readNotebook } from '../scripts/notebook/ipynb';
import { jupyterCommand, jupyterVersion, JUPYTER_INSTALL_HINT } from '../scripts/notebook/jupyter';
import { jupyterEnv, kernelspecFile, KERNEL_NAME } from '../scripts/notebook/kernelspec';

const root = path.resolve(__dirname, '..');
const notebookDir = path.join(root, 'notebooks');
const notebooks = fs.readdirSync(notebookDir).filter((f) => f.endsWith('.ipynb')).sort();
let outDir = '';

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

before(() => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'lab.js'), '--register-only'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `node scripts/lab.js --register-only failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(jupyterVersion('nbconvert', jupyterEnv(root)), `jupyter nbconvert is needed to run the notebooks.\n${JUPYTER_INSTALL_HINT}`);
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-notebook-test-'));
});

after(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

test('the registered kernelspec starts the launcher in this checkout and Jupyter finds it', () => {
  const spec = JSON.parse(fs.readFileSync(kernelspecFile(root), 'utf8'));
  assert.equal(spec.argv[1], path.join(root, 'scripts', 'tslab-kernel.js'));
  assert.deepEqual(spec.argv.slice(2), ['kernel', '--config-path', '{connection_file}']);
  assert.equal(spec.language, 'typescript');
  const r = spawnSync(jupyterCommand(), ['kernelspec', 'list', '--json'], { env: jupyterEnv(root), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const found = JSON.parse(r.stdout).kernelspecs[KERNEL_NAME];
  assert.ok(found, `jupyter kernelspec list does not show "${KERNEL_NAME}"`);
  assert.equal(fs.realpathSync(found.resource_dir), fs.realpathSync(path.dirname(kernelspecFile(root))));
});

test('notebooks/ holds notebooks', () => {
  assert.ok(notebooks.length > 0, 'no notebooks/*.ipynb found');
});

for (const name of notebooks) {
  const file = path.join(notebookDir, name);

  test(`notebooks/${name} runs top to bottom without errors`, { timeout: 30 * 60_000 }, async () => {
    const before = sha(file);
    const r = await executeNotebook(file, { root, outDir, fullRun: false, cellTimeoutSeconds: 600 });
    assert.equal(sha(file), before, 'the committed notebook was modified by the run');
    if (r.failure) assert.fail(r.failure);
    assert.ok(r.notebook && r.outputFile && r.outputFile.startsWith(outDir));
  });

  test(`notebooks/${name} is committed with outputs and clean metadata`, () => {
    const problems = commitProblems(readNotebook(file), root);
    assert.deepEqual(problems, [], `notebooks/${name}:\n  ${problems.join('\n  ')}\n(re-run: node scripts/run-notebooks.js --full ${name})`);
  });
}

function srcModules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return srcModules(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Writes a notebook of code cells (a `{ markdown }` entry makes a markdown cell). */
function writeNotebook(file: string, sources: (string | { markdown: string })[]): void {
  const nb = {
    cells: sources.map((s) =>
      typeof s === 'string'
        ? { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: s }
        : { cell_type: 'markdown', metadata: {}, source: s.markdown },
    ),
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: 'TypeScript (tslab)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 4,
  };
  fs.writeFileSync(file, JSON.stringify(nb));
}

test('every module under src/ loads in the tslab kernel (its own type check, folder imports included)', { timeout: 10 * 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(outDir, 'src-modules-'));
  const modules = srcModules(path.join(root, 'src'))
    .map((f) => `./${path.relative(root, f).split(path.sep).join('/').replace(/\.ts$/, '')}`)
    .sort();
  assert.ok(modules.includes('./src/backend'));
  const folders = [...new Set(modules.filter((m) => m.endsWith('/index')).map((m) => m.slice(0, -'/index'.length)))];
  const input = path.join(dir, 'src_modules.ipynb');
  writeNotebook(input, [
    ['// every module under src/', ...modules.map((m) => `import '${m}';`)].join('\n'),
    // Folder imports (tslab alone cannot load them; the kernel launcher maps them to the index).
    folders.map((m, i) => `import * as folder${i} from '${m}';\nif (typeof folder${i} !== 'object') throw new Error('${m} did not load');`).join('\n') || '// no folders',
  ]);
  const r = await executeNotebook(input, { root, outDir: path.join(dir, 'out'), cellTimeoutSeconds: 600 });
  if (r.failure) assert.fail(`a module under src/ does not load in tslab (it compiles with module CommonJS, lib ES2022, no DOM, rootDir = the project root):\n${r.failure}`);
});

test('a failing cell is reported with its index, first line and error text, and the notebook is not written', async () => {
  const dir = fs.mkdtempSync(path.join(outDir, 'failing-'));
  const input = path.join(dir, 'failing.ipynb');
  writeNotebook(input, [
    { markdown: '# Failing on purpose (markdown cells count in cell indices)' },
    "import { projectRoot } from './src/environment';\nconsole.log(typeof projectRoot);",
    "const answer = 42;\nthrow new Error(`deliberate failure ${answer}`);",
    "console.log('never reached');",
  ]);
  const r = await executeNotebook(input, { root, outDir: path.join(dir, 'out'), cellTimeoutSeconds: 120 });
  assert.ok(r.failure, 'the failing notebook was reported as passing');
  assert.match(r.failure, /cell 2 \("const answer = 42;"\) failed/);
  assert.match(r.failure, /deliberate failure 42/);
  assert.doesNotMatch(r.failure, /never reached/);
  assert.equal(r.notebook, undefined);
  assert.equal(fs.existsSync(path.join(dir, 'out', 'failing.ipynb')), false);
});

function executed(outputs: NotebookOutput[][], counts: (number | null)[]): Notebook {
  return {
    cells: outputs.map((o, i) => ({ cell_type: 'code', metadata: {}, source: `x${i}`, outputs: o, execution_count: counts[i] })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
}

test('run checks flag skipped cells, aborted replies, error outputs and escaped async errors', () => {
  const ok = executed([[], []], [1, 2]);
  assert.deepEqual(executionProblems(ok), []);
  assert.deepEqual(replyProblems(ok, [{ event: 'executed', index: 0, status: 'ok' }, { event: 'executed', index: 1, status: 'ok' }]), []);
  assert.deepEqual(replyProblems(ok, [{ event: 'executed', index: 0, status: 'ok' }, { event: 'executed', index: 1, status: 'abort' }]).map((p) => p.index), [1]);
  assert.equal(replyProblems(ok, []).length, 1, 'no report at all must be a problem (hooks not loaded)');
  assert.deepEqual(executionProblems(executed([[], []], [1, null])).map((p) => p.index), [1]);
  const err = executed([[{ output_type: 'error', ename: 'TypeError', evalue: 'x is not a function', traceback: [] }]], [1]);
  assert.match(executionProblems(err)[0].problem, /TypeError: x is not a function/);
  const late = executed([[{ output_type: 'stream', name: 'stderr', text: ['UnhandledPromiseRejection: Error: late\n'] }]], [1]);
  assert.match(executionProblems(late)[0].problem, /asynchronous error escaped/);
  const warn = executed([[{ output_type: 'stream', name: 'stderr', text: 'a warning\n' }]], [1]);
  assert.deepEqual(executionProblems(warn), []);
});

test('cleaning drops timings and editor metadata, hides machine paths, keeps outputs, and is idempotent', () => {
  const fakeRoot = '/home/someone/advlm';
  const nb: Notebook = {
    cells: [
      {
        cell_type: 'code',
        metadata: { execution: { 'iopub.status.busy': '2024-01-01T00:00:00Z' }, tags: ['keep'], scrolled: true },
        source: ['x'],
        execution_count: 1,
        outputs: [
          { output_type: 'stream', name: 'stdout', text: [`${fakeRoot}/src/a.ts\n`, `${fakeRoot}2 stays\n`] },
          { output_type: 'display_data', data: { 'text/plain': `${fakeRoot}`, 'application/json': { path: 'kept as is' } }, metadata: {} },
        ],
      },
    ],
    metadata: { kernelspec: { name: KERNEL_NAME }, language_info: { name: 'typescript' }, widgets: {}, vscode: {} },
    nbformat: 4,
    nbformat_minor: 5,
  };
  assert.ok(commitProblems(nb, fakeRoot, '/home/someone').length >= 3);
  const clean = cleanNotebook(nb, fakeRoot, '/home/someone');
  assert.deepEqual(Object.keys(clean.metadata).sort(), ['kernelspec', 'language_info']);
  assert.deepEqual(clean.cells[0].metadata, { tags: ['keep'] });
  assert.equal(typeof clean.cells[0].id, 'string');
  assert.deepEqual(clean.cells[0].outputs?.[0].text, ['./src/a.ts\n', '~/advlm2 stays\n']);
  assert.equal(clean.cells[0].outputs?.[1].data?.['text/plain'], '.');
  assert.deepEqual(clean.cells[0].outputs?.[1].data?.['application/json'], { path: 'kept as is' });
  assert.deepEqual(commitProblems(clean, fakeRoot, '/home/someone'), []);
  assert.equal(formatNotebook(cleanNotebook(clean, fakeRoot, '/home/someone')), formatNotebook(clean));
  assert.equal(nb.cells[0].metadata.scrolled, true, 'cleaning must not modify its input');
  assert.equal(hidePaths('/a/b and /a/bc and /a/b/c', '/a/b', '/nonexistent'), '. and /a/bc and ./c');
});
