"""nbconvert configuration for running tslab notebooks (used by scripts/notebook/execute.ts).

Passed as `jupyter nbconvert --config scripts/nbconvert_tslab.py --to notebook --execute ...`.
It fills two gaps when nbconvert runs tslab notebooks (nbclient >= 0.6 hooks):

- tslab sends no `execute_input` message, and nbconvert takes a cell's execution count only from
  that message, so executed cells would keep `execution_count: null`. The count from tslab's
  execute reply is copied into the cell instead, as Jupyter's own front ends show it.
- nbconvert writes no notebook when a cell fails. So one JSON line per event is appended to the
  file named by the environment variable ADVLM_NB_REPORT: {"event": "start", "index": i} when a
  cell starts, {"event": "executed", "index": i, "status": "ok" | "error" | "abort"} when it has
  replied, and {"event": "error", "index": i, "outputs": [...]} when it failed, with the cell's
  outputs. The caller then names the failing cell and shows its error text (the `error` output the
  kernel launcher, scripts/tslab-kernel.js, makes tslab publish), and checks that every code cell
  replied "ok" (a kernel answers "abort", which nbconvert accepts silently, to a request it skipped).
"""
import json
import os


def _append(record):
    path = os.environ.get('ADVLM_NB_REPORT')
    if not path:
        return
    with open(path, 'a', encoding='utf-8') as f:
        f.write(json.dumps(record, default=str) + '\n')


def _on_cell_execute(cell=None, cell_index=None, **_):
    _append({'event': 'start', 'index': cell_index})


def _on_cell_executed(cell=None, cell_index=None, execute_reply=None, **_):
    content = (execute_reply or {}).get('content', {})
    status = content.get('status')
    count = content.get('execution_count')
    if cell is not None and status == 'ok' and isinstance(count, int) and cell.get('execution_count') is None:
        cell['execution_count'] = count
    _append({'event': 'executed', 'index': cell_index, 'status': status})


def _on_cell_error(cell=None, cell_index=None, execute_reply=None, **_):
    outputs = list(cell.get('outputs', [])) if cell is not None else []
    _append({'event': 'error', 'index': cell_index, 'outputs': outputs})


c = get_config()  # noqa: F821 (traitlets provides get_config when it loads this file)
c.ExecutePreprocessor.on_cell_execute = _on_cell_execute
c.ExecutePreprocessor.on_cell_executed = _on_cell_executed
c.ExecutePreprocessor.on_cell_error = _on_cell_error
