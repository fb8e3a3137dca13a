#!/usr/bin/env node
/**
 * Re-executes notebooks in place, for committing them with their outputs:
 *
 *   node scripts/run-notebooks.js [--full] [--timeout SECONDS] [names...]
 *
 * --full sets ADVLM_FULL_RUN=1 (the notebooks' FULL_RUN flag: full-size runs; commit these outputs).
 * names: notebook files or stems (`00_environment`, `notebooks/01_self_attention.ipynb`); default all
 * of notebooks/*.ipynb. Each notebook runs with nbconvert into a temporary folder on the project-local
 * tslab kernel; only when every cell ran cleanly is the notebook replaced (atomically) by the executed
 * copy with clean metadata (no timings, no machine paths). Outputs are kept. Stops at the first failure.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
require('tsx/cjs/api').register();
const { registerKernel } = require('./notebook/kernelspec');
const { executeNotebook } = require('./notebook/execute');
const { cleanNotebook, commitProblems, formatNotebook } = require('./notebook/ipynb');
const { writeFileAtomic } = require('../src/util/atomic');

const USAGE = 'usage: node scripts/run-notebooks.js [--full] [--timeout SECONDS] [notebook names...]';

function parseArgs(argv) {
  const opts = { full: false, timeout: undefined, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--full') opts.full = true;
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v = a === '--timeout' ? argv[++i] : a.slice('--timeout='.length);
      opts.timeout = Number(v);
      if (!Number.isFinite(opts.timeout)) throw new Error(`--timeout needs a number of seconds per cell (0 = none), got ${JSON.stringify(v)}`);
    } else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else opts.names.push(a);
  }
  return opts;
}

function resolveNotebooks(names) {
  const dir = path.join(root, 'notebooks');
  const all = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort() : [];
  if (names.length === 0) return all.map((f) => path.join(dir, f));
  return names.map((n) => {
    const base = path.basename(n).replace(/\.ipynb$/, '');
    const file = path.join(dir, `${base}.ipynb`);
    if (!fs.existsSync(file)) throw new Error(`no notebook ${JSON.stringify(n)} in notebooks/ (have: ${all.join(', ') || 'none'})`);
    return file;
  });
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const files = resolveNotebooks(opts.names);
  if (files.length === 0) throw new Error('no notebooks to run in notebooks/');
  registerKernel(root);
  // Full runs may train for a long time: no per-cell limit unless asked for.
  const cellTimeoutSeconds = opts.timeout ?? (opts.full ? 0 : 600);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-notebooks-'));
  try {
    for (const file of files) {
      const name = path.relative(root, file);
      process.stdout.write(`${name}: running${opts.full ? ' (ADVLM_FULL_RUN=1)' : ''}...`);
      const r = await executeNotebook(file, {
        root,
        outDir,
        fullRun: opts.full,
        cellTimeoutSeconds,
        onCellStart: (i) => process.stdout.write(` ${i}`),
      });
      process.stdout.write(` done in ${r.seconds.toFixed(1)} s\n`);
      if (r.failure || !r.notebook) {
        console.error(`advlm: ${r.failure ?? `${name}: no executed notebook`}\n${name} was left unchanged.`);
        return 1;
      }
      const clean = cleanNotebook(r.notebook, root);
      for (const p of commitProblems(clean, root)) console.warn(`advlm: warning: ${name}: ${p}`);
      writeFileAtomic(file, formatNotebook(clean));
      console.log(`${name}: written with outputs`);
    }
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`advlm: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
