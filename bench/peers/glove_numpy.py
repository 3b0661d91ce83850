#!/usr/bin/env python3
"""GloVe in plain NumPy: an independent reference for src/models/word2vec/glove.ts.

Written from the paper (Pennington, Socher & Manning 2014, "GloVe: Global Vectors for Word Representation") and
the documented behaviour of Stanford's glove.c tools (vocab_count, cooccur, shuffle, glove; github.com/stanfordnlp/GloVe),
not from the TypeScript. Slow but obvious:

  vocabulary  words of count >= min_count, most frequent first (ties alphabetical, as vocab_count);
  counting    each line is a sentence; out-of-vocabulary words are dropped first (cooccur skips them without
              advancing its position), then every word w2 and each of the `window` in-vocabulary words w1 before it
              on its line add 1/distance to X[w1, w2] and to X[w2, w1] (symmetric context), in double precision;
  order       the nonzero entries are shuffled once (shuffle), and every epoch visits them in that same order;
  model       J = sum over nonzero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2, f(x) = min(1, (x/x_max)^alpha);
  init        W, W~ and both biases uniform in [-0.5, 0.5] / dim; AdaGrad sums start at 1;
  step        glove.c's glove_thread, per entry: diff, fdiff = f(x) diff; each weight component's gradient
              fdiff * (other vector) clipped to [-grad_clip, grad_clip] and times eta, over sqrt of its AdaGrad sum;
              the biases step fdiff / sqrt(sum) with the sum growing by fdiff^2 (see --bias-eta);
  output      W + W~ (glove -model 2).

Biases: glove.c up to 1.2 multiplied fdiff by eta before every update, biases included (the paper's "initial learning
rate 0.05" for all parameters). Since its 2019 gradient-clipping change (commit 5b4e03c) only the weight components
carry eta, so the biases learn at AdaGrad rate 1. --bias-eta 1 (the default) follows glove.c as it is today;
--bias-eta eta follows glove.c 1.2 and the paper.

Training runs entry by entry (train_loop) or, with the same arithmetic, over runs of consecutive entries that share no
word row and no context row (train_runs): such entries touch disjoint parameters, so doing them at once is exactly
doing them one after the other; the fixtures check the two agree.

Usage:
  /usr/bin/python3 glove_numpy.py CORPUS [--dim 100] [--window 10] [--min-count 5] [--x-max 100] [--alpha 0.75]
        [--eta 0.05] [--epochs 15] [--seed 1] [--grad-clip 100] [--bias-eta 1|eta] [--save-vectors OUT.txt]
CORPUS: text, one sentence per line; tokenised as the project's tokenize (lowercase; words are runs of letters or
digits with inner apostrophes). Prints one JSON object a line: progress lines ("epoch", "loss"), then the summary
("peer": "glove-numpy", vocabulary, entries, seconds of counting and of training).
"""
import argparse, json, re, sys, time
import numpy as np

WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def tokenize(line):
    """Lowercase, then words: runs of letters/digits with inner apostrophes (the project's tokenize)."""
    return WORD.findall(line.lower())


