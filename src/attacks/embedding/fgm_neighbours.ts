/**
 * Are embedding-space adversarial examples still words? FGM (Miyato, Dai & Goodfellow, ICLR 2017;
 * the l2 form of Goodfellow et al.'s FGSM, ICLR 2015) on the word embeddings of a list of sentences,
 * then, for every perturbed token vector e_w + delta_t, its nearest vocabulary words
 * (src/analysis/perturbed_neighbours.ts): the displacement ||delta_t||, the nearest words of the
 * moved vector with their distances, whether the nearest is still w, and w's own nearest other
 * word (the spacing of the vocabulary, for scale).
 *
 * Batch by batch: one embeddingFgsm call with the perturbed embeddings kept, the neighbour search,
 * then everything disposed. Only the tokens that may move are reported (padding never; frozenIds,
 * e.g. [CLS] and [SEP], neither). Notebook 02 section 6 calls this twice: scope 'example' at the
 * radius where half the correct predictions flip, and scope 'token' with eps = the word spacing.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertParams } from '../../model/params';
import type { BertTokenizer } from '../../tokenizer';
import { disposeBatch, makeBatch } from '../../data/batch';
import type { Example } from '../../data/glue';
import { disposeEmbeddingFgsm, embeddingFgsm } from '../../adversarial/embedding_fgsm';
import type { NormType } from '../../adversarial/perturbation';
import { perturbedSentenceNeighbours, PerturbedToken } from '../../analysis/perturbed_neighbours';

export interface FgmNeighboursOptions {
  /** The FGM radius. */
  eps: number;
  norm: NormType;
  /** 'example': ||delta|| = eps over the sentence's T x D tensor; 'token': every moved token by eps. */
  scope: 'example' | 'token';
  /** Token ids that never move (e.g. [tok.clsId, tok.sepId]). */
  frozenIds: readonly number[];
  /** Nearest vocabulary words listed per moved token. */
  k: number;
  /** id -> word for the report (default: the tokenizer's vocabulary). */
  vocab?: readonly string[];
  batchSize: number;
  /** Tokenizer truncation (word pieces including [CLS] and [SEP]). */
  maxLength: number;
}

export const FGM_NEIGHBOURS_DEFAULTS: FgmNeighboursOptions = {
  eps: 1,
  norm: 'l2',
  scope: 'example',
  frozenIds: [],
  k: 3,
  batchSize: 32,
  maxLength: 128,
};

export interface FgmNeighbourSentence {
  /** The tokens that moved, in order, with their nearest-word report. */
  tokens: PerturbedToken[];
  /** Whether FGM changed the prediction. */
  flipped: boolean;
  /** Whether the clean prediction was right. */
  correct: boolean;
}

/** FGM then the nearest-word report of every moved token, one entry per example (see the file header). */
export function fgmNeighbours(
  p: BertParams,
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  options: Partial<FgmNeighboursOptions> = {},
): FgmNeighbourSentence[] {
  const o = { ...FGM_NEIGHBOURS_DEFAULTS, ...options };
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) throw new Error(`fgmNeighbours: eps must be a finite number >= 0, got ${o.eps}`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new Error(`fgmNeighbours: batchSize must be a positive integer, got ${o.batchSize}`);
  const E = p.embeddings.word as tf.Tensor as tf.Tensor2D; // [V, D], the model's own (not disposed here)
  const vocab = o.vocab ?? Array.from({ length: E.shape[0] }, (_, i) => tokenizer.idToToken(i) ?? '?');
  const out: FgmNeighbourSentence[] = [];
  for (let start = 0; start < examples.length; start += o.batchSize) {
    const b = makeBatch(tokenizer, examples.slice(start, start + o.batchSize), 'classification', { maxLength: o.maxLength });
    try {
      const r = embeddingFgsm(p, b, { eps: o.eps, norm: o.norm, scope: o.scope, frozenIds: o.frozenIds, returnEmbeddings: true });
      try {
        const ids = (b.inputIds.arraySync() as number[][]).map((row, i) => row.slice(0, r.lengths[i]));
        const tokens = perturbedSentenceNeighbours(E, ids, r.adversarial[0].embeddings!, { k: o.k, vocab });
        tokens.forEach((t, i) =>
          out.push({
            tokens: t.filter((_, j) => r.perturbable[i][j] === 1),
            flipped: r.adversarial[0].predictions[i] !== r.clean.predictions[i],
            correct: r.clean.predictions[i] === r.labels[i],
          }),
        );
      } finally {
        disposeEmbeddingFgsm(r);
      }
    } finally {
      disposeBatch(b);
    }
  }
  return out;
}
