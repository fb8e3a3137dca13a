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

// ---------------------------------------------------------------------------------------------
// The searches on a hand-built bag-of-words classifier with a known answer.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  alzantot2018,
  attackExample,
  attackRecordsHtml,
  changedIndices,
  DEFAULT_CONSTRAINTS,
  geneticSearch,
  greedyWordImportance,
  maxChangedWords,
  modelScoreFn,
  QueryOracle,
  readAttackRecords,
  runAttacks,
  STOPWORDS,
  summarizeAttacks,
  tableSwap,
  wilsonInterval,
  wordRecipe,
  WORD_RECIPES,
  loadWordNet,
  type AttackRecord,
  type ScoreFn,
  type WordAttack,
} from '../src/attacks/word';

/** p(positive) = sigmoid(bias + sum of word weights); unknown words weigh 0. */
const WEIGHTS: Record<string, number> = { good: 3, great: 3, nice: 1, fine: 1, poor: -1, dull: -1, bad: -3, awful: -3 };
const BIAS = 0.5;
function bagOfWords(log?: { calls: number; texts: string[] }, bias = BIAS): ScoreFn {
  return async (texts) => {
    if (log) {
      log.calls++;
      log.texts.push(...texts);
    }
    return texts.map((t) => {
      const z = bias + t.split(' ').reduce((a, w) => a + (WEIGHTS[w] ?? 0), 0);
      const p = 1 / (1 + Math.exp(-z));
      return [1 - p, p];
    });
  };
}
const SYN = tableSwap({ good: ['nice', 'poor'], great: ['fine', 'dull'], movie: ['film'], a: ['an'] });
const attackWith = (search: WordAttack['search'], extra: Partial<WordAttack> = {}): WordAttack => ({
  recipe: 'test',
  citation: '',
  transformation: SYN,
  constraints: { ...DEFAULT_CONSTRAINTS },
  search,
  budget: Infinity,
  differences: [],
  ...extra,
});

/** The record's queries are the distinct texts the model saw, and its calls the model calls. */
function checkCounts(r: AttackRecord, log: { calls: number; texts: string[] }): void {
  assert.equal(r.queries, log.texts.length);
  assert.equal(new Set(log.texts).size, log.texts.length, 'no text scored twice');
  assert.equal(r.calls, log.calls);
}

test('greedy search by deletion importance: the expected swaps, queries and calls', async () => {
  // one swap: 'good' matters most; 'poor' flips the label (0.5 - 1 < 0); 'a' is a stopword
  let log = { calls: 0, texts: [] as string[] };
  let r = await attackExample(attackWith(greedyWordImportance('delete')), bagOfWords(log), { text: 'a good movie', label: 1 });
  assert.equal(r.status, 'succeeded');
  assert.equal(r.adversarial, 'a poor movie');
  assert.deepEqual(r.changed, [{ index: 1, from: 'good', to: 'poor' }]);
  // original 1 + deletions of good and movie 2 + substitutes of good 2
  assert.equal(r.queries, 5);
  assert.equal(r.calls, 3);
  checkCounts(r, log);
  assert.ok(Math.abs(r.perturbedWordPercent - 100 / 3) < 1e-12);
  // two swaps needed: good -> poor (6.5 -> 2.5, kept although the label holds), then great -> dull
  log = { calls: 0, texts: [] };
  r = await attackExample(attackWith(greedyWordImportance('delete')), bagOfWords(log), { text: 'good great movie', label: 1 });
  assert.equal(r.adversarial, 'poor dull movie');
  assert.equal(r.queries, 1 + 3 + 2 + 2);
  assert.equal(r.calls, 4);
  checkCounts(r, log);
  // one-at-a-time scoring: same record, one call per query
  const r1 = await attackExample(attackWith(greedyWordImportance('delete')), bagOfWords(), { text: 'good great movie', label: 1 }, { batched: false });
  assert.equal(r1.adversarial, r.adversarial);
  assert.equal(r1.queries, r.queries);
  assert.equal(r1.calls, r.queries);
});

test('PWWS (weighted saliency): ranks by softmax(saliency) * best gain, answers repeated texts from the cache', async () => {
  const log = { calls: 0, texts: [] as string[] };
  const r = await attackExample(attackWith(greedyWordImportance('weighted-saliency')), bagOfWords(log), { text: 'good great movie', label: 1 });
  assert.equal(r.status, 'succeeded');
  assert.equal(r.adversarial, 'poor dull movie');
  // original 1 + [UNK] saliency 3 + every substitute on the original 2+2+1; the greedy pass at
  // 'good' finds its substitutes cached (no call), then 'great' on the new text: 2
  assert.equal(r.queries, 1 + 3 + 5 + 2);
  assert.equal(r.calls, 4);
  checkCounts(r, log);
  assert.ok(log.texts.includes('[UNK] great movie'));
});

