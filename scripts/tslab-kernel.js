#!/usr/bin/env node
/**
 * Starts tslab's Jupyter kernel with the project root as its working directory.
 *
 * Jupyter starts a kernel in the notebook's folder (notebooks/), but tslab compiles cells and the
 * .ts files they import with rootDir = its working directory, and notebooks import `./src/...`.
 * So this launcher changes to the project root first, then hands its arguments to tslab's own
 * command line: `kernel --config-path <connection file> [--js]`.
 *
 * It also works around a tslab 1.0.22 bug. tslab's TypeScript watch host accepts one pending
 * timer only; when a file is created, deleted or renamed in a folder TypeScript watches (src/,
 * node_modules/: an editor's save, a git checkout, a notebook writing a file there), TypeScript
 * schedules a second timer and every later cell fails with "Unexpected pending rebuildTimer" until
 * the kernel restarts. The launcher gives TypeScript's folder watchers (and its watchers of files
 * under node_modules, which do not change while a kernel runs) an inert watcher instead. Edits to
 * an imported project .ts file are still seen; a module that failed to resolve and was created
 * afterwards needs a kernel restart.
 *
 * And a second gap: tslab loads the .ts modules it compiled by appending ".js" to the import path,
 * so a folder import (`import ... from './src/data'`, meaning src/data/index.ts) fails at run time
 * with "Cannot find module" although it type-checks. The launcher maps a relative import path
 * that names a folder holding index.ts (and no file of that name) to `<folder>/index` where
 * tslab resolves it (its path-join helper, tslab/dist/tspath.js).
 *
 * And a third: tslab sends every Jupyter message with zeromq's `socket.send()` without waiting for
 * the previous send to finish. zeromq 6 defers a write after a burst of immediate ones (so as not
 * to starve the event loop) and throws "Socket is busy writing" at any send made while one is
 * deferred; the exception escapes and the kernel dies. A long cell that prints often (a training
 * loop's progress bar) hits this within minutes. The launcher chains the sends of each socket, so
 * they go out one after another, in order.
 *
 * The project-local kernelspec written by `npm run lab` (scripts/lab.js) runs this file. Plain
 * JavaScript on purpose: no TypeScript loader may be active inside the kernel, tslab compiles
 * TypeScript itself.
 */
'use strict';
const { EventEmitter } = require('events');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const tslabMain = path.join(root, 'node_modules', 'tslab', 'dist', 'main.js');
if (!fs.existsSync(tslabMain)) {
  console.error(`advlm: tslab is not installed in ${path.join(root, 'node_modules')}; run \`npm install\` in the project root first.`);
  process.exit(1);
}

/** A watcher that never fires, for the watches TypeScript must not act on (see above). */
function inertWatcher() {
  const w = new EventEmitter();
  w.close = () => {};
  w.ref = () => w;
  w.unref = () => w;
  return w;
}

const realWatch = fs.watch;
fs.watch = function watch(target, ...rest) {
  const p = String(target);
  const fromTypeScript = /[\\/]@tslab[\\/]typescript-for-tslab[\\/]/.test(new Error().stack || '');
  if (fromTypeScript) {
    let isDir = false;
    try {
      isDir = fs.statSync(p).isDirectory();
    } catch {
      // missing: let TypeScript handle it as it would
    }
    if (isDir || p.split(/[\\/]/).includes('node_modules')) return inertWatcher();
  }
  return realWatch.call(this, target, ...rest);
};

/** Relative import paths naming a folder with an index.ts resolve to that index (see above). */
function resolveFolderImports() {
  const tspath = require(path.join(root, 'node_modules', 'tslab', 'dist', 'tspath.js'));
  const join = tspath.normalizeJoin;
  if (typeof join !== 'function') return; // another tslab version: leave it alone
  tspath.normalizeJoin = function normalizeJoin(...parts) {
    const joined = join(...parts);
    const last = parts[parts.length - 1];
    if (typeof last !== 'string' || !/^\.\.?(\/|$)/.test(last)) return joined;
    try {
      if (fs.statSync(joined).isDirectory() && fs.existsSync(`${joined}/index.ts`) && !fs.existsSync(`${joined}.ts`)) return `${joined}/index`;
    } catch {
      // not a folder: unchanged
    }
    return joined;
  };
}

/** One send at a time per zeromq socket, in call order (see the third gap above). */
function serializeZmqSends() {
  let zmq;
  try {
    zmq = require(require.resolve('zeromq', { paths: [path.dirname(tslabMain)] }));
  } catch {
    return; // tslab will report the missing module itself
  }
  const proto = zmq.Publisher && Object.getPrototypeOf(zmq.Publisher.prototype);
  const desc = proto && Object.getOwnPropertyDescriptor(proto, 'send');
  if (!desc || typeof desc.value !== 'function' || !desc.configurable) return; // another zeromq: leave it alone
  const send = desc.value;
  const tails = new WeakMap(); // socket -> promise of its last queued send
  Object.defineProperty(proto, 'send', {
    ...desc,
    value: function serialSend(...args) {
      const previous = tails.get(this) ?? Promise.resolve();
      const sent = previous.then(() => send.apply(this, args));
      const tail = sent.catch((e) => {
        console.error(`advlm kernel: a Jupyter message could not be sent: ${e && e.message ? e.message : e}`);
      });
      tails.set(this, tail);
      return tail;
    },
  });
}

process.chdir(root);
resolveFolderImports();
serializeZmqSends();
// tslab's command line reads process.argv: [node, tslab, 'kernel', '--config-path', file, ...].
process.argv = [process.argv[0], path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), ...process.argv.slice(2)];
require(tslabMain).main();
