/**
 * Methods compared across tasks over several seeds: a marker at the median with error bars
 * (min..max by default, or the interquartile range, or +-1 standard deviation), grouped by task,
 * one colour per method; the individual seeds can be overlaid as faint dots.
 * Missing runs (null/NaN) are left out and counted in the hover text.
 */
import { axis, baseLayout, colour, type Figure, type Trace } from './figure';
import { spread } from '../stats/summary';

export interface MethodResult {
  method: string;
  task: string;
  /** One value per seed (null/NaN = the run is missing). */
  values: readonly (number | null)[];
}

export interface MethodComparisonOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** What the error bars span. */
  spread: 'minmax' | 'iqr' | 'std';
  /** Overlay each seed's value (small dots just right of the median marker). */
  showSeeds: boolean;
  /** Order of the methods and tasks (default: order of first appearance). */
  methods?: readonly string[];
  tasks?: readonly string[];
  width: number;
  height: number;
}

export const METHOD_COMPARISON_DEFAULTS: MethodComparisonOptions = {
  title: 'Methods compared over seeds (median, error bars: min to max)',
  xTitle: 'task',
  yTitle: 'dev score',
  spread: 'minmax',
  showSeeds: true,
  width: 800,
  height: 460,
};

const SPREAD_TITLE = { minmax: 'min to max', iqr: 'interquartile range', std: '±1 standard deviation' };

export function methodComparisonFigure(results: readonly MethodResult[], options: Partial<MethodComparisonOptions> = {}): Figure {
  const o = { ...METHOD_COMPARISON_DEFAULTS, ...options };
  if (!options.title) o.title = `Methods compared over seeds (median, error bars: ${SPREAD_TITLE[o.spread]})`;
  if (!Array.isArray(results) || results.length === 0) throw new Error('methodComparisonFigure needs a non-empty array of {method, task, values}');
  if (!(o.spread in SPREAD_TITLE)) throw new Error(`spread must be 'minmax', 'iqr' or 'std', got ${JSON.stringify(o.spread)}`);
  const methods = o.methods ? [...o.methods] : [...new Set(results.map((r) => r.method))];
  const tasks = o.tasks ? [...o.tasks] : [...new Set(results.map((r) => r.task))];
  const byKey = new Map<string, MethodResult>();
  results.forEach((r, i) => {
    if (typeof r.method !== 'string' || typeof r.task !== 'string' || !Array.isArray(r.values)) throw new Error(`results[${i}] must be {method: string, task: string, values: number[]}`);
    const key = `${r.method}\u0000${r.task}`;
    if (byKey.has(key)) throw new Error(`results has two entries for method '${r.method}' on task '${r.task}': merge their values into one array`);
    byKey.set(key, r);
  });
  const data: Trace[] = [];
  const nm = methods.length;
  const width = Math.min(0.8, 0.16 * nm);
  methods.forEach((method, i) => {
    const offset = nm === 1 ? 0 : -width / 2 + (width * i) / (nm - 1);
    const x: number[] = [];
    const y: (number | null)[] = [];
    const plus: number[] = [];
    const minus: number[] = [];
    const hover: string[] = [];
    const seedX: number[] = [];
    const seedY: number[] = [];
    tasks.forEach((task, t) => {
      const r = byKey.get(`${method}\u0000${task}`);
      if (!r) return;
      const s = spread(r.values, 'sample', `values of ${method} on ${task}`);
      if (s.n === 0) return;
      const [lo, hi] = o.spread === 'minmax' ? [s.min, s.max] : o.spread === 'iqr' ? [s.q1, s.q3] : [s.mean - (s.std || 0), s.mean + (s.std || 0)];
      x.push(t + offset);
      y.push(s.median);
      plus.push(Math.max(0, hi - s.median));
      minus.push(Math.max(0, s.median - lo));
      hover.push(`${method} on ${task}<br>median ${fmt(s.median)} over ${s.n} seed${s.n === 1 ? '' : 's'}${s.missing ? ` (${s.missing} missing)` : ''}<br>${SPREAD_TITLE[o.spread]}: ${fmt(lo)} to ${fmt(hi)}`);
      for (const v of r.values) {
        if (typeof v === 'number' && Number.isFinite(v)) {
          seedX.push(t + offset + 0.06);
          seedY.push(v);
        }
      }
    });
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: method,
      x,
      y,
      text: hover,
      hovertemplate: '%{text}<extra></extra>',
      marker: { color: colour(i), size: 11, symbol: 'diamond' },
      error_y: { type: 'data', symmetric: false, array: plus, arrayminus: minus, color: colour(i), thickness: 1.8, width: 6 },
      legendgroup: method,
    });
    if (o.showSeeds && seedX.length) {
      data.push({ type: 'scatter', mode: 'markers', name: `${method} (seeds)`, x: seedX, y: seedY, marker: { color: colour(i), size: 5, opacity: 0.45 }, legendgroup: method, showlegend: false, hovertemplate: `${method}: %{y}<extra></extra>` });
    }
  });
  return {
    data,
    layout: baseLayout(o.title, {
      width: o.width,
      height: o.height,
      xaxis: axis(o.xTitle, { tickmode: 'array', tickvals: tasks.map((_, t) => t), ticktext: tasks, range: [-0.6, tasks.length - 0.4], showgrid: false }),
      yaxis: axis(o.yTitle),
    }),
  };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : '-';
}
