/**
 * A tiny sweep to try the machinery in seconds (the tests use it; so can a notebook): a randomly
 * initialised micro BERT (2 layers, hidden 8) saved as a checkpoint, and a grid of 2 tasks x
 * 2 methods (vanilla, gaussian-noise) x 2 seeds on 32 training and 16 dev examples of length 24,
 * one epoch. Its numbers mean nothing; its records, shards, merges and summaries are real.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONFIGS, disposeParams, initParams, saveCheckpoint } from '../model';
import { loadTokenizer } from '../tokenizer';
import { writeJsonAtomic } from '../util/atomic';
import type { Grid } from './grid';

export function tinyGrid(checkpoint: string, overrides: Partial<Grid> = {}): Grid {
  return {
    name: 'tiny',
    tasks: ['SST-2', 'RTE'],
    methods: ['vanilla', { name: 'gaussian-noise', config: { sigma: 0.05 } }],
    seeds: [0, 1],
    checkpoints: [checkpoint],
    limitTrain: 32,
    limitDev: 16,
    maxLength: 24,
    batchSize: 8,
    trainer: { epochs: 1, lr: 2e-2, warmupRatio: 0 },
    evaluations: ['dev'],
    ...overrides,
  };
}

/** Saves the micro checkpoint in `dir`/ckpt (once) and the tiny grid as `dir`/grid.json; returns both paths. */
export async function writeTinySweep(dir: string, overrides: Partial<Grid> = {}, gridName = 'grid.json'): Promise<{ checkpoint: string; gridFile: string; grid: Grid }> {
  const checkpoint = path.join(dir, 'ckpt');
  if (!fs.existsSync(path.join(checkpoint, 'model.safetensors'))) {
    const config = { ...CONFIGS.tiny, vocabSize: loadTokenizer().vocabSize, hiddenSize: 8, numHeads: 2, intermediateSize: 16, maxPositions: 64 };
    const p = initParams(config, { mlm: true, seed: 3 });
    try {
      await saveCheckpoint(p, checkpoint);
    } finally {
      disposeParams(p);
    }
  }
  const grid = tinyGrid('ckpt', overrides); // relative to the grid file's folder
  const gridFile = writeJsonAtomic(path.join(dir, gridName), grid);
  return { checkpoint, gridFile, grid };
}
