/**
 * BERT configuration (Devlin et al., NAACL 2019), with named sizes. Field names are camelCase
 * versions of HuggingFace's BertConfig keys; `toHfConfig`/`fromHfConfig` convert for config.json.
 */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number; // D
  numLayers: number; // L
  numHeads: number; // H
  intermediateSize: number; // feed-forward width, 4D in BERT
  maxPositions: number;
  typeVocabSize: number;
  hiddenDropout: number;
  attentionDropout: number;
  layerNormEps: number;
  initializerRange: number;
  padTokenId: number;
}

export const BERT_DEFAULTS: BertConfig = {
  vocabSize: 30522,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  maxPositions: 512,
  typeVocabSize: 2,
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  layerNormEps: 1e-12,
  initializerRange: 0.02,
  padTokenId: 0,
};

/** Named sizes: layers / hidden / heads, feed-forward 4x hidden. */
export const CONFIGS = {
  tiny: { ...BERT_DEFAULTS, numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 },
  mini: { ...BERT_DEFAULTS, numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 },
  small: { ...BERT_DEFAULTS, numLayers: 4, hiddenSize: 512, numHeads: 8, intermediateSize: 2048 },
  base: BERT_DEFAULTS,
} satisfies Record<string, BertConfig>;

export type ConfigName = keyof typeof CONFIGS;

export function namedConfig(name: string): BertConfig {
  const c = (CONFIGS as Record<string, BertConfig>)[name];
  if (!c) throw new Error(`unknown model config '${name}': use one of ${Object.keys(CONFIGS).join(', ')}`);
  return c;
}

/** Checks a configuration and says what is wrong. */
export function validateConfig(c: BertConfig): void {
  const positive: (keyof BertConfig)[] = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'];
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`model config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.hiddenSize % c.numHeads !== 0) {
    throw new Error(`model config: hiddenSize ${c.hiddenSize} is not divisible by numHeads ${c.numHeads}`);
  }
  for (const k of ['hiddenDropout', 'attentionDropout'] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`model config: ${k} must be in [0, 1), got ${c[k]}`);
  }
}

/** HuggingFace BertConfig JSON (config.json) for a configuration; `extra` adds keys such as id2label. */
export function toHfConfig(c: BertConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'bert',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: 'gelu',
    hidden_dropout_prob: c.hiddenDropout,
    attention_probs_dropout_prob: c.attentionDropout,
    max_position_embeddings: c.maxPositions,
    type_vocab_size: c.typeVocabSize,
    initializer_range: c.initializerRange,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId,
    ...extra,
  };
}

/** Reads a HuggingFace BertConfig JSON object; missing keys take BERT-base defaults. */
export function fromHfConfig(j: Record<string, unknown>, source = 'config.json'): BertConfig {
  if (j.model_type !== undefined && j.model_type !== 'bert') {
    throw new Error(`${source}: model_type is '${j.model_type}', but advlm loads BERT checkpoints (model_type 'bert')`);
  }
  if (j.hidden_act !== undefined && j.hidden_act !== 'gelu') {
    throw new Error(`${source}: hidden_act '${j.hidden_act}' is not supported (advlm implements BERT's exact 'gelu')`);
  }
  const num = (k: string, d: number): number => {
    const v = j[k];
    if (v === undefined) return d;
    if (typeof v !== 'number') throw new Error(`${source}: ${k} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const d = BERT_DEFAULTS;
  const c: BertConfig = {
    vocabSize: num('vocab_size', d.vocabSize),
    hiddenSize: num('hidden_size', d.hiddenSize),
    numLayers: num('num_hidden_layers', d.numLayers),
    numHeads: num('num_attention_heads', d.numHeads),
    intermediateSize: num('intermediate_size', d.intermediateSize),
    maxPositions: num('max_position_embeddings', d.maxPositions),
    typeVocabSize: num('type_vocab_size', d.typeVocabSize),
    hiddenDropout: num('hidden_dropout_prob', d.hiddenDropout),
    attentionDropout: num('attention_probs_dropout_prob', d.attentionDropout),
    layerNormEps: num('layer_norm_eps', d.layerNormEps),
    initializerRange: num('initializer_range', d.initializerRange),
    padTokenId: num('pad_token_id', d.padTokenId),
  };
  validateConfig(c);
  return c;
}
