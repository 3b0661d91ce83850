#!/usr/bin/python3
"""Writes the scikit-learn / SciPy reference values that test/tasks/metrics.test.ts checks src/tasks/metrics.ts against.

Run with Debian's python3-sklearn and python3-scipy:  /usr/bin/python3 scripts/gen_metric_fixtures.py
It rewrites test/fixtures/metrics/metrics.json:

  {"versions": {"sklearn", "scipy", "numpy"},
   "classification": [{"name", "y_true", "y_pred", "pos_label"?, "labels"?, "zero_division"?,
                       "accuracy", "binary_f1", "macro_f1", "mcc",
                       "per_class": {"labels", "precision", "recall", "f1", "support"}}],
   "correlation": [{"name", "x", "y", "pearson", "spearman"}],
   "glue": {"mrpc": [{"name", "y_true", "y_pred", "acc", "f1", "acc_and_f1"}],
            "stsb": [{"name", "y_true", "y_pred", "pearson", "spearmanr", "corr"}]}}

A value scikit-learn or SciPy refuses to compute is {"error": "ExceptionType: message"}; a NaN is the string "NaN"
(JSON has no NaN). zero_division is 0 (sklearn's default "warn" warns and uses 0, which is what we return, silently)
or 1. The GLUE rows follow Hugging Face transformers' glue_compute_metrics (simple_accuracy, acc_and_f1,
pearson_and_spearman), written out below because transformers is not a Debian package; they call the same
sklearn/scipy functions.

Random cases come from numpy's RandomState with fixed seeds, so a rerun with the same numpy rewrites the same file.
Entity-level (chunk) scores are not here: sklearn has no chunks, and their expected counts are worked out by hand in
the test file.
"""
import json
import math
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_recall_fscore_support

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'metrics', 'metrics.json')


def num(v):
    v = float(v)
    return 'NaN' if math.isnan(v) else v


