/**
 * The results table (FreeLB Table 1 style: rows = methods, columns = tasks, "median (variance)"
 * over seeds) on danfojs-node: numbers checked by hand, missing runs, the danfo pitfalls it
 * avoids, output formats, and no leaked tensors.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as dfd from 'danfojs-node';
import { danfo, summarizeResults, summaryFrame, tableHtml, tableMarkdown, tableText, tableTsv, showTable, type ResultRow } from '../src/viz';
import { backend, expectNoLeak } from './helpers';

before(backend);

/**
 * By hand:
 *   BERT / SST-2   92, 93, 91, 94, 92.5  -> median 92.5; mean 92.5, squared deviations
 *                  2.25 + 0.25 + 2.25 + 2.25... = (1.5^2 + 0.5^2 + 0 + 0.5^2 + 1.5^2) = 5
 *                  -> sample variance 5/4 = 1.25, population 5/5 = 1
 *   BERT / RTE     66, null, 70, NaN, 68 -> present 66, 70, 68: median 68, mean 68, squared
 *                  deviations 4 + 4 + 0 = 8 -> sample 4, population 8/3; 2 missing
 *   FreeLB / SST-2 93.5 alone           -> median 93.5, sample variance undefined, population 0
 *   FreeLB / RTE   null, NaN            -> no value
 */
const FIXTURE: ResultRow[] = [
  { method: 'BERT', task: 'SST-2', seed: 1, value: 92 },
  { method: 'BERT', task: 'SST-2', seed: 2, value: 93 },
  { method: 'BERT', task: 'SST-2', seed: 3, value: 91 },
  { method: 'BERT', task: 'SST-2', seed: 4, value: 94 },
  { method: 'BERT', task: 'SST-2', seed: 5, value: 92.5 },
  { method: 'BERT', task: 'RTE', seed: 1, value: 66 },
  { method: 'BERT', task: 'RTE', seed: 2, value: null },
  { method: 'BERT', task: 'RTE', seed: 3, value: 70 },
  { method: 'BERT', task: 'RTE', seed: 4, value: NaN },
  { method: 'BERT', task: 'RTE', seed: 5, value: 68 },
  { method: 'FreeLB', task: 'SST-2', seed: 1, value: 93.5 },
  { method: 'FreeLB', task: 'RTE', seed: 1, value: null },
  { method: 'FreeLB', task: 'RTE', seed: 2, value: NaN },
];

test('danfojs-node loads and shares our single tfjs engine', () => {
  assert.equal(dfd.tensorflow.engine(), tf.engine());
  assert.equal(danfo().DataFrame, dfd.DataFrame, 'the lazily loaded module is the same one');
});

test('median and sample variance per method and task, by hand; missing runs excluded and counted', () => {
  const s = summarizeResults(FIXTURE);
  assert.deepEqual(s.methods, ['BERT', 'FreeLB']);
  assert.deepEqual(s.tasks, ['SST-2', 'RTE']);
  const [[bs, br], [fs, fr]] = s.cells;
  assert.equal(bs.median, 92.5);
  assert.ok(Math.abs(bs.variance - 1.25) < 1e-12);
  assert.equal(bs.text, '92.5 (1.25)');
  assert.deepEqual([br.n, br.missing, br.runs, br.median], [3, 2, 5, 68]);
  assert.ok(Math.abs(br.variance - 4) < 1e-12);
  assert.equal(br.text, '68.0 (4.00) [3/5]');
  assert.equal(fs.median, 93.5);
  assert.ok(Number.isNaN(fs.variance), 'sample variance of one run is undefined');
  assert.equal(fs.text, '93.5 (-)');
  assert.equal(fr.n, 0);
  assert.equal(fr.text, '- [0/2]');
  assert.equal(s.missing, 4);
  assert.match(s.note, /sample variance, n - 1/);
  assert.match(s.note, /4 missing runs \(null\/NaN\) excluded/);
});

test('population variance on request; scale; order with an absent task', () => {
  const s = summarizeResults(FIXTURE, { variance: 'population', tasks: ['RTE', 'SST-2', 'MRPC'], scale: 0.01, digits: 3, varianceDigits: 6 });
  const [[br, bs, bm], [, fs]] = s.cells;
  assert.ok(Math.abs(bs.variance - 1 * 1e-4) < 1e-15, 'variance scales by scale^2');
  assert.ok(Math.abs(br.variance - (8 / 3) * 1e-4) < 1e-15);
  assert.equal(fs.variance, 0, 'population variance of one run is 0');
  assert.equal(bs.text, '0.925 (0.000100)');
  assert.equal(bm.text, '-');
  assert.equal(bm.runs, 0);
  assert.match(s.note, /population variance, n/);
});

