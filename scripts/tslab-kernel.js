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
 * And a fourth: tslab reports a failing cell only by printing the error to stderr, and its
 * execute_reply says `status: 'error'` without the `ename`, `evalue` and `traceback` that Jupyter's
 * messaging spec puts there; no iopub `error` message is published. Front ends then show the
 * error as plain stderr text, and tools that read the error fields (nbclient's CellExecutionError,
 * nbgrader's autograder) see none. The launcher hands tslab's executor a console that keeps the
 * error it would print for the failing cell, and publishes it as an iopub `error` message
 * {ename, evalue, traceback} and in the reply instead: a thrown value gives its `name` and
 * `message` (a thrown non-Error its type and text) and the text tslab printed (util.inspect: the
 * stack and the error's own properties) as traceback lines; TypeScript errors give ename
 * 'TSError', the diagnostics ("line:column - message") as evalue and traceback. Nothing else
 * moves off stderr: errors that escape a cell later (tslab's "UnhandledPromiseRejection:" and
 * "UncaughtException:" lines) and the diagnostics of a `//@module` cell, which succeeds, stay
 * there.
 *
 * And a fifth: after any failing cell tslab answers "abort" to every execute_request that reaches
 * it during the next 200 ms, whatever the request asked (its approximation of "abort the queued
 * requests", https://github.com/yunabe/tslab/issues/19). The spec ties aborting to the failing
 * request's `stop_on_error` (default true): if true, the execute_requests queued behind it are
 * aborted; if false, they run. nbclient (nbconvert --execute, nbgrader's autograder) sends
 * `stop_on_error: false` when errors are allowed and sends each cell as soon as the previous one
 * replied, so under tslab the cell after a failing one was skipped without output. The launcher
 * follows the spec as ipykernel implements it: a failing request with stop_on_error (and not
 * silent) aborts the execute_requests the kernel has received before it reports the error, and it
 * reports the error only after letting the requests already waiting in the shell socket arrive
 * (it waits until 1 ms passes without a new one); requests received after the report run. With
 * stop_on_error false nothing is aborted. Aborted requests still get status "abort", as from tslab.
 *
 * The project-local kernelspec written by `npm run lab` (scripts/lab.js) runs this file. Plain
 * JavaScript on purpose: no TypeScript loader may be active inside the kernel, tslab compiles
 * TypeScript itself.
 */
'use strict';
const { EventEmitter } = require('events');
const fs = require('fs');
const path = require('path');
const util = require('util');

const root = path.resolve(__dirname, '..');
const tslabDist = path.join(root, 'node_modules', 'tslab', 'dist');
const tslabMain = path.join(tslabDist, 'main.js');
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
  const tspath = require(path.join(tslabDist, 'tspath.js'));
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

/** Jupyter's error content {ename, evalue, traceback} for a value a cell threw (see the fourth gap). */
function thrownError(value) {
  try {
    const traceback = util.inspect(value).split('\n');
    if (util.types.isNativeError(value) || value instanceof Error) return { ename: String(value.name || 'Error'), evalue: String(value.message), traceback };
    if (value === null || value === undefined) return { ename: String(value), evalue: String(value), traceback };
    const ename = typeof value === 'object' ? (value.constructor && value.constructor.name) || 'Object' : typeof value;
    return { ename, evalue: typeof value === 'string' ? value : util.inspect(value), traceback };
  } catch {
    return { ename: 'Error', evalue: 'the cell threw a value that cannot be shown', traceback: [] };
  }
}

/** What tslab's executor printed with console.error for a failing cell, as Jupyter's error content. */
function cellError(printed) {
  const thrown = printed.find((args) => args.length === 1); // console.error(e) when running the cell failed
  if (thrown) return thrownError(thrown[0]);
  const diagnostics = printed.map((args) => util.format(...args)); // console.error('%s%d:%d - %s', ...) per TypeScript error
  if (diagnostics.length) return { ename: 'TSError', evalue: diagnostics.join('\n'), traceback: diagnostics };
  return { ename: 'Error', evalue: 'the cell failed', traceback: [] };
}

/** executor -> the error of its last failing cell, taken by the execute handler (fourth gap). */
const cellErrors = new WeakMap();

/** tslab's executor keeps a failing cell's error instead of printing it (fourth gap). */
function keepCellErrors() {
  const executorModule = require(path.join(tslabDist, 'executor.js'));
  const create = executorModule.createExecutor;
  if (typeof create !== 'function') return; // another tslab version: leave it alone
  executorModule.createExecutor = function createExecutor(rootDir, convs, out, ...rest) {
    let printed = null; // the executor's console.error calls while a cell runs
    const error = (...args) => (printed ? printed.push(args) : out.error(...args));
    const executor = create.call(this, rootDir, convs, { ...out, error }, ...rest);
    const execute = executor.execute;
    if (typeof execute !== 'function') return executor;
    executor.execute = async function executeCell(...args) {
      const calls = (printed = []);
      let ok;
      try {
        ok = await execute.apply(this, args);
      } finally {
        printed = null;
        if (ok === false) cellErrors.set(executor, cellError(calls));
        else for (const c of calls) out.error(...c); // a `//@module` cell's diagnostics (it succeeds), or a failure of tslab itself
      }
      return ok;
    };
    return executor;
  };
}

/** Returns once 1 ms has passed without a new execute_request reaching `queue` (at most 1 s): the requests waiting in the socket have arrived. */
async function settle(queue) {
  const until = Date.now() + 1000;
  let seen;
  do {
    seen = queue.received;
    await new Promise((resolve) => setTimeout(resolve, 1));
  } while (queue.received !== seen && Date.now() < until);
}

/** execute_request as the messaging spec says: error content in the reply and on iopub, abort only with stop_on_error (fourth and fifth gaps). */
function followSpecOnErrors() {
  const jupyter = require(path.join(tslabDist, 'jupyter.js'));
  const handler = jupyter.JupyterHandlerImpl && jupyter.JupyterHandlerImpl.prototype;
  const server = jupyter.ZmqServer && jupyter.ZmqServer.prototype;
  if (!handler || !server || typeof handler.handleExecuteImpl !== 'function' || typeof server.handleExecute !== 'function') return; // another tslab version
  const runCell = handler.handleExecuteImpl; // sets the cell's stdout/stderr, counts, executes; throws an ExecutionCount when the cell failed
  const queues = new WeakMap(); // handler -> { received: requests so far, abortThrough: requests numbered up to this are aborted }

  handler.handleExecute = async function handleExecute(req, writeStream, writeDisplayData, publishError = () => {}) {
    let queue = queues.get(this);
    if (!queue) queues.set(this, (queue = { received: 0, abortThrough: 0 }));
    const number = ++queue.received;
    // The task never rejects, so tslab's queue never cancels the tasks behind it on its own.
    return this.execQueue.add(async () => {
      if (number <= queue.abortThrough) return { status: 'abort' };
      let count;
      let error;
      try {
        count = (await runCell.call(this, req, writeStream, writeDisplayData)).count;
      } catch (e) {
        const failed = e && !(e instanceof Error) && typeof e.count === 'number'; // tslab's ExecutionCount
        count = failed ? e.count : this.execCount;
        error = failed ? cellErrors.get(this.executor) || cellError([]) : thrownError(e);
        cellErrors.delete(this.executor);
      }
      if (!error) return { status: 'ok', execution_count: count };
      if (req.stop_on_error !== false && !req.silent) {
        await settle(queue);
        queue.abortThrough = queue.received;
      }
      try {
        publishError(error);
      } catch (e) {
        console.error(`advlm kernel: the error could not be published: ${e && e.message ? e.message : e}`);
      }
      return { status: 'error', execution_count: count, ...error };
    });
  };

  server.handleExecute = async function handleExecute(sock, msg) {
    const send = (socket, msgType, content) => {
      const m = msg.createReply();
      m.header.msg_type = msgType;
      m.content = content;
      m.signAndSend(this.connInfo.key, socket);
    };
    const content = await this.handler.handleExecute(
      msg.content,
      (name, text) => send(this.iopub, 'stream', { name, text }),
      (data, update) => send(this.iopub, update ? 'update_display_data' : 'display_data', data),
      (error) => send(this.iopub, 'error', error),
    );
    send(sock, 'execute_reply', content);
  };
}

process.chdir(root);
resolveFolderImports();
serializeZmqSends();
keepCellErrors();
followSpecOnErrors();
// tslab's command line reads process.argv: [node, tslab, 'kernel', '--config-path', file, ...].
process.argv = [process.argv[0], path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), ...process.argv.slice(2)];
require(tslabMain).main();
