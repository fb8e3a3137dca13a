/** Atomic file writes: write a temporary file beside the target, flush it, then rename over the target. */
import * as fs from 'fs';
import * as path from 'path';

/** Writes `data` to `file` atomically (creating the folder); returns the absolute path. */
export function writeFileAtomic(file: string, data: string | Uint8Array): string {
  if (typeof file !== 'string' || file.trim() === '') throw new Error('a file name is required');
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, abs);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return abs;
}

/** Writes JSON (2-space indented, trailing newline) atomically. */
export function writeJsonAtomic(file: string, value: unknown): string {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Appends one line to a file (for JSON-lines records); a crash loses at most the line being written. */
export function appendLine(file: string, line: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.appendFileSync(file, line.endsWith('\n') ? line : line + '\n');
}
