/**
 * Dropout with explicit seeds and an optional mask cache.
 *
 * Inverted dropout: y = x * m / (1 - rate), m ~ Bernoulli(1 - rate). Each call site has a name
 * ('layer.0.attention.probs', ...); its mask is drawn from a seed derived from (seed, site), so a
 * forward pass is reproducible (seeds: src/seeds.ts). With a `DropoutMasks` cache, the first pass records each site's mask
 * and later passes reuse it: FreeLB's reference code reuses the first ascent pass's dropout masks
 * for all K passes, so that the perturbation, not the dropout noise, is what changes between them.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../seeds';

/** Dropout masks recorded by one forward pass, to be replayed by later passes. Caller disposes. */
export class DropoutMasks {
  readonly masks = new Map<string, tf.Tensor>();

  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

export interface DropoutContext {
  /** Seed of this forward pass (change it every training step). */
  seed: number;
  /** Index of the batch's first example in the whole minibatch (a worker's shard); 0 by default. */
  firstExample?: number;
  /** If given, masks are taken from / recorded into this cache. */
  masks?: DropoutMasks;
}

/** Applies dropout at a named site; identity when ctx is undefined (evaluation) or rate is 0. */
export function dropout(x: tf.Tensor, rate: number, site: string, ctx: DropoutContext | undefined): tf.Tensor {
  if (!ctx || rate <= 0) return x;
  const cached = ctx.masks?.masks.get(site);
  if (cached) {
    if (!tf.util.arraysEqual(cached.shape, x.shape)) {
      throw new Error(`dropout mask for '${site}' has shape ${cached.shape} but the input has ${x.shape}: replay masks only on the same batch`);
    }
    return tf.mul(x, cached); // x.shape
  }
  const mask = tf.tidy(() =>
    tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', deriveSeed(ctx.seed, site, ctx.firstExample ?? 0)), rate), 'float32'), 1 - rate),
  ); // x.shape, values 0 or 1/(1-rate)
  if (ctx.masks) ctx.masks.masks.set(site, tf.keep(mask));
  return tf.mul(x, mask); // x.shape
}
