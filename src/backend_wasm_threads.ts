/**
 * Both cores for the wasm backend under Node: tfjs-backend-wasm's threaded SIMD build, enabled.
 *
 * tfjs-backend-wasm 4.22 ships `tfjs-backend-wasm-threaded-simd.wasm`, whose matMul (XNNPACK)
 * splits its work over a pthread pool, but never loads it under Node (the flag
 * WASM_HAS_MULTITHREAD_SUPPORT answers false there; tfjs issue #3830). Three things stand in the
 * way, and each has a small fix here, applied only while the backend initialises:
 *
 * 1. The flag: set to true.
 * 2. The pthread workers. tfjs hands Emscripten a `blob:` URL for the worker script and a Blob for
 *    the main script; Node's `worker_threads.Worker` takes neither. `PthreadWorker` starts the same
 *    worker script (shipped inside the package as a string) with `eval: true`, and rewrites the
 *    'load' message so the worker reads the main script from its file in node_modules. It also
 *    keeps the workers unreferenced, so that a finished script exits instead of waiting for an idle
 *    thread pool (Emscripten refs a worker while a pthread runs on it, and XNNPACK's run forever).
 * 3. The thread count. The backend caps its pool at (logical cores / 2), assuming two hardware
 *    threads per core; on a 2-core machine that is one thread. While the module initialises,
 *    `os.cpus()` reports each core twice so that the cap becomes the number of cores.
 *
 * Results: the same kernels run, only split over rows, so outputs agree with the single-threaded
 * build (test/backend.test.ts checks this); speed-ups are measured by `npm run bench`.
 * If anything here fails, the caller falls back to the single-threaded build and says why.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const requireHere = createRequire(__filename);
/** The os module object itself (not an import's namespace copy): `setWasmBackendThreaded` swaps its `cpus` while tfjs reads it. */
const os = requireHere('node:os') as typeof import('node:os');

/**
 * The default number of threads: the CPUs Slurm gave this task (SLURM_CPUS_PER_TASK), else the cores
 * this process may use. Several processes sharing a machine (sweep shards started by hand, a
 * background run beside a notebook) should each ask for fewer: a thread pool whose threads wait for
 * a busy core runs slower than one thread.
 */
export function defaultWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const slurm = Number(env.SLURM_CPUS_PER_TASK);
  if (Number.isInteger(slurm) && slurm >= 1) return Math.min(slurm, 8);
  return Math.min(typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length, 8);
}

/** Parses ADVLM_WASM_THREADS (or a --threads value): a whole number from 1 to 8. */
export function parseWasmThreads(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return defaultWasmThreads();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    throw new Error(
      `ADVLM_WASM_THREADS must be a whole number from 1 to 8 (the wasm backend's pool holds at most 8 threads); got '${raw}'. ` +
        `Unset it to use every core (${defaultWasmThreads()} here).`,
    );
  }
  return n;
}

let installed = false;

/** Replaces worker_threads.Worker with one that can start Emscripten's pthread workers (once). */
function installPthreadWorker(): void {
  if (installed) return;
  const workerThreads = requireHere('node:worker_threads') as typeof import('node:worker_threads');
  const mainScript = requireHere.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = requireHere('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
    wasmWorkerContents: string;
  };
  // The script is stored in a template literal, so its "\n" escapes arrived as newlines (tfjs undoes it the same way).
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const NodeWorker = workerThreads.Worker;
  class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      if (typeof url === 'string' && url.startsWith('blob:')) super(workerScript, { ...options, eval: true });
      else super(url, options);
      super.unref();
    }
    override ref(): void {
      // Never keep the process alive for the thread pool (see the header).
    }
    override postMessage(message: unknown, transfer?: readonly import('node:worker_threads').TransferListItem[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') message = { ...m, urlOrBlob: mainScript };
      super.postMessage(message, transfer);
    }
  }
  (workerThreads as { Worker: typeof NodeWorker }).Worker = PthreadWorker;
  installed = true;
}

/**
 * Initialises the wasm backend with `threads` threads (tf.setBackend('wasm') plus the fixes in the
 * header). Returns the number of threads the backend reports.
 */
export async function setWasmBackendThreaded(threads: number): Promise<number> {
  installPthreadWorker();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  const cpus = os.cpus;
  os.cpus = () => {
    const c = cpus();
    return [...c, ...c];
  };
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("tf.setBackend('wasm') could not initialise the threaded build");
    await tf.ready();
  } finally {
    os.cpus = cpus;
  }
  return getThreadsCount();
}
