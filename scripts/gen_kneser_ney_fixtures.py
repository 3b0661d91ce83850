"""Writes test/fixtures/ngram/kneser-ney.json: NLTK's KneserNeyInterpolated probabilities on a small corpus, the
oracle of src/models/kneser-ney.ts with a fixed discount.

The corpus is read as the toolkit reads it (text/word-lm.ts): one paragraph a sequence, lowercased words of letters
and digits, words seen fewer than twice written <unk>, each paragraph padded with n-1 <s> before and one </s> after,
and every target with its n-1 previous words a window. NLTK is fitted with each window's suffixes of every order
(the n-grams our counts hold), so its counts are ours; it is then asked P(target | context) for every held-out window,
and for every word of the vocabulary after a few contexts (whole distributions). Orders 2, 3 and 4; discounts 0.1
(NLTK's default) and 0.75.

Usage: /usr/bin/python3 scripts/gen_kneser_ney_fixtures.py   (Debian's python3-nltk, 3.8)
"""
import json
import pathlib
import re
from collections import Counter

from nltk.lm import KneserNeyInterpolated, Vocabulary

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'ngram' / 'kneser-ney.json'

TRAIN = """The cat sat on the mat. The dog sat on the log.
The cat saw the dog and the dog saw the cat.

A bank of the river was green; the bank by the road was grey.
She sat by the river bank and saw the boats go by.

He went to the bank to draw money, and the bank gave him money.
The money was in the bank, and the bank was by the road.

The dog ran to the river and the cat ran to the road.
On the mat the cat sat, and on the log the dog sat."""

HELD_OUT = """The dog sat by the bank of the river.

A cat saw money on the road, and the zebra ran."""

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def paragraphs(text):
    return [WORD.findall(p.lower()) for p in text.split('\n\n') if p.strip()]


def windows(paras, vocab, order):
    out = []
    for p in paras:
        ids = ['<s>'] * (order - 1) + [w if w in vocab else '<unk>' for w in p] + ['</s>']
        for t in range(order - 1, len(ids)):
            out.append((tuple(ids[t - order + 1:t]), ids[t]))
    return out


def main():
    train, held = paragraphs(TRAIN), paragraphs(HELD_OUT)
    counts = Counter(w for p in train for w in p)
    vocab = {w for w, c in counts.items() if c >= 2}
    cases = []
    for order in (2, 3, 4):
        train_windows = windows(train, vocab, order)
        grams = [[ctx[len(ctx) - k + 1:] + (w,) if k > 1 else (w,) for k in range(1, order + 1)] for ctx, w in train_windows]
        words = sorted(vocab) + ['<unk>', '<s>', '</s>']
        for discount in (0.1, 0.75):
            lm = KneserNeyInterpolated(order, discount=discount)
            lm.fit(grams, Vocabulary(words, unk_cutoff=1))
            held_windows = windows(held, vocab, order)
            predictable = [w for w in words if w != '<s>']
            contexts = [held_windows[i][0] for i in (0, 3, len(held_windows) - 1)]
            cases.append({
                'order': order, 'discount': discount,
                'held_out': [{'context': list(c), 'word': w, 'p': lm.score(w, list(c))} for c, w in held_windows],
                'distributions': [{'context': list(c), 'p': {w: lm.score(w, list(c)) for w in predictable}} for c in contexts],
            })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({'train': TRAIN, 'held_out': HELD_OUT, 'min_count': 2, 'cases': cases}, indent=1) + '\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
