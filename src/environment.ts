/**
 * The environment report: which backend runs, the versions of what advlm stands on, whether a
 * Jupyter installation and the project's tslab kernel are present, and a short real computation.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { backendReport } from './backend';
import { projectRoot } from './paths';

export { projectRoot } from './paths';

function packageVersion(name: string): string {
  try {
    const file = path.join(projectRoot(), 'node_modules', name, 'package.json');
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function commandVersion(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

export interface EnvironmentInfo {
  backend: string;
  backendLine: string;
  node: string;
  packages: Record<string, string>;
  jupyter: string | undefined;
  tslabKernel: boolean;
}

/** Versions and tools; no tensors involved. `tools: false` skips the (slower) Jupyter checks. */
export function environmentInfo(options: { tools?: boolean } = {}): EnvironmentInfo {
  const tools = options.tools ?? true;
  const r = backendReport();
  const root = projectRoot();
  const packages: Record<string, string> = {};
  for (const p of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node-gpu', 'tslab', 'plotly.js-dist', 'danfojs-node', '@huggingface/tokenizers']) {
    packages[p] = packageVersion(p);
  }
  return {
    backend: tf.getBackend(),
    backendLine: r?.line ?? `backend ${tf.getBackend()} (set outside advlm)`,
    node: process.version,
    packages,
    jupyter: tools ? commandVersion('jupyter', ['nbconvert', '--version']) : undefined,
    tslabKernel: fs.existsSync(path.join(root, '.jupyter-local', 'kernels', 'tslab', 'kernel.json')),
  };
}

/** Measures matMul throughput on the current backend: GFLOP/s of an n x n product. */
export async function matMulGflops(n = 256, repeats = 10): Promise<number> {
  const a = tf.randomNormal([n, n]); // [n, n]
  const warm = tf.matMul(a, a); // [n, n]
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const c = tf.matMul(a, a); // [n, n]
    await c.data();
    c.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  a.dispose();
  return (repeats * 2 * n ** 3) / seconds / 1e9;
}
