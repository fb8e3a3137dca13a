"""nbgrader configuration for advlm's notebooks (TypeScript, on the project's tslab kernel).

The instructor versions of the exercises are the committed notebooks, notebooks/*.ipynb: answers between
`// BEGIN SOLUTION` and `// END SOLUTION` in answer cells, graded test cells with points, read-only cells,
all marked with nbgrader cell metadata. To release them with nbgrader, copy them into your course's
source/<assignment>/ folder, put this file (or its lines below) in the course directory, and run
`nbgrader generate_assignment <assignment>` there. Without nbgrader, `npm run assignments` writes the same
student versions to assignments/student/ (scripts/assignments.ts does what nbgrader's ClearSolutions and
ClearOutput do, with the stub below).

nbgrader ships code stubs for Python, R, MATLAB, Octave, SAS and Java only, and refuses a notebook whose
kernelspec language has none ("language 'typescript' has not been specified in ClearSolutions.code_stub").
This adds the TypeScript stub: a comment and a thrown "not implemented", so that a graded cell run against an
unanswered exercise fails with that message. nbgrader finds `BEGIN SOLUTION` / `END SOLUTION` anywhere in a
line, so the TypeScript comments `// BEGIN SOLUTION` need no other setting (`### BEGIN SOLUTION` would be a
syntax error in a TypeScript cell).

Autograding on tslab (tslab 1.0.22) works through the project's kernel launcher, scripts/tslab-kernel.js,
which the project-local kernelspec runs: tslab alone reports a failing cell only as text on stderr, with an
error reply that carries no ename/evalue/traceback, and answers "abort" to any request that reaches it within
200 ms of an error, so a graded cell executed right after a failing one could be skipped without output and
get full points. The launcher makes a failing cell publish an `error` output and reply with
ename/evalue/traceback (a thrown Error gives its name and message, a TypeScript error 'TSError' with the
diagnostics), and aborts requests after an error only when the failing request asked for stop_on_error,
which nbgrader's executor does not do (it allows errors), so the next cell runs (test/tslab_kernel.test.ts
checks both with jupyter_client and nbclient). Known limits: grade with a kernelspec named "tslab" that runs
the launcher (`npm run lab -- --register-only` writes it; tslab's own `tslab install` kernelspec has neither
fix); tslab sends no `execute_input`, so nbconvert's executor, which nbgrader uses, leaves the code cells'
execution counts empty; an error that escapes a cell asynchronously (a promise rejected after the cell
finished) is still only printed on stderr, in the output of the cell running then or the last one that
ran, whose reply stays "ok" (nbgrader gives 0 points to a graded cell with stderr output; check such a
result by hand).
"""

c = get_config()  # noqa: F821 (traitlets provides get_config when nbgrader loads this file)

c.ClearSolutions.code_stub = {
    'python': '# YOUR CODE HERE\nraise NotImplementedError()',
    # The same string as CODE_STUB in scripts/assignments.ts (test/assignments.test.ts checks it).
    'typescript': "// YOUR CODE HERE\nthrow new Error('not implemented');",
}
c.ClearSolutions.begin_solution_delimeter = 'BEGIN SOLUTION'
c.ClearSolutions.end_solution_delimeter = 'END SOLUTION'
