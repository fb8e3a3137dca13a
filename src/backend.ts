/**
 * Picks and initialises the TensorFlow.js backend.
 *
 * Order of preference: tfjs-node-gpu (CUDA), tfjs-node (native CPU), wasm, cpu (pure JS).
 * Override with the environment variable ADVLM_BACKEND or a `--backend` flag on any command.
 * A backend asked for explicitly that cannot load is an error carrying the reason: never a silent
 * fallback. One line reports what was picked and why the better ones were not.
 *
 * The wasm backend lacks kernels that training needs; `registerWasmKernels` fills them in
 * (UnsortedSegmentSum, used by the gradient of tf.gather, i.e. of every embedding lookup).
 * Under Node the wasm backend runs its threaded build on every core (`backend_wasm_threads.ts`);
 * ADVLM_WASM_THREADS=1 asks for the single-threaded build.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './backend_wasm_kernels';
import { parseWasmThreads, setWasmBackendThreaded } from './backend_wasm_threads';

/** The names a user can ask for, best first. */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** npm packages that provide the native backends (both register a tfjs backend named 'tensorflow'). */
const NATIVE_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Aliases a user may type for a backend. */
const ALIASES: Record<string, BackendName> = {
  'tensorflow-gpu': 'tensorflow-gpu', 'tfjs-node-gpu': 'tensorflow-gpu', 'node-gpu': 'tensorflow-gpu', gpu: 'tensorflow-gpu',
  tensorflow: 'tensorflow', 'tfjs-node': 'tensorflow', node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it could not be used (absent when ok). */
  reason?: string;
}

export interface BackendReport {
  /** The backend in use. */
  name: BackendName;
  /** tfjs's own name for it ('tensorflow', 'wasm' or 'cpu'). */
  tfName: string;
  /** Whether the user asked for it (flag or environment) rather than it being picked. */
  requested: boolean;
  /** Every backend tried, in order, with the reason it was not used. */
  attempts: BackendAttempt[];
  /** Threads of the wasm backend's pool (1 for the other backends). */
  threads: number;
  /** Why the wasm backend runs single-threaded although more threads were asked for. */
  threadsNote?: string;
  /** The one-line summary printed at start-up. */
  line: string;
}

let current: BackendReport | undefined;

/** Parses a backend name as a user would type it; throws a helpful error for anything else. */
export function parseBackendName(raw: string): BackendName {
  const name = ALIASES[raw.trim().toLowerCase()];
  if (!name) {
    throw new Error(
      `Unknown backend '${raw}'. Use one of: ${BACKENDS.join(', ')} ` +
        `(set ADVLM_BACKEND or pass --backend NAME; leave both unset to pick the best available).`,
    );
  }
  return name;
}

/** Reads `--backend NAME` or `--backend=NAME` from an argument list, if present. */
export function backendFromArgs(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error('--backend needs a value, e.g. --backend wasm');
      return v;
    }
    if (a.startsWith('--backend=')) return a.slice('--backend='.length);
  }
  return undefined;
}

function errorMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

/** Loads one native package and checks that it really registered the 'tensorflow' backend. */
function loadNative(name: 'tensorflow-gpu' | 'tensorflow'): void {
  const pkg = NATIVE_PACKAGE[name];
  let manifest: { name?: string };
  try {
    manifest = require(`${pkg}/package.json`);
  } catch {
    throw new Error(`${pkg} is not installed`);
  }
  if (manifest.name !== pkg) {
    // danfojs-node's dependency on tfjs-node is overridden with plain tfjs (see package.json).
    throw new Error(`${pkg} is not installed (the module under that name is danfojs-node's alias of ${manifest.name})`);
  }
  try {
    require(pkg);
  } catch (e) {
    throw new Error(`${pkg} is installed but failed to load: ${errorMessage(e)}`);
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    throw new Error(`${pkg} loaded but registered no 'tensorflow' backend`);
  }
}

