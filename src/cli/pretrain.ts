/** `advlm pretrain`: masked-language-model pre-training on data/pretrain. */
import * as path from 'path';
import { PRETRAIN_DEFAULTS, PretrainConfig, pretrain } from '../train/pretrain';
import { OptionSpec, parseArgs } from './args';
import { methodArg, methodOptions } from './method_options';
import { methodNames } from '../adversarial/methods';
import { disposeParams } from '../model';

export const PRETRAIN_OPTIONS: Record<string, OptionSpec> = {
  method: { kind: 'string', help: `training method (default vanilla MLM): ${methodNames().join(', ')} (those that train the MLM objective)` },
  out: { kind: 'string', help: 'output folder (default runs/pretrain-<model>); resumes if it holds a state' },
  model: { kind: 'string', help: 'tiny | mini | small | base (default tiny)' },
  epochs: { kind: 'number', help: 'passes over the corpus' },
  'max-steps': { kind: 'number', help: 'stop after this many steps (0 = none)' },
  'batch-size': { kind: 'number', help: 'sequences per step (default 8)' },
  'max-length': { kind: 'number', help: 'tokens per packed sequence (default 128)' },
  lr: { kind: 'number', help: 'peak learning rate (default 1e-3)' },
  'warmup-ratio': { kind: 'number', help: 'fraction of steps warming up (default 0.06)' },
  seed: { kind: 'number', help: 'random seed (default 0)' },
  'save-every': { kind: 'number', help: 'save the resumable state every N steps (default 100)' },
  corpus: { kind: 'string', help: 'imdb (the IMDB reviews: unsup + train, never dev or test), or a folder of .txt files, one sentence per line (default data/pretrain; none = no books)' },
  'task-text': { kind: 'string', help: 'add these GLUE tasks\' unlabelled training text, e.g. SST-2 or SST-2,CoLA (task-adaptive pre-training)' },
  'limit-lines': { kind: 'number', help: 'read only the first N lines of each book (quick runs)' },
  from: { kind: 'string', help: 'continue from this checkpoint\'s weights (new schedule), e.g. data/checkpoints/advlm-bert-tiny' },
  tokenizer: { kind: 'string', help: 'tokenizer.json or vocab.txt (default: the --from checkpoint\'s, else BERT uncased); saved with the checkpoint' },
  'measure-every-tokens': { kind: 'number', help: 'a learning curve: dev MLM loss every N training tokens (e.g. 5000000)' },
  probe: { kind: 'boolean', help: 'with --measure-every-tokens: also fine-tune a copy on 1,000 SST-2 sentences and record its dev accuracy' },
  'output-vocabulary': { kind: 'string', help: 'corpus | full: MLM softmax over the corpus\'s tokens (default) or the whole vocabulary' },
};

export async function pretrainCommand(argv: string[]): Promise<void> {
  const methodOpts = methodOptions(methodArg(argv));
  const { options: o } = parseArgs(argv, { ...PRETRAIN_OPTIONS, ...methodOpts }, 'pretrain');
  const methodConfig = Object.fromEntries(Object.keys(methodOpts).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const d = PRETRAIN_DEFAULTS;
  const config: PretrainConfig = {
    ...d,
    model: (o.model as string) ?? d.model,
    maxLength: (o['max-length'] as number) ?? d.maxLength,
    batchSize: (o['batch-size'] as number) ?? d.batchSize,
    corpusDir: o.corpus as string | undefined,
    taskText: o['task-text'] === undefined ? undefined : String(o['task-text']).split(',').map((t) => t.trim()).filter((t) => t !== ''),
    limitLines: o['limit-lines'] as number | undefined,
    from: o.from as string | undefined,
    tokenizer: o.tokenizer as string | undefined,
    outputVocabulary: (o['output-vocabulary'] as PretrainConfig['outputVocabulary']) ?? d.outputVocabulary,
    method: { name: (o.method as string) ?? 'vanilla', config: methodConfig },
    measureEveryTokens: o['measure-every-tokens'] as number | undefined,
    probe: Boolean(o.probe),
    trainer: {
      ...d.trainer,
      epochs: (o.epochs as number) ?? d.trainer.epochs,
      maxSteps: (o['max-steps'] as number) ?? d.trainer.maxSteps,
      lr: (o.lr as number) ?? d.trainer.lr,
      warmupRatio: (o['warmup-ratio'] as number) ?? d.trainer.warmupRatio,
      seed: (o.seed as number) ?? d.trainer.seed,
      saveEvery: (o['save-every'] as number) ?? d.trainer.saveEvery,
    },
  };
  const out = (o.out as string) ?? path.join('runs', `pretrain-${typeof config.model === 'string' ? config.model : 'custom'}`);
  const stop = { stop: false };
  const onSignal = () => {
    if (stop.stop) process.exit(130);
    console.log('\nstopping after this step; the state is saved for --resume (Ctrl-C again to quit now)');
    stop.stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const r = await pretrain(out, config, stop);
  console.log(`saved ${out}: ${r.train.steps} steps, dev MLM loss ${r.dev.loss.toFixed(4)}, accuracy ${r.dev.accuracy.toFixed(4)}, ${r.train.seconds.toFixed(0)}s`);
  disposeParams(r.params);
}
