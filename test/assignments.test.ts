/**
 * Exercises and their student versions (scripts/assignments.ts, nbgrader_config.py).
 *
 * - The student version of a notebook replaces solution regions as nbgrader does (unit tests on a
 *   made-up notebook), and `npm run assignments` writes them and says where.
 * - The committed (instructor) notebooks: exercise metadata is consistent, their graded cells ran
 *   cleanly in the committed run (test/notebooks.test.ts executes them again, top to bottom, with every
 *   graded cell passing: not repeated here).
 * - Each student version is executed cell by cell on the tslab kernel (scripts/notebook/execute.ts):
 *   every graded cell must fail with "not implemented" (the stub) and every other cell must still run.
 *   A graded cell is wrapped so that exactly that failure is caught and reported, and anything else
 *   (another error, or passing without an answer) fails the notebook at that cell.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BEGIN_SOLUTION, CODE_STUB, END_SOLUTION, STUDENT_DIR, TEXT_STUB, buildAssignments, clearSolutionRegions, exerciseProblems, hasExercises,
  isAnswerCell, isGradedCell, nbgraderOf, studentVersion,
} from '../scripts/assignments';
import { executeNotebook } from '../scripts/notebook/execute';
import { cleanNotebook, commitProblems, executionProblems, joinText, Notebook, NotebookCell, outputText, readNotebook } from '../scripts/notebook/ipynb';
import { jupyterVersion, JUPYTER_INSTALL_HINT } from '../scripts/notebook/jupyter';
import { jupyterEnv, registerKernel } from '../scripts/notebook/kernelspec';

const root = path.resolve(__dirname, '..');
const notebookDir = path.join(root, 'notebooks');
const withExercises = fs.readdirSync(notebookDir).filter((f) => f.endsWith('.ipynb')).sort().filter((f) => hasExercises(readNotebook(path.join(notebookDir, f))));
let tmp = '';

before(() => {
  registerKernel(root); // a fresh checkout has no project-local kernelspec until something writes it
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-assignments-test-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const meta = (grade_id: string, kind: 'task' | 'answer' | 'graded') => ({
  nbgrader: { grade: kind === 'graded', grade_id, locked: kind !== 'answer', solution: kind === 'answer', task: false, schema_version: 3, ...(kind === 'graded' ? { points: 1 } : {}) },
});
const cellOf = (cell_type: 'code' | 'markdown', source: string, metadata: Record<string, unknown> = {}): NotebookCell =>
  cell_type === 'code' ? { cell_type, source, metadata, outputs: [{ output_type: 'stream', name: 'stdout', text: 'x\n' }], execution_count: 3 } : { cell_type, source, metadata };
const notebookOf = (cells: NotebookCell[]): Notebook => ({ cells, metadata: { kernelspec: { name: 'tslab', language: 'typescript' } }, nbformat: 4, nbformat_minor: 5 });

test('a solution region becomes the stub, indented like its BEGIN line; the rest of the cell stays', () => {
  const source = ['function f(x: number): number {', '  // BEGIN SOLUTION', '  return 2 * x;', '  // END SOLUTION', '}', 'const y = 1;'].join('\n');
  const r = clearSolutionRegions(source, CODE_STUB);
  assert.equal(r.replaced, true);
  assert.equal(r.source, ['function f(x: number): number {', '  // YOUR CODE HERE', "  throw new Error('not implemented');", '}', 'const y = 1;'].join('\n'));
  assert.deepEqual(clearSolutionRegions('const a = 1;', CODE_STUB), { source: 'const a = 1;', replaced: false });
  assert.throws(() => clearSolutionRegions('// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION', CODE_STUB), /nested/);
  assert.throws(() => clearSolutionRegions('// BEGIN SOLUTION\nx', CODE_STUB), /without END SOLUTION/);
  assert.throws(() => clearSolutionRegions('x\n// END SOLUTION', CODE_STUB), /without BEGIN SOLUTION/);
});

test('the student version: regions and whole answer cells replaced, outputs cleared, metadata kept, input untouched', () => {
  const nb = notebookOf([
    cellOf('markdown', 'Write f.', meta('t', 'task')),
    cellOf('code', 'function f() {\n  // BEGIN SOLUTION\n  return 1;\n  // END SOLUTION\n}', meta('a', 'answer')),
    cellOf('code', 'const answer = 42;', meta('b', 'answer')),
    cellOf('markdown', 'Because.', meta('c', 'answer')),
    cellOf('code', 'if (f() !== 1) throw new Error("wrong");', meta('g', 'graded')),
    cellOf('code', 'console.log(1);'),
  ]);
  const before = JSON.stringify(nb);
  const s = studentVersion(nb);
  assert.equal(JSON.stringify(nb), before, 'the instructor notebook must not be modified');
  const text = s.cells.map((c) => joinText(c.source));
  assert.equal(text[1], "function f() {\n  // YOUR CODE HERE\n  throw new Error('not implemented');\n}");
  assert.equal(text[2], CODE_STUB);
  assert.equal(text[3], TEXT_STUB);
  assert.equal(text[4], joinText(nb.cells[4].source));
  for (const c of s.cells.filter((c) => c.cell_type === 'code')) {
    assert.deepEqual(c.outputs, []);
    assert.equal(c.execution_count, null);
  }
  assert.deepEqual(s.cells.map((c) => c.metadata), nb.cells.map((c) => c.metadata));
  assert.ok(isAnswerCell(s.cells[1]) && isGradedCell(s.cells[4]) && !isGradedCell(s.cells[1]));
  const stray = notebookOf([cellOf('code', '// BEGIN SOLUTION\nx\n// END SOLUTION')]);
  assert.throws(() => studentVersion(stray), /not an answer cell/);
  assert.deepEqual(exerciseProblems(stray), ['cell 0: solution markers outside an answer cell']);
  const bad = notebookOf([cellOf('code', 'x', { nbgrader: { grade: true, grade_id: 'g', locked: false, solution: false } }), cellOf('code', 'y', meta('g', 'task'))]);
  assert.deepEqual(exerciseProblems(bad), [
    'cell 0 (g): a graded cell needs points > 0',
    'cell 0 (g): a graded test cell must be locked (read-only)',
    'cell 1: grade_id "g" is also used by cell 0',
  ]);
});

test('nbgrader_config.py gives nbgrader the same TypeScript stub and delimiters', () => {
  const config = fs.readFileSync(path.join(root, 'nbgrader_config.py'), 'utf8');
  assert.ok(config.includes(`'typescript': ${JSON.stringify(CODE_STUB)}`), 'the typescript code_stub in nbgrader_config.py differs from CODE_STUB');
  assert.ok(config.includes(`begin_solution_delimeter = '${BEGIN_SOLUTION}'`) && config.includes(`end_solution_delimeter = '${END_SOLUTION}'`));
});

test('cleaning a notebook for commit keeps its nbgrader metadata', () => {
  const nb = notebookOf([cellOf('code', 'x', { ...meta('g', 'graded'), execution: { 'iopub.status.busy': 't' } })]);
  const clean = cleanNotebook(nb, root);
  assert.deepEqual(clean.cells[0].metadata, meta('g', 'graded'));
  assert.deepEqual(commitProblems(clean, root), []);
});

test('the notebooks have exercises with consistent metadata, and their graded cells ran cleanly in the committed run', () => {
  assert.ok(withExercises.length >= 2, `expected exercises in at least two notebooks, found: ${withExercises.join(', ') || 'none'}`);
  for (const name of withExercises) {
    const nb = readNotebook(path.join(notebookDir, name));
    assert.deepEqual(exerciseProblems(nb), [], `notebooks/${name}`);
    const graded = nb.cells.filter(isGradedCell);
    const answers = nb.cells.filter(isAnswerCell);
    assert.ok(graded.length >= 2 && answers.length >= 2, `notebooks/${name}: ${answers.length} answer and ${graded.length} graded cells`);
    answers.forEach((c) => assert.ok(joinText(c.source).includes(BEGIN_SOLUTION), `notebooks/${name}: answer cell ${nbgraderOf(c)?.grade_id} has no solution region`));
    const problems = executionProblems({ ...nb, cells: graded });
    assert.deepEqual(problems, [], `notebooks/${name}: graded cells did not run cleanly`);
    for (const c of graded) {
      assert.ok(!(c.outputs ?? []).some((o) => o.output_type === 'stream' && o.name === 'stderr'), `notebooks/${name}: graded cell ${nbgraderOf(c)?.grade_id} wrote to stderr (nbgrader gives it 0 points)`);
    }
    // each graded cell uses what its own answer cell (the nearest one above it) defines, and nothing another answer defines
    const defined = (c: NotebookCell) => [...joinText(c.source).matchAll(/^(?:function|const|let|class)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
    nb.cells.forEach((c, i) => {
      if (!isGradedCell(c)) return;
      const own = nb.cells.slice(0, i).reverse().find(isAnswerCell);
      assert.ok(own, `notebooks/${name}: graded cell ${nbgraderOf(c)?.grade_id} has no answer cell above it`);
      const uses = (n: string) => new RegExp(`\\b${n.replace(/\$/g, '\\$')}\\b`).test(joinText(c.source));
      assert.ok(defined(own).some(uses), `notebooks/${name}: graded cell ${nbgraderOf(c)?.grade_id} does not use its answer (${defined(own).join(', ')})`);
      for (const other of answers.filter((a) => a !== own)) {
        const used = defined(other).filter(uses);
        assert.deepEqual(used, [], `notebooks/${name}: graded cell ${nbgraderOf(c)?.grade_id} uses ${used.join(', ')} from another exercise's answer`);
      }
    });
    // every exercise's task text states its difficulty and expected time
    const tasks = nb.cells.filter((c) => c.cell_type === 'markdown' && /^###\s*Exercise/m.test(joinText(c.source)));
    assert.ok(tasks.length >= answers.length, `notebooks/${name}: ${tasks.length} exercise headings for ${answers.length} answers`);
    tasks.forEach((c) => assert.match(joinText(c.source), /\((easy|medium|hard), about \d+ minutes\)/, `notebooks/${name}: an exercise heading without difficulty and time`));
  }
});

test('npm run assignments writes the student versions without solutions and says where', () => {
  const out = path.join(tmp, 'student');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'assignments.ts'), '--out', out], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`written to .*student`));
  assert.deepEqual(fs.readdirSync(out).sort(), withExercises);
  for (const name of withExercises) {
    const text = fs.readFileSync(path.join(out, name), 'utf8');
    assert.ok(!text.includes(BEGIN_SOLUTION) && !text.includes(END_SOLUTION), `${name}: solution markers left in the student version`);
    const s = readNotebook(path.join(out, name));
    assert.ok(s.cells.filter(isAnswerCell).every((c) => joinText(c.source).includes('// YOUR CODE HERE')));
    assert.ok(s.cells.every((c) => c.cell_type !== 'code' || ((c.outputs ?? []).length === 0 && c.execution_count === null)), `${name}: outputs left`);
  }
  assert.equal(STUDENT_DIR, path.join('assignments', 'student'));
  assert.match(fs.readFileSync(path.join(root, '.gitignore'), 'utf8'), /^\/assignments\/$/m, 'the generated folder must be git-ignored');
});

const EXPECTED_FAILURE = 'graded cell failed as expected';

/** A graded cell's source, wrapped: the stub's "not implemented" is caught and reported; anything else fails the cell. */
function expectNotImplemented(cell: NotebookCell, k: number): string {
  const lines = joinText(cell.source).split('\n');
  const imports = lines.filter((l) => /^import\s.*from\s/.test(l));
  const body = lines.filter((l) => !/^import\s.*from\s/.test(l));
  const id = nbgraderOf(cell)?.grade_id ?? `graded-${k}`;
  return [
    ...imports,
    `let advlmGradedFailed${k} = false;`,
    'try {',
    ...body,
    '} catch (e) {',
    '  const message = e instanceof Error ? e.message : String(e);',
    "  if (!message.includes('not implemented')) throw e;",
    `  advlmGradedFailed${k} = true;`,
    `  console.log(${JSON.stringify(`${EXPECTED_FAILURE}: ${id}: `)} + message);`,
    '}',
    `if (!advlmGradedFailed${k}) throw new Error(${JSON.stringify(`graded cell ${id} passed in the student version, without an answer`)});`,
  ].join('\n');
}

