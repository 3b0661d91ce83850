#!/usr/bin/python3
"""Writes NLTK's corpus BLEU and sentence chrF on fixed inputs, for test/tasks/chrf.test.ts to cross-check
src/tasks/bleu.ts and src/tasks/chrf.ts where the two libraries' settings coincide (sacrebleu is not packaged in
Debian; NLTK is: python3-nltk).

  /usr/bin/python3 scripts/gen_nltk_metric_fixtures.py

rewrites test/fixtures/metrics/nltk-bleu-chrf.json:

  {"nltk": version,
   "bleu": [{"hypotheses": [str], "references": [[str]] (one list of references per hypothesis), "score"}],
   "chrf": [{"hypothesis": str, "reference": str, "score"}]}

Where they coincide:
- BLEU: NLTK's corpus_bleu (uniform weights over 1-4-grams, no smoothing, the closest reference length with the
  shorter on a tie) is sacrebleu's corpus BLEU with tokenize='none' and smooth_method='none' over text already split
  on spaces, for hypotheses of 4 tokens or more; "score" is NLTK's value times 100. A corpus with an order of no
  matches scores 0 in both. (A shorter hypothesis adds 1 to NLTK's count of its missing orders' n-grams, its
  modified_precision's max(1, denominator), so those are left out.)
- chrF: NLTK's sentence_chrf (character 1-6-grams without whitespace, beta 3, the F of each order averaged, 1e-16 for
  an order with no match) is sacrebleu's chrF with beta=3 and eps_smoothing=True on one sentence; "score" is NLTK's
  value times 100. (NLTK's corpus_chrf averages sentences instead of summing their statistics, so it differs.)
Random cases come from numpy's RandomState with a fixed seed, so a rerun writes the same file.
"""
import json
import os

import nltk
import numpy as np
from nltk.translate.bleu_score import corpus_bleu
from nltk.translate.chrf_score import sentence_chrf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "metrics", "nltk-bleu-chrf.json")

SENTENCES = [
    ("Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche .",
     ["Zwei junge , weiße Männer sind im Freien in der Nähe vieler Büsche .", "Zwei Männer stehen draußen bei den Büschen ."]),
    ("Mehrere Männer mit Schutzhelmen bedienen ein Antriebsradsystem .",
     ["Mehrere Männer mit Schutzhelmen bedienen ein Antriebsradsystem ."]),
    ("Ein kleines Mädchen klettert in ein Spielhaus aus Holz .",
     ["Ein kleines Mädchen klettert in ein Spielhaus aus Holz .", "Ein Mädchen klettert in ein Holzhaus ."]),
    ("Ein Mann auf einer Leiter putzt ein Fenster",
     ["Ein Mann in einem blauen Hemd steht auf einer Leiter und putzt ein Fenster ."]),
    ("The dog bit the man .", ["The dog bit the man .", "The dog had bit the man ."]),
    ("It was n't surprising .", ["It was not unexpected .", "No one was surprised ."]),
    ("The man had just bitten him .", ["The man bit him first .", "The man had bitten the dog ."]),
]


def random_cases(rng, n):
    words = "der die das ein eine Mann Frau Hund Ball spielt läuft im Park auf der Straße mit einem roten".split()
    cases = []
    for _ in range(n):
        size = rng.randint(2, 6)
        hyps, refs = [], []
        for _ in range(size):
            ref = [words[i] for i in rng.randint(0, len(words), rng.randint(5, 14))]
            hyp = [w if rng.rand() < 0.7 else words[rng.randint(len(words))] for w in ref[: max(4, len(ref) - rng.randint(0, 4))]]
            hyps.append(" ".join(hyp))
            refs.append([" ".join(ref)] + ([" ".join(words[i] for i in rng.randint(0, len(words), rng.randint(3, 10)))] if rng.rand() < 0.5 else []))
        cases.append((hyps, refs))
    return cases


def bleu_case(hyps, refs):
    score = corpus_bleu([[r.split() for r in rs] for rs in refs], [h.split() for h in hyps])
    return {"hypotheses": hyps, "references": refs, "score": 100 * float(score)}


def main():
    rng = np.random.RandomState(1234)
    bleu = [bleu_case([h for h, _ in SENTENCES], [r for _, r in SENTENCES])]
    bleu += [bleu_case([h], [r]) for h, r in SENTENCES]
    bleu += [bleu_case(h, r) for h, r in random_cases(rng, 12)]
    chrf = []
    for h, refs in SENTENCES:
        chrf.append({"hypothesis": h, "reference": refs[0], "score": 100 * float(sentence_chrf(refs[0], h))})
    for hyps, refs in random_cases(rng, 8):
        chrf.append({"hypothesis": hyps[0], "reference": refs[0][0], "score": 100 * float(sentence_chrf(refs[0][0], hyps[0]))})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"nltk": nltk.__version__, "bleu": bleu, "chrf": chrf}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(bleu)} BLEU and {len(chrf)} chrF cases")


if __name__ == "__main__":
    main()
