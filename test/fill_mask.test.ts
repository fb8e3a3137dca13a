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
