/**
 * Compacts a resumable training state before it is committed to git (a long run that outlives its
 * machine carries its state in the repository, replacing the previous one at the end of each
 * working stretch). The AdamW moments (optimizer.safetensors) are rewritten as bfloat16: half the
 * size, with float32's exponent range (no underflow of the small second moments) and 8 significant
 * bits. The weights stay float32. A run resumed from a compact state continues with float32 moments;
 * its first updates differ from an uninterrupted run's by about 2^-9 relative in the moments, which
 * the moments' own averaging (beta1 0.9, beta2 0.999) washes out.
 *
 *   npx tsx scripts/compact-state.ts data/checkpoints/advlm-bert-tiny-imdb/resume
 */
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors, writeSafetensors } from '../src/model/safetensors';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx scripts/compact-state.ts STATE_DIR (a folder holding trainer_state.json and optimizer.safetensors)');
  process.exit(1);
}
const file = path.join(dir, 'optimizer.safetensors');
if (!fs.existsSync(file) || !fs.existsSync(path.join(dir, 'trainer_state.json'))) {
  console.error(`${dir} is not a resumable training state (it needs trainer_state.json and optimizer.safetensors)`);
  process.exit(1);
}
const before = fs.statSync(file).size;
const { tensors, metadata } = readSafetensors(file);
writeSafetensors(file, tensors, metadata, 'BF16');
const after = fs.statSync(file).size;
console.log(`${file}: ${(before / 1e6).toFixed(1)} MB -> ${(after / 1e6).toFixed(1)} MB (AdamW moments as bfloat16)`);
