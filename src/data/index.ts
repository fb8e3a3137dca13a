/**
 * Data for advlm: GLUE tasks, metrics, batching and masked-language-model inputs.
 *
 * What the model receives (all [B, T], T = the longest sequence of the batch, padding on the right):
 *   inputIds      int32    token ids ([CLS] A [SEP] (B [SEP]) [PAD]...)
 *   tokenTypeIds  int32    0 for [CLS], text A and its [SEP]; 1 for text B and its [SEP]; 0 at padding
 *   attentionMask float32  1 at real tokens, 0 at padding
 * plus, for fine-tuning, labels [B] (int32 class indices, or float32 for STS-B), and for
 * pre-training, labels [B, T] int32 holding the original id at masked positions and -100
 * (IGNORE_INDEX) elsewhere. The vocabulary size is `tokenizer.vocabSize` (30522 for BERT uncased).
 *
 * In a tslab notebook import this file by its full name, `./src/data/index` (tslab does not resolve
 * a folder import such as `./src/data`).
 *
 * Typical use:
 *   const tok = loadTokenizer();
 *   const train = loadTask('SST-2', 'train');
 *   for (const examples of batches(train, 32, seed + epoch)) {
 *     const b = makeBatch(tok, examples, getTask('SST-2').kind, { maxLength: 128 });
 *     ... model(b.inputIds, b.tokenTypeIds, b.attentionMask), loss with b.labels ...
 *     disposeBatch(b);
 *   }
 *
 * Pre-training (readCorpus({ dir: 'imdb' }) for the IMDB reviews instead of the books;
 * packSequencesCached, same arguments, keeps the packed ids in runs/cache for the next run):
 *   const seqs = packSequences(tok, readCorpus(), { maxLength: 128 });
 *   for (const arrays of mlmBatches(seqs, 32, tok, seed + epoch)) {
 *     const t = mlmToTensors(arrays);  ...  disposeBatch(t);
 *   }
 */
export * from './tasks';
export * from './glue';
export * from './metrics';
export * from './batch';
export * from './corpus';
export * from './imdb';
export * from './pack_cache';
export * from './task_text';
export * from './mlm';
export * from './rng';
export * from './words';
export * from './synonyms';
export { loadTokenizer, checkpointTokenizer, tokenizerFileIn, BertTokenizer } from '../tokenizer';
export type { Encoded, EncodedBatch, EncodeOptions, TextInput } from '../tokenizer';
