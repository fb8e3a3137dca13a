/**
 * ASCC's beta for the project's default model was chosen on SST-2 dev by the grid
 * notebooks/grids/rift_weights_sst2_10k.json, with the rule written in src/adversarial/ascc_dong_2021.ts
 * before the grid ran: the highest accuracy under pwws-cf on the first 200 dev sentences (clean dev
 * accuracy breaks a tie). This test applies the rule to the committed records and requires the
 * default to be the chosen cell's, so new records with another winner fail it until the default
 * follows. RIFT's weights join when their cells are recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { ASCC_DEFAULTS, methodFromJson } from '../src/adversarial/methods';
import { SweepRecord, readRecords, reconcile } from '../src/sweep';

const RESULTS = path.join(__dirname, '..', 'notebooks', 'results', 'rift-weights-sst2-10k');

/** The cell that the rule chooses: the highest accuracy under attack, then the highest clean dev accuracy. */
function chosen(cells: readonly SweepRecord[]): SweepRecord {
  const underAttack = (r: SweepRecord) => r.results!['word-attack'].metrics.underAttack;
  const dev = (r: SweepRecord) => r.results!.dev.metrics.accuracy;
  return [...cells].sort((a, b) => underAttack(b) - underAttack(a) || dev(b) - dev(a))[0];
}

test("ASCC's default beta is the weights grid's choice on SST-2 dev", () => {
  const { records } = reconcile(readRecords([RESULTS]).records);
  const ascc = records.filter((r) => r.status === 'done' && r.cell.methodName === 'ascc');
  const betaOf = (r: SweepRecord) => (r.identity.method as { config: { beta: number } }).config.beta;
  assert.deepEqual(ascc.map(betaOf).sort((a, b) => a - b), [1, 4, 10], 'the grid has one ASCC cell for each beta, all recorded');
  for (const r of ascc) {
    // the rule's evaluation, the same for every cell
    const attack = r.results!['word-attack'];
    assert.equal(attack.split, 'dev');
    assert.equal(attack.n, 200);
    assert.equal((attack.extra as { recipe: string }).recipe, 'pwws_cf');
    // the cells differ in beta only
    const { beta: _b, ...rest } = (r.identity.method as { config: Record<string, unknown> }).config;
    const { beta: _d, ...defaults } = ASCC_DEFAULTS;
    assert.deepEqual(rest, defaults, `cell ${r.cell.method}: every ASCC setting but beta is the default`);
  }
  const best = chosen(ascc);
  assert.equal(ASCC_DEFAULTS.beta, betaOf(best), `the rule chooses beta ${betaOf(best)} (cell ${best.cell.method})`);
  assert.equal((methodFromJson('ascc').config as { beta: number }).beta, ASCC_DEFAULTS.beta, "the registry's default is the chosen one");
});
