/**
 * Generates data/vocab/tokenizer.json from data/vocab/bert-base-uncased-vocab.txt (deterministic:
 * the same vocab gives the same bytes; test/tokenizer.test.ts checks the committed file).
 *
 *   npx tsx scripts/make-tokenizer.ts [vocab.txt] [out.json]
 */
import * as fs from 'fs';
import * as path from 'path';
import { defaultTokenizerPath, defaultVocabPath, parseVocab, serializeTokenizerJson, tokenizerJsonFromVocab } from '../src/tokenizer';

/** The tokenizer.json text for a vocab file. */
export function makeTokenizerJson(vocabFile: string): string {
  return serializeTokenizerJson(tokenizerJsonFromVocab(parseVocab(fs.readFileSync(vocabFile, 'utf8'), vocabFile)));
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

if (require.main === module) {
  const vocabFile = process.argv[2] ?? defaultVocabPath();
  const out = process.argv[3] ?? defaultTokenizerPath();
  const text = makeTokenizerJson(vocabFile);
  writeAtomic(out, text);
  console.log(`wrote ${out} (${Buffer.byteLength(text)} bytes) from ${vocabFile}`);
}
