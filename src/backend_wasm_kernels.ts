/**
 * Kernels the wasm backend of TensorFlow.js lacks but training needs, written in plain TypeScript
 * over the backend's heap. Registered once, when the wasm backend is initialised.
 *
 * - UnsortedSegmentSum: the gradient of tf.gather (every embedding lookup) scatters the output
 *   gradient back into the table with it. out[s, ...] = sum over i with segmentIds[i] = s of x[i, ...].
 *
 * - Sign: the wasm kernel returns 0 for |x| below about 1e-7 (cpu and tensorflow give -1/+1), which
 *   silently stalls FGSM-style steps on small gradients. Replaced by an exact elementwise version.
 *
 * Speed fixes, each found by a kernel profile (`npm run bench -- profile`) and tested against the
 * cpu backend; ADVLM_WASM_STOCK_<NAME>=1 (MATMUL, GATHER, SUM) keeps tfjs's own kernel, for comparison:
 *
 * - BatchMatMul: the wasm kernel runs fast (XNNPACK, about 20 GFLOP/s here) only for a single
 *   product without transposition flags; with transposeA/B or a batch dimension it takes a generic
 *   path about 10x slower (2 GFLOP/s measured on [614,128] x [30522,128]^T and on attention's
 *   [64,128,64] x [64,64,128]). Every matMul gradient transposes an operand and attention is
 *   batched, so the wrapper materialises transposes (a cheap memory pass) and splits batches into
 *   single products. `npm run bench -- matmul` measures it.
 * - GatherV2: the wasm kernel copies element by element through stride arithmetic (122 ms for the
 *   MLM head's [26,629 x 128] rows of the word embeddings); the replacement copies whole slices
 *   with TypedArray.set (3.4 ms), for the only form the model uses (batchDims 0).
 * - Sum over leading axes: the gradient of every bias (a broadcast add) sums the output gradient
 *   over the rows of [B*T, D]; wasm transposes the tensor first and then reduces (20 ms for
 *   [4096, 512]); the replacement adds rows in place (4.3 ms).
 *
 * And `registerWasmElementwise`, for fused elementwise kernels that the library defines where their
 * math lives (AdamW's update: src/train/adamw.ts).
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: ArrayLike<number>): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** out[s, j] += sum_{i : ids[i] = s} x[i, j]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
export function unsortedSegmentSumValues(
  x: Float32Array | Int32Array,
  ids: Int32Array | Float32Array,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  const n = ids.length;
  const inner = n === 0 ? 0 : x.length / n;
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

/** The permutation that swaps the last two axes of a rank-r tensor. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * a [...batch, m, k] x b [...batch, k, n] (or either with batch 1, broadcast) as one 2-D product per
 * batch entry, copied into a single output [...batch, m, n].
 */
function productBySlices(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  kernelBackend: unknown,
  multiply: (a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const backend = kernelBackend as WasmBackendLike & { disposeData(id: object): void };
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if (batch === 1) return multiply(a, b);
  const uneven = batchA !== batchB && batchA !== 1 && batchB !== 1;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || uneven) return multiply(a, b);
  const outer = (batchA >= batchB ? a : b).shape.slice(0, -2);
  const aVals = backend.readSync(a.dataId) as Float32Array; // [batchA * m * k]
  const bVals = backend.readSync(b.dataId) as Float32Array; // [batchB * k * n]
  const out = backend.makeOutput([...outer, m, n], 'float32'); // [...batch, m, n]
  for (let i = 0; i < batch; i++) {
    const ia = batchA === 1 ? 0 : i;
    const ib = batchB === 1 ? 0 : i;
    const ai = backend.makeOutput([m, k], 'float32', undefined, aVals.subarray(ia * m * k, (ia + 1) * m * k)); // [m, k]
    const bi = backend.makeOutput([k, n], 'float32', undefined, bVals.subarray(ib * k * n, (ib + 1) * k * n)); // [k, n]
    const ci = multiply(ai, bi); // [m, n]
    // Take the heap view after the product: allocations may have grown (and moved) the heap.
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ci), i * m * n);
    backend.disposeData(ai.dataId);
    backend.disposeData(bi.dataId);
    backend.disposeData(ci.dataId);
  }
  return out;
}

