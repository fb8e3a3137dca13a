/**
 * Word-substitution attacks, composed as TextAttack composes them: goal function (goal.ts) +
 * constraints and transformations (constraints.ts; WordNet in wordnet.ts, stopwords in
 * stopwords.ts) + search method (search.ts), run per example by attack.ts, summarised by
 * metrics.ts, stored and shown by records.ts. Recipes in recipes/.
 *
 *   const attack = wordRecipe('pwws-cf');
 *   const score = modelScoreFn(params, tokenizer, { maxLength: 128 });
 *   const record = await attackExample(attack, score, { text, label, index }, { seed: 0 });
 *   summarizeAttacks(records); attackRecordsHtml(records);
 */
export * from './goal';
export * from './constraints';
export * from './stopwords';
export * from './wordnet';
export * from './search';
export * from './attack';
export * from './metrics';
export * from './records';
export * from './recipes/index';
export * from './runner';
