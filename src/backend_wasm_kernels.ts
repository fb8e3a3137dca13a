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
 * And a speed fix for BatchMatMul. The wasm kernel runs fast (XNNPACK, about 20 GFLOP/s here) only
 * for a single product without transposition flags; with transposeA/B or a batch dimension it takes
 * a generic path about 10x slower (2 GFLOP/s measured on [614,128] x [30522,128]^T and on attention's
 * [64,128,64] x [64,64,128]). Every matMul gradient transposes an operand and attention is batched,
 * so the wrapper materialises transposes (a cheap memory pass) and splits batches into single
 * products. `npm run bench -- matmul` measures it.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: ArrayLike<number>): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** out[s, j] = sum_{i : ids[i] = s} x[i, j]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  numSegments: number,
  out: { [i: number]: number; length: number },
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

/** Wraps wasm's BatchMatMul so that transposed operands are materialised before the product. */
function registerFastTransposedMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
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
    },
  });
}

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  // ADVLM_WASM_STOCK_MATMUL=1 keeps tfjs's own BatchMatMul (for benchmarks: npm run bench).
  if (process.env.ADVLM_WASM_STOCK_MATMUL !== '1') registerFastTransposedMatMul();
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
      // readSync copies the inputs out of the heap, so the output view taken below stays valid.
      const xVals = b.readSync(x.dataId); // [N * inner]
      const idVals = b.readSync(segmentIds.dataId); // [N]
      const out = b.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype); // [numSegments, ...]
      const outVals = b.typedArrayFromHeap(out);
      outVals.fill(0);
      unsortedSegmentSumValues(xVals, idVals, numSegments, outVals);
      return out;
    },
  });
}
