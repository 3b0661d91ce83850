#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that test/nn/torch-parity.test.ts checks our layers against.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_torch_fixtures.py
It rewrites test/fixtures/torch-train/char_lstm_adamw.json (ten AdamW steps of a tiny character LSTM LM, checked by
test/e2e/torch-training.test.ts) and test/fixtures/torch/<case>.json, one file per case:

  {"case", "torch", "config": {...},
   "inputs":   {name: tensor},   # float inputs are float32 values; int inputs are indices, lengths or masks
   "params":   {name: tensor},   # names are PyTorch state_dict keys, which our modules share
   "upstream": {name: tensor},   # a fixed random gradient for each output
   "outputs":  {name: tensor},
   "grads":    {name: tensor}}   # d(sum_k <outputs[k], upstream[k]>) / d(input or param), for every float one
  tensor = {"shape": [...], "dtype": "float32" | "int32" | "float64", "data": [flat, row-major]}

Every input, parameter and upstream gradient is a float32 value, so the test feeds the engine exactly what PyTorch
saw, in float32 and in float64. Outputs and gradients are computed in float64 and written with 12 significant digits,
so the float64 run can be held to a much tighter tolerance than the float32 one.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'torch')
TRAIN_DIR = os.path.join(ROOT, 'test', 'fixtures', 'torch-train')


def f32(t):
    """Rounds to float32 values and returns them as float64, so the reference math runs in float64."""
    return t.float().double()


def randn(*shape, scale=1.0, shift=0.0):
    return f32(torch.randn(shape, dtype=torch.float64) * scale + shift)


def uniform(*shape, bound=1.0):
    return f32((torch.rand(shape, dtype=torch.float64) * 2 - 1) * bound)


def enc(t, dtype=None):
    """A tensor as {"shape", "dtype", "data"}: float32 values with 9 significant digits (exact), float64 with 12."""
    t = t.detach()
    if dtype is None:
        dtype = 'int32' if not t.is_floating_point() else 'float32'
    flat = t.reshape(-1).tolist()
    if dtype == 'int32':
        data = [int(v) for v in flat]
    else:
        digits = 9 if dtype == 'float32' else 12
        data = [float('%.*g' % (digits, v)) for v in flat]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


