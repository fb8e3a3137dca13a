"""IMDB pre-training data for the independent PyTorch recipe (scripts/reference/mlm_sst2_torch.py).

Reads data/imdb's unsup + train_pos + train_neg (never the test files), replaces the `<br />` tags by
spaces and tokenises with the project's independent Python BERT uncased tokenizer
(test/fixtures/tokenizer_reference.py, from its own description of the algorithm, not the library's).
A review is a document: its word pieces are cut into sentences after '.', '!' or '?' and packed the way
the library's packTokenized does ([CLS] ... [SEP], at most --lengths tokens, greedy within a review, a
review never continues into the next). A fixed held-out slice of whole reviews (seeded, --dev-reviews)
is the dev set, packed at every length, so runs at different lengths can be scored on the same text.

Writes one JSON file per length in the format mlm_sst2_torch.py reads (train/dev sequences, special
ids, SST-2 train/dev as ids truncated to 64 like export_data.ts), plus `devSets` (the dev reviews
packed at each length) and the IMDB word counts (for the vocabulary coverage, see vocab_coverage.py).
Run from the project root (about 2 minutes):

    /usr/bin/python3 scripts/reference/imdb_data.py --imdb data/imdb --out /tmp/advlm-imdb
    -> /tmp/advlm-imdb-128.json, /tmp/advlm-imdb-64.json, /tmp/advlm-imdb-words.json
"""
import argparse
import gzip
import json
import random
import re
from collections import Counter

ap = argparse.ArgumentParser()
ap.add_argument('--imdb', default='data/imdb', help='folder of the IMDB jsonl.gz files')
ap.add_argument('--out', default='/tmp/advlm-imdb')
ap.add_argument('--lengths', default='128,64')
ap.add_argument('--dev-reviews', type=int, default=300)
ap.add_argument('--limit', type=int, default=0, help='read only the first N reviews of each file (smoke test)')
args = ap.parse_args()


def load_reference_tokenizer(path='test/fixtures/tokenizer_reference.py'):
    """The tokenizer functions of the fixture script, without running its fixture-writing tail."""
    src = open(path, encoding='utf-8').read()
    env = {}
    exec(compile(src[:src.index('\ndef texts_of(')], path, 'exec'), env)
    return env


tk = load_reference_tokenizer()
vocab, index = tk['vocab'], tk['index']
PAD, UNK, CLS, SEP, MASK = (index[t] for t in ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'))
words_cache, pieces_cache = {}, {}
word_counts = Counter()


def words(chunk):  # words_of on a text without ASCII spaces; splitting at ' ' first gives the same words
    w = words_cache.get(chunk)
    if w is None:
        w = words_cache[chunk] = tk['words_of'](chunk)
    return w


def ids_of_word(w):
    p = pieces_cache.get(w)
    if p is None:
        p = pieces_cache[w] = [index[x] for x in tk['word_pieces'](w)]
    return p


def tokenize(text, count=False):
    out = []
    for chunk in text.split(' '):
        if not chunk:
            continue
        for w in words(chunk):
            if count:
                word_counts[w] += 1
            out.extend(ids_of_word(w))
    return out


ENDS = {index['.'], index['!'], index['?']}


def sentences_of(ids):
    out, cur = [], []
    for i, t in enumerate(ids):
        cur.append(t)
        if t in ENDS and (i + 1 == len(ids) or ids[i + 1] not in ENDS):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def pack(docs, max_length):  # the library's packTokenized
    cap, out = max_length - 2, []
    for doc in docs:
        cur = []
        for s in doc:
            if not s:
                continue
            if len(cur) + len(s) <= cap:
                cur += s
                continue
            if cur:
                out.append([CLS] + cur + [SEP])
            rest = s
            while len(rest) > cap:
                out.append([CLS] + rest[:cap] + [SEP])
                rest = rest[cap:]
            cur = list(rest)
        if cur:
            out.append([CLS] + cur + [SEP])
    return out


BR = re.compile(r'<br\s*/?>', re.I)
reviews = []
for name in ('unsup', 'train_pos', 'train_neg'):
    with gzip.open('%s/%s.jsonl.gz' % (args.imdb, name), 'rt', encoding='utf-8') as f:
        for n, line in enumerate(f):
            if args.limit and n >= args.limit:
                break
            reviews.append(BR.sub(' ', json.loads(line)['text']))
docs = [sentences_of(tokenize(r, count=True)) for r in reviews]
order = list(range(len(docs)))
random.Random(12345).shuffle(order)
dev_docs = [docs[i] for i in sorted(order[:args.dev_reviews])]
train_docs = [docs[i] for i in sorted(order[args.dev_reviews:])]
n_tokens = sum(len(s) for d in docs for s in d)
print('%d reviews, %d words, %d word pieces (%.2f per word), %d [UNK]' % (
    len(docs), sum(word_counts.values()), n_tokens, n_tokens / sum(word_counts.values()),
    sum(s.count(UNK) for d in docs for s in d)))


def sst2(split):
    rows = [l.rstrip('\n').split('\t') for l in open('data/glue/SST-2/%s.tsv' % split, encoding='utf-8')][1:]
    return [{'ids': [CLS] + tokenize(r[0])[:62] + [SEP], 'y': int(r[1])} for r in rows]


sst_train, sst_dev = sst2('train'), sst2('dev')
lengths = [int(x) for x in args.lengths.split(',')]
dev_sets = {str(L): pack(dev_docs, L) for L in lengths}
for L in lengths:
    train = pack(train_docs, L)
    random.Random(L).shuffle(train)
    path = '%s-%d.json' % (args.out, L)
    with open(path, 'w') as f:
        json.dump({'train': train, 'dev': dev_sets[str(L)], 'devSets': dev_sets, 'special': [PAD, UNK, CLS, SEP, MASK],
                   'maskId': MASK, 'padId': PAD, 'vocabSize': len(vocab), 'sstTrain': sst_train, 'sstDev': sst_dev}, f)
    ntok = sum(len(s) for s in train)
    print('wrote %s: %d train sequences (%d tokens, %.1f per sequence), %d dev sequences (%d tokens)' % (
        path, len(train), ntok, ntok / len(train), len(dev_sets[str(L)]), sum(len(s) for s in dev_sets[str(L)])))
with open(args.out + '-words.json', 'w') as f:
    json.dump(dict(word_counts.most_common()), f)
print('wrote %s-words.json: %d distinct words' % (args.out, len(word_counts)))
