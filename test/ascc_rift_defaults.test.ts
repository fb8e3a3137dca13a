/**
 * ASCC's beta and RIFT's weights for the project's default model were chosen on SST-2 dev by the grid
 * notebooks/grids/rift_weights_sst2_10k.json, with the rule written in src/adversarial/ascc_dong_2021.ts
 * before the grid ran: the highest accuracy under pwws-cf on the first 200 dev sentences (clean dev
 * accuracy breaks a tie). This test applies the rule to the committed records and requires the
 * default to be the chosen cell's, so new records with another winner fail it until the default
 * follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { ASCC_DEFAULTS, RIFT_DEFAULTS, methodFromJson } from '../src/adversarial/methods';
import { SweepRecord, readRecords, reconcile } from '../src/sweep';

const RESULTS = path.join(__dirname, '..', 'notebooks', 'results', 'rift-weights-sst2-10k');

/** The cell that the rule chooses: the highest accuracy under attack, then the highest clean dev accuracy. */
function chosen(cells: readonly SweepRecord[]): SweepRecord {
  const underAttack = (r: SweepRecord) => r.results!['word-attack'].metrics.underAttack;
  const dev = (r: SweepRecord) => r.results!.dev.metrics.accuracy;
  return [...cells].sort((a, b) => underAttack(b) - underAttack(a) || dev(b) - dev(a))[0];
}

/** The grid's records of one method, each evaluated the same way: pwws-cf on the first 200 dev sentences. */
function recorded(methodName: string): SweepRecord[] {
  const { records } = reconcile(readRecords([RESULTS]).records);
  const cells = records.filter((r) => r.status === 'done' && r.cell.methodName === methodName);
  for (const r of cells) {
    const attack = r.results!['word-attack'];
    assert.equal(attack.split, 'dev');
    assert.equal(attack.n, 200);
    assert.equal((attack.extra as { recipe: string }).recipe, 'pwws_cf');
  }
  return cells;
}

const configOf = (r: SweepRecord) => (r.identity.method as { config: Record<string, unknown> }).config;

test("ASCC's default beta is the weights grid's choice on SST-2 dev", () => {
  const ascc = recorded('ascc');
  const betaOf = (r: SweepRecord) => configOf(r).beta as number;
  assert.deepEqual(ascc.map(betaOf).sort((a, b) => a - b), [1, 4, 10], 'the grid has one ASCC cell for each beta, all recorded');
  for (const r of ascc) {
    // the cells differ in beta only
    const { beta: _b, ...rest } = configOf(r);
    const { beta: _d, ...defaults } = ASCC_DEFAULTS;
    assert.deepEqual(rest, defaults, `cell ${r.cell.method}: every ASCC setting but beta is the default`);
  }
  const best = chosen(ascc);
  assert.equal(ASCC_DEFAULTS.beta, betaOf(best), `the rule chooses beta ${betaOf(best)} (cell ${best.cell.method})`);
  assert.equal((methodFromJson('ascc').config as { beta: number }).beta, ASCC_DEFAULTS.beta, "the registry's default is the chosen one");
});

test("RIFT's default weights are the weights grid's choice on SST-2 dev", () => {
  const riftCells = recorded('rift');
  const weightsOf = (r: SweepRecord) => `w_kl ${configOf(r).wKl}, w_mi ${configOf(r).wMi}`;
  assert.deepEqual(
    riftCells.map(weightsOf).sort(),
    ['w_kl 10, w_mi 0.1', 'w_kl 10, w_mi 1', 'w_kl 4, w_mi 0.1'],
    'the grid has one RIFT cell for each pair of weights, all recorded',
  );
  for (const r of riftCells) {
    // the cells differ in w_kl and w_mi only
    const { wKl: _k, wMi: _m, ...rest } = configOf(r);
    const { wKl: _dk, wMi: _dm, ...defaults } = RIFT_DEFAULTS;
    assert.deepEqual(rest, defaults, `cell ${r.cell.method}: every RIFT setting but w_kl and w_mi is the default`);
  }
  const best = chosen(riftCells);
  assert.equal(weightsOf(best), `w_kl ${RIFT_DEFAULTS.wKl}, w_mi ${RIFT_DEFAULTS.wMi}`, `the rule chooses cell ${best.cell.method}`);
  const registry = methodFromJson('rift').config as { wKl: number; wMi: number };
  assert.deepEqual([registry.wKl, registry.wMi], [RIFT_DEFAULTS.wKl, RIFT_DEFAULTS.wMi], "the registry's defaults are the chosen ones");
});
