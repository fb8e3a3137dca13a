/**
 * Parameters of a BERT model as a typed tree of tf.Variables, named and shaped exactly as in
 * HuggingFace checkpoints (a Linear weight is [out, in], used with matMul(x, W, false, true)).
 *
 * `namedParams(p)` lists every variable with its checkpoint name: it is the single source of truth
 * for saving, loading and the optimiser's variable list.
 */
import * as tf from '@tensorflow/tfjs';
import { BertConfig, validateConfig } from './config';
import { deriveSeed } from '../seeds';

export interface Linear {
  weight: tf.Variable; // [out, in]
  bias: tf.Variable; // [out]
}

export interface LayerNormParams {
  weight: tf.Variable; // [D] (gamma)
  bias: tf.Variable; // [D] (beta)
}

export interface EmbeddingParams {
  word: tf.Variable; // [V, D]
  position: tf.Variable; // [P, D]
  tokenType: tf.Variable; // [2, D]
  layerNorm: LayerNormParams;
}

export interface LayerParams {
  query: Linear; // [D, D]
  key: Linear; // [D, D]
  value: Linear; // [D, D]
  attentionOutput: Linear; // [D, D]
  attentionLayerNorm: LayerNormParams;
  intermediate: Linear; // [F, D]
  output: Linear; // [D, F]
  outputLayerNorm: LayerNormParams;
}

/** The MLM head: transform (dense, GELU, LayerNorm), then the tied word embeddings plus a bias. */
export interface MlmHeadParams {
  transform: Linear; // [D, D]
  layerNorm: LayerNormParams;
  bias: tf.Variable; // [V]
}

export interface BertParams {
  config: BertConfig;
  embeddings: EmbeddingParams;
  layers: LayerParams[];
  /** tanh(dense(h_[CLS])): present with a classification or regression head. */
  pooler?: Linear; // [D, D]
  /** numLabels outputs; numLabels = 1 is regression. */
  classifier?: Linear; // [numLabels, D]
  mlm?: MlmHeadParams;
}

export interface HeadOptions {
  /** Adds pooler + classifier with this many outputs (1 = regression). */
  numLabels?: number;
  /** Adds the MLM head (output embeddings tied to the input word embeddings). */
  mlm?: boolean;
}

let instanceCounter = 0;

/** A fresh, unique variable-name prefix, so that re-running a notebook cell never collides. */
function newPrefix(): string {
  instanceCounter += 1;
  return `advlm${instanceCounter}_${Date.now().toString(36)}`;
}

/** Creates the variables of a model; `init(name, shape)` supplies each initial value. */
function buildParams(
  config: BertConfig,
  heads: HeadOptions,
  init: (name: string, shape: number[]) => tf.Tensor,
): BertParams {
  validateConfig(config);
  const prefix = newPrefix();
  const v = (name: string, shape: number[]): tf.Variable => {
    const t = init(name, shape);
    const variable = tf.variable(t, true, `${prefix}/${name}`);
    t.dispose();
    return variable;
  };
  const { hiddenSize: D, intermediateSize: F, vocabSize: V } = config;
  const linear = (name: string, out: number, inp: number): Linear => ({
    weight: v(`${name}.weight`, [out, inp]),
    bias: v(`${name}.bias`, [out]),
  });
  const layerNorm = (name: string): LayerNormParams => ({ weight: v(`${name}.weight`, [D]), bias: v(`${name}.bias`, [D]) });
  const p: BertParams = {
    config,
    embeddings: {
      word: v('bert.embeddings.word_embeddings.weight', [V, D]),
      position: v('bert.embeddings.position_embeddings.weight', [config.maxPositions, D]),
      tokenType: v('bert.embeddings.token_type_embeddings.weight', [config.typeVocabSize, D]),
      layerNorm: layerNorm('bert.embeddings.LayerNorm'),
    },
    layers: Array.from({ length: config.numLayers }, (_, i) => {
      const l = `bert.encoder.layer.${i}`;
      return {
        query: linear(`${l}.attention.self.query`, D, D),
        key: linear(`${l}.attention.self.key`, D, D),
        value: linear(`${l}.attention.self.value`, D, D),
        attentionOutput: linear(`${l}.attention.output.dense`, D, D),
        attentionLayerNorm: layerNorm(`${l}.attention.output.LayerNorm`),
        intermediate: linear(`${l}.intermediate.dense`, F, D),
        output: linear(`${l}.output.dense`, D, F),
        outputLayerNorm: layerNorm(`${l}.output.LayerNorm`),
      };
    }),
  };
  if (heads.numLabels !== undefined) {
    if (!Number.isInteger(heads.numLabels) || heads.numLabels < 1) {
      throw new Error(`numLabels must be a positive integer (1 for regression), got ${heads.numLabels}`);
    }
    p.pooler = linear('bert.pooler.dense', D, D);
    p.classifier = linear('classifier', heads.numLabels, D);
  }
  if (heads.mlm) {
    p.mlm = {
      transform: linear('cls.predictions.transform.dense', D, D),
      layerNorm: layerNorm('cls.predictions.transform.LayerNorm'),
      bias: v('cls.predictions.bias', [V]),
    };
  }
  return p;
}