test('PWWS order differs from deletion order when the more salient word has the weaker substitute', async () => {
  // bias -2.5: 'great nice' sums to 1.5. Deleting 'great' drops more (saliency), but 'nice' -> 'awful'
  // gains more: H = softmax(S) * gain puts 'nice' first; deletion order puts 'great' first.
  // Either swap alone flips the label, so the result shows which position was visited first.
  const syn = tableSwap({ great: ['fine'], nice: ['awful'] });
  const del = await attackExample(attackWith(greedyWordImportance('delete'), { transformation: syn }), bagOfWords(undefined, -2.5), { text: 'great nice', label: 1 });
  assert.equal(del.adversarial, 'fine nice');
  const pwws = await attackExample(attackWith(greedyWordImportance('weighted-saliency'), { transformation: syn }), bagOfWords(undefined, -2.5), { text: 'great nice', label: 1 });
  assert.equal(pwws.adversarial, 'great awful');
  assert.equal(pwws.status, 'succeeded');
});

test('constraints: stopwords, no word modified twice, maximum fraction changed; budget', async () => {
  // stopword: 'good' listed as a stopword cannot change, so the attack fails
  const stop = new Set([...STOPWORDS, 'good']);
  let r = await attackExample(attackWith(greedyWordImportance('delete'), { constraints: { ...DEFAULT_CONSTRAINTS, stopwords: stop } }), bagOfWords(), { text: 'a good movie', label: 1 });
  assert.equal(r.status, 'failed');
  assert.ok(r.changed.every((c) => c.from !== 'good' && c.from !== 'a'));
  // at most ceil(0.2 * 3) = 1 word: the two-swap example fails with exactly one change
  assert.equal(maxChangedWords(3, 0.2), 1);
  r = await attackExample(attackWith(greedyWordImportance('delete'), { constraints: { ...DEFAULT_CONSTRAINTS, maxFraction: 0.2 } }), bagOfWords(), { text: 'good great movie', label: 1 });
  assert.equal(r.status, 'failed');
  assert.equal(r.changed.length, 1);
  const g = await attackExample(attackWith(geneticSearch({ populationSize: 8, generations: 5 }), { constraints: { ...DEFAULT_CONSTRAINTS, maxFraction: 0.2 } }), bagOfWords(), { text: 'good great movie', label: 1 });
  assert.equal(g.status, 'failed');
  assert.ok(g.changed.length <= 1);
  // budget: 4 queries cannot reach the second swap
  const log = { calls: 0, texts: [] as string[] };
  r = await attackExample(attackWith(greedyWordImportance('delete')), bagOfWords(log), { text: 'good great movie', label: 1 }, { budget: 4 });
  assert.equal(r.status, 'failed');
  assert.equal(r.budgetExhausted, true);
  assert.equal(r.queries, 4);
  checkCounts(r, log);
  // skipped: already misclassified, one query
  r = await attackExample(attackWith(greedyWordImportance('delete')), bagOfWords(), { text: 'a bad movie', label: 1 });
  assert.equal(r.status, 'skipped');
  assert.equal(r.queries, 1);
  assert.equal(r.adversarial, r.original);
});

test('no word modified twice: a modified position is never offered again', async () => {
  const oracle = new QueryOracle(bagOfWords(), 1);
  const { canModify } = await import('../src/attacks/word/constraints');
  const orig = ['good', 'great', 'movie'];
  assert.equal(canModify(DEFAULT_CONSTRAINTS, orig, ['poor', 'great', 'movie'], 0), false);
  assert.equal(canModify({ ...DEFAULT_CONSTRAINTS, noRepeat: false }, orig, ['poor', 'great', 'movie'], 0), true);
  assert.equal(canModify(DEFAULT_CONSTRAINTS, orig, ['poor', 'great', 'movie'], 1), true);
  assert.deepEqual(changedIndices(orig, ['poor', 'great', 'film']), [0, 2]);
  // the oracle counts distinct texts and caches
  await oracle.scoreAll([orig, orig, ['a']]);
  assert.equal(oracle.queries, 2);
  await oracle.scoreAll([orig]);
  assert.equal(oracle.queries, 2);
  assert.equal(oracle.calls, 1);
});