def run_case(name, config, inputs, params, forward, int_inputs=(), param_owner=None):
    """Runs `forward(inputs, params)` -> {output name: tensor}, backpropagates a fixed random upstream gradient
    from every output, and writes the fixture. `params` maps state_dict keys to leaf tensors (or, with
    `param_owner`, the module's own parameters are used and recorded)."""
    leaves = {}
    for k, v in inputs.items():
        if k not in int_inputs:
            v.requires_grad_(True)
            leaves[k] = v
    if param_owner is not None:
        params = dict(param_owner.named_parameters())
    for k, v in params.items():
        v.requires_grad_(True)
        leaves[k] = v
    assert not (set(inputs) & set(params)), 'input and parameter names must not collide'
    outputs = forward(inputs, params)
    upstream = {k: randn(*o.shape) for k, o in outputs.items()}
    total = sum((o * upstream[k]).sum() for k, o in outputs.items())
    grads = torch.autograd.grad(total, list(leaves.values()), allow_unused=True)
    fixture = {
        'case': name,
        'torch': torch.__version__,
        'config': config,
        'inputs': {k: enc(v, 'int32' if k in int_inputs else 'float32') for k, v in inputs.items()},
        'params': {k: enc(v, 'float32') for k, v in params.items()},
        'upstream': {k: enc(v, 'float32') for k, v in upstream.items()},
        'outputs': {k: enc(v, 'float64') for k, v in outputs.items()},
        'grads': {k: enc(g if g is not None else torch.zeros_like(v), 'float64') for (k, v), g in zip(leaves.items(), grads)},
    }
    path = os.path.join(OUT_DIR, name + '.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print('%-28s %7d bytes' % (name, os.path.getsize(path)))


def load_random(module, init):
    """Overwrites every parameter with float32-valued random draws (init(name, shape)), in float64 storage."""
    module.double()
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(init(name, tuple(p.shape)))
    return module


def lengths_mask(lengths, T):
    """int [B, T]: 1 at real positions, 0 at padding (padding at the end of each sequence)."""
    return (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).to(torch.int64)


def layer_norm():
    x = randn(2, 3, 8, scale=2.0, shift=0.5)
    params = {'weight': randn(8, scale=0.2, shift=1.0), 'bias': randn(8, scale=0.2)}
    run_case('layer_norm', {'normalized_shape': [8], 'eps': 1e-5}, {'x': x}, params,
             lambda i, p: {'y': F.layer_norm(i['x'], (8,), p['weight'], p['bias'], 1e-5)})


def layer_norm_2d():
    # Normalising over the last two dims, as nn.LayerNorm([3, 8]) does.
    x = randn(2, 3, 8, scale=1.5, shift=-0.3)
    params = {'weight': randn(3, 8, scale=0.2, shift=1.0), 'bias': randn(3, 8, scale=0.2)}
    run_case('layer_norm_2d', {'normalized_shape': [3, 8], 'eps': 1e-5}, {'x': x}, params,
             lambda i, p: {'y': F.layer_norm(i['x'], (3, 8), p['weight'], p['bias'], 1e-5)})


def softmax_middle_axis():
    x = randn(2, 5, 3, scale=3.0)
    run_case('softmax_axis1', {'dim': 1}, {'x': x}, {},
             lambda i, p: {'softmax': torch.softmax(i['x'], 1), 'log_softmax': torch.log_softmax(i['x'], 1)})


def gelu():
    x = f32(torch.cat([torch.linspace(-6, 6, 25, dtype=torch.float64), torch.randn(23, dtype=torch.float64) * 2]))
    run_case('gelu', {}, {'x': x}, {},
             lambda i, p: {'erf': F.gelu(i['x']), 'tanh': F.gelu(i['x'], approximate='tanh')})


def attention_math(q, k, v, allowed):
    """softmax(q kᵀ / sqrt(d), masked) v, the plain formula."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float('-inf'))
    return torch.softmax(scores, -1) @ v


def attention():
    B, H, Tq, Tk, D, Dv = 2, 2, 5, 6, 4, 3
    lengths = [6, 3]
    mask = lengths_mask(lengths, Tk)
    inputs = {'q': randn(B, H, Tq, D), 'k': randn(B, H, Tk, D), 'v': randn(B, H, Tk, Dv), 'mask': mask}
    run_case('attention_padding', {'lengths': lengths, 'note': 'mask is [B, Tk], 1 = real key'}, inputs, {},
             lambda i, p: {'y': attention_math(i['q'], i['k'], i['v'], i['mask'].bool()[:, None, None, :])},
             int_inputs=('mask',))
    T = 5
    causal = torch.ones(T, T).tril().bool()
    inputs = {'q': randn(B, H, T, D), 'k': randn(B, H, T, D), 'v': randn(B, H, T, Dv)}
    run_case('attention_causal', {}, inputs, {}, lambda i, p: {'y': attention_math(i['q'], i['k'], i['v'], causal)})


def multihead_attention():
    B, T, E, heads = 2, 5, 8, 2
    lengths = [5, 3]
    mha = load_random(nn.MultiheadAttention(E, heads, batch_first=True), lambda n, s: randn(*s, scale=0.4))
    inputs = {'x': randn(B, T, E), 'attention_mask': lengths_mask(lengths, T)}
    causal = torch.ones(T, T).tril().bool()

    def forward(i, p):
        x = i['x']
        y, _ = mha(x, x, x, key_padding_mask=i['attention_mask'] == 0, attn_mask=~causal, need_weights=False)
        return {'y': y}

    run_case('multihead_attention', {'embed_dim': E, 'num_heads': heads, 'causal': True, 'lengths': lengths},
             inputs, None, forward, int_inputs=('attention_mask',), param_owner=mha)


def lstm():
    B, T, I, Hd = 3, 6, 4, 5
    lengths = [4, 6, 2]  # unsorted on purpose: enforce_sorted=False
    net = load_random(nn.LSTM(I, Hd, num_layers=2, bidirectional=True, batch_first=True),
                      lambda n, s: uniform(*s, bound=0.6))
    inputs = {'x': randn(B, T, I), 'lengths': torch.tensor(lengths)}

    def forward(i, p):
        packed = nn.utils.rnn.pack_padded_sequence(i['x'], i['lengths'], batch_first=True, enforce_sorted=False)
        out, (h, c) = net(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        return {'output': out, 'h_n': h, 'c_n': c}

    run_case('lstm', {'input_size': I, 'hidden_size': Hd, 'num_layers': 2, 'bidirectional': True, 'batch_first': True,
                      'note': 'output is zero at padded positions, as pad_packed_sequence gives'},
             inputs, None, forward, int_inputs=('lengths',), param_owner=net)


def lstm_proj():
    """An LSTMP (proj_size): ELMo's recurrent layer without bilm-tf's clipping, which PyTorch does not have."""
    B, T, I, Hd, P = 3, 6, 4, 5, 3
    lengths = [4, 6, 2]
    net = load_random(nn.LSTM(I, Hd, num_layers=2, bidirectional=True, batch_first=True, proj_size=P),
                      lambda n, s: uniform(*s, bound=0.6))
    inputs = {'x': randn(B, T, I), 'lengths': torch.tensor(lengths)}

    def forward(i, p):
        packed = nn.utils.rnn.pack_padded_sequence(i['x'], i['lengths'], batch_first=True, enforce_sorted=False)
        out, (h, c) = net(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        return {'output': out, 'h_n': h, 'c_n': c}

    run_case('lstm_proj', {'input_size': I, 'hidden_size': Hd, 'proj_size': P, 'num_layers': 2, 'bidirectional': True,
                           'batch_first': True}, inputs, None, forward, int_inputs=('lengths',), param_owner=net)


def lstm_initial_state():
    B, T, I, Hd = 2, 5, 3, 4
    net = load_random(nn.LSTM(I, Hd, batch_first=True), lambda n, s: uniform(*s, bound=0.6))
    inputs = {'x': randn(B, T, I), 'h0': randn(1, B, Hd, scale=0.5), 'c0': randn(1, B, Hd, scale=0.5)}

    def forward(i, p):
        out, (h, c) = net(i['x'], (i['h0'], i['c0']))
        return {'output': out, 'h_n': h, 'c_n': c}

    run_case('lstm_initial_state', {'input_size': I, 'hidden_size': Hd, 'num_layers': 1, 'bidirectional': False,
                                    'batch_first': True}, inputs, None, forward, param_owner=net)


def highway():
    # ELMo's character encoder (AllenNLP's Highway): per layer, [h, t] = W x + b, g = sigmoid(t),
    # x = g * x + (1 - g) * relu(h). PyTorch has no such module, so the layers are plain Linear(dim, 2 dim).
    dim, n = 6, 2
    layers = load_random(nn.ModuleList([nn.Linear(dim, 2 * dim) for _ in range(n)]), lambda n_, s: randn(*s, scale=0.4))

    def forward(i, p):
        x = i['x']
        for layer in layers:
            h, t = layer(x).chunk(2, dim=-1)
            g = torch.sigmoid(t)
            x = g * x + (1 - g) * torch.relu(h)
        return {'y': x}

    params = {'layers.' + k: v for k, v in layers.named_parameters()}
    run_case('highway', {'dim': dim, 'num_layers': n}, {'x': randn(3, 4, dim)}, params, forward)


def transformer(name, norm_first, causal, activation):
    B, T, E, heads, ffn = 2, 6, 16, 4, 32
    lengths = [6, 4]
    # GPT-2's tanh-approximated GELU has no name in nn.TransformerEncoderLayer; it takes a callable.
    act = (lambda x: F.gelu(x, approximate='tanh')) if activation == 'gelu_tanh' else activation
    layer = nn.TransformerEncoderLayer(E, heads, ffn, dropout=0.0, activation=act, batch_first=True,
                                       norm_first=norm_first)
    load_random(layer, lambda n, s: randn(*s, scale=0.1, shift=1.0) if n.startswith('norm') and n.endswith('weight')
                else randn(*s, scale=0.3))
    layer.eval()
    inputs = {'x': randn(B, T, E), 'attention_mask': lengths_mask(lengths, T)}
    src_mask = ~torch.ones(T, T).tril().bool() if causal else None

    def forward(i, p):
        return {'y': layer(i['x'], src_mask=src_mask, src_key_padding_mask=i['attention_mask'] == 0)}

    run_case(name, {'dim': E, 'heads': heads, 'ffn_dim': ffn, 'activation': activation, 'norm_first': norm_first,
                    'causal': causal, 'lengths': lengths, 'layer_norm_eps': 1e-5},
             inputs, None, forward, int_inputs=('attention_mask',), param_owner=layer)


def cross_entropy():
    N, C = 10, 7
    logits = randn(N, C, scale=2.0)
    targets = torch.randint(0, C, (N,))
    targets[[2, 7]] = -100
    cases = [
        ('cross_entropy_mean', dict(ignore_index=-100, label_smoothing=0.0, reduction='mean'), targets),
        ('cross_entropy_mean_smoothed', dict(ignore_index=-100, label_smoothing=0.1, reduction='mean'), targets),
        ('cross_entropy_sum_smoothed', dict(ignore_index=3, label_smoothing=0.2, reduction='sum'),
         torch.where(targets < 0, torch.tensor(3), targets)),
        ('cross_entropy_none', dict(ignore_index=-100, label_smoothing=0.15, reduction='none'), targets),
    ]
    for name, opts, t in cases:
        run_case(name, opts, {'logits': logits.clone(), 'target': t}, {},
                 lambda i, p, opts=opts: {'loss': F.cross_entropy(i['logits'], i['target'], **opts)},
                 int_inputs=('target',))
    # [B, C, T] logits against [B, T] targets, as a sequence model's loss is often written.
    logits3 = randn(2, 5, 4, scale=2.0)
    t3 = torch.randint(0, 5, (2, 4))
    t3[1, 3] = -100
    opts = dict(ignore_index=-100, label_smoothing=0.1, reduction='mean')
    run_case('cross_entropy_3d', opts, {'logits': logits3, 'target': t3}, {},
             lambda i, p: {'loss': F.cross_entropy(i['logits'], i['target'], **opts)}, int_inputs=('target',))


def conv2d_pool():
    conv = load_random(nn.Conv2d(3, 4, 3, padding=1), lambda n, s: randn(*s, scale=0.3))
    inputs = {'x': randn(2, 3, 8, 8)}
    run_case('conv2d_maxpool', {'in_channels': 3, 'out_channels': 4, 'kernel_size': 3, 'padding': 1, 'pool': 2},
             inputs, None, lambda i, p: {'y': F.max_pool2d(conv(i['x']), 2)}, param_owner=conv)
    conv = load_random(nn.Conv2d(3, 4, (3, 2), stride=2, padding=(1, 0)), lambda n, s: randn(*s, scale=0.3))
    inputs = {'x': randn(2, 3, 9, 8)}

    def forward(i, p):
        y = conv(i['x'])
        return {'conv': y, 'max': F.max_pool2d(y, 3, 2, 1), 'avg': F.avg_pool2d(y, 3, 2, 1)}

    run_case('conv2d_strided_pools', {'in_channels': 3, 'out_channels': 4, 'kernel_size': [3, 2], 'stride': 2,
                                      'padding': [1, 0], 'pool_kernel': 3, 'pool_stride': 2, 'pool_padding': 1},
             inputs, None, forward, param_owner=conv)


def conv1d_max_over_time():
    conv = load_random(nn.Conv1d(5, 6, 3, padding=1), lambda n, s: randn(*s, scale=0.3))
    inputs = {'x': randn(2, 5, 10)}
    run_case('conv1d_max_over_time', {'in_channels': 5, 'out_channels': 6, 'kernel_size': 3, 'padding': 1},
             inputs, None, lambda i, p: {'y': conv(i['x']).max(dim=-1).values}, param_owner=conv)


def embedding():
    emb = load_random(nn.Embedding(7, 4), lambda n, s: randn(*s))
    ids = torch.tensor([[1, 3, 3, 0, 6], [3, 5, 1, 1, 3]])  # repeats: the gradient must add, not overwrite
    run_case('embedding', {'num_embeddings': 7, 'embedding_dim': 4}, {'ids': ids}, None,
             lambda i, p: {'y': emb(i['ids'])}, int_inputs=('ids',), param_owner=emb)


class CharLM(nn.Module):
    """Embedding -> 2-layer LSTM -> Linear, the shape of test/e2e's character LM."""

    def __init__(self, V, E, H):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, num_layers=2, batch_first=True)
        self.head = nn.Linear(H, V)

    def forward(self, ids):
        return self.head(self.lstm(self.embed(ids))[0])


