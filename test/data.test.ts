import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { getTask, loadTask, parseGlueTsv, splitFile, TASK_NAMES, TASKS } from '../src/data';

const fixtures = path.join(__dirname, 'fixtures', 'glue');

function counts(labels: number[]): Record<number, number> {
  const c: Record<number, number> = {};
  for (const l of labels) c[l] = (c[l] ?? 0) + 1;
  return c;
}

test('the shipped tasks read with the row and label counts of the files (counted with awk)', () => {
  const expected: [string, string, number, Record<number, number> | null][] = [
    ['SST-2', 'train', 67349, { 0: 29780, 1: 37569 }],
    ['SST-2', 'dev', 872, { 0: 428, 1: 444 }],
    ['CoLA', 'train', 8551, { 0: 2528, 1: 6023 }],
    ['CoLA', 'dev', 1043, { 0: 322, 1: 721 }],
    ['MRPC', 'train', 3667, { 0: 1194, 1: 2473 }],
    ['MRPC', 'dev', 408, { 0: 129, 1: 279 }],
    ['RTE', 'train', 2490, { 0: 1249, 1: 1241 }],
    ['RTE', 'dev', 277, { 0: 146, 1: 131 }],
    ['STS-B', 'train', 5749, null],
    ['STS-B', 'dev', 1500, null],
  ];
  for (const [name, split, n, c] of expected) {
    const ex = loadTask(name, split);
    assert.equal(ex.length, n, `${name} ${split}`);
    if (c) assert.deepEqual(counts(ex.map((e) => e.label)), c, `${name} ${split} labels`);
    const pair = TASKS[name].columns.textB !== undefined;
    for (const e of ex) {
      assert.equal(typeof e.textA, 'string');
      assert.equal(e.textB !== undefined, pair);
    }
  }
  const stsMean = (s: string) => {
    const ex = loadTask('STS-B', s);
    return ex.reduce((a, e) => a + e.label, 0) / ex.length;
  };
  assert.ok(Math.abs(stsMean('train') - 2.700999) < 1e-6);
  assert.ok(Math.abs(stsMean('dev') - 2.363908) < 1e-6);
});

test('texts and labels come from the right columns', () => {
  assert.deepEqual(loadTask('SST-2', 'dev', { limit: 1 }), [{ textA: "it 's a charming and often affecting journey . ", label: 1 }]);
  assert.deepEqual(loadTask('CoLA', 'train', { limit: 1 }), [{ textA: "Our friends won't buy this analysis, let alone the next one we propose.", label: 1 }]);
  const mrpc = loadTask('MRPC', 'train', { limit: 2 }); // the file starts with a byte-order mark
  assert.equal(mrpc[1].label, 0);
  assert.ok(mrpc[0].textA.startsWith('Amrozi accused his brother'));
  assert.ok(mrpc[0].textB!.startsWith('Referring to him as only'));
  const rte = loadTask('RTE', 'train', { limit: 1 })[0];
  assert.deepEqual(rte, { textA: 'No Weapons of Mass Destruction Found in Iraq Yet.', textB: 'Weapons of Mass Destruction Found in Iraq.', label: 1 });
  const sts = loadTask('STS-B', 'dev', { limit: 2 });
  assert.deepEqual(sts[1], { textA: 'A young child is riding a horse.', textB: 'A child is riding a horse.', label: 4.75 });
  const last = loadTask('CoLA', 'dev').at(-1)!; // the file has no final newline
  assert.deepEqual(last, { textA: 'John talked to Bill about himself.', label: 1 });
  assert.equal(loadTask('SST-2', 'train', { limit: 10 }).length, 10);
  assert.equal(loadTask('SST-2', 'train', { limit: 0 }).length, 0);
});

test('MNLI, QNLI and QQP read from files in the GLUE layouts', () => {
  const mnli = loadTask('MNLI', 'train', { dataDir: fixtures });
  assert.deepEqual(mnli.map((e) => e.label), [1, 0, 2]); // contradiction, entailment, neutral
  assert.deepEqual(mnli[0], { textA: 'The cat slept.', textB: 'An animal slept.', label: 1 });
  const matched = loadTask('mnli', 'dev', { dataDir: fixtures });
  assert.equal(matched[0].textA, 'It rained all day (matched).');
  assert.deepEqual(matched.map((e) => e.label), [2, 1]);
  assert.equal(loadTask('MNLI', 'dev_mismatched', { dataDir: fixtures })[0].textA, 'It rained all day (mismatched).');
  assert.deepEqual(loadTask('QNLI', 'dev', { dataDir: fixtures }), [
    { textA: 'What colour is the sky?', textB: 'On a clear day the sky is blue.', label: 0 },
    { textA: 'Who wrote the letter?', textB: 'The letter arrived on Monday.', label: 1 },
  ]);
  const qqp = loadTask('qqp', 'train', { dataDir: fixtures });
  assert.deepEqual(qqp.map((e) => e.label), [1, 0, 1]);
  assert.equal(qqp[2].textB, 'Which bike should a beginner buy?');
});

test('a missing file says where it looked and what to do', () => {
  assert.throws(() => loadTask('MNLI', 'train'), /MNLI train: file not found: .*MNLI.train\.tsv .*does not ship MNLI/);
  assert.throws(() => loadTask('SST-2', 'train', { dataDir: fixtures }), /shipped with advlm/);
});

