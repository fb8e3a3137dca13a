import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TINY_CONFIGS, backend, expectNoLeak, maxAbsDiff, tinyModel } from './helpers';
import { BertConfig, BertParams, disposeParams, passCounts, saveCheckpoint } from '../src/model';
import { loadTokenizer } from '../src/tokenizer';
import type { Example } from '../src/data/glue';
import {
  ANCHOR_LOSS_THRESHOLD, EmbeddingAttackRecord, accuracyUnderPgd, accuracyWithInterval, embeddingNorms, fgmNeighbours, fractionTrue, medianEmbeddingNorm,
  pgdMaxLoss, randomDirection, randomPointInBall, randomSigns, runEmbeddingAttack, selectAnchorEps, summarizeEmbeddingAttack, worstOverBudgets,
} from '../src/attacks';

// The tokenizer fixture has 16 word pieces: [PAD] [UNK] [CLS] [SEP] [MASK] un ##aff ##able a ##a the . ##s runner run ##ner
const TINY: BertConfig = { ...TINY_CONFIGS.small, vocabSize: 16 };
const VOCAB = path.join(__dirname, 'fixtures', 'tiny-vocab.txt');

/** A random tiny classifier with scaled-up embeddings and head, so its losses are far from log 2 and vary. */
function model(seed = 5, scale = 3): BertParams {
  const p = tinyModel({ config: TINY, numLabels: 2, seed });
  p.embeddings.word.assign(tf.tidy(() => tf.mul(p.embeddings.word, 30)));
  p.classifier!.weight.assign(tf.tidy(() => tf.mul(p.classifier!.weight, scale)));
  return p;
}

function batch() {
  return {
    inputIds: tf.tensor2d([[2, 8, 10, 13, 11, 3], [2, 14, 9, 3, 0, 0], [2, 5, 6, 7, 3, 0]], undefined, 'int32'), // [3, 6]
    tokenTypeIds: tf.zeros([3, 6], 'int32') as tf.Tensor2D, // [3, 6]
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]]), // [3, 6]
    labels: tf.tensor1d([0, 1, 1], 'int32'), // [3]
  };
}

const EXAMPLES: Example[] = [
  { textA: 'the runner', label: 0 },
  { textA: 'unaffable a the run', label: 1 },
  { textA: 'run', label: 1 },
  { textA: 'a runner runs the a', label: 0 },
  { textA: 'the', label: 1 },
  { textA: 'runner runner', label: 0 },
  { textA: 'a a a', label: 1 },
  { textA: 'unaffable', label: 0 },
];

test("PGD: the increase is at least the random direction's and grows with eps", async () => {
  await backend();
  const p = model();
  const b = batch();
  const eps = [0.1, 0.4, 1.6]; // below saturation: the pooler's tanh bounds the logits, so the loss is bounded
  const runs = eps.map((e) => pgdMaxLoss(p, b, { eps: e, steps: 15, restarts: 2, tol: 0, patience: 0, seed: 3 }));
  for (const r of runs) {
    r.increase.forEach((inc, i) => {
      assert.ok(inc > 0, `eps ${r.eps} example ${i}: PGD increase ${inc} is not positive`);
      assert.ok(inc >= r.randomIncrease![i], `eps ${r.eps} example ${i}: PGD ${inc} < random ${r.randomIncrease![i]}`);
    });
  }
  for (let k = 1; k < eps.length; k++) {
    runs[k].increase.forEach((inc, i) => assert.ok(inc > runs[k - 1].increase[i], `example ${i}: increase at eps ${eps[k]} (${inc}) not above eps ${eps[k - 1]} (${runs[k - 1].increase[i]})`));
  }
  // the clean loss does not depend on eps; eps 0 gives no increase
  assert.deepEqual(runs[0].cleanLoss, runs[2].cleanLoss);
  const zero = pgdMaxLoss(p, b, { eps: 0, steps: 5, restarts: 1, tol: 0, patience: 0, seed: 3 });
  zero.increase.forEach((v) => assert.equal(v, 0));
  tf.dispose(Object.values(b));
  disposeParams(p);
});

