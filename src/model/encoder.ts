/**
 * The BERT encoder (Devlin et al. 2019; Vaswani et al. 2017), functional over explicit parameters.
 *
 * The forward pass is cut at the raw word embeddings, where adversarial perturbations are added:
 *   embedTokens(p, ids)                     -> X = V Z, the word embeddings        [B, T, D]
 *   encodeFromEmbeddings(p, X + delta, ...) -> hidden states                       [B, T, D]
 * encodeFromEmbeddings adds position and token-type embeddings, applies LayerNorm and dropout, then
 * L post-LayerNorm transformer layers:
 *   A = softmax(Q K^T / sqrt(d_k) + M) V   per head, M = -1e9 on padding keys
 *   h = LayerNorm(x + Dropout(A W_O))
 *   y = LayerNorm(h + Dropout(W_2 GELU(W_1 h)))
 * `encodeLayers(p, h, { from, to })` runs layers from..to-1 alone on h (in the space of the
 * embedding output): YOPO needs the embeddings and layer 0 alone, SMART/ALUM's reference variant
 * perturbs the embedding output and runs every layer from there. Every run through the layers is
 * counted (src/model/passes.ts), forward and backward.
 */
import * as tf from '@tensorflow/tfjs';
import { DropoutContext, dropout } from './dropout';
import { countPass, markBackward } from './passes';
import { BertParams, LayerNormParams, LayerParams, Linear } from './params';

/** Added to attention scores of padding keys. HF uses the float32 minimum; both give exp() = 0. */
export const MASK_VALUE = -1e9;

/** x W^T + b for a HuggingFace-layout Linear (weight [out, in]); x is [..., in]. */
export function linear(x: tf.Tensor, l: Linear): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inDim]); // [N, in]
  const y = tf.add(tf.matMul(x2, l.weight, false, true), l.bias); // [N, out]
  return tf.reshape(y, [...lead, l.weight.shape[0]]); // [..., out]
}

/** LayerNorm over the last axis: gamma * (x - mean) / sqrt(var + eps) + beta. */
export function layerNorm(x: tf.Tensor, p: LayerNormParams, eps: number): tf.Tensor {
  const axis = x.shape.length - 1;
  const { mean, variance } = tf.moments(x, axis, true); // [..., 1]
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))); // [..., D]
  return tf.add(tf.mul(normed, p.weight), p.bias); // [..., D]
}

/** Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))); // x.shape
}

/** X = V Z: the raw word embeddings of token ids [B, T] -> [B, T, D]. */
export function embedTokens(p: BertParams, inputIds: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => tf.gather(p.embeddings.word, tf.cast(inputIds, 'int32'))) as tf.Tensor3D; // [B, T, D]
}

export interface EncoderOptions {
  /** Segment ids [B, T] (0 = first sentence, 1 = second); zeros if absent. */
  tokenTypeIds?: tf.Tensor;
  /** 1 for real tokens, 0 for padding [B, T]; all ones if absent. */
  attentionMask?: tf.Tensor;
  /** Dropout context: training mode when given, evaluation (no dropout) when absent. */
  dropout?: DropoutContext;
  /** Also return each layer's attention probabilities [B, H, T, T] (for plotting). */
  returnAttention?: boolean;
  /** Also return the input to each layer and the final output (HF's hidden_states, L + 1 tensors). */
  returnHiddenStates?: boolean;
}

export interface EncoderOutput {
  /** Final hidden states [B, T, D]. */
  hidden: tf.Tensor3D;
  /** Per layer [B, H, T, T], when requested. */
  attentions?: tf.Tensor4D[];
  /** Embedding output then each layer's output, [B, T, D] each, when requested (the last is `hidden`). */
  hiddenStates?: tf.Tensor3D[];
}

/** Additive attention mask [B, 1, 1, T]: 0 for real tokens, MASK_VALUE for padding. */
export function attentionBias(attentionMask: tf.Tensor): tf.Tensor4D {
  const [B, T] = attentionMask.shape;
  const m = tf.cast(attentionMask, 'float32'); // [B, T]
  return tf.reshape(tf.mul(tf.sub(1, m), MASK_VALUE), [B, 1, 1, T]) as tf.Tensor4D; // [B, 1, 1, T]
}