test('genetic search: finds the two swaps, respects the constraints, counts queries, deterministic per seed', async () => {
  const log = { calls: 0, texts: [] as string[] };
  const attack = attackWith(geneticSearch({ populationSize: 10, generations: 10 }));
  const r = await attackExample(attack, bagOfWords(log), { text: 'good great movie', label: 1, index: 3 }, { seed: 7 });
  assert.equal(r.status, 'succeeded');
  // success needs good -> poor and great -> dull (poor fine: 0.5 > 0; nice dull: 0.5 > 0)
  assert.ok(r.adversarial.startsWith('poor dull'), r.adversarial);
  checkCounts(r, log);
  // initial population: one call; then one call per generation
  assert.ok(r.calls >= 2 && r.calls <= 1 + 1 + 10, String(r.calls));
  const again = await attackExample(attack, bagOfWords(), { text: 'good great movie', label: 1, index: 3 }, { seed: 7 });
  assert.deepEqual({ ...again, seconds: 0 }, { ...r, seconds: 0 });
  // one call per generation: with a budget the attack stops at it
  const b = await attackExample(attack, bagOfWords(), { text: 'good great movie', label: 1 }, { budget: 3 });
  assert.ok(b.queries <= 3);
});

test('metrics: TextAttack figures with Wilson and t intervals on a fixture of results', () => {
  const rec = (status: AttackRecord['status'], pct: number, queries: number): AttackRecord => ({
    index: 0, recipe: 'x', seed: 0, label: 1, status, original: 'a b', adversarial: 'a b', numWords: 10, changed: [],
    perturbedWordPercent: pct, queries, calls: 1, budget: null, budgetExhausted: false, originalProbabilities: [0, 1], adversarialProbabilities: [0, 1], seconds: 0,
  });
  const records = [
    ...[10, 20, 30, 10, 20, 30].map((p, i) => rec('succeeded', p, 10 + i)),
    rec('failed', 0, 50),
    rec('failed', 0, 60),
    rec('skipped', 0, 1),
    rec('skipped', 0, 1),
  ];
  const s = summarizeAttacks(records);
  assert.deepEqual([s.n, s.succeeded, s.failed, s.skipped], [10, 6, 2, 2]);
  assert.equal(s.cleanAccuracy.value, 0.8);
  assert.equal(s.accuracyUnderAttack.value, 0.2);
  assert.equal(s.attackSuccessRate.value, 0.75);
  assert.equal(s.skippedRate.value, 0.2);
  assert.equal(s.perturbedWordPercent.value, 20);
  assert.equal(s.queries.value, (10 + 11 + 12 + 13 + 14 + 15 + 50 + 60) / 8);
  // Wilson 95% for 8/10: [0.4902, 0.9433] (textbook value)
  assert.ok(Math.abs(s.cleanAccuracy.low - 0.4902) < 1e-4 && Math.abs(s.cleanAccuracy.high - 0.9433) < 1e-4, JSON.stringify(s.cleanAccuracy));
  // Wilson for 0/20: [0, 0.1611]; width is not zero at 0
  const w0 = wilsonInterval(0, 20);
  assert.equal(w0.low, 0);
  assert.ok(Math.abs(w0.high - 0.1611) < 1e-4, String(w0.high));
  // t interval of the perturbed percentages 10,20,30,10,20,30: sd = sqrt(80), t_{0.975,5} = 2.5706
  const half = 2.570582 * Math.sqrt(80) / Math.sqrt(6);
  assert.ok(Math.abs(s.perturbedWordPercent.high - (20 + half)) < 1e-4);
  const html = attackRecordsHtml([{ ...records[0], original: 'a <good> movie', adversarial: 'a poor movie', changed: [{ index: 1, from: '<good>', to: 'poor' }] }]);
  assert.ok(html.includes('&lt;good&gt;</span>'));
  assert.ok(html.includes('>poor</span>'));
});

