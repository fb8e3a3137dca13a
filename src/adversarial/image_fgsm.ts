/**
 * FGSM examples for the digits classifier (Goodfellow, Shlens & Szegedy, ICLR 2015):
 *     x_adv = clip(x + eps * sign(grad_x J(theta, x, y)), 0, 1)
 */
import * as tf from '@tensorflow/tfjs';
import { ImageClassifierParams, imageClassifierLoss } from '../model/image_classifier';
import { fgsm } from './fgsm';

/** FGSM examples for a batch: x_adv = clip(x + eps * sign(grad_x J), 0, 1). The caller owns the result. */
export function imageFgsmExamples(
  p: ImageClassifierParams,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  eps: number,
  clip: [number, number] | undefined = [0, 1],
): tf.Tensor2D {
  return fgsm((xi: tf.Tensor2D) => imageClassifierLoss(p, xi, y), x, eps, { clip }).xAdv; // [N, 64]
}

