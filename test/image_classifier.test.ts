import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { digitsTensors, loadDigits, selectDigits, splitDigits } from '../src/data/digits';
import { disposeImageClassifier, imageClassifierLogits, imageClassifierLoss, imageClassifierVariables, initImageClassifier, predictImageClasses } from '../src/model/image_classifier';
import { imageClassifierAccuracy, trainImageClassifier } from '../src/train/image_classifier';
import { imageFgsmExamples } from '../src/adversarial/image_fgsm';
import { backend, expectNoLeak } from './helpers';

const { train, test: testSet } = splitDigits(loadDigits(), { seed: 0 });

test('instances get unique variable names, are seeded, and dispose completely', async () => {
  await backend();
  const a = await expectNoLeak(() => {
    const a = initImageClassifier({}, 1);
    const b = initImageClassifier({}, 1);
    const c = initImageClassifier({ hidden: 8, activation: 'tanh' }, 2);
    assert.notEqual(a.name, b.name);
    assert.deepEqual(a.w1.shape, [64, 64]);
    assert.deepEqual(c.w2.shape, [8, 10]);
    assert.deepEqual(Array.from(a.w1.dataSync()), Array.from(b.w1.dataSync()), 'same seed, same weights');
    assert.notDeepEqual(Array.from(a.w1.dataSync()), Array.from(c.w1.dataSync().slice(0, 10)));
    // He-uniform bound sqrt(6 / 64) for ReLU.
    for (const v of a.w1.dataSync()) assert.ok(Math.abs(v) <= Math.sqrt(6 / 64) + 1e-7);
    for (const p of [a, b, c]) disposeImageClassifier(p);
    return a;
  }, 'three classifiers created and disposed');
  const d = initImageClassifier(); // the freed name can be taken again without a collision
  assert.equal(d.name, a.name);
  disposeImageClassifier(d);
  assert.throws(() => initImageClassifier({ hidden: 0 }), /config.hidden must be a positive integer/);
});

test('logits and loss match a plain-JS forward pass', async () => {
  await backend();
  const p = initImageClassifier({ hidden: 16 }, 3);
  const data = selectDigits(testSet, [0, 1, 2, 3]);
  const { x, y } = digitsTensors(data);
  const logits = imageClassifierLogits(p, x).arraySync();
  const [w1, b1, w2, b2] = imageClassifierVariables(p).map((v) => v.arraySync()) as [number[][], number[], number[][], number[]];
  let ce = 0;
  data.x.forEach((row, n) => {
    const h = b1.map((bj, j) => Math.max(0, bj + row.reduce((s, v, i) => s + v * w1[i][j], 0)));
    const z = b2.map((bk, k) => bk + h.reduce((s, v, j) => s + v * w2[j][k], 0));
    z.forEach((v, k) => assert.ok(Math.abs(v - logits[n][k]) < 1e-4, `logit ${n},${k}`));
    const m = Math.max(...z);
    ce += -(z[data.y[n]] - m - Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)));
  });
  const J = imageClassifierLoss(p, x, y);
  assert.ok(Math.abs(J.dataSync()[0] - ce / 4) < 1e-4);
  assert.throws(() => imageClassifierLogits(p, tf.zeros([2, 63]) as tf.Tensor2D), /shape \[N, 64\]/);
  tf.dispose([x, y, J]);
  disposeImageClassifier(p);
});

test('public functions leave no tensors behind', async () => {
  await backend();
  const p = initImageClassifier({}, 4);
  const { x, y } = digitsTensors(selectDigits(testSet, [0, 1, 2, 3, 4]));
  // the returned tensor is disposed inside the check, so only what the function leaves behind counts
  await expectNoLeak(() => imageClassifierLogits(p, x).dispose(), 'imageClassifierLogits');
  await expectNoLeak(() => imageClassifierLoss(p, x, y).dispose(), 'imageClassifierLoss');
  await expectNoLeak(() => imageFgsmExamples(p, x, y, 0.1).dispose(), 'imageFgsmExamples');
  await expectNoLeak(() => predictImageClasses(p, x), 'predictImageClasses');
  await expectNoLeak(() => imageClassifierAccuracy(p, testSet), 'imageClassifierAccuracy');
  await expectNoLeak(() => imageClassifierAccuracy(p, testSet, { eps: 0.1 }), 'imageClassifierAccuracy with eps');
  await expectNoLeak(
    () => trainImageClassifier(p, selectDigits(train, [0, 1, 2, 3, 4, 5, 6]), { epochs: 2, batchSize: 3, adversarial: { eps: 0.1 } }),
    'training (optimizer state included)',
  );
  tf.dispose([x, y]);
  disposeImageClassifier(p);
});

