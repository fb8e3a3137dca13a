/**
 * Robust accuracy as a function of the attack radius eps (accuracy under a PGD attack in
 * embedding space, or under FGSM on images), one line per model.
 */
import { axis, baseLayout, colour, type Figure, type Trace } from './figure';
import { checkSameLength, finiteNumbers, numbers, type Num } from './check';

export interface AccuracyCurve {
  /** Legend name: the model (e.g. 'BERT + FreeLB'). */
  name: string;
  eps: readonly number[];
  /** Accuracy at each eps, as a fraction in [0, 1] (see `percent`). */
  accuracy: readonly Num[];
}

export interface AccuracyVsEpsOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Show accuracies as percentages (input stays a fraction). */
  percent: boolean;
  /** Log-scale eps axis (eps = 0 points are then left out by plotly). */
  logEps: boolean;
  width: number;
  height: number;
}

export const ACCURACY_VS_EPS_DEFAULTS: AccuracyVsEpsOptions = {
  title: 'Accuracy under attack vs perturbation radius',
  xTitle: 'ε (radius of the perturbation ball)',
  yTitle: 'accuracy under attack (%)',
  percent: true,
  logEps: false,
  width: 700,
  height: 450,
};

export function accuracyVsEpsFigure(models: readonly AccuracyCurve[], options: Partial<AccuracyVsEpsOptions> = {}): Figure {
  const o = { ...ACCURACY_VS_EPS_DEFAULTS, ...options };
  if (!Array.isArray(models) || models.length === 0) throw new Error('accuracyVsEpsFigure needs a non-empty array of {name, eps, accuracy}');
  const data: Trace[] = models.map((m, i) => {
    const eps = finiteNumbers(`models[${i}].eps`, m.eps);
    const acc = numbers(`models[${i}].accuracy`, m.accuracy);
    checkSameLength(`models[${i}].accuracy`, acc.length, `models[${i}].eps`, eps.length);
    acc.forEach((a, j) => {
      if (a !== null && (a < 0 || a > 1)) throw new Error(`models[${i}].accuracy[${j}] = ${a}: pass accuracies as fractions in [0, 1] (they are shown as % when percent is true)`);
    });
    const order = eps.map((_, j) => j).sort((a, b) => eps[a] - eps[b]);
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: m.name,
      x: order.map((j) => eps[j]),
      y: order.map((j) => (acc[j] === null ? null : o.percent ? 100 * (acc[j] as number) : acc[j])),
      line: { color: colour(i), width: 2 },
      marker: { size: 7 },
    };
  });
  const yTitle = options.yTitle ?? (o.percent ? o.yTitle : 'accuracy under attack');
  return {
    data,
    layout: baseLayout(o.title, {
      width: o.width,
      height: o.height,
      xaxis: axis(o.xTitle, o.logEps ? { type: 'log' } : {}),
      yaxis: axis(yTitle, { range: o.percent ? [0, 102] : [0, 1.02] }),
    }),
  };
}
