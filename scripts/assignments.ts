/**
 * Student versions of the notebooks' exercises, without nbgrader:
 *
 *   npm run assignments [-- --out DIR] [names...]
 *
 * The committed notebooks (notebooks/*.ipynb) are the instructor versions. Their exercises follow
 * nbgrader's convention (nbgrader_config.py at the project root says the same for nbgrader itself):
 * cell metadata `nbgrader` marks read-only cells (locked), answer cells (solution) and graded test
 * cells (grade, with points); in an answer cell the solution lies between a line containing
 * `BEGIN SOLUTION` and one containing `END SOLUTION` (`// BEGIN SOLUTION` in TypeScript: `###` is a
 * syntax error there). The student version is what `nbgrader generate_assignment` makes of it:
 *
 * - each solution region is replaced by CODE_STUB, indented like its BEGIN line (nbgrader's
 *   ClearSolutions); an answer cell without a region is replaced whole (markdown by TEXT_STUB);
 * - a region outside an answer cell is an error (nbgrader's enforce_metadata), as are nested and
 *   unclosed regions;
 * - every output and execution count is cleared (ClearOutput); metadata is kept, so that a teacher with
 *   nbgrader can still release and autograde the student version.
 *
 * They are written to assignments/student/ (git-ignored: generated, never committed; re-run after
 * changing a notebook). Only notebooks with nbgrader cells get a student version.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatNotebook, joinText, Notebook, NotebookCell, readNotebook } from './notebook/ipynb';

/** What replaces a TypeScript solution region (the same string as in nbgrader_config.py). */
export const CODE_STUB = "// YOUR CODE HERE\nthrow new Error('not implemented');";
/** What replaces a markdown answer cell (nbgrader's default). */
export const TEXT_STUB = 'YOUR ANSWER HERE';
export const BEGIN_SOLUTION = 'BEGIN SOLUTION';
export const END_SOLUTION = 'END SOLUTION';
/** The default output folder, relative to the project root. */
export const STUDENT_DIR = path.join('assignments', 'student');

/** The nbgrader metadata of a cell (schema version 3), when it has some. */
export interface NbgraderMetadata {
  grade: boolean;
  grade_id: string;
  locked: boolean;
  solution: boolean;
  task?: boolean;
  points?: number;
  schema_version?: number;
}

export function nbgraderOf(cell: NotebookCell): NbgraderMetadata | undefined {
  const m = cell.metadata?.nbgrader;
  return m && typeof m === 'object' ? (m as NbgraderMetadata) : undefined;
}

/** An answer cell (nbgrader: solution). */
export const isAnswerCell = (cell: NotebookCell) => nbgraderOf(cell)?.solution === true;
/** A graded test cell (nbgrader: grade, and not a solution). */
export const isGradedCell = (cell: NotebookCell) => nbgraderOf(cell)?.grade === true && !isAnswerCell(cell);

/**
 * Replaces the solution regions of one cell's source (see the file header). Returns the new source
 * and whether a region was found; throws on nested or unclosed regions.
 */
export function clearSolutionRegions(source: string, stub: string): { source: string; replaced: boolean } {
  const out: string[] = [];
  let inSolution = false;
  let replaced = false;
  for (const line of source.split('\n')) {
    if (line.includes(BEGIN_SOLUTION)) {
      if (inSolution) throw new Error('nested BEGIN SOLUTION lines');
      inSolution = true;
      replaced = true;
      const indent = /^\s*/.exec(line)![0];
      for (const s of stub.split('\n')) out.push(indent + s);
    } else if (line.includes(END_SOLUTION)) {
      if (!inSolution) throw new Error('END SOLUTION without BEGIN SOLUTION');
      inSolution = false;
    } else if (!inSolution) {
      out.push(line);
    }
  }
  if (inSolution) throw new Error('BEGIN SOLUTION without END SOLUTION');
  return { source: out.join('\n'), replaced };
}

