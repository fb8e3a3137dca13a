/**
 * advlm: adversarial training of transformer language models, in TypeScript on TensorFlow.js.
 *
 * The public API, re-exported. In a notebook (tslab, kernel started at the project root):
 *   import { initBackend, loadCheckpoint, ... } from './src/index';
 * or import the part you need, e.g. './src/model/index', './src/viz/index'.
 */
export * from './backend';
export { environmentInfo, matMulGflops, projectRoot } from './environment';
export * from './data/index';
export * from './model/index';
export * from './train/index';
export * from './adversarial/index';
export * from './analysis/index';
export * from './viz/index';
export * from './stats';
export { fillMask, type MaskPrediction } from './fill_mask';
