/**
 * Stopwords: words an attack must not replace. Word-substitution attacks leave function words alone
 * because swapping them mostly breaks grammar or meaning without being a "synonym" (the
 * counter-fitted lists pair "at" with "under", "so" with "therefore"), and, for negations and
 * intensifiers, because the swap changes the gold label itself.
 *
 * Our list, written for this project (about 230 lower-cased words): articles and determiners,
 * personal, possessive, reflexive, relative and interrogative pronouns, prepositions,
 * conjunctions, auxiliary and modal verbs with their contracted forms as the SST-2 tokenisation
 * writes them ("'s", "n't", "'re"...), negations ("not", "no", "never", "nor", "neither"),
 * quantifiers and a few adverbs of degree, time and place that the counter-fitted lists treat as
 * synonyms of each other. It is smaller than the lists TextFooler and TextAttack use (which add
 * many content-light words such as "whereafter" or "thence"); words not listed here are allowed.
 */
const WORDS = `
a an the this that these those such
i me my mine myself we us our ours ourselves you your yours yourself yourselves
he him his himself she her hers herself it its itself they them their theirs themselves
one ones oneself someone somebody something anyone anybody anything everyone everybody everything
noone nobody nothing
who whom whose which what whatever whoever whichever where when why how whenever wherever
about above across after against along amid among around as at before behind below beneath beside
besides between beyond by despite down during except for from in inside into like near of off on
onto out outside over past per since than through throughout till to toward towards under
underneath until unto up upon via with within without
and or but nor so yet if then else because although though while whereas whether unless once
also too either neither both each every all any some few many much more most other another own same
several enough less least
am is are was were be been being have has had having do does did doing done
will would shall should can could may might must ought
's 're 've 'd 'll 'm n't
ca wo sha
not no never none
here there now just only very again further still already ever even quite rather almost
s t d ll m o re ve y
`;

/** The shipped stopword list (lower-case). */
export const STOPWORDS: ReadonlySet<string> = new Set(WORDS.split(/\s+/).filter((w) => w !== ''));

export function isStopword(word: string, stopwords: ReadonlySet<string> = STOPWORDS): boolean {
  return stopwords.has(word.toLowerCase());
}
