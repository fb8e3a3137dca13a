/**
 * Which words are perturbed word embeddings closest to? For each token of a sentence whose word
 * embedding e_w was moved to x = e_w + delta (e.g. by FGM in embedding space, Miyato et al., ICLR 2017),
 * this reports:
 *   - the displacement ||x - e_w||_2 (the distance back to the original word),
 *   - the k nearest vocabulary words of x with their distances (is the nearest still w?),
 *   - for scale, the nearest OTHER word of the original e_w and its distance: how far one has to move
 *     e_w before another word could take its place.
 * A perturbed point that is nearer to w than to any other word but far from every word (compared
 * with the word-to-word spacing) is a point no sentence of the vocabulary maps to: the reason
 * embedding-space perturbations are not text (and why word-substitution attacks exist).
 */
import * as tf from '@tensorflow/tfjs';
import { nearestWords } from './nearest_words';

export interface PerturbedNeighboursOptions {
  /** Neighbours listed per perturbed vector. */
  k: number;
  /** id -> word; default: the ids as strings. */
  vocab?: readonly string[];
  vocabChunk: number;
}

export const PERTURBED_NEIGHBOURS_DEFAULTS: PerturbedNeighboursOptions = { k: 3, vocabChunk: 4096 };

export interface Neighbour {
  id: number;
  word: string;
  distance: number;
}

export interface PerturbedToken {
  /** The original token id and word. */
  id: number;
  word: string;
  /** ||x - e_id||_2. */
  displacement: number;
  /** The k nearest vocabulary words of the perturbed vector x, nearest first (l2). */
  nearest: Neighbour[];
  /** Whether the nearest vocabulary word of x is still the original word. */
  nearestIsOriginal: boolean;
  /** The nearest word to e_id other than id itself (for scale). */
  originalNeighbour: Neighbour;
}

/**
 * Nearest-word report for perturbed vectors `perturbed` [N, D] of the tokens `ids` (N ids) in the
 * embedding table E [V, D] (l2 distances). Leaves no tensors behind.
 */
export function perturbedNeighbours(
  E: tf.Tensor2D,
  ids: readonly number[],
  perturbed: tf.Tensor2D,
  options: Partial<PerturbedNeighboursOptions> = {},
): PerturbedToken[] {
  const o = { ...PERTURBED_NEIGHBOURS_DEFAULTS, ...options };
  if (perturbed.rank !== 2 || perturbed.shape[0] !== ids.length) {
    throw new Error(`perturbed must be [N, D] with one row per id (N = ${ids.length}), got [${perturbed.shape}].`);
  }
  const V = E.shape[0];
  ids.forEach((id, i) => {
    if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`ids[${i}] = ${id} is not a row of the embedding table (0..${V - 1}).`);
  });
  if (o.vocab && o.vocab.length !== V) throw new Error(`vocab has ${o.vocab.length} words but E has ${V} rows.`);
  if (!(Number.isInteger(o.k) && o.k >= 1 && o.k < V)) throw new Error(`k must be an integer from 1 to ${V - 1}, got ${o.k}.`);
  const wordOf = (id: number) => (o.vocab ? o.vocab[id] : String(id));
  const idTensor = tf.tensor1d(ids as number[], 'int32'); // [N]
  const originals = tf.gather(E, idTensor) as tf.Tensor2D; // [N, D]
  const displacement = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.sub(perturbed, originals)), 1))); // [N]
  try {
    const near = nearestWords(E, perturbed, { k: o.k, metric: 'l2', vocabChunk: o.vocabChunk });
    // k = 2 on the originals: the first is the word itself (distance 0) unless it has an exact duplicate.
    const own = nearestWords(E, originals, { k: 2, metric: 'l2', vocabChunk: o.vocabChunk });
    const disp = Array.from(displacement.dataSync());
    return ids.map((id, i) => {
      const j = own.ids[i][0] === id ? 1 : 0;
      return {
        id,
        word: wordOf(id),
        displacement: disp[i],
        nearest: near.ids[i].map((nid, r) => ({ id: nid, word: wordOf(nid), distance: near.distances[i][r] })),
        nearestIsOriginal: near.ids[i][0] === id,
        originalNeighbour: { id: own.ids[i][j], word: wordOf(own.ids[i][j]), distance: own.distances[i][j] },
      };
    });
  } finally {
    tf.dispose([idTensor, originals, displacement]);
  }
}

/**
 * perturbedNeighbours for a batch of sentences: `ids[b]` are the token ids of sentence b (its real
 * tokens, no padding; ids[b].length <= T) and `perturbed` [B, T, D] their perturbed embeddings (rows
 * beyond ids[b].length are ignored). Returns one list of tokens per sentence. Leaves no tensors behind.
 */
export function perturbedSentenceNeighbours(
  E: tf.Tensor2D,
  ids: readonly (readonly number[])[],
  perturbed: tf.Tensor3D,
  options: Partial<PerturbedNeighboursOptions> = {},
): PerturbedToken[][] {
  const [B, T] = perturbed.shape;
  if (perturbed.rank !== 3 || ids.length !== B) throw new Error(`perturbed must be [B, T, D] with one id list per sentence (B = ${ids.length}), got [${perturbed.shape}].`);
  const flatIndex: number[] = [];
  ids.forEach((row, b) => {
    if (row.length > T) throw new Error(`ids[${b}] has ${row.length} tokens but perturbed has only T = ${T} positions.`);
    row.forEach((_, t) => flatIndex.push(b * T + t));
  });
  if (flatIndex.length === 0) return ids.map(() => []);
  const rowsOf = tf.tidy(() => tf.gather(tf.reshape(perturbed, [B * T, -1]), tf.tensor1d(flatIndex, 'int32'))) as tf.Tensor2D; // [N, D]
  try {
    const all = perturbedNeighbours(E, ids.flat(), rowsOf, options);
    const out: PerturbedToken[][] = [];
    let k = 0;
    for (const row of ids) {
      out.push(all.slice(k, k + row.length));
      k += row.length;
    }
    return out;
  } finally {
    rowsOf.dispose();
  }
}
