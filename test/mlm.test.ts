import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  corpusTokenIds, countTokens, createRng, disposeBatch, IGNORE_INDEX, loadTokenizer, maskTokens, mlmBatch, mlmBatches, mlmToTensors, packSequences, packTokenized, readCorpus, withRandomTokens,
} from '../src/data';
import { backend, expectNoLeak } from './helpers';

const tok = loadTokenizer();
before(backend);

/** Rows of [CLS] ordinary... (with some [UNK]/[MASK] inside) [SEP] then padding, length T. */
function syntheticRows(n: number, T: number, seed: number): { ids: number[][]; mask: number[][] } {
  const r = createRng(seed);
  const pool = tok.randomTokenIds();
  const ids: number[][] = [];
  const mask: number[][] = [];
  for (let b = 0; b < n; b++) {
    const len = 2 + Math.floor(T / 2) + r.int(T - 1 - Math.floor(T / 2));
    const row = [tok.clsId];
    for (let t = 1; t < len - 1; t++) {
      const u = r.next();
      row.push(u < 0.02 ? tok.unkId : u < 0.03 ? tok.maskId : pool[r.int(pool.length)]);
    }
    row.push(tok.sepId);
    const m = row.map(() => 1);
    while (row.length < T) {
      row.push(tok.padId);
      m.push(0);
    }
    ids.push(row);
    mask.push(m);
  }
  return { ids, mask };
}

test('15% of ordinary tokens are selected; of those 80% [MASK], 10% random, 10% kept (5-sigma bounds)', () => {
  const { ids, mask } = syntheticRows(2000, 128, 11);
  const out = maskTokens(ids, mask, tok, 12345);
  let candidates = 0;
  let selected = 0;
  let masked = 0;
  let random = 0;
  let kept = 0;
  const randomIds: number[] = [];
  for (let b = 0; b < ids.length; b++) {
    for (let t = 0; t < ids[b].length; t++) {
      const orig = ids[b][t];
      const special = mask[b][t] === 0 || tok.specialIds.has(orig);
      if (!special) candidates++;
      const label = out.labels[b][t];
      if (label === IGNORE_INDEX) {
        assert.equal(out.inputIds[b][t], orig, 'unselected positions are unchanged');
        continue;
      }
      assert.ok(!special, `selected a special or padding position (${b}, ${t})`);
      assert.equal(label, orig, 'label is the original id');
      selected++;
      const now = out.inputIds[b][t];
      if (now === tok.maskId) masked++;
      else if (now === orig) kept++;
      else {
        random++;
        randomIds.push(now);
      }
    }
  }
  const within = (k: number, n: number, p: number, what: string) => {
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(k / n - p) < 5 * sd, `${what}: ${k}/${n} = ${(k / n).toFixed(4)}, expected ${p} +- ${(5 * sd).toFixed(4)}`);
  };
  assert.ok(candidates > 150000);
  within(selected, candidates, 0.15, 'selected');
  within(masked, selected, 0.8, '[MASK]');
  within(random, selected, 0.1, 'random');
  within(kept, selected, 0.1, 'kept');
  // random replacements: never special nor [unusedN], spread over the ordinary vocabulary
  const pool = tok.randomTokenIds();
  for (const i of randomIds) assert.ok(!tok.specialIds.has(i) && !/^\[unused/.test(tok.idToToken(i)!), `random id ${i}`);
  const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const mu = mean(pool);
  const sd = Math.sqrt(mean(pool.map((x) => (x - mu) ** 2)));
  assert.ok(Math.abs(mean(randomIds) - mu) < (5 * sd) / Math.sqrt(randomIds.length), `mean random id ${mean(randomIds)} vs ${mu}`);
  assert.ok(new Set(randomIds).size > randomIds.length * 0.8);
});

test('masking is a pure function of its inputs and the seed', () => {
  const { ids, mask } = syntheticRows(50, 40, 3);
  const copy = JSON.stringify(ids);
  const a = maskTokens(ids, mask, tok, 99);
  assert.deepEqual(maskTokens(ids, mask, tok, 99), a);
  assert.notDeepEqual(maskTokens(ids, mask, tok, 100).labels, a.labels);
  assert.equal(JSON.stringify(ids), copy, 'inputs unchanged');
});

test('every sequence gets at least one target unless turned off; none when selectProb is 0', () => {
  const ids = Array.from({ length: 300 }, (_, i) => [tok.clsId, 2000 + (i % 50), tok.sepId, tok.padId]);
  const mask = ids.map(() => [1, 1, 1, 0]);
  const on = maskTokens(ids, mask, tok, 5);
  for (const row of on.labels) assert.deepEqual(row.map((l) => l !== IGNORE_INDEX), [false, true, false, false]);
  const off = maskTokens(ids, mask, tok, 5, { atLeastOne: false });
  const n = off.labels.filter((row) => row[1] !== IGNORE_INDEX).length;
  assert.ok(n > 15 && n < 80, `${n} of 300 selected at 15%`);
  const none = maskTokens(ids, mask, tok, 5, { selectProb: 0 });
  assert.ok(none.labels.every((row) => row.every((l) => l === IGNORE_INDEX)));
  assert.deepEqual(none.inputIds, ids);
  // a row with nothing to select stays as it is
  const specialOnly = maskTokens([[tok.clsId, tok.sepId]], [[1, 1]], tok, 1);
  assert.deepEqual(specialOnly.labels, [[IGNORE_INDEX, IGNORE_INDEX]]);
  assert.throws(() => maskTokens(ids, mask, tok, 1, { maskProb: 0.95, randomProb: 0.1 }), /at most 1/);
  assert.throws(() => maskTokens(ids, mask, tok, 1, { selectProb: 1.5 }), /selectProb must be in \[0, 1\]/);
});

