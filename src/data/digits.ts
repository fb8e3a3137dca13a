/**
 * The 8x8 handwritten digits (UCI Optical Recognition of Handwritten Digits, Alpaydin & Kaynak 1998,
 * the 1,797-image set shipped with scikit-learn): the small image data set of the FGSM walk-through.
 *
 * File format (data/images/digits.csv.gz): gzip-compressed CSV, no header, one image per line,
 * 64 pixel values (integers 0..16, row-major 8x8) followed by the label (0..9).
 * Pixels are scaled to [0, 1] (divided by 16), the valid range FGSM examples are clipped to.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { seededRandom } from './rng';
import * as zlib from 'zlib';
import { projectRoot } from '../paths';

export const DIGITS = {
  /** Relative to the project root. */
  file: path.join('data', 'images', 'digits.csv.gz'),
  side: 8,
  pixels: 64,
  maxPixel: 16,
  classes: 10,
} as const;

/** Images as rows of 64 pixel values in [0, 1], labels 0..9. */
export interface DigitsData {
  x: number[][];
  y: number[];
}

/** Parses the CSV text; `file` only names the source in error messages. */
export function parseDigitsCsv(text: string, file = 'digits.csv'): DigitsData {
  const x: number[][] = [];
  const y: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}, line ${i + 1}`;
    const cells = line.split(',');
    if (cells.length !== DIGITS.pixels + 1) {
      throw new Error(
        `${where}: expected ${DIGITS.pixels + 1} comma-separated values (${DIGITS.pixels} pixels then the label), ` +
          `found ${cells.length}. Is this the digits CSV (no header)?`,
      );
    }
    const values = cells.map((c, j) => {
      const v = Number(c);
      if (c.trim() === '' || !Number.isInteger(v)) {
        throw new Error(`${where}, column ${j + 1}: expected an integer, found '${c}'.`);
      }
      return v;
    });
    const label = values[DIGITS.pixels];
    if (label < 0 || label >= DIGITS.classes) {
      throw new Error(`${where}: expected a label 0..${DIGITS.classes - 1} in the last column, found ${label}.`);
    }
    const pixels = values.slice(0, DIGITS.pixels);
    const bad = pixels.findIndex((v) => v < 0 || v > DIGITS.maxPixel);
    if (bad >= 0) {
      throw new Error(`${where}, column ${bad + 1}: expected a pixel value 0..${DIGITS.maxPixel}, found ${pixels[bad]}.`);
    }
    x.push(pixels.map((v) => v / DIGITS.maxPixel));
    y.push(label);
  }
  if (x.length === 0) throw new Error(`${file}: no data rows found (the file is empty).`);
  return { x, y };
}

/** Reads the shipped digits file (or another file in the same format, gzip-compressed or plain). */
export function loadDigits(file = path.join(projectRoot(), DIGITS.file)): DigitsData {
  if (!fs.existsSync(file)) {
    throw new Error(`Digits file not found: ${file}. It ships with advlm as ${DIGITS.file}; pass the path if it lives elsewhere.`);
  }
  const raw = fs.readFileSync(file);
  const gzipped = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let text: string;
  try {
    text = (gzipped ? zlib.gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new Error(`${file}: could not decompress (${e instanceof Error ? e.message : e}); expected a gzip-compressed CSV.`);
  }
  return parseDigitsCsv(text, file);
}

/** 0..n-1 in a seeded random order (Fisher-Yates). */
export function shuffledIndices(n: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Rows `idx` of a data set. */
export function selectDigits(data: DigitsData, idx: readonly number[]): DigitsData {
  return { x: idx.map((i) => data.x[i]), y: idx.map((i) => data.y[i]) };
}

export interface SplitOptions {
  /** Fraction of the rows held out as the test set. */
  testFraction: number;
  seed: number;
}

export const DIGITS_SPLIT_DEFAULTS: SplitOptions = { testFraction: 0.2, seed: 0 };

/** A seeded random train/test split (the same seed always gives the same split). */
export function splitDigits(data: DigitsData, options: Partial<SplitOptions> = {}): { train: DigitsData; test: DigitsData } {
  const { testFraction, seed } = { ...DIGITS_SPLIT_DEFAULTS, ...options };
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`testFraction must be strictly between 0 and 1, got ${testFraction}.`);
  }
  const idx = shuffledIndices(data.x.length, seed);
  const nTest = Math.round(data.x.length * testFraction);
  return { test: selectDigits(data, idx.slice(0, nTest)), train: selectDigits(data, idx.slice(nTest)) };
}

/** The data as tensors the caller owns: x [N, 64] float32, y [N] int32. */
export function digitsTensors(data: DigitsData): { x: tf.Tensor2D; y: tf.Tensor1D } {
  return {
    x: tf.tensor2d(data.x, [data.x.length, DIGITS.pixels]), // [N, 64]
    y: tf.tensor1d(data.y, 'int32'), // [N]
  };
}
