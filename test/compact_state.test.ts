import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSafetensors, readSafetensors, serializeSafetensors, toBfloat16Bits } from '../src/model/safetensors';
import { disposeParams } from '../src';
import { finetune } from '../src/train/finetune';
import { backend, maxAbsDiff, tinyCheckpoint } from './helpers';

test('bfloat16: round to nearest even, float32 range kept, within 2^-9 relative, NaN and infinities kept', () => {
  const x = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 1e-30, -3e38, Infinity, -Infinity, NaN, 0, 123.456, 7e-12]);
  const bits = toBfloat16Bits(x);
  const back = parseSafetensors(serializeSafetensors(new Map([['t', { shape: [x.length], values: x }]]), {}, 'BF16'), 'mem').tensors.get('t')!.values;
  assert.equal(bits.length, x.length);
  assert.equal(back[0], 1);
  assert.equal(back[1], -2.5);
  assert.equal(back[2], 1); // a tie rounds to even (1 + 2^-8 lies halfway between 1 and 1 + 2^-7)
  assert.equal(back[3], 1 + 2 ** -7); // above halfway rounds up
  assert.equal(back[6], Infinity);
  assert.equal(back[7], -Infinity);
  assert.ok(Number.isNaN(back[8]));
  assert.equal(back[9], 0);
  for (const i of [4, 5, 10, 11]) assert.ok(Math.abs(back[i] - x[i]) <= Math.abs(x[i]) * 2 ** -9, `${x[i]} -> ${back[i]}`);
});

test('a state compacted by scripts/compact-state.ts resumes, and the run ends close to an uninterrupted one', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-compact-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  const config = { task: 'SST-2', checkpoint: ckpt, maxLength: 24, batchSize: 8, limitTrain: 48, limitDev: 16, bucketBatches: 0, trainer: { epochs: 2, lr: 1e-3 } };
  const quiet = { mode: 'silent' as const };
  const ref = await finetune(config, { outDir: path.join(dir, 'ref'), progress: quiet });
  const out = path.join(dir, 'ft');
  let calls = 0;
  const first = await finetune(config, { outDir: out, progress: quiet, stopFlag: { get stop() { return ++calls === 8; }, set stop(_v: boolean) {} } });
  disposeParams(first.params);
  const stateDir = path.join(out, 'resume');
  const before = fs.statSync(path.join(stateDir, 'optimizer.safetensors')).size;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'scripts', 'compact-state.ts'), stateDir], { stdio: 'pipe' });
  const after = fs.statSync(path.join(stateDir, 'optimizer.safetensors')).size;
  assert.ok(after < 0.55 * before, `${before} -> ${after} bytes`);
  assert.ok([...readSafetensors(path.join(stateDir, 'optimizer.safetensors')).tensors.values()].every((t) => t.values.every(Number.isFinite)));
  const resumed = await finetune(config, { outDir: out, progress: quiet });
  assert.equal(resumed.train.steps, ref.train.steps);
  // the steps before the interruption are identical; after it, the bfloat16 moments shift the losses a little
  assert.equal(maxAbsDiff(ref.train.losses.slice(0, 8), resumed.train.losses.slice(0, 8)), 0);
  const worst = maxAbsDiff(ref.train.losses.slice(8), resumed.train.losses.slice(8));
  assert.ok(worst > 0 && worst < 1e-3, `largest loss difference from the uninterrupted run after the resume: ${worst}`);
  disposeParams(ref.params);
  disposeParams(resumed.params);
  delete process.env.ADVLM_RUNS_FILE;
  fs.rmSync(dir, { recursive: true });
});
