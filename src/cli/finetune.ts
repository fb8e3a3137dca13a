/**
 * `advlm finetune --task T [--method M --<method option> V ...]`: fine-tuning on a task from the
 * project's pre-trained model, by any registered method (plain fine-tuning by default).
 */
import { FINETUNE_DEFAULTS, FinetuneInput, defaultFinetuneDir, finetune, finetuneConfig, finetuneIdentity } from '../train/finetune';
import { disposeParams } from '../model';
import { methodNames } from '../adversarial/methods';
import { OptionSpec, parseArgs } from './args';
import { methodArg, methodOptions } from './method_options';
import { workersFor, workersLine } from './workers';
import { backendReport } from '../backend';

const D = FINETUNE_DEFAULTS;

export const FINETUNE_OPTIONS: Record<string, OptionSpec> = {
  task: { kind: 'string', help: 'SST-2 | CoLA | MRPC | RTE | STS-B | IMDB (or MNLI, QNLI, QQP with their files)' },
  checkpoint: { kind: 'string', help: 'pre-trained checkpoint folder (default data/checkpoints/advlm-bert-tiny-imdb)' },
  method: { kind: 'string', default: D.method.name, help: `training method: ${methodNames().join(', ')}; its options follow as --<option> (advlm finetune --method M --help)` },
  random: { kind: 'boolean', help: 'start from random weights (same architecture): the no-pre-training baseline' },
  out: { kind: 'string', help: 'output folder (default runs/finetune-<task>-<method>-s<seed>-<run id>); resumes if it holds a state' },
  epochs: { kind: 'number', default: D.trainer.epochs, check: 'positive-int', help: 'epochs' },
  lr: { kind: 'number', default: D.trainer.lr, check: 'positive', help: 'peak learning rate' },
  'batch-size': { kind: 'number', default: D.batchSize, check: 'positive-int', help: 'examples per step' },
  'max-length': { kind: 'number', check: 'positive-int', help: 'word pieces per example (default: the task\'s, 128 for GLUE, 256 for IMDB)' },
  'warmup-ratio': { kind: 'number', default: D.trainer.warmupRatio, check: 'fraction', help: 'fraction of steps warming up' },
  'weight-decay': { kind: 'number', default: D.trainer.weightDecay, check: 'non-negative', help: 'AdamW weight decay' },
  seed: { kind: 'number', default: D.trainer.seed, check: 'int', help: 'random seed' },
  'max-steps': { kind: 'number', default: D.trainer.maxSteps, check: 'non-negative-int', help: 'stop after this many steps (0 = none)' },
  'limit-train': { kind: 'number', check: 'positive-int', help: 'use only the first N training examples' },
  'limit-dev': { kind: 'number', check: 'positive-int', help: 'use only the first N dev examples' },
  workers: { kind: 'number', check: 'positive-int', help: 'threads sharing each minibatch (this one + worker threads, one wasm thread each; README: Performance). Default on wasm: the cores (ADVLM_WASM_THREADS if set), or 1 for RIFT and FreeAT; 1 = none' },
};

export function finetuneInputFrom(o: Record<string, string | number | boolean>, methodOpts: Record<string, OptionSpec> = {}): FinetuneInput {
  if (typeof o.task !== 'string') throw new Error('advlm finetune: --task is required, e.g. --task SST-2');
  const methodConfig = Object.fromEntries(Object.keys(methodOpts).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  return {
    task: o.task,
    method: { name: o.method as string, config: methodConfig },
    checkpoint: o.checkpoint as string | undefined,
    init: o.random ? 'random' : 'pretrained',
    maxLength: o['max-length'] as number | undefined,
    batchSize: o['batch-size'] as number,
    limitTrain: o['limit-train'] as number | undefined,
    limitDev: o['limit-dev'] as number | undefined,
    trainer: {
      epochs: o.epochs as number,
      lr: o.lr as number,
      warmupRatio: o['warmup-ratio'] as number,
      weightDecay: o['weight-decay'] as number,
      seed: o.seed as number,
      maxSteps: o['max-steps'] as number,
    },
  };
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const methodOpts = methodOptions(methodArg(argv));
  const { options } = parseArgs(argv, { ...FINETUNE_OPTIONS, ...methodOpts }, 'finetune');
  const input = finetuneInputFrom(options, methodOpts);
  const config = finetuneConfig(input); // every value checked before any work starts
  const out = (options.out as string) ?? defaultFinetuneDir(config, finetuneIdentity(config));
  const stop = { stop: false };
  process.on('SIGINT', () => {
    if (stop.stop) process.exit(130);
    console.log('\nstopping after this step; run the same command again to resume');
    stop.stop = true;
  });
  const workers = workersFor(argv, backendReport());
  if (workers > 1) console.log(workersLine(workers));
  const r = await finetune(config, { outDir: out, stopFlag: stop, workers });
  console.log(`best dev epoch ${r.best.epoch}: ${Object.entries(r.best.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}; model saved in ${out}`);
  disposeParams(r.params);
}
