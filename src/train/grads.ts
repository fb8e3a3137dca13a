/** Gradients now live with the model (src/model/gradients.ts); re-exported here for older imports. */
export { LossAndGrads, disposeGrads, lossAndGrads } from '../model/gradients';