/** Source text as Jupyter stores it: lines ending in '\n', the last one without. */
function toLines(text: string): string[] {
  const parts = text.split('\n');
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}\n` : p)).filter((p, i) => !(i === parts.length - 1 && p === ''));
}

/** The student version of an instructor notebook (see the file header); the input is not modified. */
export function studentVersion(nb: Notebook, options: { codeStub?: string; textStub?: string } = {}): Notebook {
  const codeStub = options.codeStub ?? CODE_STUB;
  const textStub = options.textStub ?? TEXT_STUB;
  const cells = nb.cells.map((cell, i): NotebookCell => {
    const out: NotebookCell = JSON.parse(JSON.stringify(cell));
    const where = `cell ${i}${cell.id ? ` (${cell.id})` : ''}`;
    let region: { source: string; replaced: boolean };
    try {
      region = clearSolutionRegions(joinText(cell.source), cell.cell_type === 'code' ? codeStub : textStub);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    if (region.replaced && !isAnswerCell(cell)) {
      throw new Error(`${where}: a solution region in a cell that is not an answer cell (set its nbgrader metadata: solution: true)`);
    }
    if (region.replaced) out.source = toLines(region.source);
    else if (isAnswerCell(cell)) out.source = toLines(cell.cell_type === 'code' ? codeStub : textStub);
    if (out.cell_type === 'code') {
      out.outputs = [];
      out.execution_count = null;
    }
    return out;
  });
  return { ...nb, cells };
}

/**
 * What is wrong with the exercises of an instructor notebook: graded cells without points, grade
 * ids used twice, solution markers outside answer cells. Empty when all is well (or when it has none).
 */
export function exerciseProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  nb.cells.forEach((cell, i) => {
    const m = nbgraderOf(cell);
    const text = joinText(cell.source);
    if ((text.includes(BEGIN_SOLUTION) || text.includes(END_SOLUTION)) && !isAnswerCell(cell)) problems.push(`cell ${i}: solution markers outside an answer cell`);
    if (!m) return;
    if (!m.grade_id) problems.push(`cell ${i}: nbgrader metadata without a grade_id`);
    else if (ids.has(m.grade_id)) problems.push(`cell ${i}: grade_id "${m.grade_id}" is also used by cell ${ids.get(m.grade_id)}`);
    else ids.set(m.grade_id, i);
    if (m.grade && !(typeof m.points === 'number' && m.points > 0)) problems.push(`cell ${i} (${m.grade_id}): a graded cell needs points > 0`);
    if (isGradedCell(cell) && cell.cell_type !== 'code') problems.push(`cell ${i} (${m.grade_id}): a graded test cell must be a code cell`);
    if (isGradedCell(cell) && !m.locked) problems.push(`cell ${i} (${m.grade_id}): a graded test cell must be locked (read-only)`);
  });
  return problems;
}

/** Whether a notebook has exercises (any cell with nbgrader metadata). */
export const hasExercises = (nb: Notebook) => nb.cells.some((c) => nbgraderOf(c) !== undefined);

/** Writes the student version of every notebook with exercises; returns the files written. */
export function buildAssignments(options: { root: string; outDir?: string; names?: string[] }): string[] {
  const dir = path.join(options.root, 'notebooks');
  const outDir = path.resolve(options.root, options.outDir ?? STUDENT_DIR);
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
  const wanted = options.names?.length ? options.names.map((n) => `${path.basename(n).replace(/\.ipynb$/, '')}.ipynb`) : all;
  for (const w of wanted) if (!all.includes(w)) throw new Error(`no notebook ${w} in notebooks/ (have: ${all.join(', ')})`);
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const name of wanted) {
    const nb = readNotebook(path.join(dir, name));
    if (!hasExercises(nb)) continue;
    const problems = exerciseProblems(nb);
    if (problems.length) throw new Error(`notebooks/${name}:\n  ${problems.join('\n  ')}`);
    const file = path.join(outDir, name);
    fs.writeFileSync(file, formatNotebook(studentVersion(nb)));
    written.push(file);
  }
  return written;
}

function main(argv: string[]): number {
  const root = path.resolve(__dirname, '..');
  let outDir: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') outDir = argv[++i];
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: npm run assignments [-- --out DIR] [notebook names...]');
      return 0;
    } else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}`);
    else names.push(argv[i]);
  }
  const files = buildAssignments({ root, outDir, names });
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  if (files.length === 0) {
    console.log('no notebook has exercises (nbgrader cells): nothing written');
    return 0;
  }
  console.log(`student versions (solutions replaced by the stub, outputs cleared) written to ${shown(path.dirname(files[0]))}${path.sep}:`);
  for (const f of files) console.log(`  ${shown(f)}`);
  console.log('the instructor versions, with solutions and outputs, are notebooks/*.ipynb; for nbgrader, see nbgrader_config.py');
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e) {
    console.error(`advlm: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
