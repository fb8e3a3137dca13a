import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultTokenizerPath, defaultVocabPath, loadTokenizer, longestFirstLengths } from '../src/tokenizer';
import { makeTokenizerJson } from '../scripts/make-tokenizer';

// Reference ids come from the vocab file itself: id = line number - 1.
const vocabLines = fs.readFileSync(defaultVocabPath(), 'utf8').split('\n').slice(0, -1);
const id = (tok: string): number => {
  const i = vocabLines.indexOf(tok);
  assert.ok(i >= 0, `'${tok}' is in the vocab`);
  return i;
};
const tok = loadTokenizer();
const tiny = path.join(__dirname, 'fixtures', 'tiny-vocab.txt');

test('the committed tokenizer.json is exactly what the generator makes from vocab.txt', () => {
  const committed = fs.readFileSync(defaultTokenizerPath(), 'utf8');
  assert.equal(makeTokenizerJson(defaultVocabPath()), committed);
  const json = JSON.parse(committed);
  assert.equal(Object.keys(json.model.vocab).length, 30522);
  assert.deepEqual(json.normalizer, { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true });
  assert.equal(json.model.max_input_chars_per_word, 100);
  assert.equal(json.model.continuing_subword_prefix, '##');
  assert.equal(json.model.unk_token, '[UNK]');
  assert.equal(json.post_processor.type, 'TemplateProcessing');
  assert.equal(json.decoder.type, 'WordPiece');
});

test('vocabulary size, special ids and id <-> token agree with vocab.txt', () => {
  assert.equal(tok.vocabSize, vocabLines.length);
  assert.equal(tok.vocabSize, 30522);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(id));
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 100, 101, 102, 103]);
  for (const i of [0, 1, 999, 1996, 7592, 20961, 30521]) {
    assert.equal(tok.idToToken(i), vocabLines[i]);
    assert.equal(tok.tokenToId(vocabLines[i]), i);
  }
  assert.equal(tok.idToToken(30522), undefined);
  assert.equal(tok.tokenToId('notatokenatall'), undefined);
  assert.equal(tok.numSpecialSingle, 2);
  assert.equal(tok.numSpecialPair, 3);
});

test('words split greedily into the longest word pieces of the vocab', () => {
  // bert-base-uncased has no '##aff': "unaffable" -> una ##ffa ##ble (longest match from the left)
  assert.deepEqual(tok.tokenize('unaffable'), ['una', '##ffa', '##ble']);
  assert.deepEqual(tok.encode('unaffable').inputIds, [id('[CLS]'), id('una'), id('##ffa'), id('##ble'), id('[SEP]')]);
  assert.deepEqual(tok.tokenize('unbelievably'), ['un', '##bel', '##ie', '##va', '##bly']);
  assert.deepEqual(tok.tokenize('tokenization'), ['token', '##ization']);
  // with a vocab that has them, the textbook split
  const t = loadTokenizer(tiny);
  assert.equal(t.vocabSize, 16);
  assert.deepEqual(t.tokenize('unaffable'), ['un', '##aff', '##able']);
  assert.deepEqual(t.encode('unaffable').inputIds, [2, 5, 6, 7, 3]);
  assert.deepEqual(t.tokenize('runners'), ['runner', '##s']);
});

test('a word longer than 100 characters is one [UNK]; 100 characters still split', () => {
  const t = loadTokenizer(tiny);
  assert.deepEqual(t.tokenize('a'.repeat(100)), ['a', ...new Array(99).fill('##a')]);
  assert.deepEqual(t.tokenize('a'.repeat(101)), ['[UNK]']);
  assert.deepEqual(t.tokenize(`the ${'a'.repeat(101)} .`), ['the', '[UNK]', '.']);
});

test('unknown characters become [UNK], and a word with one becomes a single [UNK]', () => {
  assert.deepEqual(tok.encode('snow ☃ man').inputIds, [id('[CLS]'), id('snow'), id('[UNK]'), id('man'), id('[SEP]')]);
  assert.deepEqual(tok.tokenize('snow☃man'), ['[UNK]']);
  assert.deepEqual(tok.tokenize('hello 😀'), ['hello', '[UNK]']);
});