test('packing: [CLS] sentences [SEP] up to maxLength, in order, within one book', () => {
  // by hand: maxLength 6 leaves 4 tokens per sequence
  const doc = [[1, 2], [3, 4], [5, 6, 7], [8, 9, 10, 11, 12, 13], [14]];
  assert.deepEqual(packTokenized([doc, [[20], [21]]], 101, 102, { maxLength: 6 }), [
    [101, 1, 2, 3, 4, 102],
    [101, 5, 6, 7, 102],
    [101, 8, 9, 10, 11, 102],
    [101, 12, 13, 14, 102],
    [101, 20, 21, 102],
  ]);
  assert.throws(() => packTokenized([doc], 101, 102, { maxLength: 2 }), /at least 3/);
  // the shipped corpus: every sequence well formed, no token lost
  const docs = readCorpus({ limitLines: 150 });
  assert.equal(docs.length, 17);
  const seqs = packSequences(tok, docs, { maxLength: 64 });
  let content = 0;
  for (const s of seqs) {
    assert.ok(s.length <= 64 && s.length >= 3);
    assert.equal(s[0], tok.clsId);
    assert.equal(s[s.length - 1], tok.sepId);
    assert.ok(!s.slice(1, -1).some((i) => i === tok.clsId || i === tok.sepId || i === tok.padId));
    content += s.length - 2;
  }
  assert.equal(content, countTokens(tok, docs));
  const first = tok.tokenIds(docs[0].sentences[0]);
  assert.deepEqual(seqs[0].slice(1, 1 + first.length), first);
  // packing fills sequences: on average well over half full
  assert.ok(content / seqs.length > 0.6 * 62, `mean content ${content / seqs.length}`);
});

test('mlmBatch pads, never selects padding, and mlmBatches is seeded and covers every sequence once', () => {
  const seqs = [[101, 2000, 2001, 2002, 102], [101, 2003, 102], [101, 2004, 2005, 102]];
  const b = mlmBatch(seqs, tok, 1);
  assert.deepEqual(b.shape, [3, 5]);
  assert.deepEqual(b.attentionMask, [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]);
  assert.deepEqual(b.tokenTypeIds, [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
  assert.deepEqual(b.inputIds[1].slice(3), [0, 0]);
  assert.deepEqual(b.labels[1].slice(3), [IGNORE_INDEX, IGNORE_INDEX]);
  const many = Array.from({ length: 57 }, (_, i) => [101, ...Array.from({ length: 3 + (i % 9) }, (_, k) => 2000 + 10 * i + k), 102]);
  const epoch = [...mlmBatches(many, 8, tok, 3)];
  assert.deepEqual([...mlmBatches(many, 8, tok, 3)], epoch);
  assert.notDeepEqual([...mlmBatches(many, 8, tok, 4)], epoch);
  assert.equal(epoch.length, 8);
  const restored = epoch.flatMap((bt) =>
    bt.inputIds.map((row, r) => row.map((x, t) => (bt.labels[r][t] === IGNORE_INDEX ? x : bt.labels[r][t])).filter((_, t) => bt.attentionMask[r][t] === 1)),
  );
  const key = (s: number[]) => s.join(',');
  assert.deepEqual(restored.map(key).sort(), many.map(key).sort());
});

test('mlmToTensors: dtypes, values, no leaks', async () => {
  const b = mlmBatch([[101, 2000, 2001, 102], [101, 2002, 102]], tok, 2);
  await expectNoLeak(() => {
    const t = mlmToTensors(b);
    assert.deepEqual(t.inputIds.shape, [2, 4]);
    assert.deepEqual([t.inputIds.dtype, t.tokenTypeIds.dtype, t.attentionMask.dtype, t.labels.dtype], ['int32', 'int32', 'float32', 'int32']);
    assert.deepEqual(t.labels.arraySync(), b.labels);
    assert.deepEqual(t.inputIds.arraySync(), b.inputIds);
    assert.deepEqual(t.attentionMask.arraySync(), b.attentionMask);
    disposeBatch(t);
  }, 'mlmToTensors and disposeBatch');
  await expectNoLeak(() => assert.throws(() => mlmToTensors({ ...b, labels: [[1]] }), /labels is not a 2 x 4 array/), 'a rejected batch');
});

test('corpusTokenIds: the ordinary ids a corpus contains, ascending; withRandomTokens draws replacements only from them', () => {
  const seqs = [[tok.clsId, 2009, 2003, tok.sepId], [tok.clsId, 2003, tok.unkId, 1037, tok.sepId, tok.padId]];
  const ids = corpusTokenIds(seqs, tok.specialIds);
  assert.deepEqual(ids, [1037, 2003, 2009]);
  const v = withRandomTokens(tok, [...ids, tok.maskId]); // special ids are dropped from the pool
  assert.deepEqual(v.randomTokenIds(), ids);
  assert.equal(v.maskId, tok.maskId);
  const { ids: rows, mask } = syntheticRows(64, 24, 5);
  const out = maskTokens(rows, mask, v, 11, { selectProb: 0.5, maskProb: 0, randomProb: 1 });
  let replaced = 0;
  out.labels.forEach((lab, b) => lab.forEach((l, t) => {
    if (l === IGNORE_INDEX) return;
    replaced++;
    assert.ok(ids.includes(out.inputIds[b][t]), `replacement ${out.inputIds[b][t]} comes from the pool`);
  }));
  assert.ok(replaced > 100);
  assert.throws(() => withRandomTokens(tok, [tok.padId]), /no ordinary token ids/);
});
