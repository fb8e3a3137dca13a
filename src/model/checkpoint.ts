/**
 * Checkpoints: `model.safetensors` (HuggingFace tensor names and layouts) plus `config.json`
 * (HuggingFace BertConfig keys, with advlm's extras under "advlm"). Both are written atomically.
 *
 * Loading accepts our own checkpoints and standard BERT checkpoints in the BertForMaskedLM,
 * BertForSequenceClassification, BertForPreTraining and BertModel layouts. Heads asked for but
 * absent are initialised fresh (and reported); tensors of other known heads are reported as
 * unused; anything missing from the encoder, unexpected, or wrongly shaped is an error that lists
 * every such tensor.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BertConfig, fromHfConfig, toHfConfig } from './config';
import { BertParams, HeadOptions, bertInitialValue, namedParams, paramsFromValues } from './params';
import { RawTensor, readSafetensors, writeSafetensors } from './safetensors';
import { writeJsonAtomic } from '../util/atomic';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/** Names of heads we know but may not have asked for; loading leaves them unused rather than failing. */
const KNOWN_HEAD_PREFIXES = ['bert.pooler.', 'classifier.', 'cls.predictions.', 'cls.seq_relationship.'];

/** Tensors that are derived or duplicated in HF files and never loaded. */
function isIgnored(name: string): boolean {
  return (
    name.endsWith('position_ids') ||
    name === 'cls.predictions.decoder.weight' || // tied to the word embeddings
    name === 'cls.predictions.decoder.bias' // same tensor as cls.predictions.bias
  );
}

/** Maps older or prefix-less HF names onto the names advlm uses. */
export function canonicalName(name: string, hasBertPrefix: boolean): string {
  let n = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  if (!hasBertPrefix && /^(embeddings|encoder|pooler)\./.test(n)) n = `bert.${n}`;
  return n;
}

export interface SaveOptions {
  /** Extra keys for config.json, e.g. {id2label: {...}, finetuning_task: 'sst-2'}. */
  extraConfig?: Record<string, unknown>;
  /** advlm's own metadata (training run, steps, ...), stored under config.json's "advlm" key. */
  advlm?: Record<string, unknown>;
  /**
   * How the weights are stored: F32 (default, what training saves and resumes from) or F16, half the
   * bytes, for a model shipped for inference (read back as float32; each weight moves by at most 2^-11
   * of itself).
   */
  dtype?: 'F32' | 'F16';
}

/** Writes model.safetensors then config.json into `dir` (created if needed). */
export async function saveCheckpoint(p: BertParams, dir: string, options: SaveOptions = {}): Promise<void> {
  const tensors = new Map<string, RawTensor>();
  for (const [name, v] of namedParams(p)) {
    tensors.set(name, { shape: v.shape, values: (await v.data()) as Float32Array });
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, WEIGHTS_FILE), tensors, { format: 'pt', producer: 'advlm' }, options.dtype ?? 'F32');
  const architectures = [p.mlm ? 'BertForMaskedLM' : p.classifier ? 'BertForSequenceClassification' : 'BertModel'];
  const extra: Record<string, unknown> = { architectures, ...options.extraConfig };
  if (p.classifier) extra.num_labels = p.classifier.weight.shape[0];
  if (options.advlm) extra.advlm = options.advlm;
  writeJsonAtomic(path.join(dir, CONFIG_FILE), toHfConfig(p.config, extra));
}

export interface LoadOptions {
  /** Classification/regression outputs; default: what the checkpoint has (none if it has no classifier). */
  numLabels?: number;
  /** MLM head; default: whether the checkpoint has one. */
  mlm?: boolean;
  /** Seed for heads that must be initialised fresh. */
  seed?: number;
}

export interface LoadedCheckpoint {
  params: BertParams;
  config: BertConfig;
  /** The config.json object as read. */
  hfConfig: Record<string, unknown>;
  /** Tensors the model needed that the checkpoint lacks, initialised fresh (heads only). */
  newlyInitialised: string[];
  /** Tensors in the checkpoint that this model does not use (other heads). */
  unused: string[];
}

