import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadTokenizer } from '../src/tokenizer';
import { BertConfig, disposeParams, embedTokens, embeddingOutput, encode, initParams } from '../src/model/index';
import { contextualVectors, findWordPieces, resolveLayer, staticWordVector, wordOccurrences, wordPieces } from '../src/analysis/contextual_embeddings';
import { groupSimilarity } from '../src/analysis/group_similarity';
import { TINY_CONFIGS, backend, expectNoLeak, maxAbsDiff } from './helpers';

const tok = loadTokenizer();
const SMALL: BertConfig = { ...TINY_CONFIGS.small, vocabSize: tok.vocabSize, maxPositions: 64 };

/** The hidden-state rows of one sentence encoded alone (no padding, no batching): [T][D]. */
function statesAlone(p: ReturnType<typeof initParams>, sentence: string, layer: number): number[][] {
  const ids = tok.encode(sentence).inputIds;
  return tf.tidy(() => {
    const out = encode(p, tf.tensor2d([ids], [1, ids.length], 'int32'), { returnHiddenStates: true }); // hidden states [1, T, D] each
    return (out.hiddenStates![layer].arraySync() as number[][][])[0];
  });
}

test('findWordPieces matches whole words only', () => {
  const t = ['[CLS]', 'the', 'bank', 'by', 'the', 'river', '##bank', 'and', 'em', '##bank', '##ment', 'bank', '.', '[SEP]'];
  assert.deepEqual(findWordPieces(t, ['bank']), [2, 11]);
  assert.deepEqual(findWordPieces(t, ['river', '##bank']), [5]);
  assert.deepEqual(findWordPieces(t, ['river']), [], '"river" followed by ##bank is part of another word');
  assert.deepEqual(findWordPieces(t, ['the']), [1, 4]);
  assert.deepEqual(findWordPieces(t, ['##bank']), [], 'a match may not start inside a word');
  assert.throws(() => findWordPieces(t, []), /no pieces/);
});

test('wordOccurrences: positions in the encoded sentence, several per sentence, and clear errors', () => {
  assert.deepEqual(wordPieces(tok, 'riverbank'), ['river', '##bank'], 'the test needs a word of two pieces');
  const occ = wordOccurrences(tok, ['The bank was closed.', 'A bank by the river bank.'], 'bank');
  assert.deepEqual(occ.map((o) => [o.sentence, o.positions]), [[0, [2]], [1, [2]], [1, [6]]]);
  assert.throws(() => wordOccurrences(tok, ['Down by the riverbank.'], 'bank'), /sentence 0 does not contain/, '##bank is not the word bank');
  const multi = wordOccurrences(tok, ['Down by the riverbank.'], 'riverbank');
  assert.deepEqual(multi, [{ sentence: 0, positions: [4, 5], pieces: ['river', '##bank'] }]);
  assert.throws(() => wordOccurrences(tok, ['The bank.', 'The banks were full.'], 'bank'), /sentence 1 does not contain the word "bank"/);
  assert.throws(() => wordOccurrences(tok, ['one two three four five bank'], 'bank', 5), /truncation at maxLength 5/);
  assert.throws(() => wordPieces(tok, 'river bank'), /several words/);
  assert.throws(() => wordPieces(tok, '   '), /no tokens/);
});

test('resolveLayer counts from the end and rejects missing layers', () => {
  assert.equal(resolveLayer(-1, 2), 2);
  assert.equal(resolveLayer(-3, 2), 0);
  assert.equal(resolveLayer(1, 2), 1);
  assert.throws(() => resolveLayer(3, 2), /layer 3 does not exist/);
  assert.throws(() => resolveLayer(-4, 2), /does not exist/);
  assert.throws(() => resolveLayer(0.5, 2), /does not exist/);
});

test('contextualVectors (batched, padded) equals each sentence encoded alone; mean and first pooling; no leaks', async () => {
  await backend();
  const p = initParams(SMALL, { seed: 7 });
  const sentences = ['We sat on the riverbank.', 'The long grassy riverbank by the old mill was quiet in the evening.', 'A riverbank.'];
  await expectNoLeak(() => {
    for (const layer of [0, 1, 2, -1]) {
      for (const pooling of ['mean', 'first'] as const) {
        const r = contextualVectors(p, tok, sentences, 'riverbank', { layer, pooling, batchSize: 2 });
        assert.equal(r.layer, layer < 0 ? 2 : layer);
        assert.equal(r.vectors.length, 3);
        r.occurrences.forEach((occ, i) => {
          const rows = statesAlone(p, sentences[occ.sentence], r.layer);
          const [a, b] = occ.positions.map((pos) => rows[pos]);
          const expected = pooling === 'first' ? a : a.map((v, j) => (v + b[j]) / 2);
          assert.ok(maxAbsDiff(r.vectors[i], expected) < 1e-5, `layer ${layer} ${pooling} sentence ${occ.sentence}: ${maxAbsDiff(r.vectors[i], expected)}`);
        });
      }
    }
  }, 'contextualVectors');
  await expectNoLeak(() => {
    assert.throws(() => contextualVectors(p, tok, sentences, 'riverbank', { layer: 3 }), /layer 3 does not exist/);
    assert.throws(() => contextualVectors(p, tok, sentences, 'riverbank', { batchSize: 0 }), /batchSize/);
    assert.throws(() => contextualVectors(p, tok, sentences, 'riverbank', { pooling: 'max' as 'mean' }), /pooling/);
    assert.throws(() => contextualVectors(p, tok, [], 'riverbank'), /at least one sentence/);
  }, 'contextualVectors errors');
  disposeParams(p);
});

