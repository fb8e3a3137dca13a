/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__},
 * then the raw little-endian tensor bytes. We write F32, or on request BF16 (the compact form of a
 * long run's optimiser state) or F16 (a shipped model's weights); we read F32, F16 and BF16
 * (converted to float32) and skip integer buffers such as `position_ids`.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic';

export interface RawTensor {
  shape: number[];
  values: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  /** Integer or other non-float tensors present in the file but not loaded (e.g. position_ids). */
  skipped: string[];
  metadata: Record<string, string>;
}

/** float16 bits -> the number they encode. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parses safetensors bytes. `source` names the file in error messages. */
export function parseSafetensors(buf: Buffer, source: string): SafetensorsFile {
  if (buf.length < 8) throw new Error(`${source}: not a safetensors file (${buf.length} bytes)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n <= 0 || 8 + n > buf.length) throw new Error(`${source}: not a safetensors file (header length ${n} does not fit in ${buf.length} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    throw new Error(`${source}: unreadable safetensors header (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors = new Map<string, RawTensor>();
  const skipped: string[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = buf.subarray(base + begin, base + end);
    if (base + end > buf.length) throw new Error(`${source}: tensor ${name} runs past the end of the file (truncated download?)`);
    let values: Float32Array;
    if (dtype === 'F32') {
      if (bytes.length !== count * 4) throw new Error(`${source}: tensor ${name} has ${bytes.length} bytes, expected ${count * 4}`);
      values = new Float32Array(count);
      new Uint8Array(values.buffer).set(bytes);
    } else if (dtype === 'F16' || dtype === 'BF16') {
      if (bytes.length !== count * 2) throw new Error(`${source}: tensor ${name} has ${bytes.length} bytes, expected ${count * 2}`);
      values = new Float32Array(count);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const asInt = new Uint32Array(1);
      const asFloat = new Float32Array(asInt.buffer);
      for (let i = 0; i < count; i++) {
        const h = view.getUint16(2 * i, true);
        if (dtype === 'F16') values[i] = f16ToF32(h);
        else {
          asInt[0] = h << 16;
          values[i] = asFloat[0];
        }
      }
    } else {
      skipped.push(name);
      continue;
    }
    tensors.set(name, { shape, values });
  }
  return { tensors, skipped, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  return parseSafetensors(fs.readFileSync(file), file);
}

/**
 * float32 -> bfloat16 bits, rounding to nearest even (the top 16 bits of the float32, rounded):
 * 8 exponent bits as float32 (no underflow where float16 would), 8 significant bits.
 */
export function toBfloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
      out[i] = (b >>> 16) | 0x40; // NaN stays NaN
      continue;
    }
    const rounded = b + 0x7fff + ((b >>> 16) & 1);
    out[i] = rounded >>> 16;
  }
  return out;
}

/**
 * float32 -> IEEE float16 bits, rounding to nearest even: 5 exponent bits (largest finite 65504,
 * subnormals down to 2^-24, larger values become infinity), 11 significant bits. The compact form of
 * a shipped model's weights, each of which moves by at most 2^-11 of itself.
 */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const exponent = (b >>> 23) & 0xff;
    const mantissa = b & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0); // infinity, or a NaN
      continue;
    }
    const e = exponent - 127 + 15; // the float16 exponent field
    let h: number;
    let rest: number;
    let half: number;
    if (e >= 31) {
      out[i] = sign | 0x7c00; // too large: infinity
      continue;
    } else if (e > 0) {
      h = (e << 10) | (mantissa >>> 13); // a carry out of the mantissa correctly bumps the exponent
      rest = mantissa & 0x1fff;
      half = 0x1000;
    } else {
      // subnormal: h = |x| / 2^-24, the 24-bit significand shifted right by 14 - e
      const shift = 14 - e;
      if (shift > 24) {
        out[i] = sign; // below half the smallest subnormal: zero
        continue;
      }
      const m = mantissa | (exponent ? 0x800000 : 0);
      h = m >>> shift;
      rest = m & ((1 << shift) - 1);
      half = 1 << (shift - 1);
    }
    if (rest > half || (rest === half && h & 1)) h++;
    out[i] = sign | h;
  }
  return out;
}

/** Serialises float32 tensors (sorted by name) into safetensors bytes, as F32, F16 or BF16. */
export function serializeSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string> = { format: 'pt' }, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  const width = dtype === 'F32' ? 4 : 2;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.values.length) throw new Error(`tensor ${name}: shape ${t.shape} has ${count} elements but ${t.values.length} values were given`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + width * count] };
    offset += width * count;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const f = tensors.get(name)!.values;
    const v = dtype === 'F32' ? f : dtype === 'F16' ? toFloat16Bits(f) : toBfloat16Bits(f);
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(out, at);
    at += v.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Map<string, RawTensor>, metadata?: Record<string, string>, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata, dtype));
}
