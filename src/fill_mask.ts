/**
 * Masked-word prediction with a pre-trained MLM: the most probable tokens at each [MASK] of a text.
 * The quickest check that a pre-trained model learned something.
 */
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer } from './tokenizer';
import { BertParams, encode, mlmLogits } from './model/index';

export interface MaskPrediction {
  /** Position of the [MASK] token in the encoded sequence. */
  position: number;
  /** The k best tokens with their probabilities, best first. */
  candidates: { token: string; probability: number }[];
}

export async function fillMask(p: BertParams, tok: BertTokenizer, text: string, k = 5): Promise<MaskPrediction[]> {
  const enc = tok.encode(text);
  const positions = enc.inputIds.flatMap((id, i) => (id === tok.maskId ? [i] : []));
  if (positions.length === 0) throw new Error(`no [MASK] in "${text}": write [MASK] where a word should be predicted`);
  const probs = tf.tidy(() => {
    const ids = tf.tensor2d([enc.inputIds], undefined, 'int32'); // [1, T]
    const hidden = encode(p, ids).hidden; // [1, T, D]
    return tf.softmax(mlmLogits(p, hidden, tf.tensor1d(positions, 'int32'))); // [M, V]
  });
  const top = tf.topk(probs, k); // values/indices [M, k]
  const [values, indices] = [(await top.values.array()) as number[][], (await top.indices.array()) as number[][]];
  tf.dispose([probs, top.values, top.indices]);
  return positions.map((position, m) => ({
    position,
    candidates: indices[m].map((id, j) => ({ token: tok.idToToken(id) ?? `[${id}]`, probability: values[m][j] })),
  }));
}
