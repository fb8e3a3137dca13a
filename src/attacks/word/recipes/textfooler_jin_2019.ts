/**
 * TextFooler-style attack: Jin, Jin, Zhou & Szolovits, "Is BERT Really Robust? A Strong Baseline for
 * Natural Language Attack on Text Classification and Entailment", AAAI 2020 (arXiv 2019).
 *
 * Composition: counter-fitted neighbours; constraints: stopwords, no word modified twice; search:
 * greedy by word importance, importance = the score (1 - p(gold)) of the text with the word deleted
 * (search.ts, 'delete'); no query budget.
 *
 * Differences from the paper (each makes the attack weaker or stronger than TextFooler, so its
 * figures are "TextFooler-style"):
 *  - substitutes: the shipped lists (at most 8 neighbours a word, already filtered by distance in
 *    counter-fitted space) in place of the paper's 50 nearest neighbours with cosine >= 0.5;
 *  - no Universal Sentence Encoder similarity check (cosine >= 0.84 over a 15-word window): no
 *    sentence encoder offline. This removes a filter, so the attack is stronger than the paper's;
 *  - no in-context part-of-speech check of the substitute (no tagger): stronger too;
 *  - among several substitutes that flip the label, we keep the one with the highest 1 - p(gold);
 *    the paper keeps the one most similar by the sentence encoder;
 *  - importance by deletion only (the paper adds the change of the predicted class's probability
 *    when the deletion flips the label; with 1 - p(gold) for a correctly classified text the
 *    ranking differs only for multi-class tasks);
 *  - our stopword list (TextFooler ships its own, longer one).
 */
import { counterFittedSwap, DEFAULT_CONSTRAINTS } from '../constraints';
import type { WordAttack } from '../attack';
import { greedyWordImportance } from '../search';

export function textfoolerJin2019(): WordAttack {
  return {
    recipe: 'textfooler_jin_2019',
    citation: 'Jin, Jin, Zhou & Szolovits, AAAI 2020',
    transformation: counterFittedSwap({ max: 8 }),
    constraints: { ...DEFAULT_CONSTRAINTS },
    search: greedyWordImportance('delete'),
    budget: Infinity,
    differences: [
      'shipped neighbour lists (at most 8) instead of 50 with cosine >= 0.5',
      'no sentence-encoder similarity check and no part-of-speech check: stronger than the paper',
    ],
  };
}
