import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  cleanReviewText,
  CorpusDocument,
  getTask,
  IMDB_DEV_PER_CLASS,
  imdbPretrainDocuments,
  imdbSplit,
  imdbTrainDev,
  loadTask,
  loadTokenizer,
  packCacheFile,
  packCacheKey,
  packSequences,
  packSequencesCached,
  parseImdbJsonl,
  readCorpus,
  readImdbFile,
  reviewSentences,
} from '../src/data';
import { initBackend } from '../src/backend';
import { disposeParams, loadCheckpoint } from '../src/model';
import { checkpointTokenizer } from '../src/tokenizer';
import { evaluate } from '../src/train/evaluate';
import { readRecords, reconcile } from '../src/sweep';

const fixtures = path.join(__dirname, 'fixtures');
const fixtureDir = path.join(fixtures, 'imdb');

function counts(labels: number[]): Record<number, number> {
  const c: Record<number, number> = {};
  for (const l of labels) c[l] = (c[l] ?? 0) + 1;
  return c;
}

test('reader: gzipped JSON lines, <br> tags become spaces, white space collapses', () => {
  const rows = readImdbFile(path.join(fixtureDir, 'train_neg.jsonl.gz'));
  assert.equal(rows.length, 12);
  assert.deepEqual(rows[0], { id: 0, rating: 1, text: 'negative training review 0. The film was negative training. Number 0 says so!' });
  assert.equal(rows[1].text, 'Line one. Line two. Line three, then a tab and new line.');
  for (const r of rows) assert.doesNotMatch(r.text, /<br|\s\s|^\s|\s$/i);
  assert.equal(readImdbFile(path.join(fixtureDir, 'train_neg.jsonl.gz'), 2).length, 2);
  assert.equal(cleanReviewText('a<br />b<br/>c<br>d<BR >e <br /> <br />  f'), 'a b c d e f');
  assert.equal(cleanReviewText('<em>kept</em> <3'), '<em>kept</em> <3');
});

test('reader: a malformed line names the file and the line; a missing file says where the data belongs', () => {
  const bad = path.join(fixtureDir, 'malformed.jsonl.gz');
  assert.throws(() => readImdbFile(bad), (e: Error) => e.message.startsWith(`${bad}:3: expected {"id": number, "rating": number, "text": string}`));
  assert.equal(readImdbFile(bad, 1).length, 1); // a limited read stops before the bad line
  assert.throws(() => parseImdbJsonl('{"id":0,"rating":1,"text":"x"}\n{"id": 1, "rat', 'x.jsonl'), /^Error: x\.jsonl:2: not a JSON object/);
  assert.throws(() => parseImdbJsonl('[1,2]', 'y.jsonl'), /^Error: y\.jsonl:1: expected/);
  const missing = path.join(fixtures, 'no-such-folder', 'train_pos.jsonl.gz');
  assert.throws(() => readImdbFile(missing), (e: Error) => e.message.includes(missing) && e.message.includes('data/imdb'));
  assert.throws(() => loadTask('IMDB', 'train', { dataDir: path.join(fixtures, 'glue') }), /IMDB file not found: .*glue\/imdb\/train_neg\.jsonl\.gz.*data\/imdb/);
});

test('sentence split: only at spaces, so the words are unchanged', () => {
  const text = 'It was "great." Then it ended! Why? (Nobody knows.) 10 out of 10... e.g. this one.';
  const s = reviewSentences(text);
  assert.deepEqual(s, ['It was "great."', 'Then it ended!', 'Why?', '(Nobody knows.)', '10 out of 10... e.g. this one.']); // no split before a lower-case letter
  assert.equal(s.join(' '), text);
});

test('task registry: IMDB is binary sentiment with accuracy and a recommended length of 256', () => {
  const t = getTask('imdb');
  assert.equal(t.name, 'IMDB');
  assert.equal(t.kind, 'classification');
  assert.deepEqual(t.labelNames, ['negative', 'positive']);
  assert.equal(t.numLabels, 2);
  assert.deepEqual(t.metrics, ['accuracy']);
  assert.equal(t.maxLength, 256);
  assert.match(t.description, /both sides of the train\/dev cut/);
  assert.throws(() => loadTask('IMDB', 'unsup', { dataDir: fixtures }), /IMDB has no split 'unsup'; its splits are: train, dev, test/);
});

test('fixture splits: balanced dev, disjoint from train, duplicates of dev texts kept out of train, the same on every call', () => {
  for (const perClass of [1, 3, 5]) {
    const a = imdbTrainDev({ dir: fixtureDir, devPerClass: perClass });
    const b = imdbTrainDev({ dir: fixtureDir, devPerClass: perClass });
    assert.deepEqual(a, b);
    assert.deepEqual(counts(a.dev.map((e) => e.label)), { 0: perClass, 1: perClass });
    const devIds = new Set(a.dev.map((e) => e.id));
    const devTexts = new Set(a.dev.map((e) => e.textA));
    assert.ok(a.train.every((e) => !devIds.has(e.id) && !devTexts.has(e.textA)));
    // every training review is in exactly one split, except a duplicate of a dev text
    const dupInDev = devTexts.has('negative training review 10. The film was negative training. Number 10 says so!');
    assert.equal(a.train.length + a.dev.length, 24 - (dupInDev ? 1 : 0));
    for (const e of [...a.train, ...a.dev]) assert.equal(e.label, e.id.startsWith('train_pos/') ? 1 : 0);
  }
  // loadTask uses the fixed 1,250 reviews a class, more than the fixture has
  assert.throws(() => loadTask('IMDB', 'dev', { dataDir: fixtures }), /12 training reviews of class 0 .* need more than 1250/);
});

