/** `advlm pretrain`: masked-language-model pre-training on data/pretrain. */
import * as path from 'path';
import { PRETRAIN_DEFAULTS, PretrainConfig, pretrain } from '../train/pretrain';
import { OptionSpec, parseArgs } from './args';
import { methodArg, methodOptions } from './method_options';
import { methodNames } from '../adversarial/methods';
import { disposeParams } from '../model';
import { workersFor, workersLine } from './workers';
import { backendReport } from '../backend';

const D = PRETRAIN_DEFAULTS;

export const PRETRAIN_OPTIONS: Record<string, OptionSpec> = {
  method: { kind: 'string', default: 'vanilla', help: `training method: ${methodNames().join(', ')} (those that train the MLM objective; vanilla = plain MLM)` },
  out: { kind: 'string', help: 'output folder (default runs/pretrain-<model>); resumes if it holds a state' },
  model: { kind: 'string', default: D.model as string, help: 'tiny | mini | small | base' },
  epochs: { kind: 'number', default: D.trainer.epochs, check: 'positive-int', help: 'passes over the corpus' },
  'max-steps': { kind: 'number', default: D.trainer.maxSteps, check: 'non-negative-int', help: 'end the run (and its schedule: the lr decays to 0 there) after this many steps (0 = none)' },
  'stop-at-step': { kind: 'number', check: 'positive-int', help: 'stop once this many steps are done, as Ctrl-C would (state saved; the schedule stays the full run\'s, so a later run without it resumes)' },
  'batch-size': { kind: 'number', default: D.batchSize, check: 'positive-int', help: 'sequences per step' },
  'max-length': { kind: 'number', default: D.maxLength, check: 'positive-int', help: 'word pieces per packed sequence' },
  lr: { kind: 'number', default: D.trainer.lr, check: 'positive', help: 'peak learning rate' },
  'warmup-ratio': { kind: 'number', default: D.trainer.warmupRatio, check: 'fraction', help: 'fraction of steps warming up' },
  seed: { kind: 'number', default: D.trainer.seed, check: 'int', help: 'random seed' },
  'save-every': { kind: 'number', default: D.trainer.saveEvery, check: 'non-negative-int', help: 'save the resumable state every N steps' },
  corpus: { kind: 'string', help: 'imdb (the IMDB reviews: unsup + train, never dev or test), or a folder of .txt files, one sentence per line (default data/pretrain; none = no books)' },
  'task-text': { kind: 'string', help: 'add these GLUE tasks\' unlabelled training text, e.g. SST-2 or SST-2,CoLA (task-adaptive pre-training)' },
  'limit-lines': { kind: 'number', check: 'positive-int', help: 'read only the first N lines of each book (quick runs)' },
  from: { kind: 'string', help: 'continue from this checkpoint\'s weights (new schedule), e.g. data/checkpoints/advlm-bert-tiny-imdb' },
  tokenizer: { kind: 'string', help: 'tokenizer.json or vocab.txt (default: the --from checkpoint\'s, else BERT uncased); saved with the checkpoint' },
  'measure-every-tokens': { kind: 'number', check: 'positive', help: 'a learning curve: dev MLM loss every N training tokens (e.g. 5000000)' },
  probe: { kind: 'boolean', help: 'with --measure-every-tokens: also fine-tune a copy on 1,000 SST-2 sentences and record its dev accuracy' },
  workers: { kind: 'number', check: 'positive-int', help: 'threads sharing each minibatch (this one + worker threads, one wasm thread each; README: Performance). Default on wasm: the cores (ADVLM_WASM_THREADS if set), or 1 for RIFT and FreeAT; 1 = none' },
  'output-vocabulary': { kind: 'string', default: D.outputVocabulary, help: 'corpus | full: MLM softmax over the corpus\'s tokens or the whole vocabulary' },
};

export async function pretrainCommand(argv: string[]): Promise<void> {
  const methodOpts = methodOptions(methodArg(argv));
  const { options: o } = parseArgs(argv, { ...PRETRAIN_OPTIONS, ...methodOpts }, 'pretrain');
  const methodConfig = Object.fromEntries(Object.keys(methodOpts).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const d = PRETRAIN_DEFAULTS;
  const config: PretrainConfig = {
    ...d,
    model: o.model as string,
    maxLength: o['max-length'] as number,
    batchSize: o['batch-size'] as number,
    corpusDir: o.corpus as string | undefined,
    taskText: o['task-text'] === undefined ? undefined : String(o['task-text']).split(',').map((t) => t.trim()).filter((t) => t !== ''),
    limitLines: o['limit-lines'] as number | undefined,
    from: o.from as string | undefined,
    tokenizer: o.tokenizer as string | undefined,
    outputVocabulary: o['output-vocabulary'] as PretrainConfig['outputVocabulary'],
    method: { name: o.method as string, config: methodConfig },
    measureEveryTokens: o['measure-every-tokens'] as number | undefined,
    probe: Boolean(o.probe),
    trainer: {
      ...d.trainer,
      epochs: o.epochs as number,
      maxSteps: o['max-steps'] as number,
      lr: o.lr as number,
      warmupRatio: o['warmup-ratio'] as number,
      seed: o.seed as number,
      saveEvery: o['save-every'] as number,
    },
  };
  const out = (o.out as string) ?? path.join('runs', `pretrain-${typeof config.model === 'string' ? config.model : 'custom'}`);
  const stop = { stop: false, atStep: o['stop-at-step'] as number | undefined };
  const onSignal = () => {
    if (stop.stop) process.exit(130);
    console.log('\nstopping after this step; the state is saved for --resume (Ctrl-C again to quit now)');
    stop.stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const workers = workersFor(argv, backendReport());
  if (workers > 1) console.log(workersLine(workers));
  const r = await pretrain(out, config, stop, workers);
  console.log(`saved ${out}: ${r.train.steps} steps, dev MLM loss ${r.dev.loss.toFixed(4)}, accuracy ${r.dev.accuracy.toFixed(4)}, ${r.train.seconds.toFixed(0)}s`);
  disposeParams(r.params);
}
