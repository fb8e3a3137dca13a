/**
 * A figure as an HTML page or fragment with its plotly.js: inlined (the page works offline and
 * anywhere; about 10 MB), referenced by a file:// URL of the installed package (small; works on
 * this machine only), or left out (the page already has Plotly, e.g. a later notebook output).
 */
import * as fs from 'fs';
import { pathToFileURL } from 'url';
import { checkFigure, figureSize, titleText, type Figure } from './figure';

export type PlotlySource = 'inline' | 'file-url' | 'none';

export interface HtmlOptions {
  plotly: PlotlySource;
  /** A full page (true) or a fragment to embed in a notebook output (false). */
  fullPage: boolean;
  /** Id of the plot's div; default a random one. */
  divId?: string;
  width?: number;
  height?: number;
}

export const HTML_DEFAULTS: HtmlOptions = { plotly: 'inline', fullPage: true };

let plotlySource: string | undefined;

/** The plotly.js bundle as a string safe to put inside a <script> element. */
export function plotlyBundle(): string {
  if (plotlySource === undefined) {
    const file = require.resolve('plotly.js-dist');
    plotlySource = fs.readFileSync(file, 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  }
  return plotlySource;
}

/** JSON that can sit inside <script> (no closing tag, no line separators that break old parsers). */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The HTML for a figure (see HtmlOptions). */
export function figureHtml(fig: Figure, options: Partial<HtmlOptions> = {}): string {
  const o = { ...HTML_DEFAULTS, ...options };
  checkFigure(fig);
  const { width, height } = figureSize(fig, o);
  const id = o.divId ?? `advlm-plot-${Math.random().toString(36).slice(2, 10)}`;
  let lib = '';
  if (o.plotly === 'inline') lib = `<script type="text/javascript">${plotlyBundle()}</script>`;
  else if (o.plotly === 'file-url') lib = `<script type="text/javascript" src="${pathToFileURL(require.resolve('plotly.js-dist')).href}"></script>`;
  else if (o.plotly !== 'none') throw new Error(`plotly must be 'inline', 'file-url' or 'none', got ${JSON.stringify(o.plotly)}`);
  const figJson = scriptSafeJson({ data: fig.data, layout: fig.layout, config: { responsive: true, displaylogo: false, ...(fig.config ?? {}) } });
  // Waits for Plotly in case the library arrives in another output of the same page.
  const draw = `<script type="text/javascript">(function () {
  var fig = ${figJson};
  function draw(n) {
    var P = window.Plotly;
    if (P && P.newPlot) { P.newPlot(${JSON.stringify(id)}, fig.data, fig.layout, fig.config); return; }
    if (n > 0) setTimeout(function () { draw(n - 1); }, 100);
  }
  draw(100);
})();</script>`;
  const body = `<div id="${escapeHtml(id)}" class="advlm-plot" style="width:${width}px;height:${height}px;"></div>\n${draw}`;
  if (!o.fullPage) return `${lib}\n${body}`;
  const t = escapeHtml(titleText(fig.layout.title) ?? 'figure');
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${t}</title>\n${lib}\n</head><body>\n${body}\n</body></html>\n`;
}