test('lower-casing and accent stripping', () => {
  assert.deepEqual(tok.tokenize('Café'), ['cafe']);
  assert.deepEqual(tok.encode('Café').inputIds, [id('[CLS]'), id('cafe'), id('[SEP]')]);
  assert.deepEqual(tok.tokenize('RÉSUMÉ naïve'), ['resume', 'naive']);
  assert.deepEqual(tok.tokenize('HELLO World'), ['hello', 'world']);
});

test('Chinese characters are split into one token each, also inside Latin text', () => {
  assert.deepEqual(tok.tokenize('中国人'), ['中', '国', '人']);
  assert.deepEqual(tok.tokenize('hello中国world'), ['hello', '中', '国', 'world']);
  assert.deepEqual(tok.encode('中国').inputIds, [id('[CLS]'), id('中'), id('国'), id('[SEP]')]);
});

test('punctuation and white space: split off, control characters dropped', () => {
  assert.deepEqual(tok.tokenize('Hello, world!'), ['hello', ',', 'world', '!']);
  assert.deepEqual(tok.tokenize('  hello\t\nworld \u0000\u0007 '), ['hello', 'world']);
  assert.deepEqual(tok.tokenize("don't"), ['don', "'", 't']);
  assert.deepEqual(tok.encode('').inputIds, [id('[CLS]'), id('[SEP]')]);
});

test('pairs: [CLS] A [SEP] B [SEP] with token types 0 then 1', () => {
  const e = tok.encode('The cat', 'A dog');
  assert.deepEqual(e.tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'a', 'dog', '[SEP]']);
  assert.deepEqual(e.inputIds, ['[CLS]', 'the', 'cat', '[SEP]', 'a', 'dog', '[SEP]'].map(id));
  assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1, 1]);
  assert.deepEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 1]);
  const single = tok.encode('The cat');
  assert.deepEqual(single.tokenTypeIds, [0, 0, 0, 0]);
});

test('truncation of one text counts [CLS] and [SEP]', () => {
  const e = tok.encode('a b c d e f g h', undefined, { maxLength: 5 });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'b', 'c', '[SEP]']);
  assert.equal(tok.encode('a b c', undefined, { maxLength: 5 }).inputIds.length, 5);
  assert.throws(() => tok.encode('a', undefined, { maxLength: 2 }), /maxLength must be an integer of at least 3/);
  assert.throws(() => tok.encode('a', 'b', { maxLength: 4 }), /at least 5/);
});

const words = (n: number) => 'abcdefghijklmnop'.slice(0, n).split('').join(' ');

