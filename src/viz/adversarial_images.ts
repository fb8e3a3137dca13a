/**
 * Images beside their adversarial versions: for each example a row of panels, original |
 * perturbation | adversarial, each with a caption (e.g. the model's prediction and confidence).
 * Made for FGSM on the 8x8 digits (Goodfellow et al., "Explaining and Harnessing Adversarial
 * Examples", ICLR 2015: x_adv = x + eps * sign(grad_x L)); any greyscale H x W images work.
 * Pixels share one grey scale (ink dark on white by default); the perturbation has its own
 * diverging scale centred on 0.
 */
import { axis, baseLayout, BLUE_WHITE_RED, type Figure, type Layout, type Trace } from './figure';
import { cellAxes, cellTitle, gridCells } from './grid';
import { checkArray, checkMatrix, describe, finiteNumbers } from './check';

/** A flat array of H*W pixels (row-major) or an H x W array. */
export type Pixels = readonly number[] | readonly (readonly number[])[];

export interface AdversarialExample {
  original: Pixels;
  adversarial: Pixels;
  /** Default: adversarial - original. */
  perturbation?: Pixels;
  /** Captions above the panels, e.g. {original: 'pred 3 (97%)', adversarial: 'pred 8 (64%)'}. */
  captions?: { original?: string; perturbation?: string; adversarial?: string };
}

export interface AdversarialImagesOptions {
  title: string;
  /** [H, W] of flat pixel arrays; default square (8 x 8 for 64 pixels). */
  shape?: [number, number];
  /** Grey scale range; default the min and max over all originals and adversarials. */
  pixelRange?: [number, number];
  /** 'dark': high values drawn dark (digits: ink); 'light': high values drawn light. */
  ink: 'dark' | 'light';
  showPerturbation: boolean;
  panelSize: number;
  columnTitles: { original: string; perturbation: string; adversarial: string };
}

export const ADVERSARIAL_IMAGES_DEFAULTS: AdversarialImagesOptions = {
  title: 'Original, perturbation and adversarial images',
  ink: 'dark',
  showPerturbation: true,
  panelSize: 190,
  columnTitles: { original: 'original', perturbation: 'perturbation', adversarial: 'adversarial' },
};

/** Pixels as an H x W matrix (rows top to bottom). */
export function toImage(name: string, px: Pixels, shape?: [number, number]): number[][] {
  checkArray(name, px);
  if (px.length > 0 && Array.isArray(px[0])) {
    checkMatrix(name, px);
    const m = (px as readonly (readonly number[])[]).map((r) => [...r]);
    if (shape && (m.length !== shape[0] || m[0].length !== shape[1])) throw new Error(`${name} is ${m.length} x ${m[0].length} but shape says ${shape[0]} x ${shape[1]}`);
    return m;
  }
  const flat = finiteNumbers(name, px);
  const [h, w] = shape ?? [Math.round(Math.sqrt(flat.length)), Math.round(Math.sqrt(flat.length))];
  if (h * w !== flat.length) {
    throw new Error(`${name} has ${flat.length} pixels, which is not ${shape ? `${h} x ${w}` : 'a square image'}: pass {shape: [H, W]} or an H x W array (got ${describe(px)})`);
  }
  return Array.from({ length: h }, (_, r) => flat.slice(r * w, (r + 1) * w));
}

