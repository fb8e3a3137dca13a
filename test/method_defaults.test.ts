/**
 * The defaults of PGD, FreeLB, FreeAT and YOPO were chosen on SST-2 dev for the project's default
 * model, as radii in units of that model's median word-embedding norm m (the grid
 * notebooks/grids/defaults_sst2_10k.json; each method file has the cells). The configs store them
 * as absolute numbers, so they are right only for a model with that m: this test recomputes m from the
 * default checkpoint and fails if the default model changes and the defaults are not chosen again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend } from './helpers';
import {
  FREEAT_DEFAULTS, FREEAT_REFERENCE_SST2, FREELB_DEFAULTS, FREELB_REFERENCE_SST2, PGD_DEFAULTS, PGD_REFERENCE_SST2, YOPO_DEFAULTS, methodFromJson,
} from '../src/adversarial/methods';
import { loadTask } from '../src/data';
import { radiusUnit } from '../src/sweep/radius_unit';
import { checkpointTokenizer } from '../src/tokenizer';
import { defaultCheckpoint } from '../src/train/finetune';

test("the methods' defaults are the radii chosen on dev, in units of the default model's median embedding norm", async () => {
  await backend();
  const dir = defaultCheckpoint();
  // as the grid measured it: SST-2 dev, sequences cut at the grid's 64 tokens
  const m = radiusUnit(dir, checkpointTokenizer(dir), loadTask('SST-2', 'dev'), { maxLength: 64, batchSize: 64 });
  assert.ok(Math.abs(m - 8.53) < 0.01, `the grid's unit was m = 8.53 (the default model's median ||X|| on SST-2 dev); this model gives ${m.toFixed(3)}: choose the defaults again`);
  const chosen: [string, { eps: number; alpha: number }, number][] = [
    ['pgd', PGD_DEFAULTS, 0.005],
    ['freelb', FREELB_DEFAULTS, 0.02],
    ['freeat', FREEAT_DEFAULTS, 0.02],
    ['yopo', YOPO_DEFAULTS, 0.005],
  ];
  for (const [name, c, rho] of chosen) {
    // the configs round eps and alpha to two significant figures
    assert.ok(Math.abs(c.eps / m - rho) / rho < 0.01, `${name}: eps ${c.eps} is rho ${(c.eps / m).toFixed(4)}, the grid chose ${rho}`);
    assert.ok(Math.abs(c.alpha / c.eps - 0.5) < 0.01, `${name}: the grid's step was eps / 2, got alpha ${c.alpha}`);
    assert.deepEqual(methodFromJson(name).config, c, `${name}: the registry's defaults are the chosen ones`);
  }
  // the chosen cells' pass counts: PGD-3, FreeLB-3, FreeAT with 3 replays, YOPO-3-2
  assert.deepEqual([PGD_DEFAULTS.K, FREELB_DEFAULTS.K, FREEAT_DEFAULTS.replays, YOPO_DEFAULTS.K, YOPO_DEFAULTS.n], [3, 3, 3, 3, 2]);
  // the reference launch scripts' values stay available (fairseq launch/*/ for SST-2)
  for (const c of [PGD_REFERENCE_SST2, FREELB_REFERENCE_SST2, FREEAT_REFERENCE_SST2]) {
    assert.deepEqual([c.alpha, c.eps, c.initMag], [0.1, 0.6, 1]);
  }
  assert.deepEqual([PGD_REFERENCE_SST2.K, FREELB_REFERENCE_SST2.K, FREEAT_REFERENCE_SST2.replays], [2, 3, 2]);
});
