/**
 * The genetic attack as RIFT evaluates with it: Dong, Luu, Lin, Yan & Zhang, "How Should Pre-Trained
 * Language Models Be Fine-Tuned Towards Adversarial Robustness?", NeurIPS 2021 (RIFT), whose code
 * runs the genetic attack of Alzantot et al. (EMNLP 2018) with population 60 and 40 generations
 * over the counter-fitted neighbours.
 *
 * Composition: as `alzantot_2018` (counter-fitted neighbours, at most 8; stopwords; no word
 * modified twice; the genetic algorithm of search.ts, temperature 0.3) but 40 generations.
 * Budget: the search's own bound; the command line uses 5,000 queries on IMDB.
 *
 * Differences:
 *  - NO language-model filter (no language model here): stronger than the attack with the filter;
 *    every figure of it must say so;
 *  - the 20% limit on changed words is Alzantot et al.'s; we have not checked it against RIFT's
 *    code here;
 *  - the other differences of `alzantot_2018` (batched generations, children redrawn when over
 *    the limit, our stopword list).
 */
import { counterFittedSwap, DEFAULT_CONSTRAINTS } from '../constraints';
import type { WordAttack } from '../attack';
import { geneticSearch } from '../search';

export function geneticRift(): WordAttack {
  return {
    recipe: 'genetic_rift',
    citation: 'Dong, Luu, Lin, Yan & Zhang, NeurIPS 2021 (RIFT), after Alzantot et al., EMNLP 2018',
    transformation: counterFittedSwap({ max: 8 }),
    constraints: { ...DEFAULT_CONSTRAINTS, maxFraction: 0.2 },
    search: geneticSearch({ populationSize: 60, generations: 40, temperature: 0.3 }),
    budget: Infinity,
    differences: ['no language-model filter (no LM here): stronger than with it', '20% word limit from Alzantot et al. (not checked against the RIFT code)'],
  };
}