test('fixture pre-training documents: unsup and train, never a dev or test text (even with other white space)', () => {
  const { train, dev } = imdbTrainDev({ dir: fixtureDir, devPerClass: 3 });
  const docs = imdbPretrainDocuments({ dir: fixtureDir, devPerClass: 3 });
  const texts = docs.map((d) => d.sentences.join(' '));
  const test = imdbSplit('test', { dir: fixtureDir });
  assert.equal(test.length, 10);
  const heldOut = new Set([...dev, ...test].map((e) => e.textA));
  assert.ok(texts.every((t) => !heldOut.has(t)));
  // unsup/3 repeats a test review: left out; every other unsup review and every train review is in
  assert.deepEqual(
    docs.map((d) => d.name),
    [...[0, 1, 2, 4, 5, 6, 7].map((i) => `unsup/${i}`), ...train.map((e) => e.id)],
  );
  // a folder holding unsup.jsonl.gz is read as IMDB (here: too small for the fixed 1,250-a-class dev split)
  assert.throws(() => readCorpus({ dir: fixtureDir }), /IMDB: 12 training reviews of class 0 .* need more than 1250/);
  const limited = imdbPretrainDocuments({ dir: fixtureDir, devPerClass: 3, limitLines: 2 });
  assert.deepEqual(limited.map((d) => d.name), ['unsup/0', 'unsup/1', ...train.slice(0, 2).map((e) => e.id)]);
});

// ---- the shipped data (data/imdb): read once, a few seconds ----

test('shipped IMDB: dev 2,500 balanced, disjoint from train, identical on every call; test 25,000; limited reads mix classes', () => {
  const t0 = Date.now();
  const a = imdbTrainDev();
  const seconds = (Date.now() - t0) / 1000;
  const b = loadTask('IMDB', 'dev');
  assert.equal(a.dev.length, 2 * IMDB_DEV_PER_CLASS);
  assert.deepEqual(counts(a.dev.map((e) => e.label)), { 0: 1250, 1: 1250 });
  assert.deepEqual(b.map((e) => e.id), a.dev.map((e) => e.id)); // same reviews, same order
  const devIds = new Set(a.dev.map((e) => e.id));
  const devTexts = new Set(a.dev.map((e) => e.textA));
  assert.ok(a.train.every((e) => !devIds.has(e.id) && !devTexts.has(e.textA)));
  assert.equal(new Set(a.train.map((e) => e.id)).size, a.train.length);
  assert.ok(a.train.length >= 22400 && a.train.length <= 22500, `train ${a.train.length}`);
  const c = counts(a.train.map((e) => e.label));
  assert.ok(Math.abs(c[0] - c[1]) < 100, JSON.stringify(c));
  for (const split of ['train', 'dev', 'test']) {
    const first = loadTask('IMDB', split, { limit: 40 });
    assert.equal(first.length, 40);
    const k = counts(first.map((e) => e.label));
    assert.ok(k[0] >= 8 && k[1] >= 8, `${split}: ${JSON.stringify(k)}`);
  }
  const test = imdbSplit('test');
  assert.equal(test.length, 25000);
  assert.deepEqual(counts(test.map((e) => e.label)), { 0: 12500, 1: 12500 });
  assert.ok(test.every((e) => e.id.startsWith('test_')));
  console.log(`# IMDB train+dev read in ${seconds.toFixed(1)} s`);
});

test('shipped IMDB pre-training corpus: unsup + train, never a test or dev review; readCorpus({ dir: "imdb" }) selects it', () => {
  const docs = readCorpus({ dir: 'imdb' });
  const { train, dev } = imdbTrainDev();
  const test = imdbSplit('test');
  const heldOut = new Set([...dev, ...test].map((e) => e.textA));
  let unsup = 0;
  const names = new Set<string>();
  for (const d of docs) {
    assert.ok(!heldOut.has(d.sentences.join(' ')), d.name);
    assert.ok(!d.name.startsWith('test_'), d.name);
    names.add(d.name);
    if (d.name.startsWith('unsup/')) unsup++;
  }
  for (const e of dev) assert.ok(!names.has(e.id), e.id);
  assert.ok(unsup > 49000 && unsup <= 50000, `unsup ${unsup}`);
  const fromTrain = docs.length - unsup;
  assert.ok(fromTrain > 22000 && fromTrain <= train.length, `train ${fromTrain}`);
});

// ---- the cache of packed ids ----