test('malformed rows are errors naming the file, the line and what was expected', () => {
  const rte = getTask('RTE');
  const head = 'index\tsentence1\tsentence2\tlabel\n';
  assert.throws(() => parseGlueTsv(head + '0\ta\tb\tentailment\n1\ta\tb\n', rte, 'rte.tsv'), /^Error: rte\.tsv:3: expected 4 tab-separated columns \(index, sentence1, sentence2, label\), found 3$/);
  assert.throws(() => parseGlueTsv(head + '0\ta\tb\tyes\n', rte, 'rte.tsv'), /rte\.tsv:2: expected a label in column 'label' that is one of entailment, not_entailment, found 'yes'/);
  assert.throws(() => parseGlueTsv(head + '0\ta\tb\tentailment\n\n1\ta\tb\tentailment\n', rte, 'rte.tsv'), /rte\.tsv:3: expected 4 tab-separated columns/);
  assert.throws(() => parseGlueTsv('sentence\tlabel\n', rte, 'x.tsv'), /x\.tsv:1: header has no column 'sentence1' .*is this a RTE file\?/);
  assert.throws(() => parseGlueTsv('', rte, 'x.tsv'), /empty file/);
  const cola = getTask('CoLA');
  assert.throws(() => parseGlueTsv('gj04\t1\t\tFine.\ngj04\t2\t*\tBad.\n', cola, 'cola.tsv'), /cola\.tsv:2: expected a label in column 'label' that is one of 0, 1, found '2'/);
  assert.throws(() => parseGlueTsv('gj04\t1\tFine.\n', cola, 'cola.tsv'), /cola\.tsv:1: expected 4 tab-separated columns \(source, label, author_label, sentence\), found 3/);
  const sts = getTask('STS-B');
  const sHead = 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n';
  const row = (score: string) => `0\tg\tf\t2012\t1\tn\tn\ta\tb\t${score}\n`;
  assert.equal(parseGlueTsv(sHead + row('3.2'), sts, 's.tsv')[0].label, 3.2);
  assert.throws(() => parseGlueTsv(sHead + row('5.5'), sts, 's.tsv'), /s\.tsv:2: expected a number from 0 to 5 in column 'score', found '5\.5'/);
  assert.throws(() => parseGlueTsv(sHead + row(''), sts, 's.tsv'), /found ''/);
  assert.throws(() => parseGlueTsv(sHead + row('x'), sts, 's.tsv'), /found 'x'/);
  // Windows line ends and a byte-order mark are accepted
  assert.deepEqual(parseGlueTsv('\ufeff' + head.replace('\n', '\r\n') + '0\ta\tb\tnot_entailment\r\n', rte, 'w.tsv'), [{ textA: 'a', textB: 'b', label: 1 }]);
});

test('the task registry: names, labels, metrics, dev split', () => {
  assert.deepEqual(TASK_NAMES, ['SST-2', 'CoLA', 'MRPC', 'RTE', 'STS-B', 'MNLI', 'QNLI', 'QQP', 'IMDB']);
  assert.equal(getTask('sst2').name, 'SST-2');
  assert.equal(getTask('stsb').name, 'STS-B');
  assert.equal(getTask('Sts-B').kind, 'regression');
  assert.throws(() => getTask('wnli'), /unknown task 'wnli'; known tasks: SST-2, CoLA/);
  assert.equal(splitFile(getTask('MNLI'), 'dev'), 'dev_matched.tsv');
  assert.throws(() => splitFile(getTask('RTE'), 'test'), /RTE has no split 'test'; its splits are: dev, train/);
  for (const t of Object.values(TASKS)) {
    assert.equal(t.numLabels, t.kind === 'regression' ? 1 : t.labels.length, t.name);
    assert.equal(t.labelNames.length, t.kind === 'regression' ? 1 : t.labels.length, t.name);
    assert.ok(t.files[t.devSplit], t.name);
    assert.ok(t.metrics.length > 0);
  }
  assert.deepEqual(getTask('CoLA').metrics, ['mcc']);
  assert.deepEqual(getTask('MRPC').metrics, ['f1', 'accuracy']);
  assert.deepEqual(getTask('STS-B').metrics, ['pearson', 'spearman']);
  assert.equal(getTask('MNLI').numLabels, 3);
});

test('task text for task-adaptive pre-training: distinct training texts of both columns, never dev text', async () => {
  const { taskTextDocuments } = await import('../src/data');
  const [mrpc, sst2] = taskTextDocuments(['MRPC', 'SST-2']);
  const train = loadTask('MRPC', 'train');
  assert.equal(mrpc.name, 'MRPC/train');
  assert.deepEqual(mrpc.sentences.slice(0, 2), [train[0].textA, train[0].textB]);
  assert.equal(mrpc.sentences.length, new Set(train.flatMap((e) => [e.textA, e.textB!])).size);
  assert.equal(new Set(mrpc.sentences).size, mrpc.sentences.length);
  const sst2Train = new Set(loadTask('SST-2', 'train').map((e) => e.textA.trim()));
  assert.equal(sst2.sentences.length, sst2Train.size);
  const devOnly = loadTask('SST-2', 'dev').map((e) => e.textA.trim()).filter((t) => !sst2Train.has(t));
  assert.ok(devOnly.length > 800, 'dev sentences are (almost all) not training phrases');
  const inCorpus = new Set(sst2.sentences);
  assert.ok(devOnly.every((t) => !inCorpus.has(t)), 'no dev text in the corpus');
  assert.equal(taskTextDocuments(['SST-2'], { limitLines: 5 })[0].sentences.length, 5);
  assert.throws(() => taskTextDocuments(['NOPE']), /NOPE/);
});