def train_char_lstm():
    """Ten AdamW steps (weight decay, global-norm clipping) of a tiny character LSTM LM from fixed weights on fixed
    batches: the loss before each step, the gradient norm before clipping, and every parameter after the last step."""
    V, E, H, B, T, steps = 11, 8, 12, 4, 7, 10
    lr, betas, eps, weight_decay, max_norm = 0.01, (0.9, 0.999), 1e-8, 0.01, 0.25  # clips about half the steps
    model = load_random(CharLM(V, E, H), lambda n, s: randn(*s) if n.startswith('embed') else uniform(*s, bound=0.4))
    initial = {k: v.detach().clone() for k, v in model.named_parameters()}
    batches = torch.randint(0, V, (steps, B, T + 1))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    losses, norms = [], []
    for ids in batches:
        opt.zero_grad()
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm).item())
        opt.step()
        losses.append(loss.item())
    fixture = {
        'case': 'train_char_lstm',
        'torch': torch.__version__,
        'config': {'vocab': V, 'embed_dim': E, 'hidden': H, 'num_layers': 2, 'lr': lr, 'betas': list(betas), 'eps': eps,
                   'weight_decay': weight_decay, 'max_norm': max_norm},
        'batches': enc(batches),
        'params': {k: enc(v, 'float32') for k, v in initial.items()},
        'losses': [float('%.12g' % v) for v in losses],
        'grad_norms': [float('%.12g' % v) for v in norms],
        'final': {k: enc(v, 'float64') for k, v in model.named_parameters()},
    }
    os.makedirs(TRAIN_DIR, exist_ok=True)
    path = os.path.join(TRAIN_DIR, 'char_lstm_adamw.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print('%-28s %7d bytes' % ('train_char_lstm', os.path.getsize(path)))


def conv2d_dilated_groups():
    conv = load_random(nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(2, 1), dilation=(2, 1), groups=2), lambda n, s: randn(*s, scale=0.3))
    run_case('conv2d_dilated_groups', {'in_channels': 4, 'out_channels': 6, 'kernel_size': 3, 'stride': [2, 1], 'padding': [2, 1],
                                       'dilation': [2, 1], 'groups': 2},
             {'x': randn(2, 4, 9, 7)}, None, lambda i, p: {'y': conv(i['x'])}, param_owner=conv)
    conv = load_random(nn.Conv2d(3, 6, 3, padding=1, groups=3, bias=False), lambda n, s: randn(*s, scale=0.3))
    run_case('conv2d_depthwise', {'in_channels': 3, 'out_channels': 6, 'kernel_size': 3, 'padding': 1, 'groups': 3, 'bias': False},
             {'x': randn(2, 3, 6, 5)}, None, lambda i, p: {'y': conv(i['x'])}, param_owner=conv)
    conv = load_random(nn.Conv1d(4, 4, 3, padding=2, dilation=2, groups=2), lambda n, s: randn(*s, scale=0.3))
    run_case('conv1d_dilated_groups', {'in_channels': 4, 'out_channels': 4, 'kernel_size': 3, 'padding': 2, 'dilation': 2, 'groups': 2},
             {'x': randn(2, 4, 8)}, None, lambda i, p: {'y': conv(i['x'])}, param_owner=conv)


