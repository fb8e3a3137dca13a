/**
 * The project-local tslab kernelspec: Jupyter finds it through JUPYTER_PATH, nothing is installed
 * globally. The spec runs scripts/tslab-kernel.js, which starts tslab in the project root so that a
 * notebook in notebooks/ imports `./src/...` (tslab compiles with rootDir = its working directory).
 *
 * Layout: <root>/.jupyter-local/kernels/tslab/kernel.json (git-ignored, rewritten on every
 * `npm run lab`; it holds this machine's absolute paths, which is why it is not committed).
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../../src/util/atomic';

/** The kernel name notebooks carry in metadata.kernelspec.name (the name tslab's own installer uses). */
export const KERNEL_NAME = 'tslab';
/** The name Jupyter shows in its kernel menu. */
export const KERNEL_DISPLAY_NAME = 'TypeScript (tslab)';

/** Jupyter's kernelspec file format (the fields advlm writes). */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal' | 'message';
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** The folder put on JUPYTER_PATH. */
export function localJupyterDir(root: string): string {
  return path.join(root, '.jupyter-local');
}

/** Where the kernelspec file lives. */
export function kernelspecFile(root: string): string {
  return path.join(localJupyterDir(root), 'kernels', KERNEL_NAME, 'kernel.json');
}

/** The launcher the kernelspec runs. */
export function kernelLauncher(root: string): string {
  return path.join(root, 'scripts', 'tslab-kernel.js');
}

/**
 * The kernelspec for this checkout: `node scripts/tslab-kernel.js kernel --config-path {connection_file}`
 * (tslab's own arguments; Jupyter substitutes {connection_file}). `nodePath` defaults to the node
 * running now, so the kernel uses the same Node as `npm run lab` even if PATH differs in Jupyter.
 */
export function kernelSpec(root: string, nodePath: string = process.execPath): KernelSpec {
  return {
    argv: [nodePath, kernelLauncher(root), 'kernel', '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    interrupt_mode: 'signal',
    env: {},
    metadata: {},
  };
}

/** Writes the kernelspec (atomically) and returns its path. Fails clearly if the launcher or tslab is missing. */
export function registerKernel(root: string, nodePath: string = process.execPath): string {
  const launcher = kernelLauncher(root);
  if (!fs.existsSync(launcher)) throw new Error(`the kernel launcher ${launcher} is missing; is ${root} an advlm checkout?`);
  if (!fs.existsSync(path.join(root, 'node_modules', 'tslab', 'dist', 'main.js'))) {
    throw new Error(`tslab is not installed in ${path.join(root, 'node_modules')}: run \`npm install\` in the project root first`);
  }
  const file = kernelspecFile(root);
  writeFileAtomic(file, JSON.stringify(kernelSpec(root, nodePath), null, 1) + '\n');
  return file;
}

/** A copy of `base` with the project-local Jupyter folder first on JUPYTER_PATH. */
export function jupyterEnv(root: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const local = localJupyterDir(root);
  const rest = (base.JUPYTER_PATH ?? '').split(path.delimiter).filter((p) => p !== '' && p !== local);
  return { ...base, JUPYTER_PATH: [local, ...rest].join(path.delimiter) };
}
