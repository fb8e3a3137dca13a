/**
 * Plain training, the baseline every method is compared with: the loss of the clean minibatch,
 *   min_theta E_(x,y) L(f_theta(x), y),
 * one forward and one backward pass per step. For the task objective this is BERT fine-tuning
 * (Devlin et al. 2019, section 4); for the MLM objective it is masked-language-model pre-training
 * (section 3.1).
 */
import { batchLoss, lossAndGradients, namedParams } from '../model';
import { defineMethod } from './registry';

export const vanilla = defineMethod({
  name: 'vanilla',
  summary: 'plain training on the clean minibatch (fine-tuning or MLM pre-training)',
  citation: 'Devlin et al., BERT, NAACL 2019',
  objectives: ['task', 'mlm'],
  defaults: {},
  options: {},
  makeStep: (_config, ctx) => {
    const named = namedParams(ctx.params);
    return {
      replays: 1,
      params: [],
      step: (batch, info) => {
        const { loss, grads, inputGrads } = lossAndGradients(named, () => batchLoss(ctx.params, batch, { dropout: { seed: info.seed } }));
        inputGrads.forEach((g) => g.dispose());
        return { loss, grads, metrics: {} };
      },
      dispose: () => {},
    };
  },
});