def read_sentences(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = tokenize(line)
            if words:
                yield words


def build_vocab(sentences, min_count):
    """Words with count >= min_count, by descending count, ties alphabetical (vocab_count's order)."""
    counts = {}
    for s in sentences:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    return [w for w, _ in kept], [c for _, c in kept]


def cooccurrences(sentences, index, window, chunk_words=2_000_000):
    """Symmetric co-occurrence sums, weighted 1/distance, within lines. Returns (i, j, x) sorted by (i, j).

    Within a chunk the additions to one entry happen in cooccur's order (target words in corpus order, for each the
    contexts from the nearest to the farthest, X[w1, w2] then X[w2, w1]), as np.bincount adds in array order;
    chunks are summed one after the other.
    """
    v = len(index)
    parts = []

    def flush(ids, line_of):
        ids = np.asarray(ids, dtype=np.int64)
        line_of = np.asarray(line_of, dtype=np.int64)
        t = len(ids)
        # keys[t, d-1, 0] = (w[t-d], w[t]); keys[t, d-1, 1] = (w[t], w[t-d]); valid when both are on one line
        keys = np.full((t, window, 2), -1, dtype=np.int64)
        vals = np.zeros((t, window, 2))
        for d in range(1, window + 1):
            ok = np.zeros(t, dtype=bool)
            ok[d:] = line_of[d:] == line_of[:-d]
            tt = np.nonzero(ok)[0]
            w2, w1 = ids[tt], ids[tt - d]
            keys[tt, d - 1, 0] = w1 * v + w2
            keys[tt, d - 1, 1] = w2 * v + w1
            vals[tt, d - 1, :] = 1.0 / d
        keys, vals = keys.ravel(), vals.ravel()
        keep = keys >= 0
        uniq, inv = np.unique(keys[keep], return_inverse=True)
        parts.append((uniq, np.bincount(inv.ravel(), weights=vals[keep], minlength=len(uniq))))

    ids, line_of, line = [], [], 0
    for s in sentences:
        for w in s:
            i = index.get(w)
            if i is not None:
                ids.append(i)
                line_of.append(line)
        line += 1
        if len(ids) >= chunk_words:
            flush(ids, line_of)
            ids, line_of = [], []
    if ids:
        flush(ids, line_of)
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    if len(parts) == 1:
        keys, x = parts[0]
    else:
        allk = np.concatenate([k for k, _ in parts])
        allx = np.concatenate([x for _, x in parts])
        keys, inv = np.unique(allk, return_inverse=True)
        x = np.bincount(inv.ravel(), weights=allx, minlength=len(keys))
    return keys // v, keys % v, x


def cooccurrences_loop(sentences, index, window):
    """The same counts by the plain loop of cooccur (a dict of sums); for checking the vectorised counter."""
    table = {}
    for s in sentences:
        ids = [index[w] for w in s if w in index]
        for j in range(len(ids)):
            for k in range(j - 1, max(0, j - window) - 1, -1):
                w1, w2, x = ids[k], ids[j], 1.0 / (j - k)
                table[(w1, w2)] = table.get((w1, w2), 0.0) + x
                table[(w2, w1)] = table.get((w2, w1), 0.0) + x
    keys = sorted(table)
    return (np.array([k[0] for k in keys], np.int64), np.array([k[1] for k in keys], np.int64),
            np.array([table[k] for k in keys]))


def init_params(v, dim, rng):
    """W (rows 0..v-1: dim weights then the bias; rows v..2v-1: the context vectors W~ and biases) and AdaGrad sums."""
    w = (rng.random((2 * v, dim + 1)) - 0.5) / dim
    return w, np.ones_like(w)


def train_loop(w, gradsq, i, j, x, order, x_max, alpha, eta, grad_clip=100.0, bias_eta=False):
    """One epoch, entry by entry in `order`, as glove_thread. Updates w and gradsq in place; returns the cost."""
    v = w.shape[0] // 2
    dim = w.shape[1] - 1
    cost = 0.0
    for e in order:
        l1, l2, xe = int(i[e]), v + int(j[e]), float(x[e])
        a, b = w[l1, :dim], w[l2, :dim]
        diff = float(a @ b) + w[l1, dim] + w[l2, dim] - np.log(xe)
        fdiff = diff if xe > x_max else (xe / x_max) ** alpha * diff
        cost += 0.5 * fdiff * diff
        t1 = np.clip(fdiff * b, -grad_clip, grad_clip) * eta
        t2 = np.clip(fdiff * a, -grad_clip, grad_clip) * eta
        u1 = t1 / np.sqrt(gradsq[l1, :dim])
        u2 = t2 / np.sqrt(gradsq[l2, :dim])
        gradsq[l1, :dim] += t1 * t1
        gradsq[l2, :dim] += t2 * t2
        w[l1, :dim] -= u1
        w[l2, :dim] -= u2
        g = fdiff * eta if bias_eta else fdiff
        w[l1, dim] -= g / np.sqrt(gradsq[l1, dim])
        w[l2, dim] -= g / np.sqrt(gradsq[l2, dim])
        gradsq[l1, dim] += g * g
        gradsq[l2, dim] += g * g
    return cost


def runs(i, j, order, max_run=4096):
    """Cuts `order` into runs of consecutive entries with pairwise distinct i and distinct j: the starts, then len."""
    starts = [0]
    seen_i, seen_j = set(), set()
    for t, e in enumerate(order.tolist()):
        a, b = int(i[e]), int(j[e])
        if a in seen_i or b in seen_j or t - starts[-1] >= max_run:
            starts.append(t)
            seen_i, seen_j = set(), set()
        seen_i.add(a)
        seen_j.add(b)
    starts.append(len(order))
    return np.array(starts, dtype=np.int64)


def train_runs(w, gradsq, i, j, x, order, bounds, x_max, alpha, eta, grad_clip=100.0, bias_eta=False):
    """train_loop's epoch, each run of `bounds` (see runs) at once: its entries touch disjoint rows.

    A run's word rows and context rows are gathered into one block P (word rows first), so that each row's partner
    (the vector its gradient multiplies) is P with its halves swapped.
    """
    v = w.shape[0] // 2
    dim = w.shape[1] - 1
    oi, oj, ox = i[order], v + j[order], x[order]
    logx = np.log(ox)
    fx = np.where(ox > x_max, 1.0, (ox / x_max) ** alpha)
    rate = eta if bias_eta else 1.0
    cost = 0.0
    for s, t in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        k = t - s
        rows = np.concatenate((oi[s:t], oj[s:t]))
        p, g = w[rows], gradsq[rows]
        diff = np.einsum("kd,kd->k", p[:k, :dim], p[k:, :dim]) + p[:k, dim] + p[k:, dim] - logx[s:t]
        fdiff = fx[s:t] * diff
        cost += 0.5 * float(fdiff @ diff)
        f2 = np.concatenate((fdiff, fdiff))
        partner = np.concatenate((p[k:, :dim], p[:k, :dim]))
        step = f2[:, None] * partner
        np.minimum(step, grad_clip, out=step)
        np.maximum(step, -grad_clip, out=step)
        step *= eta
        p[:, :dim] -= step / np.sqrt(g[:, :dim])
        g[:, :dim] += step * step
        gb = f2 * rate
        p[:, dim] -= gb / np.sqrt(g[:, dim])
        g[:, dim] += gb * gb
        w[rows], gradsq[rows] = p, g
    return cost


def save_vectors(path, words, w):
    """W + W~ in word2vec text format (a "count dim" header, then one word and its numbers a line)."""
    v = len(words)
    dim = w.shape[1] - 1
    vec = w[:v, :dim] + w[v:, :dim]
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{v} {dim}\n")
        for word, row in zip(words, vec):
            f.write(word + " " + " ".join(f"{z:.6f}" for z in row) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus")
    for name, default, kind in [("dim", 100, int), ("window", 10, int), ("min-count", 5, int), ("x-max", 100.0, float),
                                ("alpha", 0.75, float), ("eta", 0.05, float), ("epochs", 15, int), ("seed", 1, int),
                                ("grad-clip", 100.0, float)]:
        p.add_argument("--" + name, type=kind, default=default)
    p.add_argument("--bias-eta", choices=["1", "eta"], default="1",
                   help="biases' learning rate: 1 (glove.c since 2019, the default) or eta (glove.c 1.2, the paper)")
    p.add_argument("--save-vectors")
    a = p.parse_args()
    t0 = time.perf_counter()
    words, counts = build_vocab(read_sentences(a.corpus), a.min_count)
    if not words:
        sys.exit(f"no word occurs {a.min_count} times or more in {a.corpus}")
    index = {w: k for k, w in enumerate(words)}
    i, j, x = cooccurrences(read_sentences(a.corpus), index, a.window)
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(x))
    bounds = runs(i, j, order)
    t1 = time.perf_counter()
    w, gradsq = init_params(len(words), a.dim, rng)
    for epoch in range(a.epochs):
        cost = train_runs(w, gradsq, i, j, x, order, bounds, a.x_max, a.alpha, a.eta, a.grad_clip, a.bias_eta == "eta")
        print(json.dumps({"epoch": epoch, "loss": cost / len(x)}), flush=True)
    t2 = time.perf_counter()
    if a.save_vectors:
        save_vectors(a.save_vectors, words, w)
    print(json.dumps({"peer": "glove-numpy", "numpy": np.__version__, "config": vars(a), "vocab": len(words),
                      "corpus_words": int(sum(counts)), "entries": int(len(x)), "mean_run": round(len(x) / (len(bounds) - 1), 1),
                      "count_seconds": round(t1 - t0, 3), "train_seconds": round(t2 - t1, 3)}))


if __name__ == "__main__":
    main()
