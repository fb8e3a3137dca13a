/**
 * The unit of the radius grid: m = the median, over a task's dev examples, of the norm of each
 * example's word-embedding tensor (T x D) under a pre-trained checkpoint, so that eps = rho * m
 * (medianEmbeddingNorm, src/attacks/embedding/max_loss_increase.ts). The embedding-pgd evaluation
 * measures attacks in this unit, and a grid's method entry may give its radii and step sizes in it
 * ("rho": { "eps": 0.02, "alpha": 0.01 }), so that one grid means the same scale on any model.
 */
import { medianEmbeddingNorm } from '../attacks/embedding/max_loss_increase';
import { Example } from '../data';
import { disposeParams, loadCheckpoint } from '../model';
import { BertTokenizer } from '../tokenizer';

/** m for the pre-trained weights in `checkpointDir` (always its weights, also for a cell that starts from random ones). */
export function radiusUnit(checkpointDir: string, tokenizer: BertTokenizer, examples: readonly Example[], o: { maxLength?: number; batchSize?: number } = {}): number {
  const { params } = loadCheckpoint(checkpointDir, { mlm: false });
  try {
    return medianEmbeddingNorm(params, tokenizer, examples, o);
  } finally {
    disposeParams(params);
  }
}
