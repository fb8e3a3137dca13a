/**
 * PWWS search with counter-fitted neighbours: the search of Ren et al. (ACL 2019, "Generating
 * Natural Language Adversarial Examples through Probability Weighted Word Saliency") over the
 * synonym sets of data/synonyms (counter-fitted vectors, Mrkšić et al. 2016, lists of Jia et al.
 * 2019: at most 8 neighbours a word), as RIFT (Dong et al., NeurIPS 2021) and ASCC evaluate it.
 *
 * Constraints: stopwords, no word modified twice; no limit on the fraction of words changed; no
 * query budget. Search: greedy by probability-weighted word saliency, as `pwws_ren_2019` (see its
 * header for how our greedy pass differs from the paper's).
 *
 * Differences from the paper: the substitutes are counter-fitted neighbours, not WordNet synonyms
 * of the tagged part of speech, so its figures are NOT comparable with WordNet PWWS
 * (`pwws_ren_2019`, nor the paper's): say so wherever both appear. Our stopword list.
 */
import { counterFittedSwap, DEFAULT_CONSTRAINTS } from '../constraints';
import type { WordAttack } from '../attack';
import { greedyWordImportance } from '../search';

export function pwwsCf(): WordAttack {
  return {
    recipe: 'pwws_cf',
    citation: 'search of Ren, Deng, He & Che, ACL 2019; substitutes as in Dong et al., NeurIPS 2021 (RIFT)',
    transformation: counterFittedSwap({ max: 8 }),
    constraints: { ...DEFAULT_CONSTRAINTS },
    search: greedyWordImportance('weighted-saliency'),
    budget: Infinity,
    differences: ['counter-fitted neighbours (at most 8) instead of WordNet: not comparable with WordNet PWWS'],
  };
}
