"""Writes test/fixtures/elmo/bilm.json: a micro ELMo biLM (src/models/elmo.ts) written here in plain torch from
bilm-tf's architecture: character embeddings, nn.Conv1d per filter width max-pooled over the characters then ReLU, a
highway layer in AllenNLP's form (gate on the input), a projection, forward and backward stacks of
nn.LSTM(proj_size) (the backward one reads each sequence reversed within its length, padding through
pack_padded_sequence) with the residual between layer 1 and layer 2, and the shared softmax; the loss is the mean of
the two directions' cross-entropy over the positions with a target. nn.LSTM has no clipping, so the fixture has none
(clipping is tested against the step-by-step clamp composition in test/tensor/grad.test.ts).

Module names equal our parameter names, so the state dict is the model's checkpoint. For one padded batch: the
weights, the inputs, the three representation layers, the losses and the gradient of the loss for every weight.
Weights are float32 values held in float64; everything is computed in float64.

Usage: /usr/bin/python3 scripts/gen_elmo_fixture.py   (torch >= 1.13)
"""
import json
import pathlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'elmo' / 'bilm.json'
CONFIG = dict(vocab_size=11, dropout=0.0, n_negative_samples=0,
              char_cnn=dict(embedding=dict(dim=4), filters=[[1, 4], [2, 4], [3, 8]], n_highway=1, activation='relu',
                            n_characters=262, max_characters_per_token=10),
              lstm=dict(dim=8, projection_dim=4, n_layers=2, cell_clip=None, proj_clip=None, use_skip_connections=True))


class Node(nn.Module):
    """A plain container, so that attribute paths give the checkpoint keys."""


def char_ids(word, max_chars):
    """bilm-tf's character ids plus one (AllenNLP's): bow 259, bytes + 1, eow 260, padding 261; <S> 257, </S> 258."""
    ids = [261] * max_chars
    ids[0] = 259
    if word in ('<S>', '</S>'):
        ids[1], ids[2] = (257 if word == '<S>' else 258), 260
        return ids
    b = word.encode('utf-8')[:max_chars - 2]
    for i, c in enumerate(b):
        ids[i + 1] = c + 1
    ids[len(b) + 1] = 260
    return ids


def build():
    c, l = CONFIG['char_cnn'], CONFIG['lstm']
    m = Node()
    m.token_encoder = Node()
    m.token_encoder.char_embedding = nn.Embedding(c['n_characters'], c['embedding']['dim'])
    m.token_encoder.convolutions = nn.ModuleList([nn.Conv1d(c['embedding']['dim'], n, w) for w, n in c['filters']])
    width = sum(n for _, n in c['filters'])
    m.token_encoder.highway = Node()
    m.token_encoder.highway.layers = nn.ModuleList([nn.Linear(width, 2 * width) for _ in range(c['n_highway'])])
    m.token_encoder.projection = nn.Linear(width, l['projection_dim'])
    for side in ('forward_layers', 'backward_layers'):
        setattr(m, side, nn.ModuleList([nn.LSTM(l['projection_dim'], l['dim'], proj_size=l['projection_dim'], batch_first=True)
                                        for _ in range(l['n_layers'])]))
    m.softmax = nn.Linear(l['projection_dim'], CONFIG['vocab_size'])
    return m.double()


def run_lstm(lstm, x, lengths, reverse):
    if reverse:
        x = reverse_within(x, lengths)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return reverse_within(out, lengths) if reverse else out


def reverse_within(x, lengths):
    out = x.clone()
    for b, n in enumerate(lengths):
        out[b, :n] = x[b, :n].flip(0)
    return out


def forward(m, chars, tokens, lengths, fwd_targets, bwd_targets):
    enc = m.token_encoder
    x = enc.char_embedding(chars).transpose(1, 2)
    h = torch.cat([F.relu(conv(x).max(-1).values) for conv in enc.convolutions], -1)
    for layer in enc.highway.layers:
        t, g = layer(h).chunk(2, -1)
        g = torch.sigmoid(g)
        h = g * h + (1 - g) * F.relu(t)
    table = enc.projection(h)
    mask = torch.zeros(tokens.shape, dtype=torch.float64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    emb = F.embedding(tokens, table) * mask.unsqueeze(-1)

    def stack(layers, reverse):
        outs, inp = [], emb
        for i, lstm in enumerate(layers):
            out = run_lstm(lstm, inp, lengths, reverse)
            if i > 0:
                out = out + inp
            outs.append(out)
            inp = out
        return outs

    f, b = stack(m.forward_layers, False), stack(m.backward_layers, True)
    layers = [torch.cat([emb, emb], -1)] + [torch.cat([fi, bi], -1) for fi, bi in zip(f, b)]
    P = CONFIG['lstm']['projection_dim']

    def loss(top, targets):
        t = torch.tensor(targets)
        rows = (t >= 0).nonzero().flatten()
        return F.cross_entropy(m.softmax(top.reshape(-1, P)[rows]), t[rows])

    lf, lb = loss(f[-1], fwd_targets), loss(b[-1], bwd_targets)
    return layers, lf, lb, 0.5 * (lf + lb)


def main():
    torch.manual_seed(0)
    m = build()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.float().double())
    max_chars = CONFIG['char_cnn']['max_characters_per_token']
    vocab = ['<S>', '</S>', '<UNK>', 'the', 'bank', 'river', 'money', 'a', 'of', 'é', 'is']
    sentences = [['<S>', 'the', 'bank', 'of', 'the', 'river', '</S>'], ['<S>', 'money', 'é', 'unknownword', '</S>']]
    distinct = []
    for s in sentences:
        for w in s:
            if w not in distinct:
                distinct.append(w)
    B, T = len(sentences), max(len(s) for s in sentences)
    lengths = [len(s) for s in sentences]
    tokens = torch.zeros(B, T, dtype=torch.long)
    fwd, bwd = [-1] * (B * T), [-1] * (B * T)
    vid = lambda w: vocab.index(w) if w in vocab else vocab.index('<UNK>')
    for b, s in enumerate(sentences):
        for t, w in enumerate(s):
            tokens[b, t] = distinct.index(w)
            if t + 1 < len(s):
                fwd[b * T + t] = vid(s[t + 1])
            if t > 0:
                bwd[b * T + t] = vid(s[t - 1])
    chars = torch.tensor([char_ids(w, max_chars) for w in distinct])
    layers, lf, lb, loss = forward(m, chars, tokens, lengths, fwd, bwd)
    loss.backward()
    fixture = {
        'source': 'scripts/gen_elmo_fixture.py (torch %s)' % torch.__version__,
        'config': CONFIG,
        'words': distinct,
        'chars': chars.tolist(),
        'tokens': tokens.tolist(),
        'lengths': lengths,
        'forward_targets': fwd,
        'backward_targets': bwd,
        'weights': {k: v.flatten().tolist() for k, v in m.state_dict().items()},
        'shapes': {k: list(v.shape) for k, v in m.state_dict().items()},
        'layers': [x.detach().flatten().tolist() for x in layers],
        'forward_loss': lf.item(), 'backward_loss': lb.item(), 'loss': loss.item(),
        'grads': {k: p.grad.flatten().tolist() for k, p in m.named_parameters()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(',', ':')))
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
