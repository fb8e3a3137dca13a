/**
 * Per-example attack records as JSON lines, and the HTML view of them for notebooks.
 *
 * The file is rewritten whole and atomically after each example (src/util/atomic.ts: temporary
 * file, fsync, rename), so it always holds complete lines, never a torn one; a rerun reads it and
 * skips the examples already there (resume by `index`). Every record carries its recipe and seed,
 * and a rerun with another recipe or seed on the same file is refused.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../../util/atomic';
import type { AttackRecord } from './attack';

/** Records of a JSON-lines file (none if it does not exist). */
export function readAttackRecords(file: string): AttackRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: AttackRecord[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let r: AttackRecord;
      try {
        r = JSON.parse(line);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
      }
      if (typeof r !== 'object' || r === null || typeof r.index !== 'number' || typeof r.status !== 'string') throw new Error(`${file}:${i + 1}: not an attack record (no index or status)`);
      out.push(r);
    });
  return out;
}

/** Writes all records, one JSON line each, atomically. */
export function writeAttackRecords(file: string, records: readonly AttackRecord[]): void {
  writeFileAtomic(file, records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
}

/** Checks that existing records were made by the same recipe and seed (a resume must not mix runs). */
export function checkResumable(file: string, records: readonly AttackRecord[], recipe: string, seed: number, budget: number | null): void {
  for (const r of records) {
    if (r.recipe !== recipe || r.seed !== seed || (r.budget ?? null) !== budget) {
      throw new Error(
        `${file} holds results of recipe ${r.recipe}, seed ${r.seed}, budget ${r.budget ?? 'none'} (example ${r.index}); this run is recipe ${recipe}, seed ${seed}, budget ${budget ?? 'none'}: give another --out`,
      );
    }
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function highlighted(words: readonly string[], at: ReadonlySet<number>, colour: string): string {
  return words.map((w, i) => (at.has(i) ? `<span style="background:${colour};font-weight:bold">${escapeHtml(w)}</span>` : escapeHtml(w))).join(' ');
}

/**
 * An HTML table of records: the original with the replaced words in red, the adversarial text with
 * their substitutes in green, the outcome, p(gold) before and after, the changed words and queries.
 * `limit` rows at most (default 20); `onlySucceeded` keeps the successful attacks.
 */
export function attackRecordsHtml(records: readonly AttackRecord[], options: { limit?: number; onlySucceeded?: boolean; labelNames?: readonly string[] } = {}): string {
  const limit = options.limit ?? 20;
  const rows = records.filter((r) => !options.onlySucceeded || r.status === 'succeeded').slice(0, limit);
  const name = (l: number) => options.labelNames?.[l] ?? String(l);
  const body = rows
    .map((r) => {
      const at = new Set(r.changed.map((c) => c.index));
      const ow = r.original.split(' ');
      const aw = r.adversarial.split(' ');
      const pBefore = r.originalProbabilities[r.label];
      const pAfter = r.adversarialProbabilities[r.label];
      const changes = r.changed.map((c) => `${escapeHtml(c.from)} &rarr; ${escapeHtml(c.to)}`).join(', ');
      return (
        `<tr><td>${r.index}</td><td>${escapeHtml(name(r.label))}</td><td>${r.status}</td>` +
        `<td>${highlighted(ow, at, '#f8c4c4')}</td><td>${r.status === 'skipped' ? '' : highlighted(aw, at, '#c4ecc4')}</td>` +
        `<td>${pBefore.toFixed(2)} &rarr; ${pAfter.toFixed(2)}</td><td>${changes}</td><td>${r.queries}</td></tr>`
      );
    })
    .join('\n');
  return (
    '<table style="border-collapse:collapse;font-size:90%">' +
    '<tr><th>#</th><th>gold</th><th>outcome</th><th>original</th><th>adversarial</th><th>p(gold)</th><th>changed words</th><th>queries</th></tr>\n' +
    body +
    '\n</table>'
  );
}
