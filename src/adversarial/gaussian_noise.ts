/**
 * Training on word embeddings with random Gaussian noise: the non-adversarial control for the
 * methods of this folder (and the smallest example of a method), as in the random-perturbation
 * baselines of Miyato et al. 2017 (section 4).
 *
 *   delta ~ N(0, sigma^2 I) on the real tokens (zero on padding),   loss = L(f(X + delta), y)
 *
 * One forward and one backward pass per step, like plain training; the noise is redrawn each step
 * from the step's seed.
 */
import * as tf from '@tensorflow/tfjs';
import { batchLoss, embedTokens, lossAndGradients, namedParams } from '../model';
import { initDelta, perExampleNorm } from './perturbation';
import { defineMethod } from './registry';

export interface GaussianNoiseConfig {
  /** Standard deviation of each entry of delta. */
  sigma: number;
}

export const gaussianNoise = defineMethod<GaussianNoiseConfig>({
  name: 'gaussian-noise',
  summary: 'plain training with N(0, sigma^2) noise added to the word embeddings (a non-adversarial control)',
  citation: 'Miyato, Dai & Goodfellow, ICLR 2017 (random perturbation baseline)',
  objectives: ['task', 'mlm'],
  defaults: { sigma: 0.01 },
  options: { sigma: { kind: 'number', help: 'standard deviation of the noise on each embedding entry', min: 0 } },
  makeStep: (config, ctx) => {
    const p = ctx.params;
    const named = namedParams(p);
    return {
      replays: 1,
      params: [],
      step: (batch, info) => {
        const [B, T] = batch.inputIds.shape;
        const delta = initDelta([B, T, p.config.hiddenSize], { kind: 'gaussian', sigma: config.sigma }, { mask: batch.attentionMask, seed: info.seed }); // [B, T, D]
        try {
          const { loss, grads } = lossAndGradients(named, () => batchLoss(p, batch, { embeds: tf.add(embedTokens(p, batch.inputIds), delta), dropout: { seed: info.seed } }));
          const deltaNorm = tf.tidy(() => tf.mean(perExampleNorm(delta, 'l2')) as tf.Scalar);
          return { loss, grads, metrics: { deltaNorm } };
        } finally {
          delta.dispose();
        }
      },
      dispose: () => {},
    };
  },
});
