import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionArrays, attentionPatterns } from '../src/analysis/attention_patterns';
import { backend, expectNoLeak } from './helpers';

const close = (x: number, y: number, tol = 1e-12) => assert.ok(Math.abs(x - y) <= tol, `${x} vs ${y}`);

const identity = (T: number) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (i === j ? 1 : 0)));
const uniform = (T: number) => Array.from({ length: T }, () => new Array(T).fill(1 / T));
/** Each query attends to the previous token (the first one to itself). */
const previous = (T: number) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j === Math.max(0, i - 1) ? 1 : 0)));

test('hand-made heads: self, previous-token, uniform, and [CLS]/[SEP] weight', () => {
  const tokens = ['[CLS]', 'a', 'b', '[SEP]'];
  const r = attentionPatterns([{ attention: [[identity(4), previous(4), uniform(4)]], tokens }]);
  assert.equal(r.length, 3);
  assert.deepEqual(r.map((p) => [p.layer, p.head]), [[0, 0], [0, 1], [0, 2]]);
  const [self, prev, unif] = r;
  close(self.self, 1);
  close(self.previous, 0);
  close(self.entropy, 0);
  close(self.cls, 1 / 4); // only the [CLS] query attends to [CLS]
  close(self.sep, 1 / 4);
  // previous: queries 1..3 put 1 on i-1 (3 of 3 neighbour queries); query 0 attends to itself
  close(prev.previous, 1);
  close(prev.next, 0);
  close(prev.self, 1 / 4);
  close(prev.cls, 2 / 4); // queries 0 and 1 attend to [CLS]
  close(prev.sep, 0);
  close(unif.entropy, 2); // log2 4
  close(unif.uniformEntropy, 2);
  close(unif.cls, 1 / 4);
  close(unif.previous, 1 / 4);
  // previous-token head: [CLS] receives queries 0 and 1 (2 of 4), 'a' and 'b' one each
  assert.equal(prev.topToken, '[CLS]');
  close(prev.topTokenWeight, 2 / 4);
});

test('topToken adds up the weight a token string receives at every position', () => {
  // 'the' appears twice: 0.3 + 0.3 per query beats 'cat' with 0.4
  const row = [0.3, 0.4, 0.3];
  const r = attentionPatterns([{ attention: [[[row, row, row]]], tokens: ['the', 'cat', 'the'] }], { clsToken: 'the' });
  assert.equal(r[0].topToken, 'the');
  close(r[0].topTokenWeight, 0.6);
  close(r[0].cls, 0.6, 1e-12);
});

test('samples of different lengths are pooled per query; positions beyond the tokens are ignored', () => {
  // sample 1: T = 2 (padded to 3: the third row/column must not count), uniform; sample 2: T = 4, uniform
  const padded = [[0.5, 0.5, 0], [0.5, 0.5, 0], [0.3, 0.3, 0.4]];
  const r = attentionPatterns([
    { attention: [[padded]], tokens: ['[CLS]', '[SEP]'] },
    { attention: [[uniform(4)]], tokens: ['[CLS]', 'x', 'y', '[SEP]'] },
  ]);
  // entropy: 2 queries with 1 bit, 4 queries with 2 bits -> 10 / 6
  close(r[0].entropy, 10 / 6);
  close(r[0].uniformEntropy, 10 / 6);
  close(r[0].cls, (2 * 0.5 + 4 * 0.25) / 6);
  close(r[0].previous, (1 * 0.5 + 3 * 0.25) / 4);
});

test('attentionPatterns rejects malformed input', () => {
  assert.throws(() => attentionPatterns([]), /at least one sample/);
  assert.throws(() => attentionPatterns([{ attention: [[identity(3)]], tokens: ['a'] }]), /at least two/);
  assert.throws(() => attentionPatterns([{ attention: [[identity(2)]], tokens: ['a', 'b', 'c'] }]), /smaller than its 3 tokens/);
  assert.throws(
    () => attentionPatterns([{ attention: [[identity(2)]], tokens: ['a', 'b'] }, { attention: [[identity(2), identity(2)]], tokens: ['a', 'b'] }]),
    /does not have 1 layers of 1 heads/,
  );
});

test('attentionArrays picks one sentence and cuts its padding; no leaks', async () => {
  await backend();
  const values = Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => i);
  const a = tf.tensor4d(values, [2, 2, 3, 3]); // [B, H, T, T]
  const arr = await expectNoLeak(() => attentionArrays([a, a], 1, 2), 'attentionArrays');
  assert.equal(arr.length, 2);
  // sentence 1, head 1, rows 0..1, cols 0..1: offset 1*18 + 1*9 = 27
  assert.deepEqual(arr[0][1], [[27, 28], [30, 31]]);
  await expectNoLeak(() => {
    assert.deepEqual(attentionArrays([a], 0)[0][0], [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    assert.throws(() => attentionArrays([a], 2), /not in the batch of 2/);
    assert.throws(() => attentionArrays([a], 0, 4), /length 4 must be 1..3/);
    assert.throws(() => attentionArrays([], 0), /returnAttention/);
  }, 'attentionArrays and its errors');
  a.dispose();
});
