/**
 * Where the project is on disk. A module of its own so that reading data never loads the tfjs
 * backend (src/environment.ts does).
 */
import * as fs from 'fs';
import * as path from 'path';

/** The project root: the folder holding advlm's package.json (works from src/ under tsx and tslab). */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'advlm') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`advlm's package.json not found above ${__dirname}`);
    dir = up;
  }
}
