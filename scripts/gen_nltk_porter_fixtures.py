#!/usr/bin/python3
"""Writes NLTK's Porter stems of fixed words, for test/tasks/rouge.test.ts to check src/tasks/rouge.ts's porterStem
(rouge-score stems with nltk.stem.porter.PorterStemmer() in its default mode, NLTK_EXTENSIONS; rouge-score itself is
not packaged in Debian, NLTK is: python3-nltk).

  /usr/bin/python3 scripts/gen_nltk_porter_fixtures.py

rewrites test/fixtures/metrics/nltk-porter.json:

  {"nltk": version, "mode": "NLTK_EXTENSIONS", "stems": [[word, stem], ...]}

The words: the examples of Porter's 1980 paper for every rule, the words NLTK's extensions are about (its irregular
forms, -ies/-ied of four letters, y after a vowel, -alli, -fulli, -logi), the words of an English passage, every token
of rouge-score's test data in test/fixtures/rouge/ (as its tokenizer would pass them: lowercase, [a-z0-9]+, longer
than 3), words with digits, and made-up stems (letters drawn by numpy's RandomState with a fixed seed, y among them)
ending in each suffix the rules know, alone and stacked. A rerun writes the same file.
"""
import glob
import json
import os
import re

import nltk
import numpy as np
from nltk.stem.porter import PorterStemmer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "test", "fixtures", "metrics", "nltk-porter.json")

PAPER = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping
tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci hesitanci digitizer
conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism decisiveness
hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical
hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant replacement
adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize probate rate
cease controll roll trouble oats trees ivy troubles private oaten orrery tree by toy syzygy generalizations
oscillators""".split()

NLTK_WORDS = """sky skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed
succeed proceeding exceeded succeeds flies dies spied died tied lies cries spies fries ties pies enjoy enjoyment
enjoying spy fly try tried trying happily generically fully hopefully beautifully carefully geology theology
archaeology philology biology logic analogies are eve ice ore use eves ices uses ores agree agreed agreement
bowled rolling controlling controlled really finally generally totally usually musically radically critically
basically ideally""".split()

PASSAGE = """The quick brown fox jumps over the lazy dog while the friends had a meeting about the generalisation of
summarisation systems. Automatic evaluation of summaries measures the overlapping units such as n-grams, word
sequences and word pairs between the computer-generated summary to be evaluated and the ideal summaries created by
humans. Researchers reported that the longest common subsequence correlated surprisingly well with human judgements
of adequacy and fluency, although stemming occasionally conflates unrelated words: university and universe,
organization and organ, policy and police, generous and generate. Translators were translating, relating, relations
and relatively; the conditionally hopeful nationalists nationalized nationalization programmes. Connections,
connected, connecting, connective and connectivity share a stem; so do argue, argued, argues, arguing and argument.
Sensational electricity, multiplicities, pluralities, hesitancies, abilities and capabilities were listed alongside
agreeable, feasibility, responsiveness, helpfulness, carelessness, dimensionality and internationalization.""".lower()

DIGITS = "1990s 2000s 3rds mp3s covid19 abc123ing 100ed 4ever x11ing 9lives a1b2c3s".split()

SUFFIXES = """sses ies ss s eed ed ing at bl iz ational tional enci anci izer bli alli entli eli ousli ization ation ator
alism iveness fulness ousness aliti iviti biliti fulli logi icate ative alize iciti ical ful ness al ance ence er ic
able ible ant ement ment ent sion tion ou ism ate iti ous ive ize e ll y""".split()


def made_up(rng, n):
    letters = list("bcdfghjklmnprstvwxyz") + list("aeiouy") * 2
    words = []
    for _ in range(n):
        stem = "".join(letters[i] for i in rng.randint(0, len(letters), rng.randint(1, 7)))
        suffix = SUFFIXES[rng.randint(len(SUFFIXES))]
        if rng.rand() < 0.4:
            suffix += SUFFIXES[rng.randint(len(SUFFIXES))]
        words.append(stem + suffix)
    return words


def rouge_test_words():
    words = []
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "fixtures", "rouge", "*.txt"))):
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"[^a-z0-9]+", " ", f.read().lower())
        words += [w for w in text.split() if len(w) > 3]
    return words


def main():
    rng = np.random.RandomState(20240611)
    words = PAPER + NLTK_WORDS + re.findall(r"[a-z0-9]+", PASSAGE) + rouge_test_words() + DIGITS + made_up(rng, 1500)
    seen, unique = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            unique.append(w)
    stemmer = PorterStemmer()
    assert stemmer.mode == PorterStemmer.NLTK_EXTENSIONS
    stems = [[w, stemmer.stem(w)] for w in unique]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"nltk": nltk.__version__, "mode": stemmer.mode, "stems": stems}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(stems)} words, {sum(w != s for w, s in stems)} changed by stemming")


if __name__ == "__main__":
    main()