/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1): softmax(Q K^T / sqrt(d_k) + M) V.
 * q, k, v are [..., T, d_k]; `bias` (0 or MASK_VALUE) is added to the scores before the softmax;
 * `dropProbs` applies attention dropout to the probabilities (identity by default).
 * Returns the output [..., T, d_k] and the probabilities [..., T, T].
 */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias?: tf.Tensor,
  dropProbs: (probs: tf.Tensor) => tf.Tensor = (a) => a,
): { output: tf.Tensor; probs: tf.Tensor } {
  return tf.tidy(() => {
    const dk = q.shape[q.shape.length - 1];
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dk)); // [..., T, T]
    if (bias) scores = tf.add(scores, bias); // [..., T, T]
    const probs = tf.softmax(scores); // [..., T, T]
    const output = tf.matMul(dropProbs(probs), v); // [..., T, d_k]
    return { output, probs };
  });
}

/** Splits [B, T, D] into heads: [B, H, T, D/H]. */
function splitHeads(x: tf.Tensor, H: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, dk]
}

/**
 * How a layer runs: all optional, so that evaluating a layer by hand needs none of them (no padding
 * bias, no dropout). `encode` passes all three.
 */
export interface LayerOptions {
  /** Additive attention bias [B, 1, 1, T]: 0 on real keys, MASK_VALUE on padding (`attentionBias`). */
  bias?: tf.Tensor4D;
  /** Dropout masks of a training pass (src/model/dropout.ts); none: no dropout. */
  dropout?: DropoutContext;
  /** The layer's name in dropout sites, e.g. 'layer.0' (its masks are keyed by it). */
  site?: string;
}

/** Multi-head self-attention; returns the context [B, T, D] (before the output projection) and probabilities. */
export function selfAttention(
  x: tf.Tensor3D,
  l: LayerParams,
  numHeads: number,
  options: LayerOptions & { attentionDropout?: number } = {},
): { context: tf.Tensor3D; probs: tf.Tensor4D } {
  const { bias, dropout: ctx, site = 'layer', attentionDropout = 0 } = options;
  const [B, T, D] = x.shape;
  const q = splitHeads(linear(x, l.query), numHeads); // [B, H, T, dk]
  const k = splitHeads(linear(x, l.key), numHeads); // [B, H, T, dk]
  const v = splitHeads(linear(x, l.value), numHeads); // [B, H, T, dk]
  const { output: heads, probs } = scaledDotProductAttention(q, k, v, bias, (a) => dropout(a, attentionDropout, `${site}.attention.probs`, ctx));
  const context = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [B, T, D]) as tf.Tensor3D; // [B, T, D]
  return { context, probs: probs as tf.Tensor4D };
}

/** One post-LayerNorm transformer layer. */
export function transformerLayer(x: tf.Tensor3D, l: LayerParams, p: BertParams, options: LayerOptions = {}): { out: tf.Tensor3D; probs: tf.Tensor4D } {
  const { dropout: ctx, site = 'layer' } = options;
  const c = p.config;
  const { context, probs } = selfAttention(x, l, c.numHeads, { ...options, attentionDropout: c.attentionDropout });
  const attnOut = dropout(linear(context, l.attentionOutput), c.hiddenDropout, `${site}.attention.output`, ctx); // [B, T, D]
  const h = layerNorm(tf.add(x, attnOut), l.attentionLayerNorm, c.layerNormEps); // [B, T, D]
  const ff = linear(gelu(linear(h, l.intermediate)), l.output); // [B, T, D]
  const out = layerNorm(tf.add(h, dropout(ff, c.hiddenDropout, `${site}.output`, ctx)), l.outputLayerNorm, c.layerNormEps); // [B, T, D]
  return { out: out as tf.Tensor3D, probs };
}

