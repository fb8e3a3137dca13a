/**
 * Every fine-tuning method on every GLUE task of the project (single sentences, sentence pairs,
 * a regression), two steps each on a micro checkpoint: either the run trains (finite losses, a
 * model that predicts) or it is refused before any step with an error that names the method and
 * says why. Plus one run from the command line on the project's default pre-trained checkpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { test } from 'node:test';
import { backend, expectNoLeak, tinyCheckpoint } from './helpers';
import { methodDefinition, methodNames } from '../src/adversarial';
import { disposeParams } from '../src/model';
import { finetune } from '../src/train/finetune';

const TASKS = ['SST-2', 'CoLA', 'MRPC', 'RTE', 'STS-B'];
const quiet = { mode: 'silent' as const };

test('every fine-tuning method trains on SST-2, CoLA, MRPC, RTE and STS-B, or refuses up front and says why', async () => {
  await backend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-methods-tasks-'));
  process.env.ADVLM_RUNS_FILE = path.join(dir, 'runs.jsonl');
  const ckpt = await tinyCheckpoint(dir);
  const methods = methodNames().filter((m) => methodDefinition(m).objectives.includes('task'));
  assert.ok(methods.length >= 8, `expected the eight fine-tuning methods, got ${methods.join(', ')}`);
  const outcomes: string[] = [];
  try {
    await expectNoLeak(async () => {
      for (const task of TASKS) {
        for (const method of methods) {
          const label = `${method} on ${task}`;
          let ft: Awaited<ReturnType<typeof finetune>> | undefined;
          try {
            ft = await finetune(
              { task, checkpoint: ckpt, method, maxLength: 24, batchSize: 8, limitTrain: 16, limitDev: 8, trainer: { epochs: 1, maxSteps: 2 } },
              { progress: quiet, outDir: path.join(dir, `${method}-${task}`) },
            );
          } catch (e) {
            const msg = (e as Error).message;
            // a refusal must come before training, name the method and say what it does fine-tune
            assert.match(msg, new RegExp(`method '${method}' fine-tunes classification tasks only; ${task} is a regression task`), `${label}: ${msg}`);
            assert.ok(!fs.existsSync(path.join(dir, `${method}-${task}`, 'resume')), `${label}: refused after training had started`);
            outcomes.push(`${label}: refused (${msg.slice(0, 80)})`);
            continue;
          }
          try {
            assert.equal(ft.record.method, method, label);
            assert.ok(ft.record.epochs.length === 1 && Number.isFinite(ft.record.epochs[0].trainLoss), `${label}: a finite training loss`);
            const metric = task === 'STS-B' ? 'pearson' : task === 'CoLA' ? 'mcc' : 'accuracy';
            assert.ok(metric in ft.best.metrics, `${label}: dev ${metric} is reported (got ${Object.keys(ft.best.metrics).join(', ')})`);
            outcomes.push(`${label}: trained`);
          } finally {
            disposeParams(ft.params);
          }
        }
      }
    }, 'fine-tuning every method on every task');
  } finally {
    delete process.env.ADVLM_RUNS_FILE;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const refused = outcomes.filter((o) => o.includes('refused'));
  // Only ASCC and RIFT may refuse, and only the regression (their terms compare class distributions)
  assert.deepEqual(refused.map((o) => o.split(':')[0]).sort(), ['ascc on STS-B', 'rift on STS-B'], `refusals:\n${refused.join('\n')}`);
  assert.equal(outcomes.filter((o) => o.endsWith('trained')).length, TASKS.length * methods.length - 2);
});

test('advlm finetune --method freelb on MRPC from the default pre-trained checkpoint, from the command line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-methods-cli-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, '..', 'src', 'cli', 'main.ts'), 'finetune', '--task', 'MRPC', '--method', 'freelb', '--K', '2', '--max-steps', '2', '--limit-train', '16', '--limit-dev', '8', '--batch-size', '8', '--max-length', '32', '--out', path.join(dir, 'run')],
      { encoding: 'utf8', env: { ...process.env, ADVLM_WASM_THREADS: '1', ADVLM_RUNS_FILE: path.join(dir, 'runs.jsonl') } },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'runs.jsonl'), 'utf8').trim().split('\n').pop()!);
    assert.equal(rec.method, 'freelb');
    assert.equal(rec.task, 'MRPC');
    assert.equal(rec.steps.deltaNorm.length, 2);
    assert.ok(fs.existsSync(path.join(dir, 'run', 'model.safetensors')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