def attempt(f):
    """f()'s value, or the exception sklearn/scipy raised; their warnings (zero division, constant input) are expected."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            return f()
        except (ValueError, TypeError) as e:
            return {'error': f'{type(e).__name__}: {e}'}


def py(labels):
    return [x.item() if hasattr(x, 'item') else x for x in labels]


def classification(name, y_true, y_pred, pos_label=1, labels=None, zero_division=0):
    y_true, y_pred = py(y_true), py(y_pred)
    case = {'name': name, 'y_true': y_true, 'y_pred': y_pred}
    if pos_label != 1:
        case['pos_label'] = pos_label
    if labels is not None:
        case['labels'] = labels
    if zero_division != 0:
        case['zero_division'] = zero_division
    case['accuracy'] = attempt(lambda: num(accuracy_score(y_true, y_pred)))
    case['binary_f1'] = attempt(lambda: num(f1_score(y_true, y_pred, average='binary', pos_label=pos_label, zero_division=zero_division)))
    case['macro_f1'] = attempt(lambda: num(f1_score(y_true, y_pred, average='macro', labels=labels, zero_division=zero_division)))
    case['mcc'] = attempt(lambda: num(matthews_corrcoef(y_true, y_pred)))

    def per_class():
        ls = labels if labels is not None else py(np.unique(y_true + y_pred)) if y_true + y_pred else []
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, labels=ls, zero_division=zero_division)
        return {'labels': ls, 'precision': [num(v) for v in p], 'recall': [num(v) for v in r], 'f1': [num(v) for v in f], 'support': [int(v) for v in s]}
    if y_true:
        case['per_class'] = attempt(per_class)
    return case


def correlation(name, x, y):
    x, y = [float(v) for v in x], [float(v) for v in y]
    return {'name': name, 'x': x, 'y': y,
            'pearson': attempt(lambda: num(pearsonr(x, y)[0])),
            'spearman': attempt(lambda: num(spearmanr(x, y)[0]))}


def mrpc(name, y_true, y_pred):
    # transformers' acc_and_f1(preds, labels)
    y_true, y_pred = py(y_true), py(y_pred)
    acc = float((np.array(y_pred) == np.array(y_true)).mean())
    f1 = float(f1_score(y_true=y_true, y_pred=y_pred))
    return {'name': name, 'y_true': y_true, 'y_pred': y_pred, 'acc': acc, 'f1': f1, 'acc_and_f1': (acc + f1) / 2}


def stsb(name, y_true, y_pred):
    # transformers' pearson_and_spearman(preds, labels)
    y_true, y_pred = [float(v) for v in y_true], [float(v) for v in y_pred]
    p = float(pearsonr(y_pred, y_true)[0])
    s = float(spearmanr(y_pred, y_true)[0])
    return {'name': name, 'y_true': y_true, 'y_pred': y_pred, 'pearson': p, 'spearmanr': s, 'corr': (p + s) / 2}


def main():
    rng = np.random.RandomState(20240601)
    bt = rng.randint(0, 2, 60)
    bp = np.where(rng.rand(60) < 0.75, bt, 1 - bt)  # a classifier right about 3 times in 4
    mt = rng.randint(0, 3, 120)
    mp = np.where(rng.rand(120) < 0.6, mt, rng.randint(0, 3, 120))
    m5t = rng.randint(0, 5, 200)
    m5p = np.where(rng.rand(200) < 0.5, m5t, rng.randint(0, 5, 200))
    cases = [
        classification('binary, random', bt, bp),
        classification('binary, random, pos_label 0', bt, bp, pos_label=0),
        classification('binary, string labels', ['pos', 'neg', 'pos', 'pos', 'neg', 'neg', 'pos'],
                       ['pos', 'pos', 'neg', 'pos', 'neg', 'neg', 'neg'], pos_label='pos'),
        classification('binary, string labels, default pos_label 1 is not a label', ['pos', 'neg', 'pos'], ['pos', 'pos', 'neg']),
        classification('all one class, the positive one', [1] * 6, [1] * 6),
        classification('all one class, the negative one (F1 0 by zero division)', [0] * 6, [0] * 6),
        classification('all one class, the negative one, zero_division 1', [0] * 6, [0] * 6, zero_division=1),
        classification('no positive predicted', [1, 0, 1, 1, 0, 0, 1], [0] * 7),
        classification('no positive predicted, zero_division 1', [1, 0, 1, 1, 0, 0, 1], [0] * 7, zero_division=1),
        classification('no positive in the gold', [0] * 7, [1, 0, 1, 0, 0, 0, 0]),
        classification('perfect', [0, 1, 1, 0, 1], [0, 1, 1, 0, 1]),
        classification('every prediction wrong (MCC -1)', [0, 1, 1, 0, 1], [1, 0, 0, 1, 0]),
        classification('constant prediction (MCC 0)', [0, 1, 1, 0, 1, 0], [1] * 6),
        classification('two labels, neither is pos_label 1', [0, 2, 2, 0], [0, 2, 0, 0]),
        classification('multiclass, 3 classes, random', mt, mp),
        classification('multiclass, 5 classes, random', m5t, m5p),
        classification('multiclass, a class never predicted', [0, 1, 2, 2, 1, 0, 2, 1], [0, 1, 1, 1, 1, 0, 0, 1]),
        classification('multiclass, a predicted class absent from the gold', [0, 1, 1, 0, 1, 0], [0, 1, 2, 0, 2, 0]),
        classification('macro over given labels, one absent from both', [0, 1, 1, 0, 2], [0, 1, 0, 0, 2], labels=[0, 1, 2, 3]),
        classification('macro over given labels, one absent from both, zero_division 1', [0, 1, 1, 0, 2], [0, 1, 0, 0, 2],
                       labels=[0, 1, 2, 3], zero_division=1),
        classification('macro over a subset of labels', [0, 1, 1, 0, 2, 2], [0, 1, 2, 0, 2, 1], labels=[1, 2]),
        classification('multiclass strings (MNLI-like)', ['entailment', 'neutral', 'contradiction', 'neutral', 'entailment', 'contradiction'],
                       ['entailment', 'contradiction', 'contradiction', 'neutral', 'neutral', 'contradiction']),
        classification('empty', [], []),
    ]

    x = rng.randn(80)
    y = 0.6 * x + 0.8 * rng.randn(80)
    tied_x = rng.randint(0, 6, 50)  # many ties: average ranks matter
    tied_y = tied_x + rng.randint(-2, 3, 50)
    corr = [
        correlation('random, correlated', x, y),
        correlation('random, independent', rng.randn(40), rng.randn(40)),
        correlation('ties in both (average ranks)', tied_x, tied_y),
        correlation('perfectly linear', [1, 2, 3, 4, 5], [3, 5, 7, 9, 11]),
        correlation('perfectly anti-monotone, not linear', [1, 2, 3, 4, 5], [100, 20, 3, 1, 0.5]),
        correlation('two points', [1, 2], [5, 3]),
        correlation('two points, one series constant', [1, 2], [3, 3]),
        correlation('one point', [1], [2]),
        correlation('empty', [], []),
        correlation('constant x', [2, 2, 2, 2], [1, 2, 3, 4]),
        correlation('constant y', [1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5]),
        correlation('large offset', 1e6 + rng.randn(30), 1e6 + rng.randn(30)),
        correlation('all tied but one', [1, 1, 1, 1, 2], [3, 1, 2, 5, 4]),
    ]

    gt = rng.randint(0, 2, 408)  # MRPC's dev set has 408 pairs
    gp = np.where(rng.rand(408) < 0.85, gt, 1 - gt)
    st = np.round(rng.rand(100) * 5 / 0.2) * 0.2  # STS-B gold: 0..5 in steps of 0.2, with ties
    sp = np.clip(st + 0.7 * rng.randn(100), 0, 5)
    glue = {
        'mrpc': [mrpc('random, 408 pairs', gt, gp), mrpc('small', [1, 0, 1, 1, 0], [1, 1, 1, 0, 0])],
        'stsb': [stsb('random, 100 pairs', st, sp), stsb('small with ties', [0, 1.2, 1.2, 3.8, 5], [0.4, 1, 2.2, 3.5, 3.5])],
    }

    fixture = {'versions': {'sklearn': sklearn.__version__, 'scipy': scipy.__version__, 'numpy': np.__version__},
               'classification': cases, 'correlation': corr, 'glue': glue}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fixture, f, indent=1, allow_nan=False)
        f.write('\n')
    print(f'wrote {OUT}: {len(cases)} classification, {len(corr)} correlation, {len(glue["mrpc"]) + len(glue["stsb"])} GLUE cases')


if __name__ == '__main__':
    main()
