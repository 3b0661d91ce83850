#!/usr/bin/env python3
"""Writes test/fixtures/glove/: what the NumPy GloVe (bench/peers/glove_numpy.py) computes on a small corpus, for
test/models/glove-reference.test.ts to hold src/models/word2vec/glove.ts to, without Python.

  cooccur.json  the vocabulary (min-count 3) and the co-occurrence entries (window 5) of
                test/fixtures/text-small/pride-and-prejudice-ch1.txt, sorted by (i, j), as [i, j, x] with x exact;
  adagrad.json  initial parameters (float32 values, glove.c's layout: 2v rows of dim weights then the bias),
                an order of the entries, and after epochs 1 and 2 in that order (the same every epoch, as glove.c)
                the parameters (and after the last, the AdaGrad sums) and costs: for glove.c's bias step (rate 1),
                two epochs; for the paper's (eta) with a gradient clip small enough to act, one.

Before writing, it checks the peer against itself: the vectorised counter against the plain loop (exactly), and
its run-batched epochs against the entry-by-entry loop.
Run: /usr/bin/python3 scripts/gen_glove_fixtures.py
"""
import json, os, sys
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
import glove_numpy as g  # noqa: E402

CORPUS = os.path.join(ROOT, "test", "fixtures", "text-small", "pride-and-prejudice-ch1.txt")
OUT = os.path.join(ROOT, "test", "fixtures", "glove")
MIN_COUNT, WINDOW, DIM = 3, 5, 6
X_MAX, ALPHA, ETA = 10.0, 0.75, 0.05


def f32(a):
    """Values a float32 holds exactly, as float64 (both sides start from the same numbers)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def num(a, digits):
    return [float(f"{z:.{digits}g}") for z in np.asarray(a, dtype=np.float64).ravel()]


def main():
    os.makedirs(OUT, exist_ok=True)
    words, counts = g.build_vocab(g.read_sentences(CORPUS), MIN_COUNT)
    index = {w: k for k, w in enumerate(words)}
    i, j, x = g.cooccurrences(g.read_sentences(CORPUS), index, WINDOW)
    li, lj, lx = g.cooccurrences_loop(g.read_sentences(CORPUS), index, WINDOW)
    assert np.array_equal(i, li) and np.array_equal(j, lj) and np.array_equal(x, lx), "vectorised counts differ from the loop"
    # chunks of 100 words: the sums of chunks add in another grouping, so equal only to rounding
    ci, cj, cx = g.cooccurrences(g.read_sentences(CORPUS), index, WINDOW, chunk_words=100)
    assert np.array_equal(i, ci) and np.array_equal(j, cj) and np.allclose(x, cx, rtol=1e-14, atol=0)
    with open(os.path.join(OUT, "cooccur.json"), "w") as f:
        json.dump({"corpus": "test/fixtures/text-small/pride-and-prejudice-ch1.txt", "min_count": MIN_COUNT, "window": WINDOW,
                   "words": words, "counts": counts,
                   "entries": [[int(a), int(b), float(c)] for a, b, c in zip(i, j, x)]}, f, separators=(",", ":"))
        f.write("\n")

    v = len(words)
    rng = np.random.default_rng(2014)
    order = rng.permutation(len(x))
    w0, _ = g.init_params(v, DIM, rng)
    w0 = f32(w0)
    runs = {}
    for name, bias_eta, clip, n in [("glove.c", False, 100.0, 2), ("bias-eta-clipped", True, 0.01, 1)]:
        w, gsq = w0.copy(), np.ones_like(w0)
        wr, gr = w0.copy(), np.ones_like(w0)
        bounds = g.runs(i, j, order)
        epochs = []
        for epoch in range(n):
            cost = g.train_loop(w, gsq, i, j, x, order, X_MAX, ALPHA, ETA, clip, bias_eta)
            cost_r = g.train_runs(wr, gr, i, j, x, order, bounds, X_MAX, ALPHA, ETA, clip, bias_eta)
            assert abs(cost - cost_r) <= 1e-12 * cost and np.allclose(w, wr, rtol=0, atol=1e-14) and np.allclose(gsq, gr, rtol=0, atol=1e-12)
            epochs.append({"cost": cost, "params": num(w, 8), "gradsq": num(gsq, 8) if epoch == n - 1 else None})
        runs[name] = {"bias_eta": bias_eta, "grad_clip": clip, "epochs": epochs}
        print(f"{name}: costs {[round(e['cost'], 6) for e in epochs]}")
    with open(os.path.join(OUT, "adagrad.json"), "w") as f:
        json.dump({"dim": DIM, "x_max": X_MAX, "alpha": ALPHA, "eta": ETA, "vocab": v, "order": order.tolist(),
                   "init": num(w0, 9), "runs": runs}, f, separators=(",", ":"))
        f.write("\n")
    for name in ("cooccur.json", "adagrad.json"):
        print(f"wrote {os.path.join(OUT, name)}: {os.path.getsize(os.path.join(OUT, name))} bytes")
    print(f"{v} words, {len(x)} entries")


if __name__ == "__main__":
    main()
