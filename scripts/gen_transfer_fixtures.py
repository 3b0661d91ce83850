#!/usr/bin/env python3
"""Tiny separable task data for the transfer tests (test/fixtures/transfer): sentiment sentences whose class is
told by one word, and sentences with people and places tagged B-PER/I-PER/B-LOC, plus a WordPiece vocab.txt that
covers every word. A model that transfers at all must reach a high dev score on them in a few hundred steps.
  python3 scripts/gen_transfer_fixtures.py
"""
import os, random

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'transfer')
random.seed(7)
pos = ['good', 'great', 'fine', 'lovely', 'superb']
neg = ['bad', 'awful', 'poor', 'dull', 'boring']
fill = ['the', 'film', 'movie', 'was', 'is', 'a', 'very', 'really', 'plot', 'acting', 'and', 'story']


def sentence(label):
    words = random.sample(fill, random.randint(2, 5))
    words.insert(random.randint(0, len(words)), random.choice(pos if label == 'pos' else neg))
    return ' '.join(words)


for name, n in [('sentiment-train.tsv', 96), ('sentiment-dev.tsv', 32)]:
    with open(os.path.join(out, name), 'w') as f:
        f.write('label\tsentence\n')
        for i in range(n):
            label = 'pos' if i % 2 == 0 else 'neg'
            f.write(f'{label}\t{sentence(label)}\n')

people = ['alice', 'bob', 'carol', 'dave']
places = ['paris', 'rome', 'oslo', 'lima']
verbs = ['met', 'saw', 'visited', 'left']


def ner():
    kind = random.random()
    toks = [(random.choice(people), 'B-PER')]
    if random.random() < 0.4:
        toks += [(random.choice(['smith', 'jones']), 'I-PER')]
    toks += [(random.choice(verbs), 'O')]
    if kind < 0.5:
        toks += [('the', 'O'), ('city', 'O'), ('of', 'O')]
    toks += [(random.choice(places), 'B-LOC'), ('.', 'O')]
    return toks


for name, n in [('ner-train.conll', 80), ('ner-dev.conll', 24)]:
    with open(os.path.join(out, name), 'w') as f:
        for _ in range(n):
            for w, t in ner():
                f.write(f'{w} {t}\n')
            f.write('\n')

vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', 'smith', 'jones', 'city', 'of', 'the'] + pos + neg + fill + people + places + verbs
with open(os.path.join(out, 'vocab.txt'), 'w') as f:
    f.write('\n'.join(dict.fromkeys(vocab)) + '\n')