test('FGSM examples stay in [0, 1], move each pixel by at most eps and raise the loss', async () => {
  await backend();
  const p = initImageClassifier({}, 5);
  await trainImageClassifier(p, train, { epochs: 3 });
  const { x, y } = digitsTensors(testSet);
  const xAdv = imageFgsmExamples(p, x, y, 0.1);
  const d = tf.sub(xAdv, x); // [N, 64]
  assert.ok(tf.max(tf.abs(d)).dataSync()[0] <= 0.1 + 1e-6);
  assert.ok(tf.min(xAdv).dataSync()[0] >= 0 && tf.max(xAdv).dataSync()[0] <= 1);
  const J = imageClassifierLoss(p, x, y).dataSync()[0];
  const Jadv = imageClassifierLoss(p, xAdv, y).dataSync()[0];
  assert.ok(Jadv > J + 0.1, `J(x_adv) = ${Jadv} vs J(x) = ${J}`);
  tf.dispose([x, y, xAdv, d]);
  disposeImageClassifier(p);
});

test('training learns the digits; FGSM training makes the model more robust to FGSM (fixed seed)', async () => {
  await backend();
  const plain = initImageClassifier({}, 0);
  const robust = initImageClassifier({}, 0);
  const rPlain = await trainImageClassifier(plain, train, { epochs: 12, seed: 0 });
  const rRobust = await trainImageClassifier(robust, train, { epochs: 12, seed: 0, adversarial: { eps: 0.1 } });
  assert.equal(rPlain.losses.length, 12);
  assert.ok(rPlain.losses[11] < rPlain.losses[0] / 5, `losses ${rPlain.losses}`);
  assert.ok(rRobust.losses[11] < rRobust.losses[0]);
  const clean = imageClassifierAccuracy(plain, testSet);
  const cleanRobust = imageClassifierAccuracy(robust, testSet);
  assert.ok(clean > 0.93 && cleanRobust > 0.93, `clean accuracy ${clean}, ${cleanRobust}`);
  const advPlain = imageClassifierAccuracy(plain, testSet, { eps: 0.1 });
  const advRobust = imageClassifierAccuracy(robust, testSet, { eps: 0.1 });
  assert.ok(advPlain < clean - 0.2, `FGSM eps 0.1 hurts the plain model: ${clean} -> ${advPlain}`);
  assert.ok(advRobust > advPlain + 0.15, `FGSM-trained ${advRobust} vs plain ${advPlain}`);
  disposeImageClassifier(plain);
  disposeImageClassifier(robust);
});

test('adversarial training with alpha = 1 is plain training; shouldStop stops early', async () => {
  await backend();
  const small = selectDigits(train, Array.from({ length: 100 }, (_, i) => i));
  const a = initImageClassifier({ hidden: 16 }, 6);
  const b = initImageClassifier({ hidden: 16 }, 6);
  const ra = await trainImageClassifier(a, small, { epochs: 2, seed: 1 });
  const rb = await trainImageClassifier(b, small, { epochs: 2, seed: 1, adversarial: { eps: 0.3, alpha: 1 } });
  assert.deepEqual(rb.losses, ra.losses);
  assert.deepEqual(Array.from(b.w1.dataSync()), Array.from(a.w1.dataSync()));
  let batches = 0;
  const rc = await trainImageClassifier(a, small, { epochs: 5, batchSize: 10, shouldStop: () => ++batches > 3 });
  assert.equal(rc.losses.length, 0, 'stopped inside the first epoch');
  await assert.rejects(trainImageClassifier(a, small, { adversarial: { eps: 0.1, alpha: 2 } }), /alpha must be in \[0, 1\]/);
  disposeImageClassifier(a);
  disposeImageClassifier(b);
});
