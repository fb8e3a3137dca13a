/**
 * pgdLinf (src/attacks/pgd_linf.ts): PGD in an l-infinity ball, checked against answers known in
 * closed form, against FGSM (one step of size eps from x is FGSM), and on the digits classifier
 * (never weaker than FGSM at the same eps), plus its limits and its tensor bookkeeping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backend, expectNoLeak, maxAbsDiff } from './helpers';
import { pgdLinf } from '../src/attacks/pgd_linf';
import { fgsm } from '../src/adversarial/fgsm';
import { digitsTensors, loadDigits, splitDigits } from '../src/data/digits';
import { disposeImageClassifier, imageClassifierLoss, initImageClassifier, predictImageClasses } from '../src/model/image_classifier';
import { trainImageClassifier } from '../src/train/image_classifier';

test('on a separable loss PGD reaches the corner of the ball farthest from the minimum, clipped to the range', async () => {
  await backend();
  // J(x) = sum (x - c)^2 is maximised over the box [x - eps, x + eps] ∩ [0, 1] at x + eps * sign(x - c), clipped.
  const x = tf.tensor2d([[0.5, 0.2, 0.95, 0.04]]); // [1, 4]
  const c = tf.tensor2d([[0.4, 0.3, 0.5, 0.5]]); // [1, 4]
  const J = (xi: tf.Tensor2D) => tf.sum(tf.square(tf.sub(xi, c))) as tf.Scalar;
  const adv = await expectNoLeak(() => {
    const a = pgdLinf(J, x, { eps: 0.1, steps: 8, alpha: 0.03, randomStart: true, seed: 3, clip: [0, 1] }); // [1, 4]
    const values = Array.from(a.dataSync());
    a.dispose();
    return values;
  }, 'pgdLinf');
  assert.ok(maxAbsDiff(adv, [0.6, 0.1, 1, 0]) < 1e-6, `got ${adv}`);
  tf.dispose([x, c]);
});

test('one step of size eps from x itself is FGSM', async () => {
  await backend();
  const x = tf.tensor2d([[0.1, 0.7, 0.3], [0.9, 0.5, 0.2]]); // [2, 3]
  const w = tf.tensor2d([[1, -2, 0.5], [-1, 3, 2]]); // [2, 3]
  const J = (xi: tf.Tensor2D) => tf.sum(tf.sin(tf.mul(xi, w))) as tf.Scalar;
  const pgd = pgdLinf(J, x, { eps: 0.05, steps: 1, alpha: 0.05, randomStart: false, clip: [0, 1] });
  const { xAdv } = fgsm(J, x, 0.05, { clip: [0, 1] });
  assert.equal(maxAbsDiff(pgd, xAdv), 0);
  tf.dispose([x, w, pgd, xAdv]);
});

test('on the digits classifier PGD stays in the ball and is never weaker than FGSM', async () => {
  await backend();
  const { train, test: held } = splitDigits(loadDigits(), { testFraction: 0.2, seed: 0 });
  const p = initImageClassifier({ hidden: 32 }, 0);
  await trainImageClassifier(p, train, { epochs: 5, lr: 0.01, batchSize: 32, seed: 0 });
  const { x, y } = digitsTensors(held); // [N, 64], [N]
  const eps = 0.1;
  const J = (xi: tf.Tensor2D) => imageClassifierLoss(p, xi, y);
  const pgd = pgdLinf(J, x, { eps, steps: 10, seed: 1, clip: [0, 1] }); // [N, 64]
  const { xAdv } = fgsm(J, x, eps, { clip: [0, 1] }); // [N, 64]
  const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(pgd, x))).dataSync()[0]);
  const range = tf.tidy(() => [tf.min(pgd).dataSync()[0], tf.max(pgd).dataSync()[0]]);
  assert.ok(moved <= eps + 1e-6, `moved ${moved} > eps`);
  assert.ok(range[0] >= 0 && range[1] <= 1, `left [0, 1]: ${range}`);
  const accuracy = (xa: tf.Tensor2D) => predictImageClasses(p, xa).filter((c, i) => c === held.y[i]).length / held.y.length;
  const [accPgd, accFgsm] = [accuracy(pgd), accuracy(xAdv)];
  assert.ok(accPgd <= accFgsm, `PGD accuracy ${accPgd} above FGSM's ${accFgsm}`);
  const [lossPgd, lossFgsm] = tf.tidy(() => [J(pgd).dataSync()[0], J(xAdv).dataSync()[0]]);
  assert.ok(lossPgd >= lossFgsm, `PGD loss ${lossPgd} below FGSM's ${lossFgsm}`);
  tf.dispose([pgd, xAdv, x, y]);
  disposeImageClassifier(p);
});

test('pgdLinf refuses bad settings', async () => {
  await backend();
  const x = tf.zeros([1, 2]);
  const J = (xi: tf.Tensor) => tf.sum(xi) as tf.Scalar;
  assert.throws(() => pgdLinf(J, x, { eps: -1 }), /eps must be/);
  assert.throws(() => pgdLinf(J, x, { steps: 0 }), /steps must be/);
  assert.throws(() => pgdLinf(J, x, { alpha: NaN }), /alpha must be/);
  assert.throws(() => pgdLinf(J, x, { clip: [1, 0] }), /clip must be/);
  x.dispose();
});