test('PGD: every delta is within its eps and zero on padding; steps through pgdAscent, early stop', async () => {
  await backend();
  const p = model();
  const b = batch();
  for (const e of [0.3, 3]) {
    const before = passCounts();
    const r = pgdMaxLoss(p, b, { eps: e, steps: 6, restarts: 2, tol: 0, patience: 0, seed: 1, returnDelta: true });
    const after = passCounts();
    // 6 steps x 2 restarts, each one backward to delta only (pgdAscent); no parameter backward
    assert.equal(after.inputBackward - before.inputBackward, 12);
    assert.equal(after.paramBackward - before.paramBackward, 0);
    assert.deepEqual(r.stepsTaken, [6, 6]);
    const d = r.delta!.arraySync() as number[][][];
    const mask = b.attentionMask.arraySync() as number[][];
    d.forEach((ex, i) => {
      const norm = Math.sqrt(ex.flat().reduce((s, v) => s + v * v, 0));
      assert.ok(norm <= e * (1 + 1e-5), `example ${i}: ||delta|| = ${norm} > eps ${e}`);
      assert.ok(Math.abs(norm - r.deltaNorm[i]) < 1e-4 * e, 'deltaNorm reports the returned delta');
      ex.forEach((row, t) => {
        if (mask[i][t] === 0) row.forEach((v) => assert.ok(v === 0, `example ${i} moved padding position ${t}`));
      });
    });
    r.delta!.dispose();
  }
  // frozen [CLS]/[SEP] never move
  const f = pgdMaxLoss(p, b, { eps: 1, steps: 3, restarts: 1, tol: 0, patience: 0, seed: 1, frozen: 'cls-sep', returnDelta: true });
  const d = f.delta!.arraySync() as number[][][];
  [[0, 5], [0, 3], [0, 4]].forEach(([cls, sep], i) => {
    d[i][cls].forEach((v) => assert.ok(v === 0));
    d[i][sep].forEach((v) => assert.ok(v === 0));
  });
  f.delta!.dispose();
  // a huge tolerance stops every restart after `patience` + 1 steps
  const early = pgdMaxLoss(p, b, { eps: 1, steps: 50, restarts: 2, tol: 1e9, patience: 3, seed: 1 });
  assert.deepEqual(early.stepsTaken, [4, 4]);
  tf.dispose(Object.values(b));
  disposeParams(p);
});

test("the anchor's radius rule on a hand-checkable case", () => {
  const T = ANCHOR_LOSS_THRESHOLD;
  assert.ok(Math.abs(T - -Math.log(0.5)) < 1e-15);
  const maxLoss = [
    [0.1, 0.3, 0.6, 0.9, 2.0], // stays below up to 0.6 -> index 2
    [0.1, 0.2, 0.3, 0.4, 0.5], // always below -> the largest, 4
    [0.8, 0.1, 0.1, 0.1, 0.1], // above at the smallest radius -> null
    [0.1, 0.9, 0.2, 0.3, 0.4], // above at index 1, below again later: "stays" -> 0
    [0.1, 0.2, 0.3, 0.4, 0.5], // wrong clean -> null
    [0.1, T, 0.7, 0.7, 0.7], // exactly at the threshold counts as below -> 1
  ];
  assert.deepEqual(selectAnchorEps(maxLoss, [true, true, true, true, false, true]), [2, 4, null, 0, null, 1]);
  assert.throws(() => selectAnchorEps(maxLoss, [true]), /6 rows of losses for 1 examples/);
});

test('the median embedding norm against a hand computation', async () => {
  await backend();
  const tok = loadTokenizer(VOCAB);
  const p = model();
  const E = p.embeddings.word.arraySync() as number[][];
  const examples = EXAMPLES.slice(0, 5);
  const sq = (id: number) => E[id].reduce((a, v) => a + v * v, 0);
  const hand = examples.map((e) => Math.sqrt([tok.clsId, ...tok.tokenIds(e.textA), tok.sepId].reduce((s, id) => s + sq(id), 0)));
  const got = await expectNoLeak(() => embeddingNorms(p, tok, examples, { batchSize: 2 }), 'embeddingNorms');
  got.forEach((v, i) => assert.ok(Math.abs(v - hand[i]) < 1e-4 * hand[i], `example ${i}: ${v} vs ${hand[i]}`));
  const sorted = [...hand].sort((a, b) => a - b);
  const m = medianEmbeddingNorm(p, tok, examples, { batchSize: 3 });
  assert.ok(Math.abs(m - sorted[2]) < 1e-4 * sorted[2], `median ${m} vs ${sorted[2]}`);
  // with [CLS]/[SEP] frozen only the words count
  const words = examples.map((e) => Math.sqrt(tok.tokenIds(e.textA).reduce((s, id) => s + sq(id), 0)));
  embeddingNorms(p, tok, examples, { frozen: 'cls-sep' }).forEach((v, i) => assert.ok(Math.abs(v - words[i]) < 1e-4 * words[i]));
  assert.throws(() => medianEmbeddingNorm(p, tok, []), /at least one example/);
  disposeParams(p);
});

