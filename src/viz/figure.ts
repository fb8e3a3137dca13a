/**
 * The figure type every builder in src/viz returns: a plain plotly.js figure `{data, layout}`,
 * JSON-serialisable, with no dependency on plotly.js itself (it is only loaded in a browser page
 * for export, see renderer.ts). Titles are always objects `{text}` (plotly.js 3+ dropped string
 * titles).
 */

/** One plotly trace (scatter, heatmap, bar, histogram, contour, surface, ...). */
export type Trace = { type: string; name?: string; [key: string]: unknown };

/** A plotly layout object. */
export type Layout = { [key: string]: unknown };

/** A plotly figure: what the builders return and what `show` / `savePng` take. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  /** plotly config (display options in interactive views); optional. */
  config?: { [key: string]: unknown };
}

/** Shared visual defaults of all builders. */
export const FIGURE_DEFAULTS = {
  width: 700,
  height: 450,
  font: { family: 'Arial, Helvetica, sans-serif', size: 13 },
  /** A colour-blind-friendly qualitative palette (Okabe-Ito order, then Tableau). */
  palette: ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000', '#8C564B', '#7F7F7F'],
};

/** The i-th colour of the palette (wraps around). */
export function colour(i: number): string {
  const p = FIGURE_DEFAULTS.palette;
  return p[((i % p.length) + p.length) % p.length];
}

/** A title object as plotly.js 3+ wants it. */
export function title(text: string): { text: string } {
  return { text };
}

/** An axis with a title and the shared styling. */
export function axis(text: string, extra: Layout = {}): Layout {
  const a: Layout = { title: { text }, zeroline: false, showline: true, linecolor: '#444', ticks: 'outside', gridcolor: '#e5e5e5', automargin: true, ...extra };
  // plotly reports colours of hidden lines as unused attributes
  if (a.showgrid === false) delete a.gridcolor;
  if (a.showline === false) delete a.linecolor;
  return a;
}

/** Sequential white-to-dark-blue scale (ColorBrewer Blues; plotly.js's own 'Blues' runs dark to light). */
export const BLUES: [number, string][] = [
  [0, '#f7fbff'], [0.125, '#deebf7'], [0.25, '#c6dbef'], [0.375, '#9ecae1'], [0.5, '#6baed6'],
  [0.625, '#4292c6'], [0.75, '#2171b5'], [0.875, '#08519c'], [1, '#08306b'],
];

/** Diverging blue-white-red scale for signed values centred on 0 (ColorBrewer RdBu, reversed). */
export const BLUE_WHITE_RED: [number, string][] = [
  [0, '#2166ac'], [0.25, '#92c5de'], [0.5, '#f7f7f7'], [0.75, '#f4a582'], [1, '#b2182b'],
];

/** The layout skeleton every builder starts from. */
export function baseLayout(figTitle: string | undefined, extra: Layout = {}): Layout {
  const layout: Layout = {
    width: FIGURE_DEFAULTS.width,
    height: FIGURE_DEFAULTS.height,
    font: FIGURE_DEFAULTS.font,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 70, r: 30, t: figTitle ? 60 : 30, b: 60 },
    legend: { bgcolor: 'rgba(255,255,255,0.7)' },
    ...extra,
  };
  if (figTitle) layout.title = { text: figTitle, x: 0.5, xanchor: 'center' };
  return layout;
}

/** The text of a title-like value (`{text}` or a string), or undefined. */
export function titleText(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string') return (t as { text: string }).text;
  return undefined;
}

/** The axis titles of a figure, keyed by layout key ('xaxis', 'yaxis2', 'scene.xaxis', ...). */
export function axisTitles(fig: Figure): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (obj: Layout, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (!v || typeof v !== 'object') continue;
      if (/^[xyz]axis\d*$/.test(k)) {
        const t = titleText((v as Layout).title);
        if (t !== undefined) out[prefix + k] = t;
      } else if (/^scene\d*$/.test(k)) visit(v as Layout, `${k}.`);
    }
  };
  visit(fig.layout, '');
  return out;
}

/** A one-paragraph plain-text description of a figure (the text/plain part of a notebook output). */
export function describeFigure(fig: Figure): string {
  const t = titleText(fig.layout.title);
  const kinds = new Map<string, string[]>();
  for (const tr of fig.data) {
    const names = kinds.get(tr.type) ?? [];
    if (tr.name) names.push(String(tr.name));
    kinds.set(tr.type, names);
  }
  const traces = [...kinds.entries()]
    .map(([k, names]) => {
      const uniq = [...new Set(names)];
      const shown = uniq.slice(0, 6).join(', ') + (uniq.length > 6 ? ', ...' : '');
      return `${k}${uniq.length ? `: ${shown}` : ''}`;
    })
    .join('; ');
  const axes = Object.entries(axisTitles(fig));
  const axisText = [...new Set(axes.map(([k, v]) => `${k.replace(/\d+$/, '').replace(/axis$/, '')}: ${v}`))].slice(0, 6).join(', ');
  return `Figure${t ? ` "${t}"` : ''}: ${fig.data.length} trace${fig.data.length === 1 ? '' : 's'} (${traces})${axisText ? `; axes ${axisText}` : ''}`;
}

/** Checks the basic shape of a figure; throws a clear error otherwise. */
export function checkFigure(fig: unknown): asserts fig is Figure {
  if (!fig || typeof fig !== 'object') throw new Error('expected a figure object {data, layout} (build one with the functions in src/viz)');
  const f = fig as Partial<Figure>;
  if (!Array.isArray(f.data)) throw new Error('figure.data must be an array of traces');
  if (!f.layout || typeof f.layout !== 'object') throw new Error('figure.layout must be an object');
  f.data.forEach((tr, i) => {
    if (!tr || typeof tr !== 'object' || typeof tr.type !== 'string') throw new Error(`figure.data[${i}] must be a trace object with a string 'type'`);
  });
}

/** The figure's size in CSS pixels: explicit options, then the layout's width/height, then the defaults. */
export function figureSize(fig: Figure, opts: { width?: number; height?: number } = {}): { width: number; height: number } {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  return {
    width: Math.round(opts.width ?? num(fig.layout.width) ?? FIGURE_DEFAULTS.width),
    height: Math.round(opts.height ?? num(fig.layout.height) ?? FIGURE_DEFAULTS.height),
  };
}
