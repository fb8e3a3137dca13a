/**
 * Input checks shared by the figure builders: each throws an error that names the argument,
 * says what was wrong and what to pass instead.
 */

/** A number, or null/NaN for "missing" (plotly draws a gap). */
export type Num = number | null;

export function checkArray(name: string, v: unknown): asserts v is unknown[] {
  if (!Array.isArray(v)) throw new Error(`${name} must be an array (got ${describe(v)})`);
}

/** An array of numbers; null and NaN allowed when `allowMissing` (they become null, a gap in plotly). */
export function numbers(name: string, v: unknown, allowMissing = true): Num[] {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) v = Array.from(v as unknown as ArrayLike<number>);
  checkArray(name, v);
  return v.map((x, i) => {
    if (typeof x === 'number' && Number.isFinite(x)) return x;
    if (allowMissing && (x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x)))) return null;
    throw new Error(
      `${name}[${i}] must be a finite number${allowMissing ? ' (or null/NaN for missing)' : ''}, got ${describe(x)}` +
        (isTensorLike(x) ? ': call .arraySync() on the tensor first' : ''),
    );
  });
}

/** Finite numbers only. */
export function finiteNumbers(name: string, v: unknown): number[] {
  return numbers(name, v, false) as number[];
}

/** A rectangular matrix of finite numbers; returns [rows, cols]. */
export function checkMatrix(name: string, m: unknown, allowMissing = false): [number, number] {
  checkArray(name, m);
  if (m.length === 0) throw new Error(`${name} must have at least one row`);
  const cols = Array.isArray(m[0]) ? m[0].length : -1;
  m.forEach((row, i) => {
    const r = numbers(`${name}[${i}]`, row, allowMissing);
    if (r.length !== cols) throw new Error(`${name} must be rectangular: row 0 has ${cols} entries, row ${i} has ${r.length}`);
  });
  return [m.length, cols];
}

export function checkSameLength(a: string, la: number, b: string, lb: number): void {
  if (la !== lb) throw new Error(`${a} has ${la} entries but ${b} has ${lb}: they must match one to one`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (isTensorLike(v)) return `a tensor of shape [${(v as { shape: number[] }).shape.join(', ')}]`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isTensorLike(v: unknown): boolean {
  return !!v && typeof v === 'object' && Array.isArray((v as { shape?: unknown }).shape) && typeof (v as { dataSync?: unknown }).dataSync === 'function';
}
