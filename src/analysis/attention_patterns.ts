/**
 * Summaries of attention maps per layer and head, after Clark et al., "What Does BERT Look At?
 * An Analysis of BERT's Attention", BlackboxNLP 2019: how much weight a head's queries put on
 * [CLS], on [SEP], on the token itself, on the previous and on the next token, and how spread out
 * its attention is (entropy).
 *
 * Each quantity is a mean over query tokens (all sentences pooled; a sentence's padding is
 * excluded by passing only its real tokens):
 *   cls, sep  sum of the weights on keys that are [CLS] / [SEP] tokens
 *   self      a[i][i]
 *   previous  a[i][i-1], over queries i >= 1;  next  a[i][i+1], over queries i <= T-2
 *   entropy   -sum_j a[i][j] log2 a[i][j], in bits; uniformEntropy = mean log2 T (attention spread
 *             evenly over all T tokens), the largest possible value
 *   topToken  the token string that receives the most weight: for each string t, the sum of the
 *             weights on keys equal to t, averaged over queries (cls and sep are this for [CLS], [SEP])
 */
import * as tf from '@tensorflow/tfjs';

export interface AttentionSample {
  /** Attention weights [layer][head][query][key] (at least T x T per head). */
  attention: number[][][][];
  /** The sentence's real tokens (T of them); positions beyond T (padding) are ignored. */
  tokens: readonly string[];
}

export interface HeadPattern {
  layer: number;
  head: number;
  cls: number;
  sep: number;
  self: number;
  previous: number;
  next: number;
  entropy: number;
  uniformEntropy: number;
  topToken: string;
  /** The weight topToken receives, averaged over queries. */
  topTokenWeight: number;
}

export interface AttentionPatternOptions {
  clsToken: string;
  sepToken: string;
}

export const ATTENTION_PATTERN_DEFAULTS: AttentionPatternOptions = { clsToken: '[CLS]', sepToken: '[SEP]' };

/**
 * Sentence `b` of an encoder's attention output (one [B, H, T, T] tensor per layer) as nested
 * arrays [layer][head][query][key], cut to the first `length` positions (default T). The tensors
 * are left to the caller.
 */
export function attentionArrays(attentions: readonly tf.Tensor[], b: number, length?: number): number[][][][] {
  if (attentions.length === 0) throw new Error('attentionArrays: no attention tensors (encode with { returnAttention: true })');
  return attentions.map((a, l) => {
    if (a.rank !== 4) throw new Error(`attentionArrays: layer ${l} has shape [${a.shape}], expected [B, H, T, T]`);
    const [B, , T] = a.shape;
    if (!(Number.isInteger(b) && b >= 0 && b < B)) throw new Error(`attentionArrays: sentence ${b} is not in the batch of ${B}`);
    const n = length ?? T;
    if (!(Number.isInteger(n) && n >= 1 && n <= T)) throw new Error(`attentionArrays: length ${n} must be 1..${T}`);
    const cut = tf.tidy(() => tf.slice(a, [b, 0, 0, 0], [1, -1, n, n]).squeeze([0])); // [H, n, n]
    const out = cut.arraySync() as number[][][];
    cut.dispose();
    return out;
  });
}

/** Per layer and head, the summary of the file header, pooled over the samples. */
export function attentionPatterns(samples: readonly AttentionSample[], options: Partial<AttentionPatternOptions> = {}): HeadPattern[] {
  const o = { ...ATTENTION_PATTERN_DEFAULTS, ...options };
  if (samples.length === 0) throw new Error('attentionPatterns: give at least one sample {attention, tokens}');
  const L = samples[0].attention.length;
  const H = samples[0].attention[0]?.length ?? 0;
  if (L === 0 || H === 0) throw new Error('attentionPatterns: attention must be [layer][head][query][key] with at least one layer and head');
  samples.forEach((s, n) => {
    const T = s.tokens.length;
    if (T < 2) throw new Error(`attentionPatterns: sample ${n} has ${T} token(s); give at least two`);
    if (s.attention.length !== L || s.attention.some((layer) => layer.length !== H)) throw new Error(`attentionPatterns: sample ${n} does not have ${L} layers of ${H} heads like sample 0`);
    s.attention.forEach((layer, l) =>
      layer.forEach((m, h) => {
        if (m.length < T || m.slice(0, T).some((row) => row.length < T)) throw new Error(`attentionPatterns: sample ${n} layer ${l} head ${h} is smaller than its ${T} tokens`);
      }),
    );
  });
  const out: HeadPattern[] = [];
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const sums = { cls: 0, sep: 0, self: 0, previous: 0, next: 0, entropy: 0, uniformEntropy: 0 };
      const byToken = new Map<string, number>();
      let queries = 0;
      let neighbourQueries = 0;
      for (const s of samples) {
        const T = s.tokens.length;
        const m = s.attention[l][h];
        for (let i = 0; i < T; i++) {
          const row = m[i];
          for (let j = 0; j < T; j++) {
            const a = row[j];
            if (s.tokens[j] === o.clsToken) sums.cls += a;
            if (s.tokens[j] === o.sepToken) sums.sep += a;
            byToken.set(s.tokens[j], (byToken.get(s.tokens[j]) ?? 0) + a);
            if (a > 0) sums.entropy -= a * Math.log2(a);
          }
          sums.self += row[i];
          if (i >= 1) sums.previous += row[i - 1];
          if (i <= T - 2) sums.next += row[i + 1];
          sums.uniformEntropy += Math.log2(T);
          queries += 1;
        }
        neighbourQueries += T - 1;
      }
      let top: [string, number] = ['', -Infinity];
      for (const entry of byToken) if (entry[1] > top[1]) top = entry;
      out.push({
        layer: l,
        head: h,
        cls: sums.cls / queries,
        sep: sums.sep / queries,
        self: sums.self / queries,
        previous: sums.previous / neighbourQueries,
        next: sums.next / neighbourQueries,
        entropy: sums.entropy / queries,
        uniformEntropy: sums.uniformEntropy / queries,
        topToken: top[0],
        topTokenWeight: top[1] / queries,
      });
    }
  }
  return out;
}
