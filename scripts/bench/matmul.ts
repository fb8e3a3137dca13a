/**
 * `npm run bench -- matmul`: matMul throughput on the current backend for the shapes training uses,
 * with advlm's wasm BatchMatMul wrapper (src/backend_wasm_kernels.ts) and with tfjs's stock kernel
 * (measured in a child process with ADVLM_WASM_STOCK_MATMUL=1), and the ratio.
 */
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';

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

/** GFLOP/s per shape on the backend in use. */
function matmulFigures(repeats = 5): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of SHAPES) {
    const a = tf.randomNormal(s.a);
    const b = tf.randomNormal(s.b);
    const m = s.ta ? s.a[s.a.length - 1] : s.a[s.a.length - 2];
    const k = s.ta ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
    const n = s.tb ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
    const batch = s.a.slice(0, -2).reduce((x, y) => x * y, 1);
    const ms = timeMs(() => tf.matMul(a, b, s.ta, s.tb), repeats);
    out[s.name] = (2 * batch * m * k * n) / ms / 1e6;
    tf.dispose([a, b]);
  }
  return out;
}

/** Prints the table (or, with --matmul-json, this process's figures as JSON for the parent). */
export async function matmulBench(script: string, argv: string[]): Promise<void> {
  if (argv.includes('--matmul-json')) {
    await initBackend({ log: false });
    process.stdout.write(JSON.stringify(matmulFigures()));
    return;
  }
  const report = await initBackend();
  const ours = matmulFigures();
  console.log(`\nmatMul GFLOP/s on ${report.name}:`);
  let stock: Record<string, number> | undefined;
  if (report.name === 'wasm') {
    const json = execFileSync(process.execPath, ['--import', 'tsx', script, 'matmul', '--matmul-json'], {
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
}
