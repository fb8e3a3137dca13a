/**
 * Loss along directions in embedding space: L(x + alpha * d) along one direction d (a line per
 * curve, e.g. the adversarial direction vs a random one), and L(x + alpha * d1 + beta * d2) on a
 * grid (contour map or 3-D surface). The losses are computed elsewhere; this only draws them.
 */
import { axis, baseLayout, colour, type Figure, type Trace } from './figure';
import { checkMatrix, checkSameLength, finiteNumbers, numbers, type Num } from './check';

export interface LossCurve {
  name: string;
  losses: readonly Num[];
}

export interface LossLineOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Mark alpha = 0 (the clean input) with a vertical line. */
  markOrigin: boolean;
  width: number;
  height: number;
}

export const LOSS_LINE_DEFAULTS: LossLineOptions = {
  title: 'Loss along a direction in embedding space',
  xTitle: 'step size α along the direction',
  yTitle: 'loss L(x + α d)',
  markOrigin: true,
  width: 700,
  height: 450,
};

/** Loss against alpha, one line per curve (a bare number array is one curve named 'loss'). */
export function lossLineFigure(alphas: readonly number[], curves: readonly LossCurve[] | readonly Num[], options: Partial<LossLineOptions> = {}): Figure {
  const o = { ...LOSS_LINE_DEFAULTS, ...options };
  const x = finiteNumbers('alphas', alphas);
  if (!Array.isArray(curves) || curves.length === 0) throw new Error('lossLineFigure needs losses: a number array or [{name, losses}]');
  const list: LossCurve[] = typeof curves[0] === 'object' && curves[0] !== null ? (curves as LossCurve[]) : [{ name: 'loss', losses: curves as Num[] }];
  const data: Trace[] = list.map((c, i) => {
    const y = numbers(`curves[${i}].losses`, c.losses);
    checkSameLength(`curves[${i}].losses`, y.length, 'alphas', x.length);
    return { type: 'scatter', mode: 'lines', name: c.name, x, y, line: { color: colour(i), width: 2 } };
  });
  const layout = baseLayout(o.title, { width: o.width, height: o.height, xaxis: axis(o.xTitle), yaxis: axis(o.yTitle) });
  if (o.markOrigin && Math.min(...x) <= 0 && Math.max(...x) >= 0) {
    layout.shapes = [{ type: 'line', xref: 'x', x0: 0, x1: 0, yref: 'y domain', y0: 0, y1: 1, line: { color: '#888', dash: 'dot', width: 1 } }];
  }
  return { data, layout };
}

export interface LossSurfaceOptions {
  title: string;
  kind: 'contour' | 'surface';
  xTitle: string;
  yTitle: string;
  zTitle: string;
  colorscale: string;
  /** Mark (0, 0), the clean input. */
  markOrigin: boolean;
  width: number;
  height: number;
}

export const LOSS_SURFACE_DEFAULTS: LossSurfaceOptions = {
  title: 'Loss landscape around an input in embedding space',
  kind: 'contour',
  xTitle: 'α (direction 1)',
  yTitle: 'β (direction 2)',
  zTitle: 'loss',
  colorscale: 'Viridis',
  markOrigin: true,
  width: 650,
  height: 560,
};

/**
 * A 2-D slice of the loss: `losses[i][j]` is the loss at alpha = alphas[j], beta = betas[i]
 * (rows follow betas, the vertical axis; plotly's z convention).
 */
export function lossSurfaceFigure(alphas: readonly number[], betas: readonly number[], losses: readonly (readonly Num[])[], options: Partial<LossSurfaceOptions> = {}): Figure {
  const o = { ...LOSS_SURFACE_DEFAULTS, ...options };
  const x = finiteNumbers('alphas', alphas);
  const y = finiteNumbers('betas', betas);
  const [rows, cols] = checkMatrix('losses', losses, true);
  if (rows !== y.length || cols !== x.length) {
    throw new Error(`losses must be [betas.length][alphas.length] = [${y.length}][${x.length}] (losses[i][j] at beta_i, alpha_j), got [${rows}][${cols}]`);
  }
  const z = losses.map((r, i) => numbers(`losses[${i}]`, r));
  const colorbar = { title: { text: o.zTitle, side: 'right' } };
  if (o.kind === 'surface') {
    const layout = baseLayout(o.title, {
      width: o.width,
      height: o.height,
      scene: { xaxis: { title: { text: o.xTitle } }, yaxis: { title: { text: o.yTitle } }, zaxis: { title: { text: o.zTitle } } },
    });
    delete layout.plot_bgcolor; // no 2-D plot area in a 3-D figure
    return { data: [{ type: 'surface', name: o.zTitle, x, y, z, colorscale: o.colorscale, colorbar }], layout };
  }
  if (o.kind !== 'contour') throw new Error(`kind must be 'contour' or 'surface', got ${JSON.stringify(o.kind)}`);
  const data: Trace[] = [{ type: 'contour', name: o.zTitle, x, y, z, colorscale: o.colorscale, colorbar, contours: { coloring: 'heatmap', showlabels: true, labelfont: { size: 10, color: '#fff' } } }];
  if (o.markOrigin) data.push({ type: 'scatter', mode: 'markers', name: 'clean input', x: [0], y: [0], marker: { symbol: 'x', size: 12, color: '#ffffff', line: { color: '#000', width: 2 } } });
  return {
    data,
    layout: baseLayout(o.title, { width: o.width, height: o.height, showlegend: false, xaxis: axis(o.xTitle), yaxis: axis(o.yTitle) }),
  };
}
