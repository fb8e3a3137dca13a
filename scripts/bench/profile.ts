/**
 * `npm run bench -- profile`: where one training step's time goes, kernel by kernel (tf.profile),
 * for the tiny BERT on the bench's batches. Prints the step's unprofiled wall time, then the kernels
 * by total time, with their share and number of calls. Asserts nothing.
 *
 * Options: --shape mlm|finetune (default mlm: pre-training's batch of 8 x 128 with the corpus
 * softmax), --method NAME (default vanilla), --config tiny|mini, --steps N (timed, default 5),
 * --by-shape (one line per kernel and input shapes, to tell a kernel's calls apart), --batch N (the
 * batch's sequences; default 32 for fine-tuning, 8 for MLM: halve it to see what a data-parallel shard costs).
 * Kernel times on wasm are wall times of synchronous kernels; the rest of a step (the gap between
 * the step's time and the kernels' sum) is JavaScript: op dispatch, the tape, tidy scopes.
 * ADVLM_WASM_STOCK_GATHER=1, ADVLM_WASM_STOCK_SUM=1 or ADVLM_WASM_STOCK_MATMUL=1 profile tfjs's own kernels instead of advlm's
 * (src/backend_wasm_kernels.ts), for a before/after in one sitting.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { methodFromJson } from '../../src/adversarial/methods';
import { loadTokenizer } from '../../src/data';
import { BertParams, disposeModelBatch, disposeParams, initParams, namedConfig, namedParams } from '../../src/model';
import { disposeAdamW, initAdamW } from '../../src/train/adamw';
import { Shape, batchOf, benchData, benchTrainingStep } from './advlm_rows';

export async function profileBench(argv: string[]): Promise<void> {
  const value = (flag: string, d: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
  };
  const shape = value('--shape', 'mlm') as Shape;
  if (shape !== 'mlm' && shape !== 'finetune') throw new Error(`--shape must be mlm or finetune, got '${shape}'`);
  const steps = Number(value('--steps', '5'));
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps needs a whole number >= 1, got '${value('--steps', '')}'`);
  const methodName = value('--method', 'vanilla');
  const byShape = argv.includes('--by-shape');
  const configName = value('--config', 'tiny');
  const method = methodFromJson(methodName, {}); // throws on an unknown name, listing the known ones
  const objective = shape === 'mlm' ? 'mlm' : 'task';
  if (!method.objectives.includes(objective)) throw new Error(`${methodName} trains ${method.objectives.join('/')} only; try --shape ${method.objectives[0] === 'mlm' ? 'mlm' : 'finetune'}`);
  const info = await initBackend({ log: false });
  const batchSize = Number(value('--batch', shape === 'mlm' ? '8' : '32'));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch needs a whole number >= 1, got '${value('--batch', '')}'`);
  const data = shape === 'mlm' ? benchData(1, batchSize) : benchData(batchSize, 1);
  const config = { ...namedConfig(configName), vocabSize: data.vocabSize };
  const heads = objective === 'mlm' ? { mlm: true } : { numLabels: 2 };
  const p = initParams(config, { ...heads, seed: 1 });
  let teacherParams: BertParams | undefined; // RIFT's frozen teacher: the initial model
  const teacher = () => (teacherParams ??= initParams(config, { ...heads, seed: 1 }));
  const step = method.makeStep({ params: p, objective, taskKind: 'classification', tokenizer: loadTokenizer(), teacher });
  const named = [...namedParams(p), ...step.params];
  const opt = initAdamW(named);
  const batch = batchOf(data, shape);
  const one = (i: number) => benchTrainingStep(step, batch, named, opt, i);
  for (let i = 0; i < 2; i++) one(i);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) one(10 + i);
  const ms = (performance.now() - t0) / steps;
  const prof = await tf.profile(() => one(100));
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    const t = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
    e.ms += t;
    e.calls++;
    byKernel.set(key, e);
    total += t;
  }
  const stock = ['GATHER', 'SUM', 'MATMUL'].filter((k) => process.env[`ADVLM_WASM_STOCK_${k}`] === '1');
  console.log(
    `profile: ${configName}, ${shape} ${batch.inputIds.shape.join(' x ')}, ${methodName}; backend ${info.name}` +
      `${stock.length ? ` (stock ${stock.join(', ')} kernels)` : ''}\n` +
      `step ${ms.toFixed(0)} ms (mean of ${steps}, unprofiled); in the profiled step ${prof.kernels.length} kernels took ${total.toFixed(0)} ms`,
  );
  const width = Math.max(24, ...[...byKernel.keys()].map((k) => k.length));
  console.log(`${'kernel'.padEnd(width)} ${'ms'.padStart(8)} ${'share'.padStart(6)} ${'calls'.padStart(6)}`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, byShape ? 30 : 20)) {
    console.log(`${name.padEnd(width)} ${e.ms.toFixed(1).padStart(8)} ${((100 * e.ms) / total).toFixed(0).padStart(5)}% ${String(e.calls).padStart(6)}`);
  }
  disposeModelBatch(batch);
  step.dispose();
  disposeAdamW(opt);
  disposeParams(p);
  if (teacherParams) disposeParams(teacherParams);
}
