"""Writes test/fixtures/crf/crf.json: a linear-chain CRF's log-likelihood (every pytorch-crf reduction), the autograd
gradient of its mean negative log-likelihood and its Viterbi paths, from a reference written here in plain torch.

The reference follows the definitions (Lafferty et al. 2001; the score and masking conventions of pytorch-crf's
torchcrf.CRF with batch_first=True), one sequence at a time over its own length, so it shares no structure with the
batched implementation in src/nn/crf.ts. Inputs are float32 values held in float64, so that both of the test's dtypes
see exactly these inputs; everything is computed in float64.

Usage: /usr/bin/python3 scripts/gen_crf_fixtures.py   (torch >= 1.13)
"""
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'crf' / 'crf.json'


def sequence_score(x, y, start, end, trans):
    """score(y) = start[y0] + sum_t x[t, y_t] + sum_{t>=1} trans[y_{t-1}, y_t] + end[y_last]; x [n, K], y [n]."""
    s = start[y[0]] + end[y[-1]] + x[torch.arange(len(y)), y].sum()
    if len(y) > 1:
        s = s + trans[y[:-1], y[1:]].sum()
    return s


def log_partition(x, start, end, trans):
    """log sum_y exp(score(y)) by the forward recursion alpha_t(j) = logsumexp_i(alpha_{t-1}(i) + trans[i, j]) + x[t, j]."""
    alpha = start + x[0]
    for t in range(1, x.shape[0]):
        alpha = torch.logsumexp(alpha[:, None] + trans, dim=0) + x[t]
    return torch.logsumexp(alpha + end, dim=0)


def viterbi(x, start, end, trans):
    """The best path by max-product recursion and back-pointers."""
    delta = start + x[0]
    back = []
    for t in range(1, x.shape[0]):
        scores = delta[:, None] + trans
        delta, arg = scores.max(dim=0)
        delta = delta + x[t]
        back.append(arg)
    tag = int(torch.argmax(delta + end))
    path = [tag]
    for arg in reversed(back):
        tag = int(arg[tag])
        path.append(tag)
    return path[::-1]


def main():
    g = torch.Generator().manual_seed(1234)
    B, T, K = 3, 6, 5
    lengths = [6, 4, 1]
    f32 = lambda *shape: (torch.rand(*shape, generator=g) * 4 - 2).to(torch.float32).to(torch.float64)
    emissions = f32(B, T, K).requires_grad_()
    start, end, trans = f32(K).requires_grad_(), f32(K).requires_grad_(), f32(K, K).requires_grad_()
    tags = torch.randint(0, K, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        tags[b, n:] = -100  # never read: padding's tags do not matter
    llh = torch.stack([
        sequence_score(emissions[b, :n], tags[b, :n], start, end, trans) - log_partition(emissions[b, :n], start, end, trans)
        for b, n in enumerate(lengths)
    ])
    reductions = {'none': llh, 'sum': llh.sum(), 'mean': llh.mean(), 'token_mean': llh.sum() / mask.sum()}
    (-llh.mean()).backward()
    with torch.no_grad():
        decode = [viterbi(emissions[b, :n], start, end, trans) for b, n in enumerate(lengths)]
    flat = lambda t: t.detach().reshape(-1).tolist()
    fixture = {
        'K': K, 'B': B, 'T': T,
        'emissions': flat(emissions), 'tags': flat(tags), 'mask': flat(mask),
        'start_transitions': flat(start), 'end_transitions': flat(end), 'transitions': flat(trans),
        'llh': {k: flat(v) for k, v in reductions.items()},
        'grad': {'emissions': flat(emissions.grad), 'start_transitions': flat(start.grad),
                 'end_transitions': flat(end.grad), 'transitions': flat(trans.grad)},
        'decode': decode,
        'torch': torch.__version__,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + '\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