function record(index: number, o: Partial<EmbeddingAttackRecord>): EmbeddingAttackRecord {
  return {
    index, label: 0, cleanLoss: 0, cleanCorrect: true, epsIndex: null, eps: null, rho: null, maxLoss: null, increase: null, randomIncrease: null,
    maxLossByEps: [0, 0], randomIncreaseByEps: [0, 0], correctUnderPgd: [true, true], correctUnderRandom: [true, true], deltaNorm: [0, 0], stepsTaken: [[1], [1]],
    ...o,
  };
}

test('M-Inc, N-Loss and accuracies from a fixture of records', () => {
  const records = [
    record(0, { cleanLoss: 0.1, epsIndex: 0, increase: 0.01, randomIncrease: 0.001, correctUnderPgd: [true, false], correctUnderRandom: [true, true] }),
    record(1, { cleanLoss: 0.3, epsIndex: 1, increase: 0.05, randomIncrease: 0.002, correctUnderPgd: [true, true], correctUnderRandom: [true, true] }),
    record(2, { cleanLoss: 0.2, epsIndex: 1, increase: 0.02, randomIncrease: 0.004, correctUnderPgd: [false, false], correctUnderRandom: [true, false] }),
    record(3, { cleanLoss: 0.9, cleanCorrect: false, correctUnderPgd: [false, false], correctUnderRandom: [false, false] }), // anchor wrong
    record(4, { cleanLoss: 0.6, epsIndex: null }), // no radius: left out
  ];
  const s = summarizeEmbeddingAttack(records, [0.5, 1], [0.2, 0.4], [true, true, true, false, true]);
  assert.equal(s.examples, 5);
  assert.equal(s.kept, 3);
  assert.equal(s.anchorWrong, 1);
  assert.equal(s.noRadius, 1);
  assert.equal(s.mInc, 0.02); // median of 0.01, 0.05, 0.02
  assert.equal(s.nLoss, 0.2); // median of 0.1, 0.3, 0.2 (not 0.6 or 0.9: left out)
  assert.equal(s.mIncRandom, 0.002);
  assert.deepEqual(s.radiusCounts, [1, 2]);
  assert.equal(s.clean.accuracy, 0.8);
  assert.equal(s.accuracy[0].pgd.accuracy, 0.6);
  assert.equal(s.accuracy[1].pgd.accuracy, 0.4);
  assert.equal(s.accuracy[1].random.accuracy, 0.6);
  assert.equal(s.accuracy[1].eps, 0.4);
  // interval: 0.4 +- t_{0.975, 4} * sd / sqrt(5), sd of [1,1,0,0,0] = sqrt(0.3)
  const half = 2.7764451051977987 * Math.sqrt(0.3 / 5);
  assert.ok(Math.abs(s.accuracy[1].pgd.interval[0] - Math.max(0, 0.4 - half)) < 1e-9);
  assert.ok(Math.abs(s.accuracy[1].pgd.interval[1] - Math.min(1, 0.4 + half)) < 1e-9);
  assert.throws(() => summarizeEmbeddingAttack(records, [0.5, 1, 2], [0.2, 0.4, 0.8]), /outcomes for 2 radii, the grid has 3/);
});

test('worst over budgets, accuracy intervals and fractions', () => {
  const correct = [
    [true, true, true, false],
    [true, false, true, false],
    [false, true, true, true],
  ];
  assert.deepEqual(worstOverBudgets(correct, [0, 0.1, 0.2]), [
    [true, true, true, false],
    [true, false, true, false],
    [false, false, true, false],
  ]);
  assert.throws(() => worstOverBudgets(correct, [0, 0.2, 0.1]), /ascending/);
  assert.throws(() => worstOverBudgets([[true], [true, false]]), /budget 1 has 2 examples/);
  assert.equal(fractionTrue([true, false, false, true]), 0.5);
  const a = accuracyWithInterval([true, true, true, true]);
  assert.deepEqual(a.interval, [1, 1]);
  assert.ok(Number.isNaN(accuracyWithInterval([]).accuracy));
});