/**
 * Replaces the wasm backend's kernel `name` by `kernelFunc`, which receives the original kernel to
 * hand the cases it does not cover back to. Nothing happens when the backend lacks the kernel.
 */
function replaceWasmKernel(name: string, kernelFunc: (args: Parameters<tf.KernelFunc>[0], original: tf.KernelConfig) => ReturnType<tf.KernelFunc>): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: (args) => kernelFunc(args, original) });
}

/** Wraps wasm's BatchMatMul so that transposed operands are materialised before the product. */
function registerFastTransposedMatMul(): void {
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  replaceWasmKernel('BatchMatMul', (args, original) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const batched = a.shape.length > 2 && tf.util.sizeFromShape(a.shape.slice(0, -2)) > 1;
    if (!attrs.transposeA && !attrs.transposeB && !batched) return original.kernelFunc(args);
    const backend = args.backend as unknown as { disposeData(id: object): void };
    const materialise = (x: tf.TensorInfo) =>
      transpose.kernelFunc({ inputs: { x }, attrs: { perm: swapLastTwo(x.shape.length) }, backend: args.backend }) as tf.TensorInfo;
    const a2 = attrs.transposeA ? materialise(a) : a;
    const b2 = attrs.transposeB ? materialise(b) : b;
    const plain = { transposeA: false, transposeB: false };
    const out = productBySlices(a2, b2, args.backend, (x, y) =>
      original.kernelFunc({ ...args, inputs: { a: x, b: y }, attrs: { ...args.attrs, ...plain } }) as tf.TensorInfo,
    );
    if (a2 !== a) backend.disposeData(a2.dataId);
    if (b2 !== b) backend.disposeData(b2.dataId);
    return out;
  });
}

function checkGatherIndices(indices: ArrayLike<number>, n: number): void {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!(i >= 0 && i < n)) throw new Error(`GatherV2: the index value ${i} is not in [0, ${n - 1}]`);
  }
}

/**
 * out[o, k, :] = x[o, indices[k], :] for x viewed as [outer, n, inner] (axis = the middle one), as
 * one slice copy per (o, k). Indices must lie in [0, n): the kernel checks them (checkGatherIndices)
 * before it allocates the output, so they are not checked again here.
 */
export function gatherSlices(
  x: Float32Array | Int32Array | Uint8Array,
  indices: ArrayLike<number>,
  outer: number,
  n: number,
  inner: number,
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const K = indices.length;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < K; k++) {
      const src = (o * n + indices[k]) * inner;
      const dst = (o * K + k) * inner;
      if (inner === 1) out[dst] = x[src];
      else out.set(x.subarray(src, src + inner), dst);
    }
  }
}

/** Replaces wasm's GatherV2 with slice copies (batchDims 0); other forms go to the original kernel. */
function registerFastGather(): void {
  replaceWasmKernel('GatherV2', (args, original) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number | number[]; batchDims: number };
    if (batchDims !== 0 || x.dtype === 'string' || x.dtype === 'complex64') return original.kernelFunc(args);
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const outer = tf.util.sizeFromShape(x.shape.slice(0, a));
    const inner = tf.util.sizeFromShape(x.shape.slice(a + 1));
    const b = args.backend as unknown as WasmBackendLike;
    checkGatherIndices(b.typedArrayFromHeap(indices), x.shape[a]); // before any allocation: nothing to free on a throw
    const out = b.makeOutput([...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], x.dtype);
    // Views of the heap taken after makeOutput, which may grow (and move) it.
    const xVals = b.typedArrayFromHeap(x);
    const idVals = b.typedArrayFromHeap(indices);
    gatherSlices(xVals, idVals, outer, x.shape[a], inner, b.typedArrayFromHeap(out));
    return out;
  });
}

/** out[j] = sum_i x[i * inner + j] over `rows` rows (float64 accumulators). */
export function sumLeadingRows(x: ArrayLike<number>, rows: number, inner: number, out: { [i: number]: number }): void {
  const acc = new Float64Array(inner);
  for (let i = 0; i < rows; i++) {
    const base = i * inner;
    for (let j = 0; j < inner; j++) acc[j] += x[base + j];
  }
  for (let j = 0; j < inner; j++) out[j] = acc[j];
}

