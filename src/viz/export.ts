/**
 * Saving figures: PNG and SVG through the shared chromium renderer (renderer.ts), HTML with
 * plotly.js inlined so that the file works offline. All writes are atomic (tmp file + rename).
 */
import { checkFigure, type Figure } from './figure';
import { figureHtml, type HtmlOptions } from './html';
import { renderFigure } from './renderer';
import { writeFileAtomic } from '../util/atomic';

export interface ImageSize {
  /** CSS pixels; default the layout's width/height, then 700 x 450. */
  width?: number;
  height?: number;
  /** PNG pixel density: scale 2 gives a 2x larger, sharper image. */
  scale?: number;
}

/** The figure as PNG bytes. */
export async function figureToPng(fig: Figure, size: ImageSize = {}): Promise<Buffer> {
  return renderFigure(fig, { format: 'png', width: size.width, height: size.height, scale: size.scale ?? 1 });
}

/** The figure as an SVG document (a string). */
export async function figureToSvg(fig: Figure, size: ImageSize = {}): Promise<string> {
  return renderFigure(fig, { format: 'svg', width: size.width, height: size.height, scale: 1 });
}

/** Writes a PNG; returns the absolute path. Throws a clear error when no chromium is available. */
export async function savePng(fig: Figure, file: string, size: ImageSize = {}): Promise<string> {
  return writeFileAtomic(file, await figureToPng(fig, size));
}

/** Writes an SVG; returns the absolute path. */
export async function saveSvg(fig: Figure, file: string, size: ImageSize = {}): Promise<string> {
  return writeFileAtomic(file, await figureToSvg(fig, size));
}

/** Writes a standalone HTML page (interactive; plotly.js inlined by default, so it works offline). */
export async function saveHtml(fig: Figure, file: string, options: Partial<HtmlOptions> = {}): Promise<string> {
  checkFigure(fig);
  return writeFileAtomic(file, figureHtml(fig, { ...options, fullPage: true }));
}