function countingTokenizer(vocabFile?: string) {
  const tok = loadTokenizer(vocabFile);
  let calls = 0;
  const wrapped = {
    clsId: tok.clsId,
    sepId: tok.sepId,
    vocabSize: tok.vocabSize,
    vocabulary: () => tok.vocabulary(),
    tokenIds: (s: string) => {
      calls++;
      return tok.tokenIds(s);
    },
  };
  return { tok: wrapped, calls: () => calls };
}

test('pack cache: round-trips, skips tokenising on a hit, and a changed key (length, text, vocabulary) misses', () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-pack-cache-'));
  try {
    const docs: CorpusDocument[] = imdbPretrainDocuments({ dir: fixtureDir, devPerClass: 3 });
    const { tok, calls } = countingTokenizer();
    const plain = packSequences(tok, docs, { maxLength: 16 });
    const first = packSequencesCached(tok, docs, { maxLength: 16, cacheDir });
    assert.deepEqual(first, plain);
    const file = packCacheFile(packCacheKey(tok, docs, 16), cacheDir);
    assert.ok(fs.existsSync(file));
    const before = calls();
    const second = packSequencesCached(tok, docs, { maxLength: 16, cacheDir });
    assert.deepEqual(second, plain);
    assert.equal(calls() - before, 1, 'a hit tokenises only the key probe');

    // another maxLength, another document text, another vocabulary: other keys, other files, fresh packing
    const keys = new Set([packCacheKey(tok, docs, 16)]);
    const other = packSequencesCached(tok, docs, { maxLength: 24, cacheDir });
    assert.deepEqual(other, packSequences(tok, docs, { maxLength: 24 }));
    keys.add(packCacheKey(tok, docs, 24));
    const edited = docs.map((d, i) => (i === 0 ? { ...d, sentences: [...d.sentences.slice(0, -1), d.sentences[d.sentences.length - 1] + ' Indeed.'] } : d));
    const b2 = calls();
    assert.deepEqual(packSequencesCached(tok, edited, { maxLength: 16, cacheDir }), packSequences(tok, edited, { maxLength: 16 }));
    assert.ok(calls() - b2 > docs.length, 'an edited corpus is tokenised again');
    keys.add(packCacheKey(tok, edited, 16));
    const tiny = countingTokenizer(path.join(fixtures, 'tiny-vocab.txt')).tok;
    assert.deepEqual(packSequencesCached(tiny, docs, { maxLength: 16, cacheDir }), packSequences(tiny, docs, { maxLength: 16 }));
    keys.add(packCacheKey(tiny, docs, 16));
    assert.equal(keys.size, 4);
    assert.equal(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.bin')).length, 4);

    // a truncated file is not trusted: packed again and rewritten
    fs.truncateSync(file, fs.statSync(file).size - 2);
    const b3 = calls();
    assert.deepEqual(packSequencesCached(tok, docs, { maxLength: 16, cacheDir }), plain);
    assert.ok(calls() - b3 > 1);
    assert.deepEqual(packSequencesCached(tok, docs, { maxLength: 16, cacheDir }), plain);
    assert.equal(fs.readdirSync(cacheDir).filter((f) => f.includes('.tmp')).length, 0);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

// ---- the shipped IMDB classifier (data/checkpoints/advlm-bert-tiny-imdb-imdb) ----

test('shipped IMDB classifier: its config names its run, and it repeats that run\'s recorded dev predictions', async () => {
  await initBackend({ log: false });
  const dir = path.join(__dirname, '..', 'data', 'checkpoints', 'advlm-bert-tiny-imdb-imdb');
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const advlm = config.advlm as { task: string; maxLength: number; shipped: { sweep: string; seed: number; runId: string } };
  assert.equal(advlm.task, 'IMDB');
  assert.equal(advlm.maxLength, 256);
  // the sweep record it came from: its dev predictions, scored at float32 before shipping
  const { records } = reconcile(readRecords([path.join(__dirname, '..', 'notebooks', 'results', 'imdb-finetune')]).records);
  const record = records.find((r) => r.id === advlm.shipped.runId);
  assert.ok(record?.results?.dev, `no record of run ${advlm.shipped.runId} in notebooks/results/imdb-finetune/records.jsonl`);
  assert.equal(record.cell.seed, advlm.shipped.seed);
  const n = 96;
  const dev = loadTask('IMDB', 'dev').slice(0, n);
  const { params } = loadCheckpoint(dir, { mlm: false });
  try {
    const r = await evaluate(params, checkpointTokenizer(dir), dev, getTask('IMDB'), { maxLength: advlm.maxLength });
    const recorded = record.results.dev.predictions!.slice(0, n);
    assert.deepEqual(dev.map((e) => e.label), record.results.dev.gold!.slice(0, n), 'the dev split changed since the run');
    const same = r.predictions.filter((p, i) => p === recorded[i]).length;
    assert.equal(same, n, `the float16 weights changed ${n - same} of the first ${n} recorded dev predictions`);
  } finally {
    disposeParams(params);
  }
});