/** Replaces wasm's Sum, for float32 reductions over leading axes only, with row additions; the rest goes to the original. */
function registerFastLeadingSum(): void {
  replaceWasmKernel('Sum', (args, original) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    const leading = k > 0 && k < x.shape.length && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return original.kernelFunc(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const rest = x.shape.slice(k);
    const b = args.backend as unknown as WasmBackendLike;
    const out = b.makeOutput(keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest, 'float32');
    sumLeadingRows(b.typedArrayFromHeap(x), rows, tf.util.sizeFromShape(rest), b.typedArrayFromHeap(out)); // views after makeOutput
    return out;
  });
}

/**
 * Registers `name` on the wasm backend as a float32 kernel whose outputs (`numOutputs` of them) have
 * the shape of its first input and are computed by `f` from views of the heap, in one pass over
 * the elements: for fused elementwise updates such as AdamW's (src/train/adamw.ts). Inputs must
 * be float32 tensors of one size. Returns whether the kernel is available (registered now or before).
 */
export function registerWasmElementwise(
  name: string,
  inputNames: string[],
  numOutputs: number,
  f: (inputs: Float32Array[], outputs: Float32Array[], attrs: Record<string, number>) => void,
): boolean {
  if (tf.getKernel(name, 'wasm')) return true;
  if (!tf.getKernel('Add', 'wasm')) return false; // the wasm backend is not loaded
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const infos = inputNames.map((n) => (inputs as Record<string, tf.TensorInfo>)[n]);
      const size = tf.util.sizeFromShape(infos[0].shape);
      for (const [i, t] of infos.entries()) {
        if (t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) !== size) {
          throw new Error(`${name}: input ${inputNames[i]} must be float32 with ${size} elements, got ${t.dtype} ${JSON.stringify(t.shape)}`);
        }
      }
      const b = backend as unknown as WasmBackendLike;
      const outs = Array.from({ length: numOutputs }, () => b.makeOutput(infos[0].shape, 'float32'));
      // Views of the heap taken after every makeOutput, which may grow (and move) it.
      f(infos.map((t) => b.typedArrayFromHeap(t) as Float32Array), outs.map((t) => b.typedArrayFromHeap(t) as Float32Array), attrs as unknown as Record<string, number>);
      return outs;
    },
  });
  return true;
}

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  // ADVLM_WASM_STOCK_MATMUL=1 keeps tfjs's own BatchMatMul (for benchmarks: npm run bench).
  if (process.env.ADVLM_WASM_STOCK_MATMUL !== '1') registerFastTransposedMatMul();
  if (process.env.ADVLM_WASM_STOCK_GATHER !== '1') registerFastGather();
  if (process.env.ADVLM_WASM_STOCK_SUM !== '1') registerFastLeadingSum();
  tf.unregisterKernel('Sign', 'wasm');
  tf.registerKernel({
    kernelName: 'Sign',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const b = backend as unknown as WasmBackendLike;
      const values = b.readSync(x.dataId);
      const out = b.makeOutput(x.shape, x.dtype);
      const outVals = b.typedArrayFromHeap(out);
      for (let i = 0; i < values.length; i++) outVals[i] = values[i] > 0 ? 1 : values[i] < 0 ? -1 : values[i] === 0 ? 0 : NaN;
      return out;
    },
  });
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const b = backend as unknown as WasmBackendLike;
      if (segmentIds.shape.length !== 1 || x.shape[0] !== segmentIds.shape[0]) {
        // tf.gather's gradient always flattens to this case; anything else is unexpected here.
        throw new Error(
          `UnsortedSegmentSum (wasm, advlm): expected 1-D segmentIds matching x's first dimension, ` +
            `got x ${JSON.stringify(x.shape)} and segmentIds ${JSON.stringify(segmentIds.shape)}`,
        );
      }
      const out = b.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype); // [numSegments, ...]
      // Views of the heap taken after makeOutput, which may grow (and move) it.
      const outVals = b.typedArrayFromHeap(out) as Float32Array | Int32Array;
      outVals.fill(0);
      const xVals = b.typedArrayFromHeap(x) as Float32Array | Int32Array; // [N * inner]
      const idVals = b.typedArrayFromHeap(segmentIds) as Int32Array; // [N]
      unsortedSegmentSumValues(xVals, idVals, numSegments, outVals);
      return out;
    },
  });
}
