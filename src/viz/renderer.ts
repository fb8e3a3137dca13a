/**
 * Static image export: one headless chromium per process, driven by playwright-core, with a
 * blank page that has plotly.js (from the installed plotly.js-dist package) loaded once; each
 * figure is then drawn by `Plotly.toImage` in that page. No network is used: the page is a local
 * file and the script is read from node_modules.
 *
 * Which chromium: $ADVLM_CHROMIUM if set, else the first of the usual system locations. When
 * none can start, `renderFigure` throws an error that says why and what to install; `show`
 * catches it, explains once and sends the figure without a PNG.
 *
 * Lifetime: the browser is started on the first render and reused (first figure ~2 s here,
 * later ones ~0.05-0.2 s). It is closed by `closeRenderer()`, or automatically when the Node
 * event loop runs empty ('beforeExit'), so scripts and tests end on their own. For that, the
 * browser's process and pipes must not keep the loop alive: playwright keeps them referenced, so
 * after launch we find the chromium ChildProcess (by a marker argument, among Node's active
 * handles) and unref it and its pipes; while a render runs, a timer holds the loop open instead.
 * If that lookup ever fails (a playwright change), an idle browser is closed after
 * `idleCloseMs` outside notebooks instead. Chromium quits by itself when its control pipe
 * closes, i.e. whenever this process dies; on process.exit playwright kills it.
 * Playwright's own SIGINT/SIGTERM/SIGHUP handlers are turned off: in a tslab kernel SIGINT means
 * "interrupt the cell", and playwright's handler would exit the whole kernel.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Browser, Page } from 'playwright-core';
import { checkFigure, figureSize, type Figure } from './figure';

export const RENDERER_DEFAULTS = {
  /** Tried in order when $ADVLM_CHROMIUM is not set. */
  candidates: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  launchTimeoutMs: 60_000,
  renderTimeoutMs: 120_000,
  /** Only when the browser's handles could not be unref'd: close it after this long idle (not in tslab). */
  idleCloseMs: 5_000,
};

export interface RenderOptions {
  format: 'png' | 'svg';
  /** CSS pixels; default the figure's layout.width/height, then 700 x 450. */
  width?: number;
  height?: number;
  /** Device pixel ratio of the PNG (2 = twice the pixels, sharper). */
  scale: number;
}

interface Session {
  browser: Browser;
  page: Page;
  dir: string;
  /** Whether the browser's process and pipes were unref'd (see the header). */
  unrefd: boolean;
}

let session: Promise<Session> | undefined;
/** The started session `session` resolved to. */
let live: Session | undefined;
let queue: Promise<unknown> = Promise.resolve();
let exitHookInstalled = false;
let idleTimer: NodeJS.Timeout | undefined;

interface ChildLike {
  spawnargs?: string[];
  unref?: () => void;
  stdio?: ({ unref?: () => void } | null)[];
}

/** Unrefs the chromium child process started with `marker` and its pipes; false if not found. */
function unrefBrowserProcess(marker: string): boolean {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof getHandles !== 'function') return false;
  const child = getHandles.call(process).find((h): h is ChildLike => Array.isArray((h as ChildLike)?.spawnargs) && (h as ChildLike).spawnargs!.includes(marker));
  if (!child || typeof child.unref !== 'function') return false;
  child.unref();
  for (const s of child.stdio ?? []) s?.unref?.();
  return true;
}