test('random controls: direction of the asked norm, zero on padding; uniform point in the ball; random signs', async () => {
  await backend();
  const mask = tf.tensor2d([[1, 1, 0], [1, 0, 0]]); // [2, 3]
  await expectNoLeak(() => randomDirection([2, 3, 4], [2, 0.5], { mask, seed: 4 }).dispose(), 'randomDirection');
  await expectNoLeak(() => randomPointInBall([2, 3, 4], 1, { mask, seed: 4 }).dispose(), 'randomPointInBall');
  const d = randomDirection([2, 3, 4], [2, 0.5], { mask, seed: 4 });
  const v = d.arraySync() as number[][][];
  [2, 0.5].forEach((want, i) => assert.ok(Math.abs(Math.sqrt(v[i].flat().reduce((s, x) => s + x * x, 0)) - want) < 1e-5));
  v[0][2].forEach((x) => assert.ok(x === 0, `padding moved: ${x}`));
  v[1][1].concat(v[1][2]).forEach((x) => assert.ok(x === 0, `padding moved: ${x}`));
  const again = randomDirection([2, 3, 4], [2, 0.5], { mask, seed: 4 });
  const other = randomDirection([2, 3, 4], [2, 0.5], { mask, seed: 5 });
  const [same, differ] = [maxAbsDiff(d, again), maxAbsDiff(d, other)];
  assert.equal(same, 0, 'same seed, same direction');
  assert.ok(differ > 0.01, 'another seed, another direction');
  tf.dispose([d, again, other]);
  const ball = randomPointInBall([2, 3, 4], 1.5, { mask, seed: 2 });
  const norms = tf.tidy(() => tf.norm(tf.reshape(ball, [2, -1]), 'euclidean', 1).arraySync() as number[]);
  norms.forEach((nm) => assert.ok(nm <= 1.5 + 1e-6 && nm > 0));
  ball.dispose();
  assert.throws(() => randomDirection([2, 3, 4], [1]), /1 values for 2 examples/);
  // random signs: the notebook's formula, clipped
  const x = tf.tensor2d([[0, 0.5, 1, 0.2]]);
  const r = randomSigns(x, 0.3, { seed: 1, clip: [0, 1] });
  const ref = tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(tf.sign(tf.randomUniform(x.shape, -1, 1, 'float32', 1)), 0.3)), 0, 1));
  assert.deepEqual(Array.from(r.dataSync()), Array.from(ref.dataSync()));
  tf.dispose([x, r, ref, mask]);
});

test('fgmNeighbours reports the moved tokens only, per sentence', async () => {
  await backend();
  const tok = loadTokenizer(VOCAB);
  const p = model();
  const rows = await expectNoLeak(() => fgmNeighbours(p, tok, EXAMPLES.slice(0, 5), { eps: 5, frozenIds: [tok.clsId, tok.sepId], k: 2, batchSize: 2 }), 'fgmNeighbours');
  assert.equal(rows.length, 5);
  rows.forEach((r, i) => {
    assert.deepEqual(r.tokens.map((t) => t.id), tok.tokenIds(EXAMPLES[i].textA), `sentence ${i}: the words, without [CLS]/[SEP]`);
    r.tokens.forEach((t) => assert.equal(t.nearest.length, 2));
  });
  disposeParams(p);
});

test('pgdMaxLoss leaves no tensors behind and checks its options', async () => {
  await backend();
  const p = tinyModel();
  const b = {
    inputIds: tf.tensor2d([[2, 8, 10, 3], [2, 14, 3, 0]], undefined, 'int32'), // [2, 4]
    attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]]), // [2, 4]
    labels: tf.tensor1d([0, 1], 'int32'), // [2]
  };
  await expectNoLeak(() => pgdMaxLoss(p, b, { eps: 1, steps: 4, restarts: 2, tol: 1e-4, patience: 2, seed: 0 }), 'pgdMaxLoss');
  await expectNoLeak(() => pgdMaxLoss(p, b, { eps: 0, steps: 4, restarts: 1, tol: 0, patience: 0, seed: 0 }), 'pgdMaxLoss at eps 0');
  await expectNoLeak(() => pgdMaxLoss(p, b, { eps: 1, steps: 2, restarts: 1, tol: 0, patience: 0, seed: 0, control: false }), 'pgdMaxLoss without control');
  await expectNoLeak(() => assert.throws(() => pgdMaxLoss(p, b, { eps: -1, steps: 4, restarts: 1, tol: 0, patience: 0, seed: 0 }), /eps must be/), 'a rejected call');
  assert.throws(() => pgdMaxLoss(p, b, { eps: 1, steps: 4, restarts: 0, tol: 0, patience: 0, seed: 0 }), /restarts must be an integer >= 1/);
  const reg = tinyModel({ numLabels: 1 });
  assert.throws(() => pgdMaxLoss(reg, b, { eps: 1, steps: 1, restarts: 1, tol: 0, patience: 0, seed: 0 }), /regression head/);
  tf.dispose(Object.values(b));
  disposeParams(p);
  disposeParams(reg);
});