def pools_dilated_adaptive():
    # Distinct values, so each max window has one winner (PyTorch gives a tie's gradient to the first).
    x = f32(torch.randperm(2 * 3 * 9 * 8, dtype=torch.float64).reshape(2, 3, 9, 8) * 0.01 - 2)
    run_case('max_pool_dilated', {'kernel_size': 3, 'stride': 2, 'padding': 1, 'dilation': 2}, {'x': x}, {},
             lambda i, p: {'y': F.max_pool2d(i['x'], 3, stride=2, padding=1, dilation=2),
                           'overlapping': F.max_pool2d(i['x'], (3, 2), stride=1)})
    run_case('adaptive_avg_pool', {'sizes': [[3, 2], [1, 1], [3, 4]]}, {'x': randn(2, 3, 7, 5)}, {},
             lambda i, p: {'uneven': F.adaptive_avg_pool2d(i['x'], (3, 2)), 'global': F.adaptive_avg_pool2d(i['x'], 1),
                           'wider': F.adaptive_avg_pool2d(i['x'], (3, 4))})


def batch_norm():
    """BatchNorm2d in training mode (batch statistics; the running ones updated: `running_*` outputs) and in eval
    mode (normalised by the running statistics), from random running statistics given in the config."""
    C = 3
    running_mean, running_var = randn(C, scale=0.5), f32(torch.rand(C, dtype=torch.float64) + 0.5)
    for name, training, momentum in [('batch_norm_train', True, 0.3), ('batch_norm_eval', False, 0.1)]:
        bn = load_random(nn.BatchNorm2d(C, eps=1e-3, momentum=momentum), lambda n, s: randn(*s, scale=0.3, shift=1.0 if n == 'weight' else 0.0))
        with torch.no_grad():
            bn.running_mean.copy_(running_mean)
            bn.running_var.copy_(running_var)
        bn.train(training)

        def forward(i, p, bn=bn, training=training):
            out = {'y': bn(i['x'])}
            if training:
                out['running_mean'] = bn.running_mean.clone()
                out['running_var'] = bn.running_var.clone()
            return out

        run_case(name, {'num_features': C, 'eps': 1e-3, 'momentum': momentum, 'training': training,
                        'running_mean': running_mean.tolist(), 'running_var': running_var.tolist()},
                 {'x': randn(4, C, 5, 3, scale=2.0, shift=0.7)}, None, forward, param_owner=bn)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(1234)
    for make in [layer_norm, gelu, attention, multihead_attention, lstm,
                 lambda: transformer('transformer_post_ln', False, False, 'gelu'),
                 lambda: transformer('transformer_pre_ln', True, False, 'gelu'),
                 lambda: transformer('transformer_pre_ln_causal', True, True, 'gelu_tanh'),
                 highway, lstm_initial_state,
                 cross_entropy, conv2d_pool, conv1d_max_over_time, embedding,
                 layer_norm_2d, softmax_middle_axis, train_char_lstm, lstm_proj,
                 conv2d_dilated_groups, pools_dilated_adaptive, batch_norm]:
        make()


if __name__ == '__main__':
    main()
