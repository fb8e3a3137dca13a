/**
 * The word-substitution recipes, one file each (method_author_year), and the names the command
 * line uses for them (`advlm attack --recipe NAME`).
 */
import type { WordAttack } from '../attack';
import { alzantot2018 } from './alzantot_2018';
import { geneticRift } from './genetic_rift';
import { pwwsCf } from './pwws_cf';
import { pwwsRen2019 } from './pwws_ren_2019';
import { textfoolerJin2019 } from './textfooler_jin_2019';

export { alzantot2018, geneticRift, pwwsCf, pwwsRen2019, textfoolerJin2019 };

/** Command-line name -> recipe. */
export const WORD_RECIPES: Record<string, () => WordAttack> = {
  pwws: pwwsRen2019,
  'pwws-cf': pwwsCf,
  textfooler: textfoolerJin2019,
  genetic: alzantot2018,
  'genetic-rift': geneticRift,
};

/** The recipe of a command-line name (or of its file name, e.g. 'pwws_ren_2019'). */
export function wordRecipe(name: string): WordAttack {
  const make = WORD_RECIPES[name];
  if (make) return make();
  const byFile = Object.values(WORD_RECIPES).map((f) => f()).find((r) => r.recipe === name);
  if (byFile) return byFile;
  throw new Error(`unknown word-substitution recipe '${name}'; recipes: ${Object.keys(WORD_RECIPES).join(', ')}`);
}