/** The chromium executable that will be used, or undefined if none is found. */
export function chromiumPath(): string | undefined {
  const env = process.env.ADVLM_CHROMIUM;
  if (env && env.trim()) return env.trim();
  return RENDERER_DEFAULTS.candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function plotlyScriptPath(): string {
  try {
    return require.resolve('plotly.js-dist');
  } catch {
    throw new Error('plotly.js-dist is not installed: run npm install in the project folder');
  }
}

async function start(): Promise<Session> {
  const exe = chromiumPath();
  if (!exe) {
    throw new Error(
      `no chromium found (looked at ${RENDERER_DEFAULTS.candidates.join(', ')}): install it (Debian/Ubuntu: apt-get install chromium) or set ADVLM_CHROMIUM to a chromium/chrome executable`,
    );
  }
  if (!fs.existsSync(exe)) throw new Error(`ADVLM_CHROMIUM points at ${exe}, which does not exist: fix or unset it`);
  let chromium: typeof import('playwright-core').chromium;
  try {
    chromium = require('playwright-core').chromium;
  } catch (e) {
    throw new Error(`playwright-core cannot be loaded (${(e as Error).message.split('\n')[0]}): run npm install`);
  }
  // An argument chromium ignores, to recognise our child process among Node's handles.
  const marker = `--advlm-renderer=${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: exe,
      args: [...RENDERER_DEFAULTS.args, marker],
      timeout: RENDERER_DEFAULTS.launchTimeoutMs,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    throw new Error(`chromium at ${exe} did not start: ${(e as Error).message.split('\n')[0]} (set ADVLM_CHROMIUM to another executable)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-render-'));
  try {
    // A local page that loads the local plotly.js: chromium streams and compiles a <script src>
    // faster than a 10 MB script pushed through the debugging protocol (~1.6 s vs ~2.5 s here).
    const html = path.join(dir, 'render.html');
    fs.writeFileSync(html, `<!doctype html><html><head><meta charset="utf-8"><script src="${pathToFileURL(plotlyScriptPath()).href}"></script></head><body></body></html>`);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(html).href, { timeout: RENDERER_DEFAULTS.launchTimeoutMs });
    const ok = await page.evaluate(() => typeof (globalThis as { Plotly?: { toImage?: unknown } }).Plotly?.toImage === 'function');
    if (!ok) throw new Error('plotly.js did not load in the render page');
    const sess: Session = { browser, page, dir, unrefd: unrefBrowserProcess(marker) };
    browser.on('disconnected', () => {
      if (process.env.ADVLM_VIZ_DEBUG) console.error('advlm viz: renderer browser disconnected');
      // Chromium went away (crash, or closed): forget it; the next render starts a new one.
      if (live === sess) {
        live = undefined;
        session = undefined;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });
    installExitHook();
    live = sess;
    return sess;
  } catch (e) {
    await browser.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Exiting without closing (process.exit, a kernel shutting down): playwright kills chromium;
  // remove our page folder.
  process.on('exit', () => {
    if (live) fs.rmSync(live.dir, { recursive: true, force: true });
  });
  // The event loop ran empty: close the browser (kept alive by a timer until it is closed).
  process.on('beforeExit', () => {
    if (!session) return;
    const keep = setInterval(() => undefined, 1000);
    closeRenderer().finally(() => clearInterval(keep));
  });
}

function getSession(): Promise<Session> {
  if (!session) {
    session = start();
    session.catch(() => {
      session = undefined;
    });
  }
  return session;
}

/**
 * Draws a figure to PNG (a Buffer) or SVG (a string) in the shared chromium page.
 * Throws when no chromium can be started (the message says what to do).
 */
export async function renderFigure(fig: Figure, opts: Partial<RenderOptions> & { format: 'png' }): Promise<Buffer>;
export async function renderFigure(fig: Figure, opts: Partial<RenderOptions> & { format: 'svg' }): Promise<string>;
export async function renderFigure(fig: Figure, opts: Partial<RenderOptions> & { format: 'png' | 'svg' }): Promise<Buffer | string> {
  checkFigure(fig);
  const { width, height } = figureSize(fig, opts);
  const scale = opts.scale ?? 1;
  if (!(scale > 0 && scale <= 10)) throw new Error(`scale must be in (0, 10], got ${scale}`);
  const format = opts.format;
  if (format !== 'png' && format !== 'svg') throw new Error(`format must be 'png' or 'svg', got ${JSON.stringify(format)}`);
  const json = JSON.parse(JSON.stringify({ data: fig.data, layout: fig.layout, config: fig.config ?? {} }));
  if (idleTimer) clearTimeout(idleTimer);
  // Holds the event loop open while rendering (the browser's own handles are unref'd).
  const keep = setInterval(() => undefined, 1 << 30);
  const job = queue.then(async () => {
    const { page } = await getSession();
    const result = await withTimeout(
      page.evaluate(
        async ({ figure, o }) => {
          const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
          const url = await P.toImage(figure, o);
          const comma = url.indexOf(',');
          return { header: url.slice(0, comma), body: url.slice(comma + 1) };
        },
        { figure: json, o: { format, width, height, scale } },
      ),
      RENDERER_DEFAULTS.renderTimeoutMs,
      'Plotly.toImage',
    );
    if (format === 'png') return Buffer.from(result.body, 'base64');
    return result.header.includes(';base64') ? Buffer.from(result.body, 'base64').toString('utf8') : decodeURIComponent(result.body);
  });
  return awaitQueued(job, keep);
}

/** Makes `job` the tail of the render queue, waits for it, then releases the keep-alive timer. */
async function awaitQueued<T>(job: Promise<T>, keep: ReturnType<typeof setInterval>): Promise<T> {
  queue = job.catch(() => undefined);
  try {
    return await job;
  } finally {
    clearInterval(keep);
    scheduleIdleClose();
  }
}

function scheduleIdleClose(): void {
  const s = session;
  if (!s || inNotebook()) return;
  s.then((sess) => {
    if (sess.unrefd || session !== s) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void closeRenderer(), RENDERER_DEFAULTS.idleCloseMs);
  }, () => undefined);
}

function inNotebook(): boolean {
  return typeof (globalThis as { __tslab__?: unknown }).__tslab__ !== 'undefined';
}

/** One problem `Plotly.validate` found (an attribute plotly does not know or a bad value). */
export interface FigureIssue {
  code: string;
  container: string;
  trace: number | null;
  path: string;
  msg: string;
}

/**
 * Checks a figure against plotly.js's schema in the render page (unknown attributes, invalid
 * values): an empty list means plotly accepts every attribute. Needs chromium.
 * `layout.legend` is not checked: Plotly.validate of plotly.js 4.1.1 throws on any legend object.
 */
export async function validateFigure(fig: Figure): Promise<FigureIssue[]> {
  checkFigure(fig);
  const json = JSON.parse(JSON.stringify({ data: fig.data, layout: fig.layout }));
  const keep = setInterval(() => undefined, 1 << 30);
  const job = queue.then(async () => {
    const { page } = await getSession();
    return page.evaluate((f) => {
      const P = (globalThis as unknown as { Plotly: { validate(d: unknown, l: unknown): unknown[] | undefined } }).Plotly;
      const layout = { ...(f.layout as Record<string, unknown>) };
      delete layout.legend;
      return (P.validate(f.data, layout) ?? []).map((e) => {
        const x = e as { code: string; container: string; trace: number | null; path: unknown; msg: string };
        return { code: x.code, container: x.container, trace: x.trace, path: Array.isArray(x.path) ? x.path.join('.') : String(x.path ?? ''), msg: x.msg };
      });
    }, json);
  });
  return awaitQueued(job, keep);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Whether a chromium executable is present (it may still fail to start). */
export function rendererAvailable(): boolean {
  const p = chromiumPath();
  return p !== undefined && fs.existsSync(p);
}

/** Closes the shared browser (if any). Safe to call any time; the next render starts a new one. */
export async function closeRenderer(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const s = session;
  session = undefined;
  live = undefined;
  if (!s) return;
  let sess: Session;
  try {
    sess = await s;
  } catch {
    return;
  }
  await sess.browser.close().catch(() => undefined);
  fs.rmSync(sess.dir, { recursive: true, force: true });
}
