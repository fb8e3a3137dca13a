/**
 * Benchmarks: prints figures, asserts nothing. Run: npm run bench [-- --quick]
 *
 * 1. matMul throughput on the current backend, for the shapes training uses, with advlm's wasm
 *    BatchMatMul wrapper and with tfjs's stock kernel (measured in a child process), and the ratio.
 * 2. Training-step throughput of the tiny BERT: MLM pre-training (B=32, T=128) and fine-tuning
 *    (B=32, T=32), forward + backward + AdamW.
 * Ratios are measured within one run; absolute times on shared machines are noisy.
 */
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { CONFIGS, crossEntropy, encode, initParams, mlmLogits, namedParams, disposeParams, classificationLogits, isNoDecay, outputVocabulary } from '../src/model/index';
import { ADAMW_DEFAULTS, adamWStep, disposeAdamW, initAdamW } from '../src/train/adamw';
import { disposeGrads, lossAndGrads } from '../src/train/grads';

const quick = process.argv.includes('--quick');

function timeMs(f: () => tf.Tensor, repeats: number): number {
  f().dispose(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const r = f();
    r.dataSync();
    r.dispose();
  }
  return (performance.now() - t0) / repeats;
}

const SHAPES: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  { name: 'linear   [4096,128]x[128,512]', a: [4096, 128], b: [128, 512], ta: false, tb: false },
  { name: 'linear   x W^T (HF layout)', a: [4096, 128], b: [512, 128], ta: false, tb: true },
  { name: 'weight grad x^T dy', a: [4096, 128], b: [4096, 512], ta: true, tb: false },
  { name: 'MLM head [614,128]x[30522,128]^T', a: [614, 128], b: [30522, 128], ta: false, tb: true },
  { name: 'attention Q K^T [32,2,128,64]', a: [32, 2, 128, 64], b: [32, 2, 128, 64], ta: false, tb: true },
  { name: 'attention P V [32,2,128,128]x[..,64]', a: [32, 2, 128, 128], b: [32, 2, 128, 64], ta: false, tb: false },
];

function matmulFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of SHAPES) {
    const a = tf.randomNormal(s.a);
    const b = tf.randomNormal(s.b);
    const m = s.ta ? s.a[s.a.length - 1] : s.a[s.a.length - 2];
    const k = s.ta ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
    const n = s.tb ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
    const batch = s.a.slice(0, -2).reduce((x, y) => x * y, 1);
    const ms = timeMs(() => tf.matMul(a, b, s.ta, s.tb), quick ? 2 : 5);
    out[s.name] = (2 * batch * m * k * n) / ms / 1e6; // GFLOP/s
    tf.dispose([a, b]);
  }
  return out;
}

async function stepFigures(): Promise<void> {
  const p = initParams({ ...CONFIGS.tiny, maxPositions: 128 }, { mlm: true, numLabels: 2, seed: 1 });
  const named = namedParams(p);
  const opt = initAdamW(named);
  const run = (name: string, B: number, T: number, loss: (ids: tf.Tensor) => tf.Scalar) => {
    const ids = tf.randomUniform([B, T], 1000, 30000, 'int32');
    const steps = quick ? 2 : 4;
    let ms = 0;
    for (let s = 0; s <= steps; s++) {
      const t0 = performance.now();
      const { loss: l, grads } = lossAndGrads(named, () => loss(ids));
      adamWStep(opt, named, grads, 1e-4, ADAMW_DEFAULTS, (n) => !isNoDecay(n));
      l.dataSync();
      disposeGrads(grads);
      l.dispose();
      if (s > 0) ms += performance.now() - t0; // the first step warms up
    }
    ms /= steps;
    console.log(`  ${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms/step  ${((B * T) / (ms / 1000)).toFixed(0).padStart(7)} tokens/s`);
    ids.dispose();
  };
  const M = Math.round(32 * 128 * 0.15);
  const positions = tf.tensor1d(Array.from({ length: M }, (_, i) => Math.floor(i / 0.15)), 'int32');
  const targets = tf.randomUniform([M], 1000, 30000, 'int32');
  const labels = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 2), 'int32');
  console.log(`training steps, tiny BERT (${tf.getBackend()}):`);
  run('MLM pre-training B=32 T=128', 32, 128, (ids) => tf.tidy(() => crossEntropy(mlmLogits(p, encode(p, ids, { dropout: { seed: 1 } }).hidden, positions), targets)));
  // pre-training's default softmax over the corpus's tokens (18,044 of 30,522 for data/pretrain; here a
  // spread of that many ids), the same loss as mlmLoss(p, batch, seed, false, vocab)
  const vocab = outputVocabulary(Array.from({ length: 18044 }, (_, i) => Math.floor((i * 30522) / 18044)), 30522);
  const y = tf.tensor1d(Array.from(targets.dataSync(), (id) => vocab.index[id] >= 0 ? vocab.index[id] : 0), 'int32');
  run('MLM, corpus softmax B=32 T=128', 32, 128, (ids) =>
    tf.tidy(() => crossEntropy(mlmLogits(p, encode(p, ids, { dropout: { seed: 1 } }).hidden, positions, tf.tensor1d(vocab.ids, 'int32')), y)));
  run('fine-tuning B=32 T=32', 32, 32, (ids) => tf.tidy(() => crossEntropy(classificationLogits(p, encode(p, ids, { dropout: { seed: 1 } }).hidden), labels)));
  tf.dispose([positions, targets, labels, y]);
  disposeAdamW(opt);
  disposeParams(p);
}

async function main(): Promise<void> {
  if (process.argv.includes('--matmul-json')) {
    await initBackend({ log: false });
    process.stdout.write(JSON.stringify(matmulFigures()));
    return;
  }
  const report = await initBackend();
  const ours = matmulFigures();
  console.log(`\nmatMul GFLOP/s on ${report.name}:`);
  let stock: Record<string, number> | undefined;
  if (report.name === 'wasm') {
    const json = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--matmul-json', ...(quick ? ['--quick'] : [])], {
      env: { ...process.env, ADVLM_WASM_STOCK_MATMUL: '1', ADVLM_BACKEND: 'wasm' },
      encoding: 'utf8',
    });
    stock = JSON.parse(json.slice(json.indexOf('{')));
    console.log(`  ${'shape'.padEnd(40)} ${'advlm'.padStart(8)} ${'stock'.padStart(8)} ${'ratio'.padStart(7)}`);
  }
  for (const [name, g] of Object.entries(ours)) {
    const s = stock?.[name];
    console.log(`  ${name.padEnd(40)} ${g.toFixed(2).padStart(8)}` + (s ? ` ${s.toFixed(2).padStart(8)} ${(g / s).toFixed(1).padStart(6)}x` : ''));
  }
  console.log('');
  await stepFigures();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