for (const name of withExercises) {
  test(`the student version of notebooks/${name} runs cell by cell: every graded cell fails with "not implemented", every other cell runs`, { timeout: 30 * 60_000 }, async () => {
    assert.ok(jupyterVersion('nbconvert', jupyterEnv(root)), `jupyter nbconvert is needed to run the notebooks.\n${JUPYTER_INSTALL_HINT}`);
    const student = studentVersion(readNotebook(path.join(notebookDir, name)));
    let k = 0;
    const wrapped: Notebook = { ...student, cells: student.cells.map((c) => (isGradedCell(c) ? { ...c, source: expectNotImplemented(c, k++) } : c)) };
    const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
    const input = path.join(dir, name);
    fs.writeFileSync(input, JSON.stringify(wrapped));
    const r = await executeNotebook(input, { root, outDir: path.join(dir, 'out'), fullRun: false, cellTimeoutSeconds: 600 });
    if (r.failure) assert.fail(`the student version of notebooks/${name}: ${r.failure}`);
    const graded = r.notebook!.cells.filter(isGradedCell);
    assert.equal(graded.length, k);
    for (const c of graded) {
      assert.match(outputText(c.outputs ?? []), new RegExp(`${EXPECTED_FAILURE}: ${nbgraderOf(c)?.grade_id}: not implemented`), `graded cell ${nbgraderOf(c)?.grade_id}`);
    }
  });
}
