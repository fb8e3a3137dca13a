/**
 * Finding the Jupyter installation: which command, which server (JupyterLab preferred over the
 * classic notebook), and what to tell the user when there is none.
 */
import { spawnSync } from 'child_process';

/** What to install when Jupyter (or a part of it) is missing. */
export const JUPYTER_INSTALL_HINT = [
  'Install Jupyter, then run this again:',
  '  Debian/Ubuntu: sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient',
  '  elsewhere:     pip install jupyterlab   (or: conda install -c conda-forge jupyterlab)',
  'If Jupyter is installed under another name, set ADVLM_JUPYTER to its `jupyter` command.',
].join('\n');

/** The `jupyter` command: ADVLM_JUPYTER if set, else `jupyter` on PATH. */
export function jupyterCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.ADVLM_JUPYTER || 'jupyter';
}

/** The first line `jupyter <subcommand> --version` prints, or undefined when that subcommand is missing. */
export function jupyterVersion(subcommand: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = spawnSync(jupyterCommand(env), [subcommand, '--version'], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) return undefined;
  const line = `${r.stdout}`.split('\n').map((s) => s.trim()).find((s) => /^\d/.test(s));
  return line ?? `${r.stdout}`.trim().split('\n')[0];
}

export interface JupyterServer {
  /** `lab` or `notebook`: the subcommand that starts it. */
  kind: 'lab' | 'notebook';
  version: string;
}

/** JupyterLab if installed, else the notebook server, else undefined. */
export function findJupyterServer(env: NodeJS.ProcessEnv = process.env): JupyterServer | undefined {
  for (const kind of ['lab', 'notebook'] as const) {
    const version = jupyterVersion(kind, env);
    if (version !== undefined) return { kind, version };
  }
  return undefined;
}

/**
 * The arguments that start `server` with `root` as its folder. The classic notebook (< 7) also
 * opens on notebooks/. Jupyter refuses to run as root without --allow-root (containers, CI):
 * `asRoot` adds it. `extra` (e.g. --no-browser --port 8890) comes last, so it wins.
 */
export function serverArgs(server: JupyterServer, root: string, extra: readonly string[] = [], asRoot = false): string[] {
  const args = [server.kind, `--notebook-dir=${root}`];
  const major = Number.parseInt(server.version, 10);
  if (server.kind === 'notebook' && major < 7) args.push('--NotebookApp.default_url=/tree/notebooks');
  if (asRoot) args.push('--allow-root');
  return [...args, ...extra];
}
