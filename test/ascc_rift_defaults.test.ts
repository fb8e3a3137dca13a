/**
 * ASCC's beta and RIFT's weights for the project's default model were chosen on SST-2 dev by the grid
 * notebooks/grids/rift_weights_sst2_10k.json, with the rule written in src/adversarial/ascc_dong_2021.ts
 * before the grid ran (mostRobustRecord in src/sweep/run.ts): the highest accuracy under pwws-cf on the
 * first 200 dev sentences, clean dev accuracy breaking a tie. These tests apply the rule to the
 * committed records and require the defaults to be the chosen cell's, so new records with another
 * winner fail them until the defaults follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { ASCC_DEFAULTS, RIFT_DEFAULTS, methodFromJson } from '../src/adversarial/methods';
import { SweepRecord, mostRobustRecord, readRecords, reconcile } from '../src/sweep';

const RESULTS = path.join(__dirname, '..', 'notebooks', 'results', 'rift-weights-sst2-10k');

const configOf = (r: SweepRecord) => (r.identity.method as { config: Record<string, unknown> }).config;

/**
 * The grid's cells of one method must each be evaluated the same way (pwws-cf on the first 200 dev
 * sentences), cover `expected` (the tuned settings of each cell), and differ from the defaults in the
 * tuned settings only; the rule's choice must be the defaults, in the registry too.
 */
function assertDefaultsAreChosen(methodName: string, defaults: Record<string, unknown>, tuned: readonly string[], expected: readonly string[]) {
  const { records } = reconcile(readRecords([RESULTS]).records);
  const cells = records.filter((r) => r.status === 'done' && r.cell.methodName === methodName);
  const settingsOf = (config: Record<string, unknown>) => tuned.map((k) => `${k} ${config[k]}`).join(', ');
  const untuned = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(config).filter(([k]) => !tuned.includes(k)));
  assert.deepEqual(cells.map((r) => settingsOf(configOf(r))).sort(), [...expected].sort(), `the grid has one ${methodName} cell for each setting, all recorded`);
  for (const r of cells) {
    const attack = r.results!['word-attack'];
    assert.equal(attack.split, 'dev');
    assert.equal(attack.n, 200);
    assert.equal((attack.extra as { recipe: string }).recipe, 'pwws_cf');
    assert.deepEqual(untuned(configOf(r)), untuned(defaults), `cell ${r.cell.method}: every ${methodName} setting but ${tuned.join(' and ')} is the default`);
  }
  const best = mostRobustRecord(cells)!;
  assert.equal(settingsOf(defaults), settingsOf(configOf(best)), `the rule chooses cell ${best.cell.method}`);
  assert.equal(settingsOf(methodFromJson(methodName).config as Record<string, unknown>), settingsOf(defaults), "the registry's defaults are the chosen ones");
}

test("ASCC's default beta is the weights grid's choice on SST-2 dev", () => {
  assertDefaultsAreChosen('ascc', { ...ASCC_DEFAULTS }, ['beta'], ['beta 1', 'beta 4', 'beta 10']);
});

test("RIFT's default weights are the weights grid's choice on SST-2 dev", () => {
  assertDefaultsAreChosen('rift', { ...RIFT_DEFAULTS }, ['wKl', 'wMi'], ['wKl 4, wMi 0.1', 'wKl 10, wMi 0.1', 'wKl 10, wMi 1']);
});
