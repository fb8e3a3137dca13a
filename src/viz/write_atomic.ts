/** Atomic file writes: write a temporary file beside the target, then rename it over the target. */
import * as fs from 'fs';
import * as path from 'path';

/** Writes `data` to `file` atomically (creating the folder); returns the absolute path. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<string> {
  if (typeof file !== 'string' || file.trim() === '') throw new Error('a file name is required');
  const abs = path.resolve(file);
  await fs.promises.mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, abs);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return abs;
}
