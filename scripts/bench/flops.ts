/**
 * The arithmetic of a training step, from the model's configuration: the multiply-adds of every
 * matrix product of one forward pass, and the floating-point operations of a step given the passes
 * it ran (src/model/passes.ts). The bench divides these by the measured time ("achieved GFLOP/s").
 *
 * One forward pass over a batch of B sequences of length T (N = B T tokens, hidden D, feed-forward
 * width I, L layers), per layer:
 *   Q, K, V and output projections   4 N D^2
 *   feed-forward                     2 N D I
 *   attention scores Q K^T           B T^2 D   (all heads: H heads x T x T x D/H)
 *   attention-weighted values P V    B T^2 D
 * and the head:
 *   classification   pooler B D^2, classifier B D C
 *   MLM              transform M D^2, scores over the output vocabulary M D S (M masked tokens)
 * Embedding lookups, LayerNorm, GELU and softmax are not matrix products and are not counted.
 *
 * A step's operations: 2 x multiply-adds per forward pass; a backward pass that computes parameter
 * gradients costs two forwards' worth (the gradient of each product with respect to both operands),
 * one that goes to the inputs only (PGD's ascent steps) about one. Partial passes (YOPO's runs
 * through layer 0) are not counted, so for YOPO the figure is a lower bound.
 */
import type { BertConfig } from '../../src/model/config';
import type { PassCounts } from '../../src/model/passes';

/** What a step's batch asks of the head: a classifier over `numLabels`, or MLM scores for `masked` tokens over `outputVocab` tokens. */
export type HeadShape = { kind: 'task'; numLabels: number } | { kind: 'mlm'; masked: number; outputVocab: number };

export interface MatMulCount {
  /** Multiply-adds of one forward pass. */
  total: number;
  /** The same split by product (summed over layers). */
  parts: Record<string, number>;
}

/** Multiply-adds of the matrix products of one forward pass over a B x T batch. */
export function forwardMatMulMacs(c: Pick<BertConfig, 'hiddenSize' | 'intermediateSize' | 'numLayers'>, B: number, T: number, head: HeadShape): MatMulCount {
  const D = c.hiddenSize;
  const N = B * T;
  const L = c.numLayers;
  const parts: Record<string, number> = {
    projections: L * 4 * N * D * D,
    feedForward: L * 2 * N * D * c.intermediateSize,
    attentionScores: L * B * T * T * D,
    attentionValues: L * B * T * T * D,
  };
  if (head.kind === 'task') {
    parts.pooler = B * D * D;
    parts.classifier = B * D * head.numLabels;
  } else {
    parts.mlmTransform = head.masked * D * D;
    parts.mlmScores = head.masked * D * head.outputVocab;
  }
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}

/** Forward-pass equivalents of a step's passes: forwards + 2 x backwards to parameters + 1 x backwards to inputs only. */
export function forwardEquivalents(p: Pick<PassCounts, 'forward' | 'paramBackward' | 'inputBackward'>): number {
  return p.forward + 2 * p.paramBackward + p.inputBackward;
}

/** Floating-point operations of a step: 2 x multiply-adds x forward-pass equivalents. */
export function stepFlops(macs: number, passes: Pick<PassCounts, 'forward' | 'paramBackward' | 'inputBackward'>): number {
  return 2 * macs * forwardEquivalents(passes);
}
