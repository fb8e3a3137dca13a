/**
 * Kernels the wasm backend of TensorFlow.js lacks but training needs, written in plain TypeScript
 * over the backend's heap. Registered once, when the wasm backend is initialised.
 *
 * - UnsortedSegmentSum: the gradient of tf.gather (every embedding lookup) scatters the output
 *   gradient back into the table with it. out[s, ...] = sum over i with segmentIds[i] = s of x[i, ...].
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
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

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
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
