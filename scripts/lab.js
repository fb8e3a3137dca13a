#!/usr/bin/env node
/**
 * `npm run lab`: registers the tslab kernel for this checkout (project-local, nothing global), then
 * starts JupyterLab, or the classic notebook server if JupyterLab is not installed, on the project
 * root with the kernelspec folder on JUPYTER_PATH.
 *
 *   npm run lab                                  register the kernel, start the server
 *   npm run lab -- --no-browser --port 8890      any other arguments go to the server
 *   npm run lab -- --register-only               only write .jupyter-local/kernels/tslab/kernel.json
 *
 * The kernel (scripts/tslab-kernel.js) starts in the project root, so notebooks import `./src/...`.
 * Jupyter plumbing lives in scripts/notebook/ (TypeScript, loaded here through tsx).
 */
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
require('tsx/cjs/api').register();
const { registerKernel, jupyterEnv, KERNEL_NAME } = require('./notebook/kernelspec');
const { findJupyterServer, jupyterCommand, jupyterVersion, serverArgs, JUPYTER_INSTALL_HINT } = require('./notebook/jupyter');

const USAGE = `usage: npm run lab [-- --register-only | <jupyter server options, e.g. --no-browser --port 8890>]`;

function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return Promise.resolve(0);
  }
  const registerOnly = argv.includes('--register-only');
  const extra = argv.filter((a) => a !== '--register-only');
  const file = registerKernel(root);
  const env = jupyterEnv(root);
  console.log(`advlm: kernel "${KERNEL_NAME}" registered in ${path.relative(root, file)} (JUPYTER_PATH=${env.JUPYTER_PATH})`);
  if (registerOnly) {
    if (extra.length) console.warn(`advlm: --register-only ignores: ${extra.join(' ')}`);
    if (jupyterVersion('nbconvert', env) === undefined) console.warn(`advlm: note: \`${jupyterCommand(env)} nbconvert\` was not found.\n${JUPYTER_INSTALL_HINT}`);
    return Promise.resolve(0);
  }
  const server = findJupyterServer(env);
  if (!server) {
    console.error(`advlm: no Jupyter server found (neither \`${jupyterCommand(env)} lab\` nor \`${jupyterCommand(env)} notebook\` runs).\n${JUPYTER_INSTALL_HINT}`);
    return Promise.resolve(1);
  }
  const args = serverArgs(server, root, extra, typeof process.getuid === 'function' && process.getuid() === 0);
  console.log(`advlm: starting Jupyter ${server.kind} ${server.version}; the notebooks are in notebooks/, the kernel is "${KERNEL_NAME}"`);
  console.log(`advlm: ${jupyterCommand(env)} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(jupyterCommand(env), args, { env, cwd: root, stdio: 'inherit' });
    // Ctrl-C reaches the server directly (same process group); forward a termination request too.
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    process.on('SIGINT', () => {});
    child.on('error', (e) => {
      console.error(`advlm: could not start Jupyter: ${e.message}\n${JUPYTER_INSTALL_HINT}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`advlm: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