/** Initialises the wasm backend, threaded when asked for more than one thread, else (or on failure) single-threaded. */
async function tryWasm(threads: number): Promise<{ threads: number; threadsNote?: string }> {
  let threadsNote: string | undefined;
  if (threads > 1) {
    try {
      const got = await setWasmBackendThreaded(threads);
      registerWasmKernels();
      return { threads: got };
    } catch (e) {
      threadsNote = `the threaded build failed (${errorMessage(e)}), running on one thread`;
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    }
  }
  await tryBackend('wasm');
  return { threads: 1, threadsNote };
}

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') loadNative(name);
  const tfName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    throw new Error(`tf.setBackend('${tfName}') failed: ${errorMessage(e)}`);
  }
  if (!ok) throw new Error(`tf.setBackend('${tfName}') could not initialise it`);
  await tf.ready();
  if (name === 'wasm') registerWasmKernels();
}

function tfNameOf(name: BackendName): string {
  return name === 'tensorflow-gpu' ? 'tensorflow' : name;
}

function summarise(r: Omit<BackendReport, 'line'>): string {
  const why = r.attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
  const how = r.requested ? 'requested' : 'best available';
  const threads = r.name === 'wasm' ? `, ${r.threads} thread${r.threads === 1 ? '' : 's'}` : '';
  return (
    `advlm: backend ${r.name} (${how}${threads})` +
    (r.threadsNote ? `; ${r.threadsNote}` : '') +
    (why.length ? `; not used: ${why.join('; ')}` : '')
  );
}

export interface InitBackendOptions {
  /** A backend name; defaults to ADVLM_BACKEND, then to the best available. */
  backend?: string;
  /** Print the one-line summary (default true). */
  log?: boolean;
  /** Threads for the wasm backend; defaults to ADVLM_WASM_THREADS, then to every core. Read once: the first initialisation fixes it. */
  threads?: number;
}

/**
 * Initialises the best available backend, or the one asked for, and returns a report.
 * Calling it again with the same request returns the existing report.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendReport> {
  const raw = options.backend ?? (process.env.ADVLM_BACKEND || undefined);
  const requested = raw !== undefined ? parseBackendName(raw) : undefined;
  if (current && (requested === undefined || requested === current.name) && tf.getBackend() === current.tfName) {
    return current;
  }
  const wantThreads = options.threads ?? parseWasmThreads(process.env.ADVLM_WASM_THREADS);
  const attempts: BackendAttempt[] = [];
  const candidates: BackendName[] = requested ? [requested] : [...BACKENDS];
  for (const name of candidates) {
    try {
      let threads: { threads: number; threadsNote?: string } = { threads: 1 };
      if (name === 'wasm') threads = await tryWasm(wantThreads);
      else await tryBackend(name);
      attempts.push({ name, ok: true });
      const base = { name, tfName: tfNameOf(name), requested: requested !== undefined, attempts, ...threads };
      current = { ...base, line: summarise(base) };
      if (options.log ?? true) console.log(current.line);
      return current;
    } catch (e) {
      attempts.push({ name, ok: false, reason: errorMessage(e) });
    }
  }
  if (requested) {
    const source = options.backend !== undefined ? 'was requested' : 'was requested by ADVLM_BACKEND';
    throw new Error(
      `Backend '${requested}' ${source} but cannot be used: ${attempts[0].reason}. ` +
        `Unset it to pick the best available backend, or choose another of: ${BACKENDS.join(', ')}.` +
        (requested !== 'wasm' && requested !== 'cpu'
          ? ` See the README ('Backends') for installing ${NATIVE_PACKAGE[requested]}.`
          : ''),
    );
  }
  throw new Error(`No TensorFlow.js backend could be initialised: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`);
}

/** The report of the backend in use, if initBackend has run. */
export function backendReport(): BackendReport | undefined {
  return current;
}
