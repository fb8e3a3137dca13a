/**
 * Subplot grids for plotly.js without its Python helper: each cell gets its own x/y axis pair
 * with a computed domain, and an optional cell title as an annotation above it.
 */
import type { Layout } from './figure';

export interface GridCell {
  row: number;
  col: number;
  /** Trace keys: 'x', 'x2', ... and 'y', 'y2', ... */
  xref: string;
  yref: string;
  /** Layout keys: 'xaxis', 'xaxis2', ... */
  xaxisKey: string;
  yaxisKey: string;
  xDomain: [number, number];
  yDomain: [number, number];
}

export interface GridOptions {
  /** Horizontal gap between cells, as a fraction of the plot width. */
  hgap: number;
  /** Vertical gap between cells, as a fraction of the plot height. */
  vgap: number;
}

export const GRID_DEFAULTS: GridOptions = { hgap: 0.08, vgap: 0.1 };

/** The cells of a rows x cols grid, row-major, row 0 at the top. */
export function gridCells(rows: number, cols: number, opts: Partial<GridOptions> = {}): GridCell[] {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new Error(`a subplot grid needs positive integer rows and cols (got ${rows} x ${cols})`);
  }
  const o = { ...GRID_DEFAULTS, ...opts };
  const hgap = cols > 1 ? o.hgap : 0;
  const vgap = rows > 1 ? o.vgap : 0;
  const w = (1 - hgap * (cols - 1)) / cols;
  const h = (1 - vgap * (rows - 1)) / rows;
  const cells: GridCell[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c + 1;
      const suffix = k === 1 ? '' : String(k);
      const x0 = c * (w + hgap);
      const y1 = 1 - r * (h + vgap);
      cells.push({
        row: r,
        col: c,
        xref: `x${suffix}`,
        yref: `y${suffix}`,
        xaxisKey: `xaxis${suffix}`,
        yaxisKey: `yaxis${suffix}`,
        xDomain: [clamp01(x0), clamp01(x0 + w)],
        yDomain: [clamp01(y1 - h), clamp01(y1)],
      });
    }
  }
  return cells;
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, Number(v.toFixed(6))));
}

/** Layout entries for one cell's axes (anchored to each other, placed in the cell's domain). */
export function cellAxes(cell: GridCell, xaxis: Layout, yaxis: Layout): Layout {
  return {
    [cell.xaxisKey]: { ...xaxis, domain: cell.xDomain, anchor: cell.yref },
    [cell.yaxisKey]: { ...yaxis, domain: cell.yDomain, anchor: cell.xref },
  };
}

/** An annotation that titles a cell (centred above it). */
export function cellTitle(cell: GridCell, text: string, size = 12): Layout {
  return {
    text,
    showarrow: false,
    xref: 'paper',
    yref: 'paper',
    x: (cell.xDomain[0] + cell.xDomain[1]) / 2,
    y: cell.yDomain[1],
    xanchor: 'center',
    yanchor: 'bottom',
    font: { size },
  };
}
