/**
 * Attention maps: the softmax attention weights of a transformer, as heatmaps with the query
 * token on the vertical axis (top to bottom, as the sentence reads) and the key token on the
 * horizontal axis: one chosen layer and head, or a grid (rows = layers, columns = heads).
 * Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (the weights softmax(QK^T / sqrt(d))).
 *
 * Positions are numeric axes labelled with the tokens, so repeated tokens ("the" twice) stay
 * separate columns (a categorical axis would merge them).
 */
import { axis, baseLayout, BLUES, type Figure, type Layout, type Trace } from './figure';
import { cellAxes, cellTitle, gridCells } from './grid';
import { checkArray, checkMatrix } from './check';

export interface AttentionOptions {
  /** Show only this layer (with `head`, a single heatmap). */
  layer?: number;
  /** Show only this head. */
  head?: number;
  /** Layers to show in the grid (default: all, or `layer`). */
  layers?: readonly number[];
  /** Heads to show in the grid (default: all, or `head`). */
  heads?: readonly number[];
  title?: string;
  /** A plotly colour scale name or [[0, colour], ..., [1, colour]]; default white to dark blue. */
  colorscale: string | [number, string][];
  /** Colour range maximum; 'auto' = the largest weight shown (default 1: weights are probabilities). */
  zmax: number | 'auto';
  /** Pixel size of one panel in a grid (a single map is `singleSize`). */
  panelSize: number;
  singleSize: number;
  /** Refuse grids larger than this (pick layers/heads instead). */
  maxPanels: number;
  /** Axis titles of a single map (a grid says 'key' / 'query' on its outer edges). */
  keyTitle: string;
  queryTitle: string;
}

export const ATTENTION_DEFAULTS: AttentionOptions = {
  colorscale: BLUES,
  zmax: 1,
  panelSize: 230,
  singleSize: 560,
  maxPanels: 64,
  keyTitle: 'key token (attended to)',
  queryTitle: 'query token (attending)',
};

function pick(name: string, chosen: readonly number[] | undefined, single: number | undefined, count: number): number[] {
  const list = chosen ?? (single !== undefined ? [single] : Array.from({ length: count }, (_, i) => i));
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`${name} ${i} does not exist: there are ${count} (indices 0..${count - 1})`);
  }
  if (list.length === 0) throw new Error(`${name}s: choose at least one`);
  return [...list];
}

/**
 * Heatmaps of attention weights `attention[layer][head][query][key]` over `tokens`.
 * If fewer tokens than T are given, only the first tokens.length positions are shown (pass the
 * non-padding tokens to hide padding).
 */
export function attentionFigure(attention: number[][][][], tokens: readonly string[], options: Partial<AttentionOptions> = {}): Figure {
  const o = { ...ATTENTION_DEFAULTS, ...options };
  checkArray('attention', attention);
  checkArray('tokens', tokens);
  if (attention.length === 0) throw new Error('attention must be [layer][head][T][T] with at least one layer');
  checkArray('attention[0]', attention[0]);
  const nLayers = attention.length;
  const nHeads = attention[0].length;
  const L = tokens.length;
  if (L === 0) throw new Error('tokens is empty: pass the tokens of the sentence');
  const layers = pick('layer', o.layers, o.layer, nLayers);
  const heads = pick('head', o.heads, o.head, nHeads);
  const mats: number[][][] = [];
  for (const l of layers) {
    checkArray(`attention[${l}]`, attention[l]);
    if (attention[l].length !== nHeads) throw new Error(`attention[${l}] has ${attention[l].length} heads but attention[0] has ${nHeads}`);
    for (const h of heads) {
      const m = attention[l][h];
      const [rows, cols] = checkMatrix(`attention[${l}][${h}]`, m);
      if (rows !== cols) throw new Error(`attention[${l}][${h}] must be square [T][T], got [${rows}][${cols}]`);
      if (L > rows) throw new Error(`${L} tokens given but the attention maps cover only T = ${rows} positions`);
      mats.push(m.slice(0, L).map((r) => r.slice(0, L)));
    }
  }
  if (mats.length > o.maxPanels) {
    throw new Error(`${mats.length} attention panels requested (${layers.length} layers x ${heads.length} heads): choose some with {layers: [...], heads: [...]} or {layer, head}, or raise maxPanels`);
  }
  const zmax = o.zmax === 'auto' ? Math.max(1e-12, ...mats.map((m) => Math.max(...m.map((r) => Math.max(...r))))) : o.zmax;
  const single = mats.length === 1;
  const ticks = { tickmode: 'array', tickvals: tokens.map((_, i) => i), ticktext: [...tokens], showgrid: false, showline: false, ticks: '' };
  const cells = gridCells(layers.length, heads.length, { hgap: single ? 0 : 0.2 / heads.length + 0.02, vgap: single ? 0 : 0.25 / layers.length + 0.03 });
  const data: Trace[] = [];
  let layout: Layout = {};
  const annotations: Layout[] = [];
  cells.forEach((cell, k) => {
    const l = layers[cell.row];
    const h = heads[cell.col];
    data.push({
      type: 'heatmap',
      name: `layer ${l} head ${h}`,
      z: mats[k],
      x: tokens.map((_, i) => i),
      y: tokens.map((_, i) => i),
      xaxis: cell.xref,
      yaxis: cell.yref,
      // One colour scale for all panels: the same range everywhere, one colour bar.
      colorscale: o.colorscale,
      zmin: 0,
      zmax,
      showscale: k === 0,
      ...(k === 0 ? { colorbar: { title: { text: 'attention weight', side: 'right' } } } : {}),
      hovertemplate: `layer ${l} head ${h}<br>query %{y} attends to key %{x}: %{z:.3f}<extra></extra>`,
    });
    const bottom = cell.row === layers.length - 1;
    const left = cell.col === 0;
    const xa = axis(single || bottom ? (single ? o.keyTitle : 'key') : '', { ...ticks, showticklabels: single || bottom || L <= 8, tickangle: L > 6 ? -60 : 0, constrain: 'domain' });
    const ya = axis(single || left ? (single ? o.queryTitle : 'query') : '', { ...ticks, autorange: 'reversed', showticklabels: single || left || L <= 8, scaleanchor: cell.xref, constrain: 'domain' });
    if (!(single || bottom)) delete xa.title;
    if (!(single || left)) delete ya.title;
    layout = { ...layout, ...cellAxes(cell, xa, ya) };
    if (!single) annotations.push(cellTitle(cell, `layer ${l}, head ${h}`, 11));
  });
  const figTitle = o.title ?? (single ? `Attention weights, layer ${layers[0]}, head ${heads[0]}` : 'Attention weights per layer and head');
  const labelRoom = 14 + 6 * Math.min(12, Math.max(...tokens.map((t) => t.length)));
  const width = single ? o.singleSize + 160 : heads.length * o.panelSize + 160;
  const height = single ? o.singleSize + 60 : layers.length * o.panelSize + 120;
  return {
    data,
    layout: {
      ...baseLayout(figTitle, { width, height, margin: { l: 50 + labelRoom, r: 40, t: 80, b: 40 + labelRoom } }),
      ...layout,
      annotations,
    },
  };
}
