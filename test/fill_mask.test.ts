import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disposeParams } from '../src/model/index';
import { loadTokenizer } from '../src/tokenizer';
import { fillMask } from '../src/fill_mask';
import { TINY_CONFIGS, backend, expectNoLeak, tinyModel } from './helpers';

test('fillMask ranks k candidates per [MASK] with probabilities in order, leaks nothing, and needs a [MASK]', async () => {
  await backend();
  const tok = loadTokenizer();
  const p = tinyModel({ config: { ...TINY_CONFIGS.micro, vocabSize: tok.vocabSize, maxPositions: 32 }, mlm: true, seed: 3 });
  const preds = await expectNoLeak(() => fillMask(p, tok, 'the [MASK] sat on the [MASK] .', 4), 'fillMask');
  assert.deepEqual(preds.map((x) => x.position), [2, 6]); // [CLS] the [MASK] sat on the [MASK] . [SEP]
  for (const pr of preds) {
    assert.equal(pr.candidates.length, 4);
    const ps = pr.candidates.map((c) => c.probability);
    assert.ok(ps.every((x, i) => x > 0 && x < 1 && (i === 0 || ps[i - 1] >= x)));
    assert.ok(pr.candidates.every((c) => typeof c.token === 'string' && c.token.length > 0));
  }
  await assert.rejects(fillMask(p, tok, 'no mask here'), /no \[MASK\] in "no mask here"/);
  disposeParams(p);
});

test('advlm fill-mask prints the top k at each [MASK] (text or JSON), and refuses bad input before loading anything', async () => {
  await backend();
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { main } = await import('../src/cli/main');
  const { saveCheckpoint } = await import('../src/model/index');
  const { tinyCheckpoint } = await import('./helpers');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-fill-mask-'));
  const ckpt = await tinyCheckpoint(dir);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await main(['fill-mask', '--checkpoint', ckpt, '--k', '3', 'the [MASK] sat .', 'a [MASK] and a [MASK]']);
    await expectNoLeak(() => main(['fill-mask', '--checkpoint', ckpt, '--json', 'the [MASK] sat .']), 'advlm fill-mask');
  } finally {
    console.log = log;
  }
  assert.equal(lines[0], 'the [MASK] sat .');
  assert.match(lines[1], /^ {2}\[MASK\] at 2: (\S+ \(0\.\d{3}\), ){2}\S+ \(0\.\d{3}\)$/);
  assert.equal(lines[2], 'a [MASK] and a [MASK]');
  assert.equal(lines.filter((l) => l.startsWith('  [MASK] at')).length, 3);
  const json = JSON.parse(lines[lines.length - 1]);
  assert.equal(json.text, 'the [MASK] sat .');
  assert.equal(json.masks[0].candidates.length, 5);
  // bad input: a clear error, before any model is loaded
  await assert.rejects(main(['fill-mask', '--checkpoint', ckpt, 'no mask here']), /no \[MASK\] in "no mask here"/);
  await assert.rejects(main(['fill-mask', '--checkpoint', ckpt, '--k', '0', 'a [MASK]']), /--k must be a whole number >= 1/);
  await assert.rejects(main(['fill-mask', '--checkpoint', path.join(dir, 'nope'), 'a [MASK]']), /is not a checkpoint folder/);
  await assert.rejects(main(['fill-mask', '--checkpoint', ckpt]), /give a text with \[MASK\]/);
  // a classifier (no MLM head) is refused rather than answered with a random head
  const clf = tinyModel({ config: { ...TINY_CONFIGS.micro, vocabSize: loadTokenizer().vocabSize, maxPositions: 64 }, numLabels: 2, seed: 4 });
  await saveCheckpoint(clf, path.join(dir, 'clf'));
  disposeParams(clf);
  await expectNoLeak(() => assert.rejects(main(['fill-mask', '--checkpoint', path.join(dir, 'clf'), 'a [MASK]']), /has no MLM head/), 'a refused classifier');
});
