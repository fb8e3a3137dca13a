import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../src/tokenizer';
import { encodeWords, joinWords, splitWords } from '../src/data/words';
import { loadSynonyms, neighbours, singleTokenSynonymFraction } from '../src/data/synonyms';
import { loadTask } from '../src/data/glue';

const tok = loadTokenizer();

test('words: white-space tokens, lower-cased, <br /> removed', () => {
  assert.deepEqual(splitWords("it 's a Charming  journey . "), ['it', "'s", 'a', 'charming', 'journey', '.']);
  assert.deepEqual(splitWords('Great film.<br /><br />Loved it'), ['great', 'film.', 'loved', 'it']);
  assert.equal(joinWords(['a', 'b']), 'a b');
});

test('encodeWords maps every word piece to its word, multi-piece words included', () => {
  const e = encodeWords(tok, ['it', "'s", 'unflinchingly', 'bleak']);
  assert.deepEqual(e.tokens, ['[CLS]', 'it', "'", 's', 'un', '##fl', '##in', '##ching', '##ly', 'bleak', '[SEP]']);
  assert.deepEqual(e.wordOf, [-1, 0, 1, 1, 2, 2, 2, 2, 2, 3, -1]);
  assert.deepEqual(e.piecesOf, [[1], [2, 3], [4, 5, 6, 7, 8], [9]]);
  assert.equal(e.wordsKept, 4);
  for (let i = 0; i < e.tokens.length; i++) if (e.wordOf[i] >= 0) assert.ok(e.piecesOf[e.wordOf[i]].includes(i));
  // cut part-way through a word: the word counts as not kept, and [SEP] is still last
  const cut = encodeWords(tok, ['it', "'s", 'unflinchingly', 'bleak'], { maxLength: 6 });
  assert.deepEqual(cut.tokens, ['[CLS]', 'it', "'", 's', 'un', '[SEP]']);
  assert.deepEqual(cut.wordOf, [-1, 0, 1, 1, 2, -1]);
  assert.equal(cut.wordsKept, 2);
  assert.deepEqual(cut.piecesOf[3], []);
});

test('encodeWords gives the ids of the joined text, on SST-2 and IMDB, with and without truncation', () => {
  for (const task of ['SST-2', 'IMDB']) {
    for (const ex of loadTask(task, 'dev', { limit: 40 })) {
      const words = splitWords(ex.textA);
      for (const maxLength of [512, 64]) {
        const e = encodeWords(tok, words, { maxLength });
        assert.deepEqual(e.inputIds, tok.encode(joinWords(words), undefined, { maxLength }).inputIds, `${task}: ${ex.textA.slice(0, 60)}`);
        assert.deepEqual(e.inputIds, tok.encode(ex.textA, undefined, { maxLength }).inputIds);
        assert.equal(e.wordOf.length, e.inputIds.length);
      }
    }
  }
});

test('synonyms: shipped counter-fitted lists, cached, at most 8 neighbours; single-token pair fraction', () => {
  const t = loadSynonyms();
  assert.equal(loadSynonyms(), t, 'read once');
  assert.equal(t.size, 49975);
  assert.equal([...t.values()].filter((l) => l.length > 0).length, 25591);
  assert.ok([...t.values()].every((l) => l.length <= 8));
  assert.ok(neighbours('Movie').includes('film'));
  assert.deepEqual(neighbours('movie', { max: 2 }), ['film', 'filmmaking']);
  assert.deepEqual(neighbours('qwertyuiop'), []);
  const small = new Map([['good', ['nice', 'unflinchingly']], ['unflinchingly', ['good']], ['a', []]]);
  const c = singleTokenSynonymFraction(tok, small);
  assert.deepEqual(c, { pairs: 3, singleTokenPairs: 1, fraction: 1 / 3, words: 2, singleTokenWords: 1 });
  const full = singleTokenSynonymFraction(tok);
  assert.ok(full.fraction > 0.3 && full.fraction < 0.7, String(full.fraction));
});