test('a danfo DataFrame with null and NaN gives exactly the same table as the plain rows', async () => {
  await expectNoLeak(() => {
    const df = new dfd.DataFrame(FIXTURE.map((r) => ({ ...r })));
    const fromFrame = summarizeResults(df);
    const fromRows = summarizeResults(FIXTURE);
    assert.deepEqual(
      fromFrame.cells.flat().map((c) => [c.text, c.n, c.missing, c.median]),
      fromRows.cells.flat().map((c) => [c.text, c.n, c.missing, c.median]),
    );
    const frame = summaryFrame(fromFrame);
    assert.deepEqual(frame.columns, ['SST-2', 'RTE']);
    assert.deepEqual(frame.index, ['BERT', 'FreeLB']);
    assert.deepEqual(frame.values, [['92.5 (1.25)', '68.0 (4.00) [3/5]'], ['93.5 (-)', '- [0/2]']]);
    tableHtml(df);
  }, 'summarizing a danfo DataFrame');
});

test('danfo 1.2 pitfalls that summarizeResults avoids (if this fails, danfo changed: re-check tables.ts)', () => {
  const df = new dfd.DataFrame(FIXTURE.filter((r) => r.method === 'BERT' && r.task === 'RTE').map((r) => ({ ...r })));
  // groupby count counts null and NaN as values: 5, though only 3 runs have one
  const counts = dfd.toJSON(df.groupby(['method']).col(['value']).count()) as { value_count: number }[];
  assert.equal(counts[0].value_count, 5);
  // groupby mean lets one NaN make the whole group NaN
  const means = dfd.toJSON(df.groupby(['method']).col(['value']).mean()) as { value_mean: number }[];
  assert.ok(Number.isNaN(means[0].value_mean));
  // the column tensor reads null as 0 (and is float32)
  const t = df.column('value').tensor;
  const vals = Array.from(t.dataSync());
  t.dispose();
  assert.equal(vals[1], 0);
  // ours: 3 present, 2 missing, median 68
  const s = summarizeResults(df);
  assert.deepEqual([s.cells[0][0].n, s.cells[0][0].missing, s.cells[0][0].median], [3, 2, 68]);
});

test('bad input says what is wrong', () => {
  assert.throws(() => summarizeResults([{ method: 'a', task: 't', seed: 1, value: 1 }, { method: 'a', task: 't', seed: 1, value: 2 }]), /two runs of a on t with seed 1/);
  assert.throws(() => summarizeResults([{ method: 'a', task: 't', value: Infinity }]), /not finite/);
  assert.throws(() => summarizeResults([{ method: 'a', task: 't', value: 'high' as unknown as number }]), /"high" is not a number/);
  assert.throws(() => summarizeResults([{ method: '', task: 't', value: 1 }]), /method must be a non-empty string/);
  assert.throws(() => summarizeResults(new dfd.DataFrame([{ m: 'a', task: 't', value: 1 }])), /needs columns method, task, value/);
  // strings from a CSV: numbers parsed, 'NaN' / '' missing
  const s = summarizeResults([{ method: 'a', task: 't', value: '1.5' as unknown as number }, { method: 'a', task: 't', value: 'NaN' as unknown as number }]);
  assert.equal(s.cells[0][0].text, '1.5 (-) [1/2]');
});

test('HTML, Markdown, TSV and text renderings', () => {
  const s = summarizeResults([...FIXTURE, { method: 'R<i>FT', task: 'SST-2', seed: 1, value: 90 }], { caption: 'GLUE dev' });
  const html = tableHtml(s);
  assert.match(html, /^<table/);
  assert.match(html, /<th[^>]*>SST-2<\/th>/);
  assert.match(html, /R&lt;i&gt;FT/, 'escaped');
  assert.match(html, /68\.0 \(4\.00\) \[3\/5\]/);
  assert.match(html, /<caption[^>]*>GLUE dev<\/caption>/);
  const md = tableMarkdown(s).split('\n');
  assert.equal(md[2], '| method | SST-2 | RTE |');
  assert.equal(md[3], '|:--|--:|--:|');
  assert.equal(md[4], '| BERT | 92.5 (1.25) | 68.0 (4.00) [3/5] |');
  const tsv = tableTsv(s).trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(tsv[0], ['method', 'SST-2', 'RTE']);
  assert.deepEqual(tsv[2], ['FreeLB', '93.5 (-)', '- [0/2]']);
  const long = tableTsv(s, { layout: 'long' }).trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(long[0], ['method', 'task', 'runs', 'n', 'missing', 'median', 'variance']);
  assert.deepEqual(long[2], ['BERT', 'RTE', '5', '3', '2', '68', '4']);
  assert.deepEqual(long[3], ['FreeLB', 'SST-2', '1', '1', '0', '93.5', ''], 'undefined variance is empty');
  const text = tableText(s).split('\n');
  assert.equal(text[0], 'GLUE dev');
  assert.match(text[3], /^BERT\s+92\.5 \(1\.25\)\s+68\.0 \(4\.00\) \[3\/5\]$/);
  const logs: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logs.push(a.join(' '));
  try {
    showTable(FIXTURE);
  } finally {
    console.log = log;
  }
  assert.match(logs.join('\n'), /FreeLB\s+93\.5 \(-\)/, 'outside a notebook the table is printed');
});
