/**
 * `advlm fill-mask [--checkpoint DIR] "the acting was [MASK] ."`: the k most probable word pieces at
 * each [MASK] of one or more texts, with their probabilities, from a pre-trained (MLM) checkpoint;
 * the project's default checkpoint when none is given. The quickest look at what pre-training
 * learned (src/fill_mask.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { fillMask } from '../fill_mask';
import { disposeParams, loadCheckpoint } from '../model';
import { checkpointTokenizer } from '../tokenizer';
import { defaultCheckpoint } from '../train/finetune';
import { OptionSpec, parseArgs } from './args';

export const FILL_MASK_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { kind: 'string', help: 'a pre-trained checkpoint folder with an MLM head (default: the project\'s pre-trained model)' },
  k: { kind: 'number', help: 'candidates per [MASK] (default 5)' },
  json: { kind: 'boolean', help: 'print one JSON line per text' },
};

export async function fillMaskCommand(argv: string[]): Promise<void> {
  const { options, positionals } = parseArgs(argv, FILL_MASK_OPTIONS, 'fill-mask');
  const k = (options.k as number | undefined) ?? 5;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`advlm fill-mask: --k must be a whole number >= 1, got ${k}`);
  if (positionals.length === 0) throw new Error('advlm fill-mask: give a text with [MASK] where a word should be predicted, in quotes: advlm fill-mask "the acting was [MASK] ."');
  const unmasked = positionals.filter((t) => !t.includes('[MASK]'));
  if (unmasked.length) throw new Error(`advlm fill-mask: no [MASK] in ${unmasked.map((t) => `"${t}"`).join(', ')}; write [MASK] where a word should be predicted`);
  const dir = (options.checkpoint as string | undefined) ?? defaultCheckpoint();
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`advlm fill-mask: ${dir} is not a checkpoint folder (no config.json)`);
  const loaded = loadCheckpoint(dir, { mlm: true });
  try {
    if (loaded.newlyInitialised.some((n) => n.startsWith('cls.predictions.'))) {
      throw new Error(`advlm fill-mask: ${dir} has no MLM head (a fine-tuned classifier?): give a pre-trained checkpoint, such as ${defaultCheckpoint()}`);
    }
    const tok = checkpointTokenizer(dir);
    for (const text of positionals) {
      const preds = await fillMask(loaded.params, tok, text, k);
      if (options.json) {
        console.log(JSON.stringify({ text, masks: preds }));
        continue;
      }
      console.log(text);
      for (const p of preds) console.log(`  [MASK] at ${p.position}: ${p.candidates.map((c) => `${c.token} (${c.probability.toFixed(3)})`).join(', ')}`);
    }
  } finally {
    disposeParams(loaded.params);
  }
}
