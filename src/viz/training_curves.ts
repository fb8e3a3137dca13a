/**
 * Training curves: training loss per step and the dev metric per evaluation (epoch or step),
 * one colour per method/run, loss on the left and the metric on the right.
 */
import { axis, baseLayout, colour, type Figure, type Layout, type Trace } from './figure';
import { cellAxes, cellTitle, gridCells } from './grid';
import { checkSameLength, numbers, finiteNumbers, type Num } from './check';

export interface TrainingCurve {
  /** Legend name: the method or the run. */
  name: string;
  /** Training loss per logged step (null/NaN: not logged there). */
  loss?: readonly Num[];
  /** x of each loss value; default 1, 2, ... */
  lossX?: readonly number[];
  /** Dev metric per evaluation (null/NaN: missing). */
  metric?: readonly Num[];
  /** x of each metric value; default 1, 2, ... (epochs). */
  metricX?: readonly number[];
}

export interface TrainingCurvesOptions {
  title: string;
  lossXTitle: string;
  lossTitle: string;
  metricXTitle: string;
  metricTitle: string;
  /** Exponential moving average factor for the loss in [0, 1) (0 = none, 0.9 = heavy), bias-corrected. */
  smooth: number;
  /** Log-scale loss axis. */
  logLoss: boolean;
  width: number;
  height: number;
}

export const TRAINING_CURVES_DEFAULTS: TrainingCurvesOptions = {
  title: 'Training curves',
  lossXTitle: 'step',
  lossTitle: 'training loss',
  metricXTitle: 'epoch',
  metricTitle: 'dev metric',
  smooth: 0,
  logLoss: false,
  width: 950,
  height: 420,
};

/** Bias-corrected exponential moving average; missing values stay missing and do not update it. */
export function smoothEma(values: readonly Num[], factor: number): Num[] {
  if (!(factor >= 0 && factor < 1)) throw new Error(`smooth must be in [0, 1), got ${factor}`);
  let acc = 0;
  let weight = 0;
  return values.map((v) => {
    if (v === null) return null;
    acc = factor * acc + (1 - factor) * v;
    weight = factor * weight + (1 - factor);
    return acc / weight;
  });
}

function xs(name: string, given: readonly number[] | undefined, n: number): number[] {
  if (given === undefined) return Array.from({ length: n }, (_, i) => i + 1);
  const x = finiteNumbers(name, given);
  checkSameLength(name, x.length, name.replace(/X$/, ''), n);
  return x;
}

/** Loss and dev-metric curves of several runs. */
export function trainingCurvesFigure(runs: readonly TrainingCurve[], options: Partial<TrainingCurvesOptions> = {}): Figure {
  const o = { ...TRAINING_CURVES_DEFAULTS, ...options };
  if (!Array.isArray(runs) || runs.length === 0) throw new Error('trainingCurvesFigure needs a non-empty array of runs {name, loss?, metric?}');
  const hasLoss = runs.some((r) => r.loss && r.loss.length > 0);
  const hasMetric = runs.some((r) => r.metric && r.metric.length > 0);
  if (!hasLoss && !hasMetric) throw new Error('trainingCurvesFigure: no run has a loss or a metric series to plot');
  const cells = gridCells(1, hasLoss && hasMetric ? 2 : 1, { hgap: 0.12 });
  const lossCell = hasLoss ? cells[0] : undefined;
  const metricCell = hasMetric ? cells[hasLoss ? 1 : 0] : undefined;
  const data: Trace[] = [];
  runs.forEach((run, i) => {
    if (typeof run?.name !== 'string') throw new Error(`runs[${i}].name must be a string (the legend label)`);
    const c = colour(i);
    let shownInLegend = false;
    if (lossCell && run.loss && run.loss.length > 0) {
      const y = numbers(`runs[${i}].loss`, run.loss);
      const x = xs(`runs[${i}].lossX`, run.lossX, y.length);
      if (o.smooth > 0) {
        data.push({ type: 'scatter', mode: 'lines', name: `${run.name} (raw)`, x, y, xaxis: lossCell.xref, yaxis: lossCell.yref, line: { color: c, width: 1 }, opacity: 0.3, legendgroup: run.name, showlegend: false, hoverinfo: 'skip' });
      }
      const ys = o.smooth > 0 ? smoothEma(y, o.smooth) : y;
      data.push({ type: 'scatter', mode: 'lines', name: run.name, x, y: ys, xaxis: lossCell.xref, yaxis: lossCell.yref, line: { color: c, width: 2 }, legendgroup: run.name, showlegend: true });
      shownInLegend = true;
    }
    if (metricCell && run.metric && run.metric.length > 0) {
      const y = numbers(`runs[${i}].metric`, run.metric);
      const x = xs(`runs[${i}].metricX`, run.metricX, y.length);
      data.push({ type: 'scatter', mode: 'lines+markers', name: run.name, x, y, xaxis: metricCell.xref, yaxis: metricCell.yref, line: { color: c, width: 2 }, marker: { size: 7 }, legendgroup: run.name, showlegend: !shownInLegend });
    }
  });
  let layout: Layout = baseLayout(o.title, { width: o.width, height: o.height, margin: { l: 70, r: 30, t: 80, b: 60 } });
  // Whole-number x (epochs) gets whole-number ticks.
  const metricXs = data.filter((t) => metricCell && t.xaxis === metricCell.xref).flatMap((t) => t.x as number[]);
  const integerTicks = metricXs.length > 0 && metricXs.every(Number.isInteger) && Math.max(...metricXs) - Math.min(...metricXs) <= 20 ? { dtick: 1 } : {};
  const annotations: Layout[] = [];
  if (lossCell) {
    layout = { ...layout, ...cellAxes(lossCell, axis(o.lossXTitle), axis(o.lossTitle, o.logLoss ? { type: 'log' } : {})) };
    if (metricCell) annotations.push(cellTitle(lossCell, o.lossTitle));
  }
  if (metricCell) {
    layout = { ...layout, ...cellAxes(metricCell, axis(o.metricXTitle, integerTicks), axis(o.metricTitle)) };
    if (lossCell) annotations.push(cellTitle(metricCell, o.metricTitle));
  }
  if (annotations.length) layout.annotations = annotations;
  return { data, layout };
}