/** Position + token-type embeddings added to the word embeddings, then LayerNorm and dropout. */
export function embeddingOutput(p: BertParams, wordEmbeds: tf.Tensor, options: EncoderOptions = {}): tf.Tensor3D {
  const T = wordEmbeds.shape[1] as number;
  const c = p.config;
  if (T > c.maxPositions) {
    throw new Error(`sequence length ${T} exceeds the model's ${c.maxPositions} positions: truncate inputs (maxLength)`);
  }
  const positions = tf.slice(p.embeddings.position, [0, 0], [T, c.hiddenSize]); // [T, D]
  const types = options.tokenTypeIds
    ? tf.gather(p.embeddings.tokenType, tf.cast(options.tokenTypeIds, 'int32')) // [B, T, D]
    : tf.slice(p.embeddings.tokenType, [0, 0], [1, c.hiddenSize]); // [1, D]
  const sum = tf.add(tf.add(wordEmbeds, positions), types); // [B, T, D]
  const normed = layerNorm(sum, p.embeddings.layerNorm, c.layerNormEps); // [B, T, D]
  return dropout(normed, c.hiddenDropout, 'embeddings', options.dropout) as tf.Tensor3D; // [B, T, D]
}

/** Runs the encoder from (possibly perturbed) word embeddings [B, T, D]. */
export function encodeFromEmbeddings(p: BertParams, wordEmbeds: tf.Tensor, options: EncoderOptions = {}): EncoderOutput {
  return tidyOutput(() => encodeUntidied(p, wordEmbeds, options));
}

/** tf.tidy for an EncoderOutput (a container of tensors; absent fields are left out, not undefined). */
function tidyOutput(f: () => EncoderOutput): EncoderOutput {
  return tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as EncoderOutput;
}

export interface LayerRangeOptions extends Pick<EncoderOptions, 'attentionMask' | 'dropout' | 'returnAttention' | 'returnHiddenStates'> {
  /** First layer to run (default 0). */
  from?: number;
  /** One past the last layer to run (default: the number of layers). */
  to?: number;
}

/**
 * Runs layers from..to-1 on h [B, T, D] (the embedding output, or a layer's output). `hiddenStates`
 * then holds h and each layer's output; `attentions` one entry per layer run.
 */
export function encodeLayers(p: BertParams, h: tf.Tensor, options: LayerRangeOptions = {}): EncoderOutput {
  const L = p.layers.length;
  const from = options.from ?? 0;
  const to = options.to ?? L;
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= L)) {
    throw new Error(`encodeLayers: need 0 <= from <= to <= ${L} (integers), got from ${from}, to ${to}`);
  }
  return tidyOutput(() => layersUntidied(p, h as tf.Tensor3D, from, to, options));
}

function layersUntidied(p: BertParams, h: tf.Tensor3D, from: number, to: number, options: LayerRangeOptions): EncoderOutput {
  const full = from === 0 && to === p.layers.length;
  countPass(full ? 'forward' : 'partialForward');
  const bias = options.attentionMask ? attentionBias(options.attentionMask) : undefined; // [B, 1, 1, T]
  let x = h; // [B, T, D]
  const attentions: tf.Tensor4D[] = [];
  const hiddenStates: tf.Tensor3D[] = [x];
  for (let i = from; i < to; i++) {
    const { out, probs } = transformerLayer(x, p.layers[i], p, { bias, dropout: options.dropout, site: `layer.${i}` });
    x = out; // [B, T, D]
    attentions.push(probs);
    hiddenStates.push(x);
  }
  const hidden = markBackward(x, full); // [B, T, D]
  hiddenStates[hiddenStates.length - 1] = hidden;
  const out: EncoderOutput = { hidden };
  if (options.returnAttention) out.attentions = attentions;
  if (options.returnHiddenStates) out.hiddenStates = hiddenStates;
  return out;
}

function encodeUntidied(p: BertParams, wordEmbeds: tf.Tensor, options: EncoderOptions): EncoderOutput {
  const h0 = embeddingOutput(p, wordEmbeds, options); // [B, T, D]
  return layersUntidied(p, h0, 0, p.layers.length, options);
}

/** embedTokens then encodeFromEmbeddings. */
export function encode(p: BertParams, inputIds: tf.Tensor, options: EncoderOptions = {}): EncoderOutput {
  return tidyOutput(() => encodeUntidied(p, embedTokens(p, inputIds), options));
}