/** The initial value BERT uses for a tensor: N(0, initializerRange^2) for matrices and embeddings,
 *  ones for LayerNorm gains, zeros for biases. */
export function bertInitialValue(config: BertConfig, seed: number, name: string, shape: number[]): tf.Tensor {
  if (name.endsWith('LayerNorm.weight')) return tf.ones(shape);
  if (name.endsWith('.bias')) return tf.zeros(shape);
  return tf.truncatedNormal(shape, 0, config.initializerRange, 'float32', deriveSeed(seed, name));
}

/** New randomly initialised parameters (seeded). */
export function initParams(config: BertConfig, options: HeadOptions & { seed?: number } = {}): BertParams {
  const seed = options.seed ?? 0;
  return buildParams(config, options, (name, shape) => bertInitialValue(config, seed, name, shape));
}

/** Parameters from a function giving each named tensor's value (used by checkpoint loading). */
export function paramsFromValues(config: BertConfig, heads: HeadOptions, value: (name: string, shape: number[]) => tf.Tensor): BertParams {
  return buildParams(config, heads, value);
}

/** Every variable with its HuggingFace checkpoint name, in a fixed order. */
export function namedParams(p: BertParams): [string, tf.Variable][] {
  const out: [string, tf.Variable][] = [];
  const linear = (name: string, l: Linear) => out.push([`${name}.weight`, l.weight], [`${name}.bias`, l.bias]);
  const e = p.embeddings;
  out.push(
    ['bert.embeddings.word_embeddings.weight', e.word],
    ['bert.embeddings.position_embeddings.weight', e.position],
    ['bert.embeddings.token_type_embeddings.weight', e.tokenType],
  );
  linear('bert.embeddings.LayerNorm', e.layerNorm);
  p.layers.forEach((l, i) => {
    const n = `bert.encoder.layer.${i}`;
    linear(`${n}.attention.self.query`, l.query);
    linear(`${n}.attention.self.key`, l.key);
    linear(`${n}.attention.self.value`, l.value);
    linear(`${n}.attention.output.dense`, l.attentionOutput);
    linear(`${n}.attention.output.LayerNorm`, l.attentionLayerNorm);
    linear(`${n}.intermediate.dense`, l.intermediate);
    linear(`${n}.output.dense`, l.output);
    linear(`${n}.output.LayerNorm`, l.outputLayerNorm);
  });
  if (p.pooler) linear('bert.pooler.dense', p.pooler);
  if (p.classifier) linear('classifier', p.classifier);
  if (p.mlm) {
    linear('cls.predictions.transform.dense', p.mlm.transform);
    linear('cls.predictions.transform.LayerNorm', p.mlm.layerNorm);
    out.push(['cls.predictions.bias', p.mlm.bias]);
  }
  return out;
}

/** All variables (for an optimiser's explicit variable list). */
export function flatParams(p: BertParams): tf.Variable[] {
  return namedParams(p).map(([, v]) => v);
}

/** Number of scalar parameters. */
export function countParams(p: BertParams): number {
  return flatParams(p).reduce((n, v) => n + v.size, 0);
}

/** Releases every variable of a model. */
export function disposeParams(p: BertParams): void {
  for (const v of flatParams(p)) v.dispose();
}

/** True for parameters that get no weight decay: biases and LayerNorm gains (BERT's recipe). */
export function isNoDecay(name: string): boolean {
  return name.endsWith('.bias') || name.includes('LayerNorm');
}
