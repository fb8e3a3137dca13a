/**
 * `advlm predict --checkpoint DIR "text" ["text b"]`: the label and class probabilities of a
 * fine-tuned model for one text or pair; `--file texts.txt` answers a file of texts (one per line,
 * or two tab-separated columns for pairs) with one JSON line each, in batches.
 */
import * as fs from 'fs';
import { checkpointTokenizer, loadTokenizer, TextInput } from '../tokenizer';
import { BertParams, disposeParams, loadCheckpoint, predict } from '../model';
import { OptionSpec, parseArgs } from './args';

export const PREDICT_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { kind: 'string', help: 'a fine-tuned checkpoint folder (config.json + model.safetensors)' },
  file: { kind: 'string', help: 'a file of texts, one per line (two tab-separated columns for pairs): one JSON line per text' },
  'batch-size': { kind: 'number', help: 'texts per model call with --file (default 64)' },
  tokenizer: { kind: 'string', help: 'tokenizer.json or vocab.txt (default: the checkpoint folder\'s, else BERT uncased)' },
  json: { kind: 'boolean', help: 'print JSON' },
};

/** Texts of a file: one per line, or `textA<TAB>textB` for pairs; blank lines are an error (they would shift the answers). */
export function readTextsFile(file: string): TextInput[] {
  if (!fs.existsSync(file)) throw new Error(`advlm predict: no file ${file}`);
  const lines = fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  return lines.map((line, i) => {
    if (line.trim() === '') throw new Error(`${file}:${i + 1}: empty line; give one text per line (or remove the line)`);
    const cols = line.split('\t');
    if (cols.length > 2) throw new Error(`${file}:${i + 1}: ${cols.length} tab-separated columns; give one text, or two for a pair`);
    return cols.length === 2 ? ([cols[0], cols[1]] as [string, string]) : cols[0];
  });
}

function labelNames(hfConfig: Record<string, unknown>, numLabels: number): string[] {
  const id2label = (hfConfig.id2label ?? {}) as Record<string, string>;
  return Array.from({ length: numLabels }, (_, i) => id2label[i] ?? `LABEL_${i}`);
}

export async function predictCommand(argv: string[]): Promise<void> {
  const { options, positionals } = parseArgs(argv, PREDICT_OPTIONS, 'predict');
  const dir = options.checkpoint as string | undefined;
  if (!dir) throw new Error('advlm predict: --checkpoint DIR is required (a model saved by advlm finetune)');
  const file = options.file as string | undefined;
  if (file && positionals.length) throw new Error('advlm predict: give texts either as arguments or with --file, not both');
  if (!file && (positionals.length < 1 || positionals.length > 2)) throw new Error('advlm predict: give one text, or two for a sentence pair, in quotes (or --file texts.txt)');
  const batchSize = (options['batch-size'] as number | undefined) ?? 64;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`advlm predict: --batch-size must be a positive integer, got ${batchSize}`);
  const texts: TextInput[] = file ? readTextsFile(file) : [positionals.length === 2 ? [positionals[0], positionals[1]] : positionals[0]];
  const { params, hfConfig } = loadCheckpoint(dir, { mlm: false });
  try {
    await printPredictions(params, hfConfig, dir, texts, { batchSize, json: Boolean(options.json) || Boolean(file), tokenizer: options.tokenizer as string | undefined });
  } finally {
    disposeParams(params);
  }
}

async function printPredictions(params: BertParams, hfConfig: Record<string, unknown>, dir: string, texts: TextInput[], o: { batchSize: number; json: boolean; tokenizer?: string }): Promise<void> {
  if (!params.classifier) throw new Error(`${dir} has no classification head: fine-tune it first (advlm finetune --task ...)`);
  const tok = o.tokenizer ? loadTokenizer(o.tokenizer) : checkpointTokenizer(dir);
  const maxLength = ((hfConfig.advlm ?? {}) as { maxLength?: number }).maxLength ?? 128;
  const numLabels = params.classifier.weight.shape[0];
  const names = labelNames(hfConfig, numLabels);
  const predictions = await predict(params, tok, texts, { batchSize: o.batchSize, maxLength });
  for (const pr of predictions) {
    if (numLabels === 1) {
      console.log(o.json ? JSON.stringify({ score: pr.label }) : `score ${pr.label.toFixed(4)}`);
      continue;
    }
    const probs = pr.probabilities!;
    const label = names[pr.label];
    if (o.json) console.log(JSON.stringify({ label, probabilities: Object.fromEntries(names.map((n, i) => [n, probs[i]])) }));
    else console.log(`${label}\n${names.map((n, i) => `  ${n.padEnd(16)} ${probs[i].toFixed(4)}`).join('\n')}`);
  }
}
