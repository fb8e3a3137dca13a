/**
 * `show(fig)`: display a figure.
 *
 * In a tslab notebook: ONE output with three representations, so that every viewer picks what
 * it can render: `application/vnd.plotly.v1+json` (interactive in JupyterLab / VS Code with
 * plotly support), `image/png` (GitHub, nbviewer, anything; drawn by chromium, renderer.ts) and
 * `text/plain` (a one-line description). With `{html: true}` also `text/html` with plotly.js
 * (for the classic Notebook, which renders neither of the first two interactively): plotly.js is
 * inlined in the first such output of the kernel session only (10 MB), later ones reuse it;
 * `{html: 'inline'}` inlines it every time (each output then stands alone).
 * Without chromium the PNG is left out, with a one-line note (once).
 *
 * Outside a notebook: prints the description and writes an interactive HTML file (plotly.js
 * referenced from node_modules, so the file is small) to $ADVLM_FIGURE_DIR or
 * <tmpdir>/advlm-figures, and prints its path. Use savePng / saveSvg / saveHtml to choose files.
 */
import * as os from 'os';
import * as path from 'path';
import { checkFigure, describeFigure, figureSize, titleText, type Figure } from './figure';
import { figureHtml } from './html';
import { renderFigure } from './renderer';
import { displayTarget, inTslab, type MimeBundle } from './tslab_display';
import { writeFileAtomic } from '../util/atomic';

export interface ShowOptions {
  /** CSS pixels of the PNG; default the layout's, then 700 x 450. */
  width?: number;
  height?: number;
  /** PNG pixel density (2: sharper, 4x the bytes). */
  scale: number;
  /** Include a PNG (needs chromium). */
  png: boolean;
  /** Add text/html with plotly.js: true = inline plotly.js once per session, 'inline' = every time. */
  html: boolean | 'inline';
  /** Replace the text/plain description. */
  text?: string;
}

export const SHOW_DEFAULTS: ShowOptions = { scale: 1, png: true, html: false };

export interface ShowResult {
  /** 'bundle' / 'single': sent to the notebook (see tslab_display.ts); 'console': outside a notebook. */
  mode: 'bundle' | 'single' | 'console';
  /** The MIME types sent (notebook) or the file written (console). */
  mimeTypes: string[];
  file?: string;
  /** Why there is no PNG, if there is none. */
  pngError?: string;
}

let warnedNoPng = false;
let plotlySentInSession = false;
let counter = 0;

async function tryPng(fig: Figure, o: ShowOptions): Promise<{ png?: Buffer; error?: string }> {
  if (!o.png) return {};
  try {
    return { png: await renderFigure(fig, { format: 'png', width: o.width, height: o.height, scale: o.scale }) };
  } catch (e) {
    const error = (e as Error).message.split('\n')[0];
    if (!warnedNoPng) {
      warnedNoPng = true;
      console.warn(`advlm viz: no PNG (${error}); figures are shown as plotly JSON only`);
    }
    return { error };
  }
}

/** The MIME bundle of a figure (the PNG part given, since rendering is async). */
export function figureBundle(fig: Figure, parts: { png?: Buffer; text?: string; html?: string }): MimeBundle {
  const bundle: MimeBundle = {
    'application/vnd.plotly.v1+json': { data: fig.data, layout: fig.layout, config: { displaylogo: false, ...(fig.config ?? {}) } },
  };
  if (parts.png) bundle['image/png'] = parts.png.toString('base64');
  if (parts.html) bundle['text/html'] = parts.html;
  bundle['text/plain'] = parts.text ?? describeFigure(fig);
  return bundle;
}

function slug(fig: Figure): string {
  const t = (titleText(fig.layout.title) ?? 'figure').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return (t || 'figure').slice(0, 40);
}

/**
 * Displays a figure (see the file header). Await it in notebooks: `await show(fig)`. Resolves to
 * nothing, so that a notebook cell ending in it prints nothing more; `displayFigure` is the same
 * and says what it sent.
 */
export async function show(fig: Figure, options: Partial<ShowOptions> = {}): Promise<void> {
  await displayFigure(fig, options);
}

/** `show`, resolving to what was sent (MIME types, file, why there is no PNG). */
export async function displayFigure(fig: Figure, options: Partial<ShowOptions> = {}): Promise<ShowResult> {
  checkFigure(fig);
  const o = { ...SHOW_DEFAULTS, ...options };
  if (inTslab()) {
    const target = displayTarget(); // before any await: the output belongs to this cell
    const { png, error } = await tryPng(fig, o);
    let html: string | undefined;
    if (o.html) {
      const inline = o.html === 'inline' || !plotlySentInSession;
      html = figureHtml(fig, { plotly: inline ? 'inline' : 'none', fullPage: false, width: o.width, height: o.height });
      plotlySentInSession = true;
    }
    const bundle = figureBundle(fig, { png, html, text: o.text });
    const metadata: Record<string, unknown> = {};
    if (png && o.scale !== 1) metadata['image/png'] = figureSize(fig, o);
    target.send(bundle, metadata);
    return { mode: target.mode, mimeTypes: Object.keys(bundle), pngError: error };
  }
  const dir = process.env.ADVLM_FIGURE_DIR || path.join(os.tmpdir(), 'advlm-figures');
  const file = path.join(dir, `${slug(fig)}-${process.pid}-${++counter}.html`);
  await writeFileAtomic(file, figureHtml(fig, { plotly: 'file-url', fullPage: true, width: o.width, height: o.height }));
  console.log(`${o.text ?? describeFigure(fig)}\n  (not in a notebook: interactive view written to ${file}; savePng(fig, file) writes an image)`);
  return { mode: 'console', mimeTypes: [], file };
}