test('layer 0 depends only on word and position; the last layer depends on the context', async () => {
  await backend();
  const p = initParams(SMALL, { seed: 11 });
  // "bank" at position 2 in both sentences, different words after it.
  const s = ['The bank was closed.', 'The bank flooded every spring.'];
  const l0 = contextualVectors(p, tok, s, 'bank', { layer: 0 }).vectors;
  const direct = tf.tidy(() => {
    const ids = tf.tensor2d([tok.encode(s[0]).inputIds], undefined, 'int32'); // [1, T]
    return (embeddingOutput(p, embedTokens(p, ids)).arraySync() as number[][][])[0][2];
  });
  assert.ok(maxAbsDiff(l0[0], direct) < 1e-6, 'layer 0 is the embedding output');
  assert.ok(maxAbsDiff(l0[0], l0[1]) < 1e-6, 'same word, same position: same layer-0 vector');
  const last = contextualVectors(p, tok, s, 'bank', { layer: -1 }).vectors;
  assert.ok(maxAbsDiff(last[0], last[1]) > 1e-3, 'attention mixes in the context: the last-layer vectors differ');
  disposeParams(p);
});

test('staticWordVector is the embedding-table row (mean of the pieces); no leaks', async () => {
  await backend();
  const p = initParams(SMALL, { seed: 3 });
  await expectNoLeak(() => {
    const table = p.embeddings.word.arraySync() as number[][];
    const [river, bank] = ['river', '##bank'].map((t) => table[tok.tokenToId(t)!]);
    assert.ok(maxAbsDiff(staticWordVector(p, tok, 'riverbank'), river.map((v, j) => (v + bank[j]) / 2)) < 1e-7);
    assert.ok(maxAbsDiff(staticWordVector(p, tok, 'riverbank', 'first'), river) < 1e-7);
    assert.ok(maxAbsDiff(staticWordVector(p, tok, 'Bank'), table[tok.tokenToId('bank')!]) < 1e-7, 'uncased');
  }, 'staticWordVector');
  disposeParams(p);
});

test('groupSimilarity: hand-computed means and nearest-neighbour agreement', () => {
  const sim = [
    [1, 0.9, 0.2, 0.4],
    [0.9, 1, 0.1, 0.95],
    [0.2, 0.1, 1, 0.5],
    [0.4, 0.95, 0.5, 1],
  ];
  const r = groupSimilarity(sim, ['a', 'a', 'b', 'b']);
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-12, `${x} vs ${y}`);
  close(r.within, (0.9 + 0.5) / 2);
  close(r.across, (0.2 + 0.4 + 0.1 + 0.95) / 4);
  close(r.all, (0.9 + 0.2 + 0.4 + 0.1 + 0.95 + 0.5) / 6);
  assert.equal(r.withinPairs, 2);
  assert.equal(r.acrossPairs, 4);
  // nearest others: 0 -> 1 (a, agree), 1 -> 3 (b, no), 2 -> 3 (b, agree), 3 -> 1 (a, no)
  close(r.nearestNeighbourAgreement, 0.5);
  assert.deepEqual(r.groups.map((g) => [g.group, g.count]), [['a', 2], ['b', 2]]);
  close(r.groups[0].within, 0.9);
  close(r.groups[1].across, (0.2 + 0.1 + 0.4 + 0.95) / 4);
  assert.throws(() => groupSimilarity(sim, ['a', 'a', 'a', 'a']), /at least two groups/);
  assert.throws(() => groupSimilarity(sim, ['a', 'b', 'c', 'd']), /no within-group pair/);
  assert.throws(() => groupSimilarity(sim, ['a', 'b']), /one label per row/);
  assert.throws(() => groupSimilarity([[1, 0], [0]], ['a', 'b']), /square/);
  assert.throws(() => groupSimilarity([[1, NaN], [NaN, 1]], ['a', 'b']), /non-finite/);
});
