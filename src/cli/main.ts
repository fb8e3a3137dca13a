/**
 * The `advlm` command. Every subcommand accepts `--backend NAME` (or the ADVLM_BACKEND variable).
 *
 *   advlm start     the main job (for now: the environment report and a short real computation)
 *   advlm env       the environment report only
 *   advlm pretrain  MLM pre-training;  advlm finetune --task T;  advlm predict --checkpoint DIR "text"
 *   advlm fill-mask [--checkpoint DIR] "the acting was [MASK] ."  what a pre-trained model predicts
 *   advlm sweep     a grid of fine-tuning runs: sweep GRID.json [--shard i/n] | --merge DIR... --out OUT | --summary DIR
 * `advlm <command> --help` lists a command's options.
 */
import * as tf from '@tensorflow/tfjs';
import { backendFromArgs, initBackend } from '../backend';
import * as fs from 'fs';
import * as path from 'path';
import { environmentInfo, matMulGflops } from '../environment';
import { fillMask } from '../fill_mask';
import { checkpointTokenizer } from '../tokenizer';
import { disposeParams, loadCheckpoint } from '../model/index';
import { defaultCheckpoint } from '../train/finetune';
import { PRETRAIN_OPTIONS, pretrainCommand } from './pretrain';
import { FINETUNE_OPTIONS, finetuneCommand } from './finetune';
import { methodArg, methodOptions } from './method_options';
import { PREDICT_OPTIONS, predictCommand } from './predict';
import { EVALUATE_OPTIONS, evaluateCommand } from './evaluate';
import { ATTACK_OPTIONS, attackCommand } from './attack';
import { SWEEP_OPTIONS, sweepCommand } from './sweep';
import { FILL_MASK_OPTIONS, fillMaskCommand } from './fill_mask';
import { OptionSpec, helpText } from './args';
import { mainWasmThreads } from './workers';

const USAGE = `usage: advlm <command> [options] [--backend tensorflow-gpu|tensorflow|wasm|cpu]

commands:
  start      the main job: environment report and a short real computation
  env        the environment report (backend, versions, Jupyter kernel)
  pretrain   masked-language-model pre-training on data/pretrain
  fill-mask  a pre-trained model's top words at each [MASK]: fill-mask [--checkpoint DIR] [--k 5] "the acting was [MASK] ."
  finetune   fine-tuning on a task (--task SST-2) from the project's pre-trained model, by a method (--method)
  predict    label and probabilities of a fine-tuned model: predict --checkpoint DIR "text" ["text b"] | --file texts.txt
  evaluate   a fine-tuned model's metrics: evaluate --checkpoint DIR [--task T] [--split dev|test]
  attack     word-substitution attack: attack --checkpoint DIR --task SST-2|IMDB --recipe pwws|pwws-cf|textfooler|genetic|genetic-rift|pgd --n 500 --seed 0 [--out FILE] [--budget N]
  sweep      a grid of fine-tuning runs: sweep GRID.json [--shard i/n] [--out DIR] | --merge DIR... --out OUT | --summary DIR
`;

async function env(): Promise<void> {
  const info = environmentInfo();
  console.log(`node ${info.node}`);
  for (const [name, v] of Object.entries(info.packages)) console.log(`${name} ${v}`);
  console.log(`jupyter: ${info.jupyter ?? 'not found (see README: Notebooks)'}`);
  console.log(`tslab kernel (project-local): ${info.tslabKernel ? 'registered' : 'not registered yet (npm run lab registers it)'}`);
}

/** Sentences for the start-up demo: the pre-trained model fills in the [MASK]. */
const DEMO_SENTENCES = ['this movie is one of the [MASK] films i have ever seen .', 'i would not [MASK] this film to anyone .', 'the acting was [MASK] .'];

async function start(): Promise<void> {
  await env();
  const gflops = await matMulGflops(512, 10);
  console.log(`matMul 512x512 on ${tf.getBackend()}: ${gflops.toFixed(1)} GFLOP/s`);
  const dir = defaultCheckpoint();
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    console.log(`no pre-trained model in ${dir}: create it with 'advlm pretrain --out ${dir}'`);
    return;
  }
  const t0 = performance.now();
  const { params } = loadCheckpoint(dir, { mlm: true });
  const tok = checkpointTokenizer(dir);
  console.log(`\nthe project's pre-trained model (${dir}) fills in the blanks:`);
  for (const s of DEMO_SENTENCES) {
    const [pred] = await fillMask(params, tok, s);
    console.log(`  ${s}\n    -> ${pred.candidates.map((c) => `${c.token} (${c.probability.toFixed(2)})`).join(', ')}`);
  }
  disposeParams(params);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)}s)`);
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  start: () => start(),
  env: () => env(),
  pretrain: pretrainCommand,
  'fill-mask': fillMaskCommand,
  finetune: finetuneCommand,
  predict: predictCommand,
  evaluate: evaluateCommand,
  attack: attackCommand,
  sweep: sweepCommand,
};

const HELP: Record<string, [string, Record<string, OptionSpec>]> = {
  pretrain: ['masked-language-model pre-training on data/pretrain', PRETRAIN_OPTIONS],
  'fill-mask': ['a pre-trained model\'s most probable word pieces at each [MASK]: fill-mask [--checkpoint DIR] [--k 5] [--json] "text with [MASK]" ...', FILL_MASK_OPTIONS],
  finetune: ['fine-tuning on a GLUE task', FINETUNE_OPTIONS],
  predict: ['label and probabilities of a fine-tuned model: predict --checkpoint DIR "text" ["text b"] or --file texts.txt', PREDICT_OPTIONS],
  evaluate: ['a fine-tuned model\'s metrics on a task split: evaluate --checkpoint DIR [--task T] [--split dev|test]', EVALUATE_OPTIONS],
  attack: ['a word-substitution attack (or --recipe pgd, embedding space) on a fine-tuned model, resumable: attack --checkpoint DIR --task SST-2|IMDB --recipe NAME --n 500 --seed 0 [--out FILE] [--budget N]', ATTACK_OPTIONS],
  sweep: ['a grid of fine-tuning runs (README: Sweeps): sweep GRID.json [--shard i/n] [--out DIR] | --merge DIR... --out OUT | --summary DIR', SWEEP_OPTIONS],
};

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const run = COMMANDS[command];
  if (!run) throw new Error(`unknown command '${command}'.\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    const spec = HELP[command];
    const extra = command === 'finetune' || command === 'pretrain' ? methodOptions(methodArg(rest)) : {};
    process.stdout.write(spec ? helpText(command, spec[0], { ...spec[1], ...extra }) : USAGE);
    return;
  }
  // finetune and pretrain share minibatches with worker threads by default: then this thread takes one wasm thread
  await initBackend({ backend: backendFromArgs(rest), threads: command === 'finetune' || command === 'pretrain' ? mainWasmThreads(rest) : undefined });
  await run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`advlm: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
