/**
 * How many threads share each minibatch of `advlm finetune` and `advlm pretrain` when `--workers` is
 * not given (src/train/data_parallel.ts; README: Performance).
 *
 * On the wasm backend the default is data-parallel: as many threads as the backend would otherwise
 * use (ADVLM_WASM_THREADS, else SLURM_CPUS_PER_TASK, else the cores), each worker and this thread
 * with one wasm thread. Measured in one bench run on a 2-core machine, two workers took a
 * fine-tuning step (tiny, 32 x 128) in 641 ms against 988 ms for the backend's own two threads and
 * 1,222 ms for one thread. The default is one worker for methods that cannot share a minibatch
 * (RIFT, FreeAT with replays: their `singleWorker` says why) and on the native backends, which use
 * every core already. `ADVLM_WASM_THREADS=1` (as sweep shards run side by side) means one worker.
 */
import { BackendReport, backendFromArgs, parseBackendName } from '../backend';
import { defaultWasmThreads, parseWasmThreads } from '../backend_wasm_threads';
import { methodFromJson } from '../adversarial/methods';
import { methodArg } from './method_options';

/** The number `--workers N` gives, or undefined without the option (its value is checked later, with the others). */
function givenWorkers(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--workers') return Number(argv[i + 1]);
    if (argv[i].startsWith('--workers=')) return Number(argv[i].slice('--workers='.length));
  }
  return undefined;
}

/**
 * The workers a finetune or pretrain command line will use on the wasm backend: `--workers` if
 * given, else the default above. Reads only the command line and the environment, so the main
 * thread's wasm thread count can follow from it before the backend starts.
 */
export function plannedWorkers(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const given = givenWorkers(argv);
  if (given !== undefined) return Number.isInteger(given) && given >= 1 ? given : 1;
  const requested = backendFromArgs(argv) ?? (env.ADVLM_BACKEND || undefined);
  if (requested !== undefined && parseBackendName(requested) !== 'wasm') return 1;
  let method;
  try {
    method = methodFromJson(methodArg(argv) ?? 'vanilla');
  } catch {
    return 1; // an unknown method: the command says so
  }
  if (method.singleWorker) return 1;
  return env.ADVLM_WASM_THREADS ? parseWasmThreads(env.ADVLM_WASM_THREADS) : defaultWasmThreads(env);
}

/**
 * The wasm threads the main thread should start with: one when workers are the parallelism (the
 * thread count ADVLM_WASM_THREADS asks for then becomes the number of workers), else the backend's
 * own default (undefined).
 */
export function mainWasmThreads(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number | undefined {
  return plannedWorkers(argv, env) > 1 ? 1 : undefined;
}

/** The workers to use once the backend runs: the plan on wasm, one on any other backend unless `--workers` asks. */
export function workersFor(argv: readonly string[], backend: BackendReport | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const given = givenWorkers(argv);
  if (given !== undefined) return given;
  return backend?.name === 'wasm' ? plannedWorkers(argv, env) : 1;
}

/** The line a command prints when it shares its minibatches. */
export function workersLine(workers: number): string {
  return `data-parallel: ${workers} threads share each minibatch (this one and ${workers - 1} worker${workers > 2 ? 's' : ''}, one wasm thread each); --workers 1 turns it off`;
}
