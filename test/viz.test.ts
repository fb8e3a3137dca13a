/**
 * Figure builders (pure functions: data in, plotly figure out), `show` inside and outside a
 * notebook, and the statistics helpers. No browser here: see viz_export.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  accuracyVsEpsFigure,
  adversarialImagesFigure,
  ascentFigure,
  attentionFigure,
  axisTitles,
  describeFigure,
  embeddingFigure,
  figureBundle,
  lossIncreaseHistogram,
  lossLineFigure,
  lossSurfaceFigure,
  median,
  methodComparisonFigure,
  quantile,
  displayFigure,
  show,
  showTable,
  smoothEma,
  spread,
  trainingCurvesFigure,
  variance,
  type Figure,
  type Trace,
} from '../src/viz';
import { exampleAttention, exampleFigures } from '../src/viz/examples';
import { gridCells } from '../src/viz/grid';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

function roundTrips(fig: Figure): void {
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), JSON.parse(JSON.stringify(JSON.parse(JSON.stringify(fig)))));
  assert.ok(Array.isArray(fig.data) && typeof fig.layout === 'object');
  const text = JSON.stringify(fig);
  assert.doesNotMatch(text, /NaN|Infinity/);
}

function ofType(fig: Figure, type: string): Trace[] {
  return fig.data.filter((t) => t.type === type);
}

test('every example figure is JSON, has a title and titled axes', () => {
  const figs = exampleFigures();
  assert.equal(Object.keys(figs).length, 12);
  for (const [name, fig] of Object.entries(figs)) {
    roundTrips(fig);
    assert.ok(fig.data.length > 0, name);
    assert.match(describeFigure(fig), /^Figure "/, name);
    const titles = Object.values(axisTitles(fig));
    assert.ok(titles.length >= 2, `${name}: axis titles ${titles}`);
    for (const t of titles) assert.match(t, /\S/, name);
  }
});

test('training curves: one loss and one metric trace per run, axis titles, default x, EMA smoothing', () => {
  const fig = trainingCurvesFigure(
    [
      { name: 'PGD', loss: [3, 2, null, 1], metric: [0.5, 0.7] },
      { name: 'FreeLB', loss: [2.5, 1.5, 1, 0.8], metric: [0.6, 0.8], metricX: [2, 4] },
    ],
    { metricTitle: 'dev accuracy' },
  );
  const names = fig.data.map((t) => `${t.name}@${t.xaxis}`);
  assert.deepEqual(names, ['PGD@x', 'PGD@x2', 'FreeLB@x', 'FreeLB@x2']);
  assert.deepEqual(fig.data[0].x, [1, 2, 3, 4]);
  assert.deepEqual(fig.data[0].y, [3, 2, null, 1]);
  assert.deepEqual(fig.data[3].x, [2, 4]);
  assert.equal(fig.data[1].showlegend, false, 'a run appears once in the legend');
  assert.deepEqual(axisTitles(fig), { xaxis: 'step', yaxis: 'training loss', xaxis2: 'epoch', yaxis2: 'dev accuracy' });
  // Smoothing, bias-corrected: first value kept, then (0.5*0.5*3 + 0.5*2) / (1 - 0.25) = 2.333...
  const s = smoothEma([3, 2, null, 1], 0.5);
  close(s[0] as number, 3);
  close(s[1] as number, (0.25 * 3 + 0.5 * 2) / 0.75);
  assert.equal(s[2], null);
  const smoothed = trainingCurvesFigure([{ name: 'a', loss: [3, 2, 1] }], { smooth: 0.5 });
  assert.equal(smoothed.data.length, 2, 'raw (faint) + smoothed');
  assert.deepEqual(axisTitles(smoothed), { xaxis: 'step', yaxis: 'training loss' });
  assert.throws(() => trainingCurvesFigure([{ name: 'a', loss: [1, 'x' as unknown as number] }]), /loss\[1\] must be a finite number/);
  assert.throws(() => trainingCurvesFigure([{ name: 'a', loss: [1, 2], lossX: [1] }]), /lossX has 1 entries but runs\[0\]\.loss has 2/);
  assert.throws(() => trainingCurvesFigure([]), /non-empty/);
});

test('attention: a chosen layer/head is one heatmap of that matrix; a grid has one panel per layer x head', () => {
  const tokens = ['[CLS]', 'the', 'cat', 'the', '[SEP]'];
  const att = exampleAttention(3, 4, 7); // T = 7 > 5 tokens: padding is cut off
  const one = attentionFigure(att, tokens, { layer: 2, head: 1 });
  assert.equal(one.data.length, 1);
  assert.equal(one.data[0].type, 'heatmap');
  assert.deepEqual(one.data[0].z, att[2][1].slice(0, 5).map((r) => r.slice(0, 5)));
  const xa = one.layout.xaxis as { ticktext: string[]; tickvals: number[] };
  assert.deepEqual(xa.ticktext, tokens, 'repeated tokens stay separate positions');
  assert.deepEqual(xa.tickvals, [0, 1, 2, 3, 4]);
  assert.equal((one.layout.yaxis as { autorange: string }).autorange, 'reversed', 'first token at the top');
  assert.deepEqual(axisTitles(one), { xaxis: 'key token (attended to)', yaxis: 'query token (attending)' });

  const grid = attentionFigure(att, tokens, { heads: [0, 3] });
  assert.equal(grid.data.length, 6);
  assert.deepEqual(grid.data.map((t) => t.name), ['layer 0 head 0', 'layer 0 head 3', 'layer 1 head 0', 'layer 1 head 3', 'layer 2 head 0', 'layer 2 head 3']);
  assert.deepEqual(new Set(grid.data.map((t) => t.xaxis)).size, 6, 'each panel has its own axes');
  assert.equal(grid.data.filter((t) => t.showscale).length, 1, 'one colour bar');
  assert.ok(grid.data.every((t) => t.zmin === 0 && t.zmax === 1), 'one colour range');
  const titles = axisTitles(grid);
  assert.equal(titles.xaxis5, 'key');
  assert.equal(titles.yaxis, 'query');
  assert.equal((grid.layout.annotations as unknown[]).length, 6, 'a title per panel');

  assert.throws(() => attentionFigure(att, tokens, { layer: 3 }), /layer 3 does not exist: there are 3/);
  assert.throws(() => attentionFigure(att, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], { layer: 0, head: 0 }), /8 tokens given but .* T = 7/);
  assert.throws(() => attentionFigure(exampleAttention(12, 12, 4), ['a', 'b', 'c', 'd']), /144 attention panels/);
  assert.throws(() => attentionFigure([[[[1, 0], [0]]]], ['a', 'b']), /rectangular/);
});

test('subplot grid: domains inside [0, 1], do not overlap, row 0 on top', () => {
  const cells = gridCells(2, 3);
  assert.equal(cells.length, 6);
  for (const c of cells) {
    assert.ok(c.xDomain[0] >= 0 && c.xDomain[1] <= 1 && c.xDomain[0] < c.xDomain[1]);
    assert.ok(c.yDomain[0] >= 0 && c.yDomain[1] <= 1 && c.yDomain[0] < c.yDomain[1]);
  }
  assert.ok(cells[0].xDomain[1] < cells[1].xDomain[0]);
  assert.ok(cells[3].yDomain[1] < cells[0].yDomain[0]);
  assert.equal(cells[0].xref, 'x');
  assert.equal(cells[5].yaxisKey, 'yaxis6');
});

test('embedding: one trace per group, labels as text, variance explained in the axis titles', () => {
  const fig = embeddingFigure(
    { points: [[0, 1], [1, 0], [2, 2]], labels: ['river bank', 'bank loan', 'bank robber'], groups: ['river', 'money', 'money'] },
    { explained: [0.5, 0.25] },
  );
  assert.deepEqual(fig.data.map((t) => t.name), ['river', 'money']);
  assert.deepEqual(fig.data[1].x, [1, 2]);
  assert.deepEqual(fig.data[1].text, ['bank loan', 'bank robber']);
  assert.equal(fig.data[0].mode, 'markers+text');
  assert.deepEqual(axisTitles(fig), { xaxis: 'PC 1 (50.0% of variance)', yaxis: 'PC 2 (25.0% of variance)' });
  const objs = embeddingFigure([{ x: 0, y: 0 }, { x: 1, y: 1 }]);
  assert.equal(objs.data.length, 1);
  assert.throws(() => embeddingFigure({ points: [[0, 1, 2]] }), /must be \[x, y\] \(2-D: project first/);
  assert.throws(() => embeddingFigure({ points: [[0, 1]], labels: ['a', 'b'] }), /labels has 2 entries but points has 1/);
});

test('ascent steps: norm and loss panels, eps drawn, steps from 0', () => {
  const fig = ascentFigure([{ name: 'K=3', norms: [0.1, 0.2, 0.3, 0.3], losses: [1, 1.2, 1.3, 1.35] }], { eps: 0.3 });
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].x, [0, 1, 2, 3]);
  assert.equal(fig.data[1].yaxis, 'y2');
  const shapes = fig.layout.shapes as { y0: number }[];
  assert.equal(shapes[0].y0, 0.3);
  assert.deepEqual(axisTitles(fig), { xaxis: 'ascent step t', yaxis: '||δ||₂', xaxis2: 'ascent step t', yaxis2: 'adversarial loss L(x + δ)' });
  assert.throws(() => ascentFigure([{ name: 'a', norms: [1, 2], losses: [1] }]), /losses has 1 entries but .*norms has 2/);
  assert.throws(() => ascentFigure([{ name: 'a', norms: [1] }], { eps: -1 }), /eps must be a positive radius/);
});

test('loss landscape: a line per direction; contour and surface with z[beta][alpha]', () => {
  const alphas = [-1, 0, 1];
  const line = lossLineFigure(alphas, [1, 0.5, 2]);
  assert.equal(line.data[0].name, 'loss');
  assert.deepEqual(line.data[0].y, [1, 0.5, 2]);
  assert.equal((line.layout.shapes as unknown[]).length, 1, 'alpha = 0 marked');
  const z = [[1, 2, 3], [4, 5, 6]];
  const contour = lossSurfaceFigure(alphas, [0, 1], z);
  assert.deepEqual(ofType(contour, 'contour')[0].z, z);
  assert.deepEqual(axisTitles(contour), { xaxis: 'α (direction 1)', yaxis: 'β (direction 2)' });
  const surface = lossSurfaceFigure(alphas, [0, 1], z, { kind: 'surface', zTitle: 'cross-entropy' });
  assert.equal(surface.data[0].type, 'surface');
  assert.deepEqual(axisTitles(surface), { 'scene.xaxis': 'α (direction 1)', 'scene.yaxis': 'β (direction 2)', 'scene.zaxis': 'cross-entropy' });
  assert.throws(() => lossSurfaceFigure(alphas, [0, 1], [[1, 2], [3, 4]]), /losses must be \[betas.length\]\[alphas.length\] = \[2\]\[3\]/);
  assert.throws(() => lossLineFigure(alphas, [1, 2]), /has 2 entries but alphas has 3/);
});

test('accuracy vs eps: percent, sorted by eps, fractions enforced', () => {
  const fig = accuracyVsEpsFigure([{ name: 'BERT', eps: [0.2, 0, 0.1], accuracy: [0.5, 0.9, 0.75] }]);
  assert.deepEqual(fig.data[0].x, [0, 0.1, 0.2]);
  assert.deepEqual(fig.data[0].y, [90, 75, 50]);
  assert.deepEqual(axisTitles(fig), { xaxis: 'ε (radius of the perturbation ball)', yaxis: 'accuracy under attack (%)' });
  const frac = accuracyVsEpsFigure([{ name: 'm', eps: [0], accuracy: [0.5] }], { percent: false });
  assert.deepEqual(frac.data[0].y, [0.5]);
  assert.equal(axisTitles(frac).yaxis, 'accuracy under attack');
  assert.throws(() => accuracyVsEpsFigure([{ name: 'm', eps: [0], accuracy: [92] }]), /fractions in \[0, 1\]/);
});

test('method comparison: median marker with min..max error bars, missing runs left out', () => {
  const fig = methodComparisonFigure([
    { method: 'BERT', task: 'RTE', values: [1, 10, 2, NaN] },
    { method: 'BERT', task: 'SST-2', values: [5, 7] },
    { method: 'FreeLB', task: 'RTE', values: [3, 4, 5] },
  ]);
  const [bert, bertSeeds, free] = fig.data;
  assert.equal(bert.name, 'BERT');
  assert.deepEqual(bert.y, [2, 6]);
  const err = bert.error_y as { array: number[]; arrayminus: number[] };
  assert.deepEqual(err.array, [8, 1]);
  assert.deepEqual(err.arrayminus, [1, 1]);
  assert.deepEqual(bertSeeds.y, [1, 10, 2, 5, 7], 'each present seed drawn');
  assert.deepEqual(free.y, [4]);
  assert.match(String((bert.text as string[])[0]), /over 3 seeds \(1 missing\)/);
  assert.deepEqual((fig.layout.xaxis as { ticktext: string[] }).ticktext, ['RTE', 'SST-2']);
  assert.deepEqual(axisTitles(fig), { xaxis: 'task', yaxis: 'dev score' });
  const iqr = methodComparisonFigure([{ method: 'a', task: 't', values: [1, 2, 3, 4, 5] }], { spread: 'iqr' });
  const e = iqr.data[0].error_y as { array: number[]; arrayminus: number[] };
  assert.deepEqual([e.arrayminus[0], e.array[0]], [1, 1], 'q1 = 2, q3 = 4 around the median 3');
  assert.throws(() => methodComparisonFigure([{ method: 'a', task: 't', values: [1] }, { method: 'a', task: 't', values: [2] }]), /two entries for method 'a' on task 't'/);
});

test('loss-increase histogram: overlaid, shared bins over the pooled range, medians marked', () => {
  const fig = lossIncreaseHistogram([
    { name: 'BERT', values: [0, 1, 2, 3, null] },
    { name: 'FreeLB', values: [0, 0.5, 1] },
  ], { bins: 6 });
  assert.equal(fig.layout.barmode, 'overlay');
  assert.deepEqual(fig.data.map((t) => t.name), ['BERT (n = 4)', 'FreeLB (n = 3)']);
  assert.deepEqual(fig.data[0].xbins, fig.data[1].xbins);
  const bins = fig.data[0].xbins as { start: number; size: number };
  assert.equal(bins.start, 0);
  close(bins.size, 0.5);
  const shapes = fig.layout.shapes as { x0: number }[];
  assert.deepEqual(shapes.map((s) => s.x0), [1.5, 0.5]);
  assert.deepEqual(axisTitles(fig), { xaxis: 'loss increase L(x + δ) − L(x)', yaxis: 'examples' });
  assert.equal(axisTitles(lossIncreaseHistogram([{ name: 'a', values: [1] }], { histnorm: 'percent' })).yaxis, 'examples (%)');
});

test('adversarial images: 64 pixels become 8x8, perturbation = adversarial - original, captions shown', () => {
  const original = Array.from({ length: 64 }, (_, i) => i % 17);
  const adversarial = original.map((v, i) => v + (i % 2 ? 1 : -1));
  const fig = adversarialImagesFigure([
    { original, adversarial, captions: { original: 'pred 3 (97%)', adversarial: 'pred 8 (55%)' } },
    { original, adversarial },
  ]);
  assert.equal(fig.data.length, 6);
  const z0 = fig.data[0].z as number[][];
  assert.equal(z0.length, 8);
  assert.deepEqual(z0[1], original.slice(8, 16));
  const pert = fig.data[1].z as number[][];
  assert.equal(pert[0][0], -1);
  assert.equal(pert[0][1], 1);
  assert.equal(fig.data[1].zmin, -1, 'perturbation scale symmetric around 0');
  const notes = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.ok(notes.some((t) => t.includes('pred 3 (97%)') && t.includes('original')));
  assert.ok(notes.some((t) => t.includes('pred 8 (55%)')));
  const titles = axisTitles(fig);
  assert.equal(titles.xaxis4, 'pixel column');
  assert.equal(titles.yaxis, 'pixel row');
  const two = adversarialImagesFigure([{ original: [[0, 1], [2, 3]], adversarial: [[1, 1], [2, 2]] }], { showPerturbation: false });
  assert.equal(two.data.length, 2);
  assert.throws(() => adversarialImagesFigure([{ original: [1, 2, 3], adversarial: [1, 2, 3] }]), /3 pixels, which is not a square image/);
  const rect = adversarialImagesFigure([{ original: [1, 2, 3, 4, 5, 6], adversarial: [1, 2, 3, 4, 5, 6] }], { shape: [2, 3] });
  assert.deepEqual(rect.data[0].z, [[1, 2, 3], [4, 5, 6]]);
});

test('statistics: median, quantile, sample and population variance against hand values', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  close(quantile([1, 2, 3, 4], 0.25), 1.75);
  // [1, 2, 4]: mean 7/3, squared deviations 16/9 + 1/9 + 25/9 = 42/9
  close(variance([1, 2, 4], 'sample'), 42 / 9 / 2);
  close(variance([1, 2, 4], 'population'), 42 / 9 / 3);
  assert.ok(Number.isNaN(variance([5], 'sample')));
  assert.equal(variance([5], 'population'), 0);
  // Two-pass variance stays exact far from zero (a naive sum-of-squares would lose it).
  close(variance([1e9 + 1, 1e9 + 2, 1e9 + 4], 'sample'), 7 / 3, 1e-6);
  const s = spread([1, null, 2, NaN, 4]);
  assert.equal(s.n, 3);
  assert.equal(s.missing, 2);
  assert.equal(s.median, 2);
  assert.throws(() => spread([1, Infinity]), /values\[1\] is Infinity/);
});

test('show outside a notebook writes an interactive HTML file and prints its description', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-viz-test-'));
  const saved = process.env.ADVLM_FIGURE_DIR;
  process.env.ADVLM_FIGURE_DIR = dir;
  const logs: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logs.push(a.join(' '));
  try {
    const r = await displayFigure(lossLineFigure([0, 1], [1, 2], { title: 'A line' }));
    assert.equal(r.mode, 'console');
    assert.ok(r.file && r.file.startsWith(dir));
    const html = fs.readFileSync(r.file!, 'utf8');
    assert.match(html, /plotly\.js-dist\/plotly\.js/);
    assert.match(html, /"A line"/);
    assert.match(logs.join('\n'), /Figure "A line": 1 trace/);
  } finally {
    console.log = log;
    if (saved === undefined) delete process.env.ADVLM_FIGURE_DIR;
    else process.env.ADVLM_FIGURE_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Pretends to be a tslab kernel: globalThis.__tslab__ and tslab's display writer in the module cache. */
