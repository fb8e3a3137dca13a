/**
 * Nearest vocabulary words of vectors in embedding space: which words is a perturbed embedding
 * x + delta closest to? (The question behind reading embedding-space adversarial examples as text,
 * e.g. Miyato et al. 2017, and behind word-substitution attacks.)
 *
 * Distances to all V rows of the embedding table E [V, D] are computed chunk by chunk (queryChunk x
 * vocabChunk at a time), keeping only each chunk's k best, so memory stays bounded for V = 30,522.
 */
import * as tf from '@tensorflow/tfjs';

export interface NearestWordsOptions {
  /** How many neighbours per query. */
  k: number;
  /** 'l2': Euclidean distance; 'cosine': 1 - cosine similarity. */
  metric: 'l2' | 'cosine';
  /** Vocabulary rows per chunk. */
  vocabChunk: number;
  /** Query rows per chunk. */
  queryChunk: number;
  /** Optional id -> word list; when given, the result carries the words too. */
  vocab?: readonly string[];
}

export const NEAREST_WORDS_DEFAULTS: NearestWordsOptions = { k: 5, metric: 'l2', vocabChunk: 4096, queryChunk: 256 };

export interface NearestWordsResult {
  /** [N, k] vocabulary ids, nearest first. */
  ids: number[][];
  /** [N, k] distances, ascending. */
  distances: number[][];
  /** [N, k] the words, when options.vocab was given. */
  words?: string[][];
}

/** Distances [n, c] between queries q [n, D] and table rows e [c, D]. */
function chunkDistances(q: tf.Tensor2D, e: tf.Tensor2D, metric: 'l2' | 'cosine'): tf.Tensor2D {
  return tf.tidy(() => {
    const dots = tf.matMul(q, e, false, true); // [n, c]
    const qq = tf.sum(tf.square(q), 1, true); // [n, 1]
    const ee = tf.sum(tf.square(e), 1).reshape([1, -1]); // [1, c]
    if (metric === 'l2') return tf.sqrt(tf.relu(tf.sub(tf.add(qq, ee), tf.mul(2, dots)))) as tf.Tensor2D; // [n, c]
    const norms = tf.maximum(tf.mul(tf.sqrt(qq), tf.sqrt(ee)), 1e-8); // [n, c]
    return tf.sub(1, tf.div(dots, norms)) as tf.Tensor2D; // [n, c]
  });
}

/** The k nearest vocabulary ids (and distances) of each query row. Leaves no tensors behind. */
export function nearestWords(E: tf.Tensor2D, queries: tf.Tensor2D, options: Partial<NearestWordsOptions> = {}): NearestWordsResult {
  const o = { ...NEAREST_WORDS_DEFAULTS, ...options };
  if (E.rank !== 2 || queries.rank !== 2 || E.shape[1] !== queries.shape[1]) {
    throw new Error(`nearestWords expects a table E [V, D] and queries [N, D] of the same D; got [${E.shape}] and [${queries.shape}].`);
  }
  const [V] = E.shape;
  const [N] = queries.shape;
  if (!(Number.isInteger(o.k) && o.k >= 1 && o.k <= V)) throw new Error(`k must be an integer from 1 to V = ${V}, got ${o.k}.`);
  if (!(o.vocabChunk >= 1 && o.queryChunk >= 1)) throw new Error('vocabChunk and queryChunk must be >= 1.');
  if (o.vocab && o.vocab.length !== V) throw new Error(`vocab has ${o.vocab.length} words but E has ${V} rows.`);
  // best[i] holds up to k (distance, id) pairs for query i, merged over vocabulary chunks.
  const best: Array<Array<[number, number]>> = Array.from({ length: N }, () => []);
  for (let q0 = 0; q0 < N; q0 += o.queryChunk) {
    const n = Math.min(o.queryChunk, N - q0);
    for (let v0 = 0; v0 < V; v0 += o.vocabChunk) {
      const c = Math.min(o.vocabChunk, V - v0);
      const kc = Math.min(o.k, c);
      const top = tf.tidy(() => {
        const q = tf.slice(queries, [q0, 0], [n, -1]); // [n, D]
        const e = tf.slice(E, [v0, 0], [c, -1]); // [c, D]
        const { values, indices } = tf.topk(tf.neg(chunkDistances(q, e, o.metric)), kc); // [n, kc]
        return [values, indices];
      });
      const values = top[0].dataSync();
      const indices = top[1].dataSync();
      tf.dispose(top);
      for (let i = 0; i < n; i++) {
        const list = best[q0 + i];
        for (let j = 0; j < kc; j++) list.push([-values[i * kc + j], v0 + indices[i * kc + j]]);
        list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        list.length = Math.min(list.length, o.k);
      }
    }
  }
  const ids = best.map((l) => l.map((p) => p[1]));
  const distances = best.map((l) => l.map((p) => p[0]));
  return o.vocab ? { ids, distances, words: ids.map((r) => r.map((id) => o.vocab![id])) } : { ids, distances };
}
