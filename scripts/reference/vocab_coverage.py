"""How much of the counter-fitted synonym set a word-substitution attack (or RIFT) can use with a vocabulary.

Those methods swap whole words and need each word to be one token. For the pairs (word, neighbour) of
data/synonyms/counterfitted_neighbors.json this prints the fraction where both words are single tokens of
the BERT uncased vocabulary (the project's independent Python tokenizer, test/fixtures/tokenizer_reference.py),
and, as the best case for a vocabulary of the same size built from the corpus, the fraction where both are
among the most frequent IMDB words (--top, word counts from imdb_data.py; a real WordPiece vocabulary also
spends some of its 30,522 entries on characters and word pieces, so it covers fewer). Each fraction is given
over all pairs, and over pairs weighted by how often the first word occurs in IMDB (unsup + train).

    /usr/bin/python3 scripts/reference/vocab_coverage.py --words /tmp/advlm-imdb-words.json
"""
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument('--words', default='/tmp/advlm-imdb-words.json')
ap.add_argument('--synonyms', default='data/synonyms/counterfitted_neighbors.json')
ap.add_argument('--top', type=int, default=30000)
args = ap.parse_args()

src = open('test/fixtures/tokenizer_reference.py', encoding='utf-8').read()
tk = {}
exec(compile(src[:src.index('\ndef texts_of(')], 'tokenizer_reference.py', 'exec'), tk)
counts = json.load(open(args.words))  # word -> occurrences, most frequent first
top = set(list(counts)[:args.top])
neighbours = json.load(open(args.synonyms))


def bert_single(w):
    words = tk['words_of'](w)
    return len(words) == 1 and words[0] == w and tk['word_pieces'](w) == [w]


sets = {'BERT uncased (30,522 entries)': bert_single, 'IMDB top %d words' % args.top: lambda w: w in top}
pairs = [(w, n) for w, ns in neighbours.items() for n in ns]
words_with = [w for w, ns in neighbours.items() if ns]
print('%d words, %d with neighbours, %d (word, neighbour) pairs; %d IMDB words, %d occurrences' % (
    len(neighbours), len(words_with), len(pairs), len(counts), sum(counts.values())))
for name, ok in sets.items():
    cache = {}
    single = lambda w: cache.setdefault(w, ok(w))
    both = [single(w) and single(n) for w, n in pairs]
    weight = [counts.get(w, 0) for w, _ in pairs]
    usable_words = [w for w in words_with if single(w) and any(single(n) for n in neighbours[w])]
    occ = sum(counts.get(w, 0) for w in words_with)
    print('%s: both single tokens in %.1f%% of pairs (%.1f%% weighted by IMDB frequency); %.1f%% of words with '
          'neighbours are single tokens with at least one single-token neighbour (%.1f%% of their IMDB occurrences); '
          'single-token words among the synonym words: %.1f%%' % (
              name, 100 * sum(both) / len(both), 100 * sum(b * c for b, c in zip(both, weight)) / sum(weight),
              100 * len(usable_words) / len(words_with), 100 * sum(counts.get(w, 0) for w in usable_words) / occ,
              100 * sum(single(w) for w in neighbours) / len(neighbours)))