function fakeTslab(): { sent: { data: Record<string, unknown>; metadata: Record<string, unknown> }[]; restore(): void } {
  const sent: { data: Record<string, unknown>; metadata: Record<string, unknown> }[] = [];
  const file = path.join(os.tmpdir(), 'fake', 'node_modules', 'tslab', 'dist', 'jupyter.js');
  const mod = { id: file, filename: file, loaded: true, exports: { lastWriteDisplayData: (c: { data: Record<string, unknown>; metadata: Record<string, unknown> }, update: boolean) => { assert.equal(update, false); sent.push(c); } } };
  (require.cache as Record<string, unknown>)[file] = mod;
  (globalThis as { __tslab__?: unknown }).__tslab__ = {};
  return {
    sent,
    restore() {
      delete (require.cache as Record<string, unknown>)[file];
      delete (globalThis as { __tslab__?: unknown }).__tslab__;
    },
  };
}

test('show in a (simulated) tslab kernel sends ONE output with plotly JSON + text/plain (+ html on request)', async () => {
  const fake = fakeTslab();
  try {
    const fig = lossLineFigure([0, 1], [1, 2], { title: 'Bundle' });
    const r = await displayFigure(fig, { png: false });
    assert.equal(r.mode, 'bundle');
    assert.equal(fake.sent.length, 1);
    assert.deepEqual(Object.keys(fake.sent[0].data), ['application/vnd.plotly.v1+json', 'text/plain']);
    const p = fake.sent[0].data['application/vnd.plotly.v1+json'] as Figure;
    assert.deepEqual(p.data, fig.data, 'plotly JSON is an object, not a string');
    assert.match(String(fake.sent[0].data['text/plain']), /Figure "Bundle"/);
    await show(fig, { png: false, html: true });
    await show(fig, { png: false, html: true });
    const [first, second] = [fake.sent[1].data['text/html'], fake.sent[2].data['text/html']] as string[];
    assert.ok(first.length > 1e6 && first.includes('plotly.js v'), 'plotly.js inlined the first time');
    assert.ok(second.length < 1e5 && second.includes('.newPlot('), 'later outputs reuse it');
    await show(fig, { png: false, html: 'inline' });
    assert.ok((fake.sent[3].data['text/html'] as string).length > 1e6);
    showTable([{ method: 'a', task: 't', value: 1 }]);
    assert.deepEqual(Object.keys(fake.sent[4].data), ['text/html', 'text/plain']);
  } finally {
    fake.restore();
  }
});

