/**
 * Embedding geometry: already-projected 2-D points (e.g. PCA of one word's contextual vectors
 * across sentences, or clean vs adversarial sentence embeddings), coloured by group, optionally
 * labelled. The projection itself is not done here: pass 2-D points.
 */
import { axis, baseLayout, colour, type Figure, type Trace } from './figure';
import { checkArray, checkSameLength, describe } from './check';

export interface EmbeddingPoint {
  x: number;
  y: number;
  /** Text shown next to the point and on hover (e.g. the sentence or the word). */
  label?: string;
  /** Colour group (e.g. the word sense, the class, 'clean' / 'adversarial'). */
  group?: string;
}

/** Columns form: points[i] = [x, y], with parallel labels and groups. */
export interface EmbeddingColumns {
  points: readonly (readonly number[])[];
  labels?: readonly string[];
  groups?: readonly string[];
}

export interface EmbeddingOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Fractions of variance explained by the two axes, appended to the axis titles as percentages. */
  explained?: [number, number];
  /** Draw labels next to the points: 'auto' = when there are at most 40 points. */
  showLabels: boolean | 'auto';
  /** Same scale on both axes (distances read true). */
  equalAspect: boolean;
  markerSize: number;
  width: number;
  height: number;
}

export const EMBEDDING_DEFAULTS: EmbeddingOptions = {
  title: 'Embedding geometry',
  xTitle: 'PC 1',
  yTitle: 'PC 2',
  showLabels: 'auto',
  equalAspect: true,
  markerSize: 9,
  width: 700,
  height: 560,
};

function toPoints(input: readonly EmbeddingPoint[] | EmbeddingColumns): EmbeddingPoint[] {
  if (Array.isArray(input)) return input as EmbeddingPoint[];
  const cols = input as EmbeddingColumns;
  if (!cols || !Array.isArray(cols.points)) throw new Error('embeddingFigure takes an array of {x, y, label?, group?} or {points: [[x, y], ...], labels?, groups?}');
  if (cols.labels) checkSameLength('labels', cols.labels.length, 'points', cols.points.length);
  if (cols.groups) checkSameLength('groups', cols.groups.length, 'points', cols.points.length);
  return cols.points.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`points[${i}] must be [x, y] (2-D: project first, e.g. with PCA), got ${describe(p)}`);
    return { x: p[0], y: p[1], label: cols.labels?.[i], group: cols.groups?.[i] };
  });
}

/** A scatter of 2-D points, one trace (colour) per group in order of first appearance. */
export function embeddingFigure(input: readonly EmbeddingPoint[] | EmbeddingColumns, options: Partial<EmbeddingOptions> = {}): Figure {
  const o = { ...EMBEDDING_DEFAULTS, ...options };
  const points = toPoints(input);
  checkArray('points', points);
  if (points.length === 0) throw new Error('embeddingFigure: no points given');
  points.forEach((p, i) => {
    if (!p || typeof p.x !== 'number' || typeof p.y !== 'number' || !Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new Error(`point ${i} must have finite numbers x and y, got ${JSON.stringify(p)}`);
    }
  });
  const groups = [...new Set(points.map((p) => p.group ?? ''))];
  const showText = o.showLabels === 'auto' ? points.length <= 40 : o.showLabels;
  const data: Trace[] = groups.map((g, i) => {
    const ps = points.filter((p) => (p.group ?? '') === g);
    const labels = ps.map((p) => p.label ?? '');
    const anyLabel = labels.some((l) => l !== '');
    return {
      type: 'scatter',
      mode: showText && anyLabel ? 'markers+text' : 'markers',
      name: g === '' ? 'points' : g,
      x: ps.map((p) => p.x),
      y: ps.map((p) => p.y),
      text: labels,
      textposition: 'top center',
      textfont: { size: 10 },
      marker: { color: colour(i), size: o.markerSize, line: { color: '#ffffff', width: 1 } },
      hovertemplate: `${anyLabel ? '%{text}<br>' : ''}(%{x:.3g}, %{y:.3g})<extra>${g}</extra>`,
      showlegend: groups.length > 1 || g !== '',
    };
  });
  const pct = (i: 0 | 1) => (o.explained ? ` (${(100 * o.explained[i]).toFixed(1)}% of variance)` : '');
  return {
    data,
    layout: baseLayout(o.title, {
      width: o.width,
      height: o.height,
      xaxis: axis(o.xTitle + pct(0), { zeroline: true, zerolinecolor: '#ccc' }),
      yaxis: axis(o.yTitle + pct(1), { zeroline: true, zerolinecolor: '#ccc', ...(o.equalAspect ? { scaleanchor: 'x', scaleratio: 1 } : {}) }),
    }),
  };
}
