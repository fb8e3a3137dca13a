/**
 * A sweep killed with SIGKILL at a random point and run again loses nothing and does nothing twice:
 * `advlm sweep` runs as a child process on the tiny grid, is killed (no chance to clean up) a random
 * moment after its first cell's record appears, and again after its third, then runs to the end;
 * every cell is recorded exactly once, and the cells recorded before a kill are skipped, not re-run.
 * SIGTERM (what Slurm sends before a time limit) stops it cleanly instead.
 */
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'node:test';
import { backend } from './helpers';
import { expandGrid, readGrid, readRecords, writeTinySweep } from '../src/sweep';
import { projectRoot } from '../src/paths';

function startSweep(gridFile: string, out: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  let text = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'src', 'cli', 'main.ts'), 'sweep', gridFile, '--out', out, '--quiet'], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

function recordLines(out: string): number {
  const file = path.join(out, 'records.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
}

/** Kills the child with SIGKILL `extraMs` after `n` records are in the file; resolves with the records count at the kill. */
async function killAfterRecords(run: ReturnType<typeof startSweep>, out: string, n: number, extraMs: number): Promise<number> {
  const deadline = Date.now() + 240_000;
  while (recordLines(out) < n) {
    const exited = await Promise.race([run.exit.then(() => true), new Promise((r) => setTimeout(() => r(false), 25))]);
    if (exited) throw new Error(`the sweep ended before its record ${n} appeared:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`no record ${n} after 240 s:\n${run.output()}`);
  }
  await new Promise((r) => setTimeout(r, extraMs));
  const at = recordLines(out);
  run.child.kill('SIGKILL');
  await run.exit;
  return at;
}

test('a sweep killed with SIGKILL and rerun records every cell exactly once', { timeout: 600_000 }, async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-sweep-kill-'));
  const { gridFile } = await writeTinySweep(dir);
  const cells = expandGrid(readGrid(gridFile), dir).cells;
  const out = path.join(dir, 'out');
  const delays = [Math.floor(Math.random() * 800), Math.floor(Math.random() * 800)];
  const first = startSweep(gridFile, out);
  const atFirstKill = await killAfterRecords(first, out, 1, delays[0]);
  const second = startSweep(gridFile, out);
  const atSecondKill = await killAfterRecords(second, out, Math.min(atFirstKill + 2, cells.length - 1), delays[1]);
  const third = startSweep(gridFile, out);
  const code = await third.exit;
  const where = `(killed ${delays[0]} ms after record 1 and ${delays[1]} ms after record ${Math.min(atFirstKill + 2, cells.length - 1)}; ${atFirstKill} and ${atSecondKill} records at the kills)`;
  assert.equal(code, 0, `the last run failed ${where}:\n${third.output()}`);
  const { records, skipped } = readRecords([out]);
  assert.deepEqual(skipped, [], `unreadable lines ${where}`);
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  for (const c of cells) assert.equal(counts.get(c.id), 1, `cell ${c.index} (${c.task}, ${c.method}, seed ${c.seed}) recorded ${counts.get(c.id) ?? 0} times ${where}`);
  assert.equal(records.length, cells.length);
  assert.ok(records.every((r) => r.status === 'done'), where);
  // the last run skipped what was recorded before it, and ran the rest
  const skippedLines = third.output().split('\n').filter((l) => /already recorded, skipped/.test(l)).length;
  assert.equal(skippedLines, atSecondKill, `${where}\n${third.output()}`);
  assert.deepEqual(fs.readdirSync(path.join(out, 'cells')), [], 'no weights left behind');
  fs.rmSync(dir, { recursive: true });
});

test('SIGTERM stops a sweep cleanly (by the end of the current cell); the rerun finishes it', { timeout: 600_000 }, async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-sweep-term-'));
  const { gridFile } = await writeTinySweep(dir);
  const cells = expandGrid(readGrid(gridFile), dir).cells;
  const out = path.join(dir, 'out');
  const first = startSweep(gridFile, out);
  while (recordLines(out) < 1) await new Promise((r) => setTimeout(r, 25));
  first.child.kill('SIGTERM');
  const code = await first.exit;
  assert.equal(code, 0, `a stopped sweep exits cleanly:\n${first.output()}`);
  assert.match(first.output(), /SIGTERM: stopping the sweep/);
  const atStop = recordLines(out);
  assert.ok(atStop < cells.length, 'it stopped before the end');
  const second = startSweep(gridFile, out);
  assert.equal(await second.exit, 0, second.output());
  const ids = readRecords([out]).records.map((r) => r.id).sort();
  assert.deepEqual(ids, cells.map((c) => c.id).sort(), 'every cell exactly once');
  fs.rmSync(dir, { recursive: true });
});
