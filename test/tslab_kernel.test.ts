/**
 * The project's tslab kernel (scripts/tslab-kernel.js) against Jupyter's messaging spec, through the
 * project-local kernelspec, driven by jupyter_client and nbclient (Python) as nbgrader and nbconvert
 * drive it: a failing cell publishes an iopub `error` message and replies status "error" with
 * ename/evalue/traceback (tslab alone only prints the error on stderr), and the requests after a
 * failing one run unless the failing request asked for stop_on_error (tslab alone aborts everything
 * that reaches it within 200 ms of an error).
 *
 * Needs Python with jupyter_client and nbclient (Debian: python3-nbclient): the Python that runs the
 * `jupyter` command, else python3.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { jupyterCommand, JUPYTER_INSTALL_HINT } from '../scripts/notebook/jupyter';
import { jupyterEnv, KERNEL_NAME, registerKernel } from '../scripts/notebook/kernelspec';

const root = path.resolve(__dirname, '..');

/** The Python that runs the `jupyter` command (its #! line), else python3: the first that imports jupyter_client and nbclient. */
function jupyterPython(env: NodeJS.ProcessEnv): string | undefined {
  const candidates: string[] = [];
  const cmd = jupyterCommand(env);
  const file = cmd.includes(path.sep) ? cmd : (env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, cmd)).find((f) => fs.existsSync(f));
  if (file) {
    const head = Buffer.alloc(256);
    const fd = fs.openSync(file, 'r');
    const n = fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const m = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(head.subarray(0, n).toString('utf8'));
    if (m) candidates.push(path.basename(m[1]) === 'env' && m[2] ? m[2] : m[1]);
  }
  candidates.push('python3');
  return candidates.find((py) => spawnSync(py, ['-c', 'import jupyter_client, nbclient'], { env }).status === 0);
}

/**
 * Runs the cells below on a fresh kernel and prints, as JSON, each request's reply and iopub
 * messages (status messages left out). `after_reply` sends its second cell the moment the first has
 * replied, as nbclient does; the "queued" pairs are sent at once, the second before the first fails.
 */
const PROBE = String.raw`
import json, queue, sys, time
import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

KERNEL = sys.argv[1]
out = {}
km = KernelManager(kernel_name=KERNEL)
km.start_kernel()
kc = km.client()
kc.start_channels()
try:
    kc.wait_for_ready(timeout=90)

    def collect(msg_ids, replies=None, timeout=60):
        replies, iopub, idle = dict(replies or {}), {m: [] for m in msg_ids}, set()
        deadline = time.time() + timeout
        while (len(replies) < len(msg_ids) or len(idle) < len(msg_ids)) and time.time() < deadline:
            try:
                m = kc.get_shell_msg(timeout=0.05)
                if m['parent_header'].get('msg_id') in iopub:
                    replies[m['parent_header']['msg_id']] = m['content']
            except queue.Empty:
                pass
            while True:
                try:
                    m = kc.get_iopub_msg(timeout=0.01)
                except queue.Empty:
                    break
                p = m['parent_header'].get('msg_id')
                if p not in iopub:
                    continue
                if m['msg_type'] == 'status':
                    if m['content']['execution_state'] == 'idle':
                        idle.add(p)
                else:
                    iopub[p].append({'msg_type': m['msg_type'], 'content': m['content']})
        return [{'reply': replies.get(m), 'iopub': iopub[m]} for m in msg_ids]

    def after_reply(first, second, **kw):
        a = kc.execute(first, **kw)
        while True:
            m = kc.get_shell_msg(timeout=60)
            if m['parent_header'].get('msg_id') == a:
                break
        b = kc.execute(second, **kw)
        return collect([a, b], {a: m['content']})

    out['thrown'] = after_reply("throw new Error('deliberate failure 42');", "console.log('ran after the failure');", stop_on_error=False)
    out['type_error'] = after_reply("const n: number = 'not a number';", "console.log('ran after the type error');", stop_on_error=False)
    a = kc.execute("throw new Error('queued behind');", stop_on_error=False)
    b = kc.execute("console.log('queued and ran');", stop_on_error=False)
    out['queued'] = collect([a, b])
    a = kc.execute("throw new Error('stop here');", stop_on_error=True)
    b = kc.execute("console.log('must be aborted');", stop_on_error=True)
    out['stop_on_error'] = collect([a, b])
    out['after_abort'] = after_reply("console.log('ran after the abort');", "console.log('and the next');", stop_on_error=True)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)

nb = nbformat.v4.new_notebook()
nb.metadata['kernelspec'] = {'name': KERNEL, 'display_name': 'TypeScript (tslab)', 'language': 'typescript'}
nb.cells = [nbformat.v4.new_code_cell("throw new Error('graded cell failed');"), nbformat.v4.new_code_cell("console.log('next cell ran');")]
NotebookClient(nb, kernel_name=KERNEL, allow_errors=True, timeout=60, startup_timeout=90).execute()
out['nbclient'] = [c['outputs'] for c in nb.cells]
print(json.dumps(out))
`;