async function saveTiny(dir: string, seed: number, scale: number): Promise<void> {
  const p = model(seed, scale);
  await saveCheckpoint(p, dir, { advlm: { task: 'SST-2', maxLength: 16 } });
  fs.copyFileSync(VOCAB, path.join(dir, 'vocab.txt'));
  disposeParams(p);
}

test('runEmbeddingAttack: records, summary, resume skips finished examples, identity and leaks', async () => {
  await backend();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-embedding-attack-'));
  try {
    const a = path.join(root, 'anchor');
    const b = path.join(root, 'other');
    await saveTiny(a, 5, 1);
    await saveTiny(b, 6, 1);
    const out = path.join(root, 'out');
    const opts = {
      checkpoints: [a, b],
      outDir: out,
      examples: EXAMPLES,
      n: 6,
      seed: 2,
      batchSize: 2,
      rho: [0.05, 0.2, 1],
      selection: { steps: 3 },
      measure: { steps: 4, restarts: 2, patience: 2 },
    };
    const first = await expectNoLeak(() => runEmbeddingAttack(opts), 'runEmbeddingAttack');
    assert.equal(first.examples.length, 6);
    assert.deepEqual(first.examples, [...first.examples].sort((x, y) => x - y));
    assert.equal(first.models.length, 2);
    assert.ok(first.medianNorm > 0);
    first.eps.forEach((e, k) => assert.ok(Math.abs(e - opts.rho[k] * first.medianNorm) < 1e-12));
    for (const m of first.models) {
      assert.equal(m.records.length, 6);
      assert.equal(m.resumed, 0);
      m.records.forEach((r, i) => {
        assert.equal(r.index, first.examples[i]);
        assert.equal(r.epsIndex, first.anchor.selection[i].epsIndex, "every model at the anchor's radius");
        r.deltaNorm.forEach((dn, k) => assert.ok(dn <= first.eps[k] * (1 + 1e-5)));
        if (r.epsIndex !== null) assert.equal(r.increase, r.maxLossByEps[r.epsIndex] - r.cleanLoss);
        if (!r.cleanCorrect) r.correctUnderPgd.forEach((c) => assert.equal(c, false));
      });
      assert.equal(m.summary.examples, 6);
    }
    // the anchor's clean losses agree between the two stages
    first.models[0].records.forEach((r, i) => assert.ok(Math.abs(r.cleanLoss - first.anchor.selection[i].cleanLoss) < 1e-6));
    assert.ok(fs.existsSync(path.join(out, 'summary.json')));

    // drop the run's last batch (the two longest texts: batches are cut from the sample sorted by length) from the second checkpoint's records, then resume
    assert.equal(fs.readdirSync(out).filter((f) => f.startsWith('records-')).length, 2);
    const otherFile = path.join(out, `records-${first.models[1].weightsSha256.slice(0, 16)}.jsonl`);
    const lines = fs.readFileSync(otherFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 6);
    const byLength = [...first.examples].sort((x, y) => EXAMPLES[x].textA.length - EXAMPLES[y].textA.length || x - y);
    const lastBatch = new Set(byLength.slice(4));
    fs.writeFileSync(otherFile, lines.filter((l) => !lastBatch.has(JSON.parse(l).index)).join('\n') + '\n');
    const before = passCounts();
    const second = await runEmbeddingAttack(opts);
    const after = passCounts();
    assert.equal(second.models[0].resumed, 6);
    assert.equal(second.models[1].resumed, 4);
    assert.ok(after.inputBackward > before.inputBackward, 'the removed batch was attacked again');
    assert.deepEqual(second.models[1].records, first.models[1].records, 'a resumed run computes what the first did');
    assert.deepEqual(second.models[0].summary, first.models[0].summary);

    // nothing left to do: no backward pass at all
    const b3 = passCounts();
    const third = await runEmbeddingAttack(opts);
    assert.equal(passCounts().inputBackward, b3.inputBackward);
    assert.equal(third.anchor.resumed, 6);

    // another setting in the same folder: stops before any work, naming the difference
    await assert.rejects(runEmbeddingAttack({ ...opts, seed: 3 }), /different run \(seed: 2 \(stored\) vs 3 \(now\)/);
    await assert.rejects(runEmbeddingAttack({ ...opts, checkpoints: [] }), /at least one checkpoint/);
    await assert.rejects(runEmbeddingAttack({ ...opts, checkpoints: [a, path.join(root, 'missing')] }), /does not exist/);
    await assert.rejects(runEmbeddingAttack({ ...opts, rho: [1, 0.5] }), /strictly ascending/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('accuracy under PGD: eps 0 is the clean accuracy, nothing wrong clean is right under attack, it falls as eps grows, no leaks', async () => {
  await backend();
  const p = model();
  const tok = loadTokenizer(VOCAB);
  const eps = [0, 0.05, 5, 50];
  const r = await expectNoLeak(() => accuracyUnderPgd(p, tok, EXAMPLES, { eps, steps: 10, batchSize: 3, maxLength: 8 }), 'accuracyUnderPgd');
  assert.equal(r.cleanCorrect.length, EXAMPLES.length);
  assert.equal(r.pgd[0], r.clean, 'radius 0: the ball is the clean point');
  for (let k = 0; k < eps.length; k++) {
    r.correctUnderPgd[k].forEach((c, i) => assert.ok(!c || r.cleanCorrect[i], `eps ${eps[k]}, example ${i}: right under PGD, wrong clean`));
    r.correctUnderRandom[k].forEach((c, i) => assert.ok(!c || r.cleanCorrect[i]));
    assert.equal(r.pgd[k], fractionTrue(r.correctUnderPgd[k]));
  }
  assert.ok(r.pgd[3] < r.clean, `a ball 1,000 times the smallest non-zero one flips something (clean ${r.clean}, PGD ${r.pgd[3]})`);
  assert.ok(r.pgd[3] <= r.random[3], 'PGD does at least as much damage as a random direction of its norm');
  await assert.rejects(accuracyUnderPgd(p, tok, EXAMPLES, { eps: [] }), /eps must be a non-empty list/);
  await assert.rejects(accuracyUnderPgd(p, tok, [], { eps: [1] }), /no examples/);
  disposeParams(p);
});

test('advlm attack --recipe pgd: the embedding protocol on the shipped classifier from the command line, resumed by a rerun; word-attack options refused', async () => {
  await backend();
  const { attackCommand } = await import('../src/cli/attack');
  const ckpt = path.join(__dirname, '..', 'data', 'checkpoints', 'advlm-bert-tiny-imdb-sst2');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-attack-pgd-'));
  const printed: string[] = [];
  const log = console.log;
  console.log = (s: string) => printed.push(s);
  try {
    const args = ['--checkpoint', ckpt, '--recipe', 'pgd', '--n', '3', '--rho', '0.01,0.05', '--out', out, '--json'];
    await attackCommand(args);
    const first = JSON.parse(printed[printed.length - 1]);
    assert.equal(first.task, 'SST-2');
    assert.equal(first.examples.length, 3);
    assert.deepEqual(first.rho, [0.01, 0.05]);
    first.eps.forEach((e: number, k: number) => assert.ok(Math.abs(e - first.rho[k] * first.medianNorm) < 1e-9, `eps ${k} = rho x the median norm`));
    assert.equal(first.models.length, 1);
    await attackCommand(args);
    const second = JSON.parse(printed[printed.length - 1]);
    assert.equal(second.anchor.resumed, 3, 'the rerun reads the anchor selection of all 3 examples from the folder');
    assert.equal(second.models[0].resumed, 3, 'and every measured example');
    assert.deepEqual(second.models[0].records, first.models[0].records);
    assert.deepEqual(second.models[0].summary, first.models[0].summary);
  } finally {
    console.log = log;
    fs.rmSync(out, { recursive: true, force: true });
  }
  await assert.rejects(attackCommand(['--checkpoint', ckpt, '--recipe', 'pgd', '--budget', '10']), /--budget is not an option of --recipe pgd/);
  await assert.rejects(attackCommand(['--checkpoint', ckpt, '--recipe', 'pgd', '--rho', '0.01,x']), /--rho must be numbers/);
});
