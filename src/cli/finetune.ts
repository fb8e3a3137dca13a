/** `advlm finetune --task T`: plain fine-tuning on a GLUE task from the project's pre-trained model. */
import * as path from 'path';
import { FINETUNE_DEFAULTS, FinetuneConfig, finetune } from '../train/finetune';
import { disposeParams } from '../model';
import { OptionSpec, parseArgs } from './args';

export const FINETUNE_OPTIONS: Record<string, OptionSpec> = {
  task: { kind: 'string', help: 'SST-2 | CoLA | MRPC | RTE | STS-B (or MNLI, QNLI, QQP with their files)' },
  checkpoint: { kind: 'string', help: 'pre-trained checkpoint folder (default data/checkpoints/advlm-bert-tiny)' },
  random: { kind: 'boolean', help: 'start from random weights (same architecture): the no-pre-training baseline' },
  out: { kind: 'string', help: 'output folder (default runs/finetune-<task>-s<seed>); resumes if it holds a state' },
  epochs: { kind: 'number', help: 'epochs (default 3)' },
  lr: { kind: 'number', help: 'peak learning rate (default 1e-4)' },
  'batch-size': { kind: 'number', help: 'examples per step (default 32)' },
  'max-length': { kind: 'number', help: 'tokens per example (default 128)' },
  'warmup-ratio': { kind: 'number', help: 'fraction of steps warming up (default 0.1)' },
  'weight-decay': { kind: 'number', help: 'AdamW weight decay (default 0.01)' },
  seed: { kind: 'number', help: 'random seed (default 0)' },
  'max-steps': { kind: 'number', help: 'stop after this many steps (0 = none)' },
  'limit-train': { kind: 'number', help: 'use only the first N training examples' },
  'limit-dev': { kind: 'number', help: 'use only the first N dev examples' },
};

export function finetuneConfigFrom(o: Record<string, string | number | boolean>): FinetuneConfig {
  const d = FINETUNE_DEFAULTS;
  if (typeof o.task !== 'string') throw new Error('advlm finetune: --task is required, e.g. --task SST-2');
  return {
    ...d,
    task: o.task,
    checkpoint: o.checkpoint as string | undefined,
    init: o.random ? 'random' : 'pretrained',
    maxLength: (o['max-length'] as number) ?? d.maxLength,
    batchSize: (o['batch-size'] as number) ?? d.batchSize,
    limitTrain: o['limit-train'] as number | undefined,
    limitDev: o['limit-dev'] as number | undefined,
    trainer: {
      ...d.trainer,
      epochs: (o.epochs as number) ?? d.trainer.epochs,
      lr: (o.lr as number) ?? d.trainer.lr,
      warmupRatio: (o['warmup-ratio'] as number) ?? d.trainer.warmupRatio,
      weightDecay: (o['weight-decay'] as number) ?? d.trainer.weightDecay,
      seed: (o.seed as number) ?? d.trainer.seed,
      maxSteps: (o['max-steps'] as number) ?? d.trainer.maxSteps,
    },
  };
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv, FINETUNE_OPTIONS, 'finetune');
  const config = finetuneConfigFrom(options);
  const out = (options.out as string) ?? path.join('runs', `finetune-${config.task}${config.init === 'random' ? '-random' : ''}-s${config.trainer.seed}`);
  const stop = { stop: false };
  process.on('SIGINT', () => {
    if (stop.stop) process.exit(130);
    console.log('\nstopping after this step; run the same command again to resume');
    stop.stop = true;
  });
  const r = await finetune(config, { outDir: out, stopFlag: stop });
  console.log(`best dev epoch ${r.best.epoch}: ${Object.entries(r.best.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}; model saved in ${out}`);
  disposeParams(r.params);
}
