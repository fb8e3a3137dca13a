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

Known limits when autograding on tslab (tslab 1.0.22; not fixed here): tslab reports a failing cell only as
text on stderr, and its error reply carries no ename/evalue/traceback, which nbgrader's Execute preprocessor
reads for a cell without an error output; and it answers "abort" to a request that reaches it within 200 ms of
an error, so a cell executed right after a failing one may be skipped without output (nbgrader would give a
skipped graded cell full points). scripts/notebook/execute.ts and scripts/nbconvert_tslab.py describe both
and how this project's notebook runner handles them; check autograded results by hand until nbgrader has a
workaround for them.
"""

c = get_config()  # noqa: F821 (traitlets provides get_config when nbgrader loads this file)

c.ClearSolutions.code_stub = {
    'python': '# YOUR CODE HERE\nraise NotImplementedError()',
    # The same string as CODE_STUB in scripts/assignments.ts (test/assignments.test.ts checks it).
    'typescript': "// YOUR CODE HERE\nthrow new Error('not implemented');",
}
c.ClearSolutions.begin_solution_delimeter = 'BEGIN SOLUTION'
c.ClearSolutions.end_solution_delimeter = 'END SOLUTION'