/** Reads config.json from a checkpoint folder with a clear error if it is missing or malformed. */
export function readCheckpointConfig(dir: string): { config: BertConfig; hfConfig: Record<string, unknown> } {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(dir)) throw new Error(`checkpoint folder ${dir} does not exist`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: a checkpoint folder holds config.json and ${WEIGHTS_FILE}`);
  let hfConfig: Record<string, unknown>;
  try {
    hfConfig = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return { config: fromHfConfig(hfConfig, file), hfConfig };
}

/** Loads a checkpoint folder (config.json + model.safetensors). */
export function loadCheckpoint(dir: string, options: LoadOptions = {}): LoadedCheckpoint {
  const { config, hfConfig } = readCheckpointConfig(dir);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const other = fs.readdirSync(dir).filter((f) => /\.(bin|h5|ckpt|index)$/.test(f));
    throw new Error(
      `${weightsFile} is missing` +
        (other.length ? ` (found ${other.join(', ')}: convert PyTorch/TF weights to safetensors first, e.g. with the safetensors Python package)` : ''),
    );
  }
  const file = readSafetensors(weightsFile);
  const rawNames = [...file.tensors.keys()];
  const hasBertPrefix = rawNames.some((n) => n.startsWith('bert.'));
  const tensors = new Map<string, RawTensor>();
  for (const [n, t] of file.tensors) if (!isIgnored(n)) tensors.set(canonicalName(n, hasBertPrefix), t);

  const has = (prefix: string) => [...tensors.keys()].some((n) => n.startsWith(prefix));
  const classifierShape = tensors.get('classifier.weight')?.shape;
  const heads: HeadOptions = {
    numLabels: options.numLabels ?? classifierShape?.[0],
    mlm: options.mlm ?? has('cls.predictions.'),
  };
  // Collect every problem before failing, so the user sees them all at once.
  const missing: string[] = [];
  const wrongShape: string[] = [];
  const newlyInitialised: string[] = [];
  const used = new Set<string>();
  const seed = options.seed ?? 0;
  const params = paramsFromValues(config, heads, (name, shape) => {
    const t = tensors.get(name);
    if (!t) {
      const isHead = KNOWN_HEAD_PREFIXES.some((pre) => name.startsWith(pre));
      if (isHead) newlyInitialised.push(name);
      else missing.push(name);
      return bertInitialValue(config, seed, name, shape);
    }
    used.add(name);
    if (!tf.util.arraysEqual(t.shape, shape)) {
      wrongShape.push(`${name}: checkpoint ${JSON.stringify(t.shape)}, model ${JSON.stringify(shape)}`);
      return tf.zeros(shape);
    }
    return tf.tensor(t.values, shape, 'float32');
  });
  const leftover = [...tensors.keys()].filter((n) => !used.has(n));
  const unused = leftover.filter((n) => KNOWN_HEAD_PREFIXES.some((pre) => n.startsWith(pre)));
  const unexpected = leftover.filter((n) => !unused.includes(n));
  if (missing.length || wrongShape.length || unexpected.length) {
    for (const [, v] of namedParams(params)) v.dispose();
    const parts: string[] = [];
    if (missing.length) parts.push(`missing (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected (${unexpected.length}): ${unexpected.join(', ')}`);
    if (wrongShape.length) parts.push(`wrongly shaped (${wrongShape.length}): ${wrongShape.join('; ')}`);
    throw new Error(
      `${weightsFile} does not fit the BERT model described by its config.json:\n  ` +
        parts.join('\n  ') +
        `\nCheck that config.json belongs to these weights and that this is a BERT checkpoint (HuggingFace names).`,
    );
  }
  return { params, config, hfConfig, newlyInitialised, unused };
}
