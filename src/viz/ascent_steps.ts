/**
 * Inside one adversarial step: the norm of the perturbation delta and the adversarial loss
 * L(x + delta) after each ascent step t = 0..K (t = 0: the initial delta), with the radius eps of
 * the projection ball drawn as a dashed line (FreeLB, Zhu et al. 2020, Algorithm 1; PGD,
 * Madry et al. 2018).
 */
import { axis, baseLayout, colour, type Figure, type Layout, type Trace } from './figure';
import { cellAxes, cellTitle, gridCells } from './grid';
import { checkSameLength, finiteNumbers, numbers, type Num } from './check';

export interface AscentSeries {
  /** Legend name (method, eps, example, ...). */
  name: string;
  /** ||delta|| after each step (index 0 = initialisation unless `steps` says otherwise). */
  norms: readonly Num[];
  /** Adversarial loss after each step (same steps as norms). */
  losses?: readonly Num[];
  /** Step numbers; default 0, 1, ..., K. */
  steps?: readonly number[];
}

export interface AscentOptions {
  title: string;
  stepTitle: string;
  normTitle: string;
  lossTitle: string;
  /** Radius of the projection ball, drawn as a dashed line on the norm panel. */
  eps?: number;
  width: number;
  height: number;
}

export const ASCENT_DEFAULTS: AscentOptions = {
  title: 'Perturbation norm and adversarial loss across ascent steps',
  stepTitle: 'ascent step t',
  normTitle: '||δ||₂',
  lossTitle: 'adversarial loss L(x + δ)',
  width: 900,
  height: 420,
};

export function ascentFigure(series: readonly AscentSeries[], options: Partial<AscentOptions> = {}): Figure {
  const o = { ...ASCENT_DEFAULTS, ...options };
  if (!Array.isArray(series) || series.length === 0) throw new Error('ascentFigure needs a non-empty array of {name, norms, losses?}');
  const hasLoss = series.some((s) => s.losses && s.losses.length > 0);
  const cells = gridCells(1, hasLoss ? 2 : 1, { hgap: 0.12 });
  const data: Trace[] = [];
  series.forEach((s, i) => {
    const norms = numbers(`series[${i}].norms`, s.norms);
    const steps = s.steps ? finiteNumbers(`series[${i}].steps`, s.steps) : norms.map((_, t) => t);
    checkSameLength(`series[${i}].steps`, steps.length, `series[${i}].norms`, norms.length);
    const common = { type: 'scatter', mode: 'lines+markers', name: s.name, x: steps, line: { color: colour(i), width: 2 }, marker: { size: 7 }, legendgroup: s.name };
    data.push({ ...common, y: norms, xaxis: cells[0].xref, yaxis: cells[0].yref, showlegend: true });
    if (hasLoss && s.losses) {
      const losses = numbers(`series[${i}].losses`, s.losses);
      checkSameLength(`series[${i}].losses`, losses.length, `series[${i}].norms`, norms.length);
      data.push({ ...common, y: losses, xaxis: cells[1].xref, yaxis: cells[1].yref, showlegend: false });
    }
  });
  let layout: Layout = baseLayout(o.title, { width: o.width, height: o.height, margin: { l: 70, r: 30, t: 80, b: 60 } });
  layout = { ...layout, ...cellAxes(cells[0], axis(o.stepTitle, { dtick: 1 }), axis(o.normTitle, { rangemode: 'tozero' })) };
  const annotations: Layout[] = [cellTitle(cells[0], 'perturbation norm')];
  if (hasLoss) {
    layout = { ...layout, ...cellAxes(cells[1], axis(o.stepTitle, { dtick: 1 }), axis(o.lossTitle)) };
    annotations.push(cellTitle(cells[1], 'adversarial loss'));
  }
  if (o.eps !== undefined) {
    if (!(o.eps > 0)) throw new Error(`eps must be a positive radius (got ${o.eps}); leave it out for an unconstrained perturbation`);
    layout.shapes = [{ type: 'line', xref: `${cells[0].xref} domain`, x0: 0, x1: 1, yref: cells[0].yref, y0: o.eps, y1: o.eps, line: { color: '#555', dash: 'dash', width: 1.5 } }];
    annotations.push({ text: `ε = ${o.eps}`, showarrow: false, xref: `${cells[0].xref} domain`, x: 1, xanchor: 'right', yref: cells[0].yref, y: o.eps, yanchor: 'bottom', font: { size: 11, color: '#555' } });
  }
  layout.annotations = annotations;
  return { data, layout };
}
