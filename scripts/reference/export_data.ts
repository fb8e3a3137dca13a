/**
 * Writes the data of the pre-training and SST-2 experiments, tokenised exactly as the library does,
 * to one JSON file for the independent PyTorch cross-check (scripts/reference/mlm_sst2_torch.py):
 * the packed corpus sequences with the same train/dev split as `pretrain`, and SST-2's train and dev
 * sentences as ids.
 *
 *   npx tsx scripts/reference/export_data.ts /tmp/advlm-reference.json
 */
import * as fs from 'fs';
import { createRng, loadTask, loadTokenizer, packSequences, readCorpus, shuffled } from '../../src/data';
import { PRETRAIN_DEFAULTS } from '../../src/train/pretrain';

const out = process.argv[2] ?? '/tmp/advlm-reference.json';
const tok = loadTokenizer();
const sequences = packSequences(tok, readCorpus({}), { maxLength: PRETRAIN_DEFAULTS.maxLength });
const order = shuffled(sequences, createRng(12345)); // the split pretrain uses
const nDev = Math.max(1, Math.round(order.length * PRETRAIN_DEFAULTS.devFraction));
const sst2 = (split: string) => loadTask('SST-2', split).map((e) => ({ ids: tok.encode(e.textA, undefined, { maxLength: 64 }).inputIds, y: e.label }));
const sstTrain = sst2('train');
const sstDev = sst2('dev');
fs.writeFileSync(
  out,
  JSON.stringify({
    dev: order.slice(0, nDev),
    train: order.slice(nDev),
    special: [...tok.specialIds],
    maskId: tok.maskId,
    padId: tok.padId,
    vocabSize: tok.vocabSize,
    sstTrain,
    sstDev,
  }),
);
console.log(`wrote ${out}: ${order.length - nDev} + ${nDev} sequences, SST-2 ${sstTrain.length} / ${sstDev.length}`);
