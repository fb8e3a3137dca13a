/**
 * A benchmark row in a process of its own (`node --import tsx script ...args`): resolves with the
 * first JSON line the child prints when it exits cleanly, else with `crashed(why)` (a wasm abort
 * cannot be caught in-process, so a crash loses only its row).
 */
import { spawn } from 'child_process';

export function jsonChild<T>(script: string, args: string[], env: NodeJS.ProcessEnv, crashed: (why: string) => T, nodeArgs: string[] = []): Promise<T> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) return resolve(JSON.parse(line) as T);
      const detail = err.split('\n').find((l) => /error|abort/i.test(l))?.trim();
      resolve(crashed(`crashed (${signal ?? `exit code ${code}`})${detail ? `: ${detail}` : ''}`));
    });
  });
}
