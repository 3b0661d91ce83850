"""Writes test/fixtures/scalar-mix/scalar-mix.json: ELMo's scalar mix as AllenNLP's ScalarMix computes it, written
here in plain torch from its definition (AllenNLP is not installable here): mix = gamma * sum_k softmax(w)_k * h_k,
with do_layer_norm normalising each h_k by the mean and variance of its unmasked elements, (h - mean) /
sqrt(var + 1e-13) (allennlp.nn.util.tiny_value_of_dtype for float32/float64), padding included in the output.

For three layers [2, 4, 5] and a mask with padding, with and without layer norm: the output, and the gradients of
sum(output * R) (R fixed, random) with respect to w, gamma and every layer. Inputs are float32 values held in float64;
everything is computed in float64.

Usage: /usr/bin/python3 scripts/gen_scalar_mix_fixtures.py   (torch >= 1.13)
"""
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'scalar-mix' / 'scalar-mix.json'


def masked_layer_norm(h, mask):
    m = mask.to(h.dtype)[..., None]
    count = m.sum() * h.shape[-1]
    mean = (h * m).sum() / count
    var = (((h * m) - mean) * m).pow(2).sum() / count
    return (h - mean) / torch.sqrt(var + 1e-13)


def scalar_mix(layers, w, gamma, mask, layer_norm):
    s = torch.softmax(w, dim=0)
    hs = [masked_layer_norm(h, mask) if layer_norm else h for h in layers]
    return gamma * sum(s[k] * hs[k] for k in range(len(hs)))


def f32(t):
    return t.float().double()


def main():
    g = torch.Generator().manual_seed(7)
    shape = (2, 4, 5)
    layers0 = [f32(torch.randn(shape, generator=g) * (k + 1) + k) for k in range(3)]
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    w0 = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    gamma0 = torch.tensor([1.3], dtype=torch.float64)
    r = f32(torch.randn(shape, generator=g))
    cases = []
    for layer_norm in (False, True):
        layers = [h.clone().requires_grad_() for h in layers0]
        w = w0.clone().requires_grad_()
        gamma = gamma0.clone().requires_grad_()
        out = scalar_mix(layers, w, gamma, mask, layer_norm)
        (out * r).sum().backward()
        cases.append({
            'do_layer_norm': layer_norm,
            'output': out.detach().flatten().tolist(),
            'grad_w': w.grad.tolist(), 'grad_gamma': gamma.grad.tolist(),
            'grad_layers': [h.grad.flatten().tolist() for h in layers],
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        'shape': list(shape), 'layers': [h.flatten().tolist() for h in layers0], 'mask': mask.flatten().tolist(),
        'w': w0.tolist(), 'gamma': gamma0.tolist(), 'r': r.flatten().tolist(), 'cases': cases,
    }) + '\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
