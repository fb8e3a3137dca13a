/**
 * Ships a fine-tuned classifier that a sweep kept (`keep: "median-dev-seed"`) under
 * data/checkpoints/: its weights as float16 (half the bytes in the repository's history; each weight
 * moves by at most 2^-11 of itself), its config.json with the run's record plus where it came from.
 * Then it scores the dev split with the float32 and the float16 weights and prints both accuracies
 * and how many dev predictions the rounding changed, so that the figure quoted for the shipped
 * model is the shipped model's.
 *
 *   npx tsx scripts/ship-classifier.ts runs/regimes/final-full/kept/SST-2-vanilla-imdb.json data/checkpoints/advlm-bert-tiny-imdb-sst2
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../src/backend';
import { getTask, loadTask } from '../src/data';
import { disposeParams, loadCheckpoint } from '../src/model';
import { readSafetensors, writeSafetensors } from '../src/model/safetensors';
import { checkpointTokenizer } from '../src/tokenizer';
import { evaluate } from '../src/train/evaluate';
import { writeJsonAtomic } from '../src/util/atomic';

interface Kept {
  group: string;
  seed: number;
  dev: number;
  checkpoint: string;
  id: string;
}

async function main(): Promise<void> {
  const [keptFile, dest] = process.argv.slice(2);
  if (!keptFile || !dest) throw new Error('usage: npx tsx scripts/ship-classifier.ts SWEEP_DIR/kept/GROUP.json DEST_DIR');
  if (!fs.existsSync(keptFile)) throw new Error(`${keptFile}: no such file (a sweep writes kept/GROUP.json once every seed of a group is recorded)`);
  const kept = JSON.parse(fs.readFileSync(keptFile, 'utf8')) as Kept;
  const sweepDir = path.dirname(path.dirname(keptFile));
  const src = path.join(sweepDir, kept.checkpoint);
  const manifest = JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')) as { grid?: { name?: string }; name?: string };
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as { advlm?: Record<string, unknown> };
  const advlm = config.advlm ?? {};
  const taskName = String(advlm.task);
  const maxLength = Number(advlm.maxLength);

  fs.mkdirSync(dest, { recursive: true });
  const { tensors, metadata } = readSafetensors(path.join(src, 'model.safetensors'));
  writeSafetensors(path.join(dest, 'model.safetensors'), tensors, metadata, 'F16');
  for (const f of fs.readdirSync(src)) if (f === 'tokenizer.json') fs.copyFileSync(path.join(src, f), path.join(dest, f));
  const shipped = { sweep: manifest.grid?.name ?? manifest.name, group: kept.group, seed: kept.seed, runId: kept.id, weights: 'float16 (the run saved float32)' };
  writeJsonAtomic(path.join(dest, 'config.json'), { ...config, advlm: { ...advlm, shipped } });

  await initBackend({ log: false });
  const task = getTask(taskName);
  const dev = loadTask(taskName, task.devSplit);
  const scored = [];
  for (const dir of [src, dest]) {
    const { params } = loadCheckpoint(dir, { mlm: false });
    try {
      scored.push(await evaluate(params, checkpointTokenizer(dir), dev, task, { maxLength }));
    } finally {
      disposeParams(params);
    }
  }
  const [f32, f16] = scored;
  const changed = f32.predictions.filter((p, i) => p !== f16.predictions[i]).length;
  const mb = (f: string) => (fs.statSync(f).size / 1e6).toFixed(1);
  console.log(`${kept.group}, seed ${kept.seed} (median dev of its group) -> ${dest}`);
  console.log(`weights: ${mb(path.join(src, 'model.safetensors'))} MB float32 -> ${mb(path.join(dest, 'model.safetensors'))} MB float16`);
  console.log(`${taskName} ${task.devSplit} (${dev.length} examples, length ${maxLength}): accuracy ${f32.metrics.accuracy} (float32) vs ${f16.metrics.accuracy} (float16); ${changed} predictions changed; loss ${f32.loss.toFixed(5)} vs ${f16.loss.toFixed(5)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
