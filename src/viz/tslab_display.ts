/**
 * Sending one multi-MIME output ("display_data" with several representations) from a tslab
 * kernel.
 *
 * tslab's public API (`import * as tslab from 'tslab'; tslab.display.raw(mime, data)`) sends one
 * MIME type per output, so a plot sent as plotly JSON and as PNG would appear twice. Internally
 * tslab keeps the function that publishes a display_data message for the running cell as
 * `lastWriteDisplayData` in the module tslab/dist/jupyter.js (tslab 1.0.x), set at the start of
 * every cell and called by the public API as `write({data: {[mime]: value}, metadata, transient},
 * update)`. We find that module in Node's module cache (the kernel has loaded it; only the
 * running kernel's copy has the writer set, so a second tslab copy in node_modules is no
 * problem) and call it with the whole bundle. The writer is captured when the display is
 * prepared, so an output that finishes after an `await` still lands in the cell that asked for
 * it.
 *
 * If a future tslab moves or renames it, we fall back to the public API, one MIME type per
 * output (the PNG, or else the richest other one), and say so once.
 */
import * as path from 'path';

/** A Jupyter MIME bundle: MIME type -> value (strings; JSON objects for *+json types). */
export type MimeBundle = Record<string, unknown>;

type Writer = (content: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** Whether this code runs inside a tslab kernel (tslab sets `globalThis.__tslab__`). */
export function inTslab(): boolean {
  return typeof (globalThis as { __tslab__?: unknown }).__tslab__ !== 'undefined';
}

function findWriter(): Writer | undefined {
  const cache = require.cache as NodeJS.Dict<NodeModule>;
  for (const [file, mod] of Object.entries(cache)) {
    if (!mod || path.basename(file) !== 'jupyter.js' || path.basename(path.dirname(file)) !== 'dist') continue;
    if (!file.split(path.sep).includes('tslab')) continue;
    const w = (mod.exports as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
    if (typeof w === 'function') return w as Writer;
  }
  return undefined;
}

let warnedFallback = false;

/** Prefer these, in order, when only one MIME type can be sent. */
const FALLBACK_ORDER = ['image/png', 'text/html', 'image/svg+xml', 'text/markdown', 'text/plain'];

export interface DisplayTarget {
  /** 'bundle': one multi-MIME output; 'single': tslab's public API, one MIME type. */
  mode: 'bundle' | 'single';
  send(data: MimeBundle, metadata?: Record<string, unknown>): void;
}

/**
 * The display target of the cell running now (call this before any `await`).
 * Throws when not inside tslab.
 */
export function displayTarget(): DisplayTarget {
  if (!inTslab()) throw new Error('not running inside a tslab kernel (no globalThis.__tslab__)');
  const writer = findWriter();
  if (writer) {
    return {
      mode: 'bundle',
      send: (data, metadata = {}) => writer({ data, metadata, transient: {} }, false),
    };
  }
  return {
    mode: 'single',
    send: (data) => {
      const tslab = require('tslab') as { display: { raw(mime: string, v: string): void } };
      const mime = FALLBACK_ORDER.find((m) => typeof data[m] === 'string') ?? Object.keys(data)[0];
      if (!warnedFallback) {
        warnedFallback = true;
        console.warn(`advlm viz: tslab's display writer was not found (tslab version changed?); outputs carry one MIME type (${mime}) instead of a bundle`);
      }
      const v = data[mime];
      tslab.display.raw(mime, typeof v === 'string' ? v : JSON.stringify(v));
    },
  };
}
