/**
 * One small figure of every kind, from made-up but plausible numbers (deterministic): a gallery
 * for trying the builders, and the fixtures of the viz tests.
 */
import { seededRandom } from '../data/rng';
import type { Figure } from './figure';
import { trainingCurvesFigure } from './training_curves';
import { attentionFigure } from './attention_map';
import { embeddingFigure } from './embedding_scatter';
import { ascentFigure } from './ascent_steps';
import { lossLineFigure, lossSurfaceFigure } from './loss_landscape';
import { accuracyVsEpsFigure } from './accuracy_vs_eps';
import { methodComparisonFigure } from './method_comparison';
import { lossIncreaseHistogram } from './loss_increase_histogram';
import { adversarialImagesFigure } from './adversarial_images';

function softmaxRows(m: number[][]): number[][] {
  return m.map((r) => {
    const mx = Math.max(...r);
    const e = r.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** Attention weights [layers][heads][T][T] with a few recognisable patterns (previous token, [CLS], diagonal). */
export function exampleAttention(layers: number, heads: number, T: number, seed = 1): number[][][][] {
  const rnd = seededRandom(seed);
  return Array.from({ length: layers }, (_, l) =>
    Array.from({ length: heads }, (_, h) =>
      softmaxRows(
        Array.from({ length: T }, (_, q) =>
          Array.from({ length: T }, (_, k) => {
            const pattern = (l + h) % 3 === 0 ? (k === q - 1 ? 3 : 0) : (l + h) % 3 === 1 ? (k === 0 ? 3 : 0) : k === q ? 3 : 0;
            return pattern + rnd();
          }),
        ),
      ),
    ),
  );
}

/** An 8 x 8 "digit" (a ring, like a 0), pixel values 0..16 as in the UCI/scikit-learn digits. */
export function exampleDigit(): number[] {
  const img: number[] = [];
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      const d = Math.hypot(r - 3.5, (c - 3.5) * 1.3);
      img.push(Math.round(16 * Math.max(0, 1 - Math.abs(d - 2.6) / 1.2)));
    }
  }
  return img;
}

export function exampleFigures(): Record<string, Figure> {
  const rnd = seededRandom(7);
  const steps = Array.from({ length: 60 }, (_, i) => i + 1);
  const curve = (scale: number) => steps.map((s) => scale * Math.exp(-s / 20) + 0.3 + 0.08 * rnd());
  const tokens = ['[CLS]', 'the', 'movie', 'was', 'not', 'the', 'best', '[SEP]'];
  const digit = exampleDigit();
  const sign = digit.map((_, i) => (rnd() < 0.5 ? -1 : 1));
  const adv = digit.map((v, i) => Math.min(16, Math.max(0, v + 3 * sign[i])));
  const alphas = Array.from({ length: 21 }, (_, i) => -1 + i * 0.1);
  const betas = Array.from({ length: 15 }, (_, i) => -1 + i * (2 / 14));
  return {
    trainingCurves: trainingCurvesFigure(
      [
        { name: 'fine-tuning', loss: curve(1.0), metric: [0.86, 0.89, 0.9] },
        { name: 'FreeLB', loss: curve(1.2), metric: [0.87, 0.9, 0.915] },
      ],
      { smooth: 0.6, metricTitle: 'dev accuracy' },
    ),
    attentionSingle: attentionFigure(exampleAttention(2, 2, tokens.length), tokens, { layer: 1, head: 0 }),
    attentionGrid: attentionFigure(exampleAttention(2, 3, tokens.length), tokens),
    embedding: embeddingFigure(
      {
        points: Array.from({ length: 12 }, (_, i) => [(i < 6 ? -1 : 1) + 0.4 * rnd(), 0.5 * rnd() - 0.25]),
        labels: Array.from({ length: 12 }, (_, i) => `s${i + 1}`),
        groups: Array.from({ length: 12 }, (_, i) => (i < 6 ? 'bank (river)' : 'bank (money)')),
      },
      { title: 'Contextual vectors of "bank" (PCA)', explained: [0.41, 0.17] },
    ),
    ascent: ascentFigure(
      [
        { name: 'alpha 0.1', norms: [0.05, 0.15, 0.25, 0.3], losses: [0.41, 0.55, 0.7, 0.78] },
        { name: 'alpha 0.3', norms: [0.05, 0.3, 0.3, 0.3], losses: [0.41, 0.8, 0.86, 0.88] },
      ],
      { eps: 0.3 },
    ),
    lossLine: lossLineFigure(alphas, [
      { name: 'adversarial direction', losses: alphas.map((a) => 0.4 + 1.5 * a * a + 0.8 * a) },
      { name: 'random direction', losses: alphas.map((a) => 0.4 + 0.2 * a * a) },
    ]),
    lossContour: lossSurfaceFigure(alphas, betas, betas.map((b) => alphas.map((a) => 0.4 + 1.2 * a * a + 0.3 * b * b + 0.5 * a))),
    lossSurface: lossSurfaceFigure(alphas, betas, betas.map((b) => alphas.map((a) => 0.4 + 1.2 * a * a + 0.3 * b * b + 0.5 * a)), { kind: 'surface' }),
    accuracyVsEps: accuracyVsEpsFigure([
      { name: 'BERT', eps: [0, 0.1, 0.2, 0.4], accuracy: [0.92, 0.7, 0.45, 0.2] },
      { name: 'BERT + FreeLB', eps: [0, 0.1, 0.2, 0.4], accuracy: [0.93, 0.84, 0.7, 0.48] },
    ]),
    methodComparison: methodComparisonFigure([
      { method: 'BERT', task: 'SST-2', values: [92.1, 92.8, 91.9, 92.4, 92.5] },
      { method: 'BERT', task: 'RTE', values: [66.1, 68.6, 64.3, 69.0, null] },
      { method: 'FreeLB', task: 'SST-2', values: [93.0, 93.3, 92.7, 93.1, 93.4] },
      { method: 'FreeLB', task: 'RTE', values: [70.4, 71.1, 69.3, 72.2, 70.8] },
    ], { yTitle: 'dev accuracy (%)' }),
    lossIncrease: lossIncreaseHistogram([
      { name: 'BERT', values: Array.from({ length: 200 }, () => 2 * rnd() ** 2 + 0.3 * rnd()) },
      { name: 'BERT + FreeLB', values: Array.from({ length: 200 }, () => 0.8 * rnd() ** 2 + 0.1 * rnd()) },
    ]),
    adversarialImages: adversarialImagesFigure([
      { original: digit, adversarial: adv, captions: { original: 'pred 0 (98%)', perturbation: 'ε = 3 · sign(∇x L)', adversarial: 'pred 8 (61%)' } },
    ]),
  };
}
