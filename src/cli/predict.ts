/** `advlm predict --checkpoint DIR "text" ["text b"]`: the label and class probabilities of a fine-tuned model. */
import { checkpointTokenizer, loadTokenizer } from '../tokenizer';
import { disposeParams, loadCheckpoint } from '../model';
import { predictLogits, softmax } from '../train/evaluate';
import { OptionSpec, parseArgs } from './args';

export const PREDICT_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { kind: 'string', help: 'a fine-tuned checkpoint folder (config.json + model.safetensors)' },
  tokenizer: { kind: 'string', help: 'tokenizer.json or vocab.txt (default: the checkpoint folder\'s, else BERT uncased)' },
  json: { kind: 'boolean', help: 'print JSON' },
};

export async function predictCommand(argv: string[]): Promise<void> {
  const { options, positionals } = parseArgs(argv, PREDICT_OPTIONS, 'predict');
  const dir = options.checkpoint as string | undefined;
  if (!dir) throw new Error('advlm predict: --checkpoint DIR is required (a model saved by advlm finetune)');
  if (positionals.length < 1 || positionals.length > 2) throw new Error('advlm predict: give one text, or two for a sentence pair, in quotes');
  const { params, hfConfig } = loadCheckpoint(dir, { mlm: false });
  try {
    if (!params.classifier) throw new Error(`${dir} has no classification head: fine-tune it first (advlm finetune --task ...)`);
    const tok = options.tokenizer ? loadTokenizer(options.tokenizer as string) : checkpointTokenizer(dir);
    const advlm = (hfConfig.advlm ?? {}) as { maxLength?: number };
    const numLabels = params.classifier.weight.shape[0];
    const id2label = (hfConfig.id2label ?? {}) as Record<string, string>;
    const names = Array.from({ length: numLabels }, (_, i) => id2label[i] ?? `LABEL_${i}`);
    const example = { textA: positionals[0], textB: positionals[1], label: 0 }; // label unused: prediction only
    const [logits] = await predictLogits(params, tok, [example], { maxLength: advlm.maxLength ?? 128 });
    if (numLabels === 1) {
      const out = { score: logits[0] };
      console.log(options.json ? JSON.stringify(out) : `score ${out.score.toFixed(4)}`);
      return;
    }
    const probs = softmax(logits);
    const label = names[probs.indexOf(Math.max(...probs))];
    if (options.json) console.log(JSON.stringify({ label, probabilities: Object.fromEntries(names.map((n, i) => [n, probs[i]])) }));
    else console.log(`${label}\n${names.map((n, i) => `  ${n.padEnd(16)} ${probs[i].toFixed(4)}`).join('\n')}`);
  } finally {
    disposeParams(params);
  }
}
