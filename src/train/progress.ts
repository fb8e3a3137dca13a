/**
 * A progress bar that fits where it runs: an HTML bar updated in place in a tslab notebook, a
 * cli-progress bar in a terminal, and plain log lines otherwise (CI, pipes).
 */
export interface Progress {
  /** Sets the count of completed units and a short status text ("loss 0.41"). */
  update(done: number, status?: string): void;
  /** Final line. */
  finish(status?: string): void;
}

interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
}

function inNotebook(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Seconds left, from the rate of the steps done since this display started: `initial` steps were
 * done before (a resumed run), so they do not count towards the rate. Undefined before any step.
 */
export function remainingSeconds(elapsedSeconds: number, done: number, total: number, initial = 0): number | undefined {
  if (done - initial <= 0) return undefined;
  return (elapsedSeconds / (done - initial)) * (total - done);
}

function eta(start: number, done: number, total: number, initial = 0): string {
  const secs = remainingSeconds((performance.now() - start) / 1000, done, total, initial);
  if (secs === undefined) return '';
  const m = Math.floor(secs / 60);
  return ` eta ${m}m${String(Math.round(secs % 60)).padStart(2, '0')}s`;
}

export interface ProgressOptions {
  /** Seconds between plain log lines (default 30). */
  logSeconds?: number;
  /** Force one mode. */
  mode?: 'notebook' | 'terminal' | 'log' | 'silent';
  /** Steps already done when the display starts (a resumed run). */
  initial?: number;
}

export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const mode = options.mode ?? (inNotebook() ? 'notebook' : process.stdout.isTTY ? 'terminal' : 'log');
  const start = performance.now();
  const initial = options.initial ?? 0;
  if (mode === 'silent') return { update() {}, finish() {} };
  if (mode === 'notebook') {
    // tslab's newDisplay() gives an output area we can overwrite in place.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const display: TslabDisplay = require('tslab').newDisplay();
    let last = 0;
    const render = (done: number, status: string, force: boolean) => {
      const now = performance.now();
      if (!force && now - last < 250) return;
      last = now;
      const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
      display.html(
        `<div style="font-family:monospace">${escapeHtml(label)} ` +
          `<progress value="${done}" max="${total}" style="width:40%"></progress> ` +
          `${done}/${total} (${pct.toFixed(0)}%) ${escapeHtml(status)}${eta(start, done, total, initial)}</div>`,
      );
    };
    return { update: (d, s = '') => render(d, s, false), finish: (s = '') => render(total, s, true) };
  }
  if (mode === 'terminal') {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const cliProgress = require('cli-progress');
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {status}`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, initial, { status: '' });
    return {
      update: (d, s = '') => bar.update(d, { status: s }),
      finish: (s = '') => {
        bar.update(total, { status: s });
        bar.stop();
      },
    };
  }
  const every = (options.logSeconds ?? 30) * 1000;
  let lastLog = start;
  return {
    update(done, status = '') {
      const now = performance.now();
      if (now - lastLog < every) return;
      lastLog = now;
      console.log(`${label} ${done}/${total} ${status}${eta(start, done, total, initial)}`);
    },
    finish(status = '') {
      console.log(`${label} done in ${((performance.now() - start) / 1000).toFixed(0)}s ${status}`);
    },
  };
}