export function adversarialImagesFigure(examples: readonly AdversarialExample[], options: Partial<AdversarialImagesOptions> = {}): Figure {
  const o = { ...ADVERSARIAL_IMAGES_DEFAULTS, ...options, columnTitles: { ...ADVERSARIAL_IMAGES_DEFAULTS.columnTitles, ...options.columnTitles } };
  if (!Array.isArray(examples) || examples.length === 0) throw new Error('adversarialImagesFigure needs a non-empty array of {original, adversarial, perturbation?, captions?}');
  const images = examples.map((e, i) => {
    const original = toImage(`examples[${i}].original`, e.original, o.shape);
    const adversarial = toImage(`examples[${i}].adversarial`, e.adversarial, o.shape);
    if (original.length !== adversarial.length || original[0].length !== adversarial[0].length) {
      throw new Error(`examples[${i}]: original is ${original.length} x ${original[0].length} but adversarial is ${adversarial.length} x ${adversarial[0].length}`);
    }
    const perturbation = e.perturbation ? toImage(`examples[${i}].perturbation`, e.perturbation, o.shape) : adversarial.map((r, y) => r.map((v, x) => v - original[y][x]));
    return { original, adversarial, perturbation, captions: e.captions ?? {} };
  });
  const pix = images.flatMap((im) => [...im.original.flat(), ...im.adversarial.flat()]);
  const [pmin, pmax] = o.pixelRange ?? [Math.min(...pix), Math.max(...pix)];
  const dmax = Math.max(1e-12, ...images.flatMap((im) => im.perturbation.flat().map(Math.abs)));
  const kinds = (o.showPerturbation ? ['original', 'perturbation', 'adversarial'] : ['original', 'adversarial']) as ('original' | 'perturbation' | 'adversarial')[];
  const grey = [[0, '#ffffff'], [1, '#000000']];
  // Shared scales: every pixel panel uses the same range, every perturbation panel its own one.
  const pixelScale: Layout = { colorscale: o.ink === 'dark' ? grey : [[0, '#000000'], [1, '#ffffff']], zmin: pmin, zmax: pmax, colorbar: { title: { text: 'pixel', side: 'right' }, x: 1.02, y: 1, yanchor: 'top', len: 0.45 } };
  const perturbationScale: Layout = { colorscale: BLUE_WHITE_RED, zmin: -dmax, zmax: dmax, colorbar: { title: { text: 'δ', side: 'right' }, x: 1.02, y: 0, yanchor: 'bottom', len: 0.45 } };
  const withScale = (sc: Layout, shown: boolean): Layout => {
    const { colorbar, ...rest } = sc;
    return shown ? { ...rest, colorbar, showscale: true } : { ...rest, showscale: false };
  };
  const cells = gridCells(images.length, kinds.length, { hgap: 0.06, vgap: 0.32 / images.length });
  const data: Trace[] = [];
  let layout: Layout = {};
  const annotations: Layout[] = [];
  for (const cell of cells) {
    const im = images[cell.row];
    const kind = kinds[cell.col];
    const z = im[kind];
    data.push({
      type: 'heatmap',
      name: `example ${cell.row} ${kind}`,
      z,
      ...withScale(kind === 'perturbation' ? perturbationScale : pixelScale, kind === 'perturbation' ? cell.row === 0 : cell.row === 0 && cell.col === 0),
      xaxis: cell.xref,
      yaxis: cell.yref,
      hovertemplate: `${kind} (row %{y}, col %{x}): %{z:.3g}<extra></extra>`,
    });
    const bottom = cell.row === images.length - 1;
    const hide = { showticklabels: false, ticks: '', showgrid: false, showline: true, mirror: true, linecolor: '#999' };
    const xa = axis('pixel column', { ...hide, constrain: 'domain', title: bottom ? { text: 'pixel column', font: { size: 10 } } : undefined });
    const ya = axis('pixel row', { ...hide, autorange: 'reversed', scaleanchor: cell.xref, constrain: 'domain', title: cell.col === 0 ? { text: 'pixel row', font: { size: 10 } } : undefined });
    if (!bottom) delete xa.title;
    if (cell.col !== 0) delete ya.title;
    layout = { ...layout, ...cellAxes(cell, xa, ya) };
    const caption = im.captions[kind];
    const head = cell.row === 0 ? o.columnTitles[kind] : '';
    const text = [head && `<b>${head}</b>`, caption].filter(Boolean).join('<br>');
    if (text) annotations.push(cellTitle(cell, text, 11));
  }
  const rows = images.length;
  return {
    data,
    layout: {
      ...baseLayout(o.title, { width: kinds.length * o.panelSize + 200, height: rows * (o.panelSize + 40) + 110, margin: { l: 50, r: 40, t: 110, b: 40 } }),
      ...layout,
      annotations,
    },
  };
}