test('runAttacks resumes: examples already in the output file are not attacked again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-wa-'));
  const out = path.join(dir, 'r.jsonl');
  const attack = attackWith(greedyWordImportance('delete'));
  const examples = ['a good movie', 'good great movie', 'a bad movie', 'great film', 'nice movie'].map((text) => ({ text, label: 1 }));
  const first = await runAttacks(attack, bagOfWords(), examples.slice(0, 3), { out, seed: 0 });
  assert.equal(first.attacked, 3);
  const log = { calls: 0, texts: [] as string[] };
  const second = await runAttacks(attack, bagOfWords(log), examples, { out, seed: 0 });
  assert.equal(second.resumed, 3);
  assert.equal(second.attacked, 2);
  assert.ok(log.texts.every((t) => !['a good movie', 'good great movie', 'a bad movie'].includes(t)), 'done examples not scored again');
  const onDisk = readAttackRecords(out);
  assert.deepEqual(onDisk.map((r) => r.index), [0, 1, 2, 3, 4]);
  assert.deepEqual(onDisk.slice(0, 3), first.records);
  await assert.rejects(runAttacks(attack, bagOfWords(), examples, { out, seed: 1 }), /seed 0/);
  await assert.rejects(runAttacks(attack, bagOfWords(), [{ text: 'other text', label: 1 }], { out, seed: 0 }), /another text/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('recipes: names, differences recorded, WordNet synonyms by part of speech', () => {
  assert.deepEqual(Object.keys(WORD_RECIPES), ['pwws', 'pwws-cf', 'textfooler', 'genetic', 'genetic-rift']);
  assert.deepEqual(Object.values(WORD_RECIPES).map((f) => f().recipe), ['pwws_ren_2019', 'pwws_cf', 'textfooler_jin_2019', 'alzantot_2018', 'genetic_rift']);
  for (const f of Object.values(WORD_RECIPES)) assert.ok(f().differences.length > 0);
  assert.ok(alzantot2018().differences.some((d) => /stronger/.test(d)));
  assert.equal(wordRecipe('genetic_rift').search.name, 'genetic (population 60, 40 generations)');
  assert.throws(() => wordRecipe('nope'), /pwws-cf/);
  const wn = loadWordNet();
  assert.equal(wn.mostFrequentPos('good'), 'a');
  assert.equal(wn.mostFrequentPos('run'), 'v');
  assert.ok(wn.synonyms('terrible').includes('awful'));
  assert.ok(wn.synonyms('movies').includes('film'), 'base form through morphy');
  assert.ok(wn.synonyms('good').every((s) => !s.includes('_') && s !== 'good'));
  assert.deepEqual(wn.synonyms('the'), []);
  assert.ok(wn.synonyms('good', 'all').length > wn.synonyms('good').length);
});

test('the shipped SST-2 classifier (IMDB model): batched and one-at-a-time scoring agree, and so do the attacks', async () => {
  const { backend } = await import('./helpers');
  await backend();
  const { loadCheckpoint, disposeParams } = await import('../src/model');
  const { checkpointTokenizer } = await import('../src/tokenizer');
  const dir = path.join(__dirname, '..', 'data', 'checkpoints', 'advlm-bert-tiny-imdb-sst2');
  const { params } = loadCheckpoint(dir, { mlm: false });
  try {
    const tokenizer = checkpointTokenizer(dir);
    const score = modelScoreFn(params, tokenizer, { maxLength: 128, batchSize: 64 });
    const sentences = loadTask('SST-2', 'dev', { limit: 4 });
    const texts = sentences.flatMap((e) => [e.textA, splitWords(e.textA).reverse().join(' ')]);
    const together = await score(texts);
    for (let i = 0; i < texts.length; i++) {
      const alone = (await score([texts[i]]))[0];
      for (let c = 0; c < 2; c++) assert.ok(Math.abs(alone[c] - together[i][c]) < 1e-5, `${texts[i]}: ${alone} vs ${together[i]}`);
    }
    const attack = wordRecipe('textfooler');
    for (const [index, e] of sentences.slice(0, 2).entries()) {
      const a = await attackExample(attack, score, { text: e.textA, label: e.label, index }, { window: { tokenizer, maxLength: 128 } });
      const b = await attackExample(attack, score, { text: e.textA, label: e.label, index }, { batched: false, window: { tokenizer, maxLength: 128 } });
      assert.equal(a.adversarial, b.adversarial);
      assert.equal(a.status, b.status);
      assert.equal(a.queries, b.queries);
      assert.equal(b.calls, b.queries, 'one call per text');
      assert.ok(a.calls < a.queries || a.queries <= 2);
      for (let c = 0; c < 2; c++) assert.ok(Math.abs(a.adversarialProbabilities[c] - b.adversarialProbabilities[c]) < 1e-5);
    }
  } finally {
    disposeParams(params);
  }
});

test('advlm attack: writes records, a rerun with a larger --n attacks only the new examples; errors', async () => {
  const { backend } = await import('./helpers');
  await backend();
  const { attackCommand } = await import('../src/cli/attack');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-wa-cli-'));
  const out = path.join(dir, 'a.jsonl');
  const ckpt = path.join(__dirname, '..', 'data', 'checkpoints', 'advlm-bert-tiny-imdb-sst2');
  const log = console.log;
  console.log = () => {};
  try {
    await attackCommand(['--checkpoint', ckpt, '--recipe', 'pwws-cf', '--n', '2', '--out', out]);
    const first = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.equal(first.length, 2);
    await attackCommand(['--checkpoint', ckpt, '--recipe', 'pwws-cf', '--n', '3', '--out', out]);
    const second = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.equal(second.length, 3);
    assert.deepEqual(second.slice(0, 2), first, 'done examples kept byte for byte (their timings too)');
    await assert.rejects(attackCommand(['--checkpoint', ckpt, '--recipe', 'textfooler', '--n', '3', '--out', out]), /recipe pwws_cf/);
  } finally {
    console.log = log;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(attackCommand(['--checkpoint', ckpt, '--recipe', 'nope']), /unknown word-substitution recipe/);
  await assert.rejects(attackCommand(['--recipe', 'pwws']), /--checkpoint/);
});
