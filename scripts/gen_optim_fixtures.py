#!/usr/bin/python3
"""Writes the PyTorch reference trajectories that test/optim/torch-parity.test.ts checks our optimizers against.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_optim_fixtures.py
It rewrites test/fixtures/optim/optim.json:

  {"torch": version,
   "problem": {"x", "y", "params": {"weight", "bias"}},   # fixed tensors, loss = scale * mean((tanh(x @ W + b) - y)^2)
   "cases": [{"name", "dtype", "optimizer", "options", "groups", "clip", "schedule", "scale",
              "steps": [{"grads": {name: flat}, "norm"?, "lr": [per group], "params": {name: flat}}]}],
   "clip": [{"dtype", "normType", "maxNorm", "grads": [tensor], "norm", "clipped": [tensor]}],
   "schedules": [{"name", "args", "lrs": [lr after 0, 1, ... scheduler steps]}]}
  tensor = {"shape": [...], "data": [flat, row-major]}

Each case runs torch.optim.{SGD, Adam, AdamW} for a few steps in float32 and in float64. Every step records the
gradient the optimizer was given (before clipping), the learning rate of every group, and the parameters after the
step, so a test can feed our optimizer exactly PyTorch's gradients and compare the parameters step by step.
The Hugging Face schedule functions are transcribed below (transformers is not a Debian package); LambdaLR is
PyTorch's own, so its step-0 convention is the real one.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optim', 'optim.json')
STEPS = 6


def wave(shape, a, b):
    """Deterministic values in [-1, 1] (no RNG, so the fixture is reproducible anywhere)."""
    n = math.prod(shape)
    return torch.tensor([math.sin(a * i + b) for i in range(n)], dtype=torch.float64).reshape(shape).float()


X, Y = wave((5, 4), 1.3, 0.2), wave((5, 3), 0.7, 1.1) * 0.8
W0, B0 = wave((4, 3), 2.1, 0.5) * 0.9, wave((3,), 1.7, 0.3) * 0.5


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {'shape': list(t.shape), 'data': flat(t)}


# Hugging Face transformers' optimization.py schedule lambdas.
def linear_with_warmup(warmup, total):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def cosine_with_warmup(warmup, total, num_cycles=0.5, min_lr_rate=0.0):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        factor = factor * (1 - min_lr_rate) + min_lr_rate
        return max(0, factor)
    return f


def constant_with_warmup(warmup):
    return lambda step: float(step) / float(max(1.0, warmup)) if step < warmup else 1.0


SCHEDULES = {
    'linear': linear_with_warmup,
    'cosine': cosine_with_warmup,
    'constant_warmup': constant_with_warmup,
}

# name, optimizer, constructor options (our camelCase names), groups (None: one group), clip, schedule, loss scale
CASES = [
    ('sgd_nesterov_decay', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 0.01}, None, None, None, 1.0),
    ('sgd_momentum_dampening', 'SGD', {'lr': 0.05, 'momentum': 0.8, 'dampening': 0.3}, None, None, None, 1.0),
    ('sgd_plain', 'SGD', {'lr': 0.2}, None, None, None, 1.0),
    ('adam_l2_decay', 'Adam', {'lr': 0.01, 'betas': [0.9, 0.99], 'eps': 1e-8, 'weightDecay': 0.05}, None, None, None, 1.0),
    ('adam_amsgrad', 'Adam', {'lr': 0.02, 'amsgrad': True}, None, None, None, 1.0),
    ('adamw_defaults', 'AdamW', {'lr': 0.01}, None, None, None, 1.0),
    # Decay on the weight only, clipping that bites (scale 20), and linear warmup then decay.
    ('adamw_groups_clip_linear', 'AdamW', {'lr': 0.01, 'betas': [0.9, 0.95], 'eps': 1e-6},
     [{'params': ['weight'], 'weightDecay': 0.1}, {'params': ['bias'], 'weightDecay': 0.0}],
     {'maxNorm': 0.5, 'normType': 2}, ('linear', [2, STEPS]), 20.0),
    ('adamw_cosine_min_lr_clip_inf', 'AdamW', {'lr': 0.02, 'weightDecay': 0.01}, None,
     {'maxNorm': 0.05, 'normType': math.inf}, ('cosine', [1, STEPS, 0.5, 0.1]), 1.0),
]

TORCH_NAMES = {'weightDecay': 'weight_decay'}


def run_case(name, opt_name, options, groups, clip, schedule, scale, dtype):
    params = {'weight': W0.to(dtype).clone().requires_grad_(), 'bias': B0.to(dtype).clone().requires_grad_()}
    x, y = X.to(dtype), Y.to(dtype)
    kwargs = {TORCH_NAMES.get(k, k): (tuple(v) if k == 'betas' else v) for k, v in options.items()}
    if groups is None:
        torch_groups = [{'params': list(params.values())}]
    else:
        torch_groups = [{'params': [params[p] for p in g['params']],
                         **{TORCH_NAMES.get(k, k): v for k, v in g.items() if k != 'params'}} for g in groups]
    opt = getattr(torch.optim, opt_name)(torch_groups, **kwargs)
    sched = None
    if schedule:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, SCHEDULES[schedule[0]](*schedule[1]))
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = scale * ((torch.tanh(x @ params['weight'] + params['bias']) - y) ** 2).mean()
        loss.backward()
        record = {'grads': {k: flat(p.grad) for k, p in params.items()}}
        if clip:
            norm = torch.nn.utils.clip_grad_norm_(list(params.values()), clip['maxNorm'], clip['normType'])
            record['norm'] = float(norm)
        record['lr'] = [g['lr'] for g in opt.param_groups]
        opt.step()
        if sched:
            sched.step()
        record['params'] = {k: flat(p) for k, p in params.items()}
        steps.append(record)
    if clip:
        clip = {**clip, 'normType': 'inf' if clip['normType'] == math.inf else clip['normType']}  # JSON has no Infinity
    return {'name': name, 'dtype': 'float32' if dtype == torch.float32 else 'float64', 'optimizer': opt_name,
            'options': options, 'groups': groups, 'clip': clip, 'scale': scale,
            'schedule': {'name': schedule[0], 'args': schedule[1]} if schedule else None, 'steps': steps}


def clip_cases(dtype):
    out = []
    for norm_type, max_norm in [(2, 1.0), (2, 100.0), (1, 0.7), (3, 0.5), (math.inf, 0.3)]:
        grads = [(wave((3, 4), 0.9, 0.1) * 2).to(dtype), wave((4,), 1.9, 0.4).to(dtype), (wave((2, 2, 2), 0.4, 2.0) * 0.5).to(dtype)]
        params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        out.append({'dtype': str(dtype).removeprefix('torch.'), 'normType': 'inf' if norm_type == math.inf else norm_type, 'maxNorm': max_norm,
                    'grads': [tensor_json(g) for g in grads], 'norm': float(norm),
                    'clipped': [tensor_json(p.grad) for p in params]})
    return out


def schedule_cases():
    out = []
    for name, args in [('linear', [3, 10]), ('cosine', [2, 10]), ('cosine', [2, 10, 0.5, 0.1]), ('cosine', [0, 8, 1.0]),
                       ('constant_warmup', [4])]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, SCHEDULES[name](*args))
        lrs = [opt.param_groups[0]['lr']]
        for _ in range(12):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]['lr'])
        out.append({'name': name, 'args': args, 'baseLr': 0.5, 'lrs': lrs})
    return out


def main():
    cases = [run_case(*c, dtype) for c in CASES for dtype in (torch.float32, torch.float64)]
    fixture = {
        'torch': torch.__version__,
        'problem': {'x': tensor_json(X), 'y': tensor_json(Y), 'params': {'weight': tensor_json(W0), 'bias': tensor_json(B0)}},
        'cases': cases, 'clip': clip_cases(torch.float32) + clip_cases(torch.float64), 'schedules': schedule_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
    print(f'wrote {OUT}: {len(cases)} optimizer cases, {os.path.getsize(OUT)} bytes')


if __name__ == '__main__':
    main()