test('if tslab ever stops exposing its display writer, show falls back to one MIME type per output', async () => {
  (globalThis as { __tslab__?: unknown }).__tslab__ = {};
  const tslabFile = require.resolve('tslab');
  const sent: [string, string][] = [];
  (require.cache as Record<string, unknown>)[tslabFile] = { id: tslabFile, filename: tslabFile, loaded: true, exports: { display: { raw: (mime: string, v: string) => void sent.push([mime, v]) } } };
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  try {
    const r = await displayFigure(lossLineFigure([0, 1], [1, 2]), { png: false, html: 'inline' });
    assert.equal(r.mode, 'single');
    assert.equal(sent.length, 1);
    assert.equal(sent[0][0], 'text/html', 'the richest representation without a PNG');
    showTable([{ method: 'a', task: 't', value: 1 }]);
    assert.equal(sent[1][0], 'text/html');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /display writer was not found/);
  } finally {
    console.warn = warn;
    delete (require.cache as Record<string, unknown>)[tslabFile];
    delete (globalThis as { __tslab__?: unknown }).__tslab__;
  }
});

test('figureBundle puts the PNG in base64', () => {
  const png = Buffer.from([137, 80, 78, 71]);
  const b = figureBundle(lossLineFigure([0, 1], [1, 2]), { png });
  assert.equal(b['image/png'], png.toString('base64'));
  assert.deepEqual(Object.keys(b), ['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
});