test('pair truncation, longest first: the lengths of the Rust tokenizers library', () => {
  // Lengths (A, B) -> kept (A, B) for a budget of 7 tokens besides [CLS] A [SEP] B [SEP], as listed
  // in the unit tests of the Rust `tokenizers` crate (utils/truncation.rs).
  const table: [number, number, number, number][] = [
    [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
    [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
    [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
    [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
  ];
  for (const [a, b, ka, kb] of table) {
    assert.deepEqual(longestFirstLengths(a, b, 7), [ka, kb], `${a}, ${b}`);
    const e = tok.encode(words(a), words(b), { maxLength: 10 });
    const sep = e.tokens.indexOf('[SEP]');
    assert.equal(sep - 1, ka, `A kept of ${a}, ${b}`);
    assert.equal(e.tokens.length - sep - 2, kb, `B kept of ${a}, ${b}`);
    assert.deepEqual(e.tokens.slice(1, sep), words(ka).split(' ').filter((w) => w !== ''), 'A keeps its first tokens');
    assert.equal(e.tokenTypeIds.filter((t) => t === 1).length, kb + 1);
  }
});

test('pair truncation equals removing one token at a time from the longer text', () => {
  for (let a = 0; a <= 20; a++) {
    for (let b = 0; b <= 20; b++) {
      for (const budget of [0, 1, 5, 10, 17, 40]) {
        let x = a;
        let y = b;
        while (x + y > budget) {
          if (x > y) x--;
          else if (y > x) y--;
          else if (a > b) y--; // a tie: the text that was longer at the start keeps the extra token
          else x--;
        }
        assert.deepEqual(longestFirstLengths(a, b, budget), [x, y], `${a}, ${b}, ${budget}`);
      }
    }
  }
});

test('batches are padded on the right to their longest row', () => {
  const b = tok.encodeBatch(['hello', ['the cat', 'a dog barked'], { textA: 'hello world', textB: 'snow' }], { maxLength: 32 });
  assert.deepEqual(b.shape, [3, 8]);
  assert.deepEqual(b.lengths, [3, 8, 6]);
  assert.deepEqual(b.inputIds[0], [id('[CLS]'), id('hello'), id('[SEP]'), 0, 0, 0, 0, 0]);
  assert.deepEqual(b.attentionMask[0], [1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(b.tokenTypeIds[0], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(b.tokens[0].slice(3), ['[PAD]', '[PAD]', '[PAD]', '[PAD]', '[PAD]']);
  assert.deepEqual(b.attentionMask[1], [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(b.tokenTypeIds[2], [0, 0, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual(b.attentionMask[2], [1, 1, 1, 1, 1, 1, 0, 0]);
  for (const k of ['inputIds', 'tokenTypeIds', 'attentionMask', 'tokens'] as const) for (const row of b[k]) assert.equal(row.length, 8);
  // truncation applies per row before padding
  const t = tok.encodeBatch(['a b c d e f g h i j', 'a'], { maxLength: 6 });
  assert.deepEqual(t.shape, [2, 6]);
  assert.throws(() => tok.encodeBatch([]), /at least one/);
});

test('decode joins word pieces and leaves out special tokens', () => {
  assert.equal(tok.decode(tok.encode('Hello, world! Unaffable café.').inputIds), 'hello, world! unaffable cafe.');
  assert.equal(tok.decode([id('[CLS]'), id('hello'), id('[SEP]'), 0, 0], { skipSpecialTokens: false }), '[CLS] hello [SEP] [PAD] [PAD]');
  assert.equal(tok.decode([0, 0]), '');
  assert.throws(() => tok.decode([30522]), /outside the vocabulary/);
});

test('a vocab.txt, a folder and another tokenizer.json layout give the same encodings', () => {
  const fromVocab = loadTokenizer(defaultVocabPath());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-tok-'));
  try {
    // an older BERT tokenizer.json uses the BertProcessing post-processor instead of a template
    const json = JSON.parse(fs.readFileSync(defaultTokenizerPath(), 'utf8'));
    json.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    const fromFolder = loadTokenizer(dir);
    for (const [a, b] of [['Unaffable café, 中国!', undefined], ['The cat sat on the mat.', 'A dog barked.']] as [string, string | undefined][]) {
      const ref = tok.encode(a, b, { maxLength: 12 });
      assert.deepEqual(fromVocab.encode(a, b, { maxLength: 12 }), ref);
      assert.deepEqual(fromFolder.encode(a, b, { maxLength: 12 }), ref);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadTokenizer(path.join(os.tmpdir(), 'no-such-tokenizer.json')), /tokenizer file not found/);
});

test('random replacement ids exclude special and [unused] tokens', () => {
  const ids = tok.randomTokenIds();
  assert.equal(ids.length, 30522 - 5 - 994);
  for (const i of ids) assert.ok(!tok.specialIds.has(i) && !/^\[unused/.test(vocabLines[i]));
});

test('word pieces equal those of an independent Python BERT tokenizer on 250 texts', () => {
  // test/fixtures/tokenizer_reference.py: hand-made edge cases, GLUE texts with non-ASCII characters, a random sample
  const cases: { text: string; tokens: string[] }[] = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tokenizer_reference.json'), 'utf8'));
  assert.ok(cases.length > 200);
  for (const c of cases) assert.deepEqual(tok.tokenize(c.text), c.tokens, JSON.stringify(c.text));
});

test('vocabulary() lists every token by id', () => {
  const tok = loadTokenizer();
  const v = tok.vocabulary();
  assert.equal(v.length, tok.vocabSize);
  assert.equal(v[tok.maskId], '[MASK]');
  assert.equal(v[tok.tokenToId('the')!], 'the');
});