interface Message {
  msg_type: string;
  content: { name?: string; text?: string; ename?: string; evalue?: string; traceback?: string[] };
}
interface Request {
  reply: { status: string; execution_count?: number; ename?: string; evalue?: string; traceback?: string[] } | null;
  iopub: Message[];
}
interface Output {
  output_type: string;
  name?: string;
  text?: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
type ProbeResult = Record<'thrown' | 'type_error' | 'queued' | 'stop_on_error' | 'after_abort', Request[]> & { nbclient: Output[][] };

let probe: ProbeResult;

before(() => {
  registerKernel(root);
  const env = jupyterEnv(root);
  const python = jupyterPython(env);
  assert.ok(python, `Python with jupyter_client and nbclient is needed to drive the kernel.\n${JUPYTER_INSTALL_HINT}`);
  const r = spawnSync(python, ['-c', PROBE, KERNEL_NAME], { cwd: root, env, encoding: 'utf8', timeout: 150_000 });
  assert.equal(r.status, 0, `the kernel probe failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  probe = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ProbeResult;
});

const errorsOf = (r: Request) => r.iopub.filter((m) => m.msg_type === 'error').map((m) => m.content);
const streamText = (r: Request, name: string) => r.iopub.filter((m) => m.msg_type === 'stream' && m.content.name === name).map((m) => m.content.text).join('');

test('a failing cell publishes an iopub error {ename, evalue, traceback} and replies status "error" with the same fields, not stderr text', () => {
  const [failed] = probe.thrown;
  assert.equal(failed.reply?.status, 'error');
  assert.equal(typeof failed.reply?.execution_count, 'number');
  assert.equal(failed.reply?.ename, 'Error');
  assert.equal(failed.reply?.evalue, 'deliberate failure 42');
  assert.ok(Array.isArray(failed.reply?.traceback) && failed.reply.traceback.every((l) => typeof l === 'string'));
  assert.match(failed.reply.traceback.join('\n'), /Error: deliberate failure 42\n\s+at /);
  const errors = errorsOf(failed);
  assert.equal(errors.length, 1, 'one iopub error message');
  assert.deepEqual(errors[0], { ename: failed.reply.ename, evalue: failed.reply.evalue, traceback: failed.reply.traceback });
  assert.equal(streamText(failed, 'stderr'), '', 'the error is not printed on stderr as well');
});

test('a TypeScript error in a cell is an error named TSError with the diagnostics as its value', () => {
  const [failed] = probe.type_error;
  assert.equal(failed.reply?.status, 'error');
  assert.equal(failed.reply?.ename, 'TSError');
  assert.match(failed.reply?.evalue ?? '', /^1:7 - Type 'string' is not assignable to type 'number'\.$/);
  assert.deepEqual(errorsOf(failed).map((e) => e.ename), ['TSError']);
});

test('without stop_on_error, the cell sent the moment a failing one replied runs, and so does one queued behind it', () => {
  for (const [key, text] of [['thrown', 'ran after the failure'], ['type_error', 'ran after the type error'], ['queued', 'queued and ran']] as const) {
    const [failed, next] = probe[key];
    assert.equal(failed.reply?.status, 'error', key);
    assert.equal(next.reply?.status, 'ok', `${key}: the next request replied ${JSON.stringify(next.reply)}`);
    assert.equal(next.reply?.execution_count, (failed.reply?.execution_count ?? NaN) + 1, key);
    assert.equal(streamText(next, 'stdout'), `${text}\n`, key);
  }
});

test('with stop_on_error, a request queued behind the failing one is aborted, and the requests after the error was reported run', () => {
  const [failed, queued] = probe.stop_on_error;
  assert.equal(failed.reply?.status, 'error');
  assert.deepEqual(queued.reply, { status: 'abort' });
  assert.deepEqual(queued.iopub, []);
  const [first, second] = probe.after_abort;
  assert.equal(first.reply?.status, 'ok');
  assert.equal(streamText(first, 'stdout'), 'ran after the abort\n');
  assert.equal(second.reply?.status, 'ok');
  assert.equal(streamText(second, 'stdout'), 'and the next\n');
});

test('nbclient with allow_errors (as nbgrader autogrades): the failing cell gets an error output, the next cell its output', () => {
  const [failed, next] = probe.nbclient;
  const errors = failed.filter((o) => o.output_type === 'error');
  assert.equal(errors.length, 1, JSON.stringify(failed));
  assert.equal(errors[0].ename, 'Error');
  assert.equal(errors[0].evalue, 'graded cell failed');
  assert.ok(!failed.some((o) => o.output_type === 'stream' && o.name === 'stderr'));
  assert.deepEqual(next.filter((o) => o.output_type === 'stream').map((o) => [o.name, o.text]), [['stdout', 'next cell ran\n']]);
});
