/**
 * The distribution of the per-example loss increase under attack, M-Inc = max over
 * ||delta|| <= eps of L(x + delta) - L(x) (FreeLB, Zhu et al. 2020, Table 5), as overlaid
 * histograms, one per model, on shared bins so that the bars compare, with each model's median
 * as a dashed line.
 */
import { axis, baseLayout, colour, type Figure, type Layout, type Trace } from './figure';
import { numbers } from './check';
import { median } from '../stats/summary';

export interface LossIncreaseSeries {
  name: string;
  /** Loss increase per example (null/NaN: skipped example). */
  values: readonly (number | null)[];
}

export interface LossIncreaseOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Number of shared bins over the pooled range. */
  bins: number;
  /** 'count' or 'percent' of each model's examples (percent compares models of different sizes). */
  histnorm: 'count' | 'percent';
  /** Log-scale counts. */
  logY: boolean;
  showMedians: boolean;
  width: number;
  height: number;
}

export const LOSS_INCREASE_DEFAULTS: LossIncreaseOptions = {
  title: 'Per-example loss increase under attack',
  xTitle: 'loss increase L(x + δ) − L(x)',
  yTitle: 'examples',
  bins: 30,
  histnorm: 'count',
  logY: false,
  showMedians: true,
  width: 750,
  height: 450,
};

export function lossIncreaseHistogram(series: readonly LossIncreaseSeries[], options: Partial<LossIncreaseOptions> = {}): Figure {
  const o = { ...LOSS_INCREASE_DEFAULTS, ...options };
  if (!Array.isArray(series) || series.length === 0) throw new Error('lossIncreaseHistogram needs a non-empty array of {name, values}');
  if (!Number.isInteger(o.bins) || o.bins < 1) throw new Error(`bins must be a positive integer, got ${o.bins}`);
  const clean = series.map((s, i) => numbers(`series[${i}].values`, s.values).filter((v): v is number => v !== null));
  const all = clean.flat();
  if (all.length === 0) throw new Error('lossIncreaseHistogram: no finite values to plot');
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const size = hi > lo ? (hi - lo) / o.bins : 1;
  const xbins = { start: lo, end: hi + size * 1e-6, size };
  const data: Trace[] = series.map((s, i) => ({
    type: 'histogram',
    name: `${s.name} (n = ${clean[i].length})`,
    x: clean[i],
    xbins,
    autobinx: false,
    histnorm: o.histnorm === 'percent' ? 'percent' : '',
    marker: { color: colour(i), line: { color: '#ffffff', width: 0.5 } },
    opacity: series.length > 1 ? 0.55 : 0.85,
  }));
  const shapes: Layout[] = [];
  const annotations: Layout[] = [];
  if (o.showMedians) {
    clean.forEach((v, i) => {
      if (!v.length) return;
      const m = median(v);
      shapes.push({ type: 'line', xref: 'x', x0: m, x1: m, yref: 'y domain', y0: 0, y1: 1, line: { color: colour(i), dash: 'dash', width: 2 } });
      annotations.push({ text: `median ${Number(m.toPrecision(3))}`, showarrow: false, xref: 'x', x: m, xanchor: 'left', yref: 'y domain', y: 1 - 0.06 * i, yanchor: 'top', font: { size: 11, color: colour(i) } });
    });
  }
  const yTitle = options.yTitle ?? (o.histnorm === 'percent' ? 'examples (%)' : o.yTitle);
  return {
    data,
    layout: baseLayout(o.title, { width: o.width, height: o.height, barmode: 'overlay', bargap: 0.02, xaxis: axis(o.xTitle), yaxis: axis(yTitle, o.logY ? { type: 'log' } : {}), shapes, annotations }),
  };
}
