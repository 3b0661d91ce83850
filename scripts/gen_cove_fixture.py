"""Writes test/fixtures/cove/cove.json: a tiny CoVe translation model (src/models/cove.ts) written here in plain
torch from the paper (McCann et al. 2017, with Luong et al. 2015's input feeding): fixed GloVe rows into a 2-layer
bidirectional nn.LSTM (padding through pack_padded_sequence), a 2-layer nn.LSTM decoder started from each encoder
layer's final forward and backward states side by side, attention alpha = softmax(H (W1 h + b1)) with padding masked,
h~ = tanh(W2 [H^T alpha; h] + b2), logits = W_out h~ + b_out, and the cross-entropy over labelled steps (-100 skipped).

Module names equal our parameter names, so the state dict is the model's checkpoint. For one padded batch, with and
without input feeding: the weights, the logits, the loss and the gradient of the loss for every trainable weight.
Weights are float32 values held in float64; everything is computed in float64.

Usage: /usr/bin/python3 scripts/gen_cove_fixture.py   (torch >= 1.13)
"""
import json
import pathlib

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'cove' / 'cove.json'
CONFIG = dict(source_vocab_size=9, embedding_size=5, hidden_size=4, num_layers=2, target_vocab_size=10,
              target_embedding_size=6, dropout=0.0, initializer_range=0.1)


class Node(nn.Module):
    """A plain container, so that attribute paths give the checkpoint keys."""


def build(feeding):
    c = CONFIG
    h2 = 2 * c['hidden_size']
    m = Node()
    m.encoder = Node()
    m.encoder.embeddings = nn.Embedding(c['source_vocab_size'], c['embedding_size'])
    m.encoder.rnn = nn.LSTM(c['embedding_size'], c['hidden_size'], c['num_layers'], bidirectional=True, batch_first=True)
    m.decoder = Node()
    m.decoder.embeddings = nn.Embedding(c['target_vocab_size'], c['target_embedding_size'])
    nn.init.normal_(m.decoder.embeddings.weight, std=c['initializer_range'])
    m.decoder.rnn = nn.LSTM(c['target_embedding_size'] + (h2 if feeding else 0), h2, c['num_layers'], batch_first=True)
    m.decoder.attention = Node()
    m.decoder.attention.linear_in = nn.Linear(h2, h2)
    m.decoder.attention.linear_out = nn.Linear(2 * h2, h2)
    m.decoder.generator = nn.Linear(h2, c['target_vocab_size'])
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.float())
    m.encoder.embeddings.weight.requires_grad_(False)
    return m.double()


def attend(m, query, memory, mask):
    a = m.decoder.attention
    scores = torch.bmm(a.linear_in(query), memory.transpose(1, 2))  # (B, T, S)
    alpha = torch.softmax(scores.masked_fill(~mask[:, None, :], float('-inf')), dim=-1)
    return torch.tanh(a.linear_out(torch.cat([torch.bmm(alpha, memory), query], dim=-1)))


def forward(m, feeding, src, lengths, tgt_in):
    B, S = src.shape
    L, H = CONFIG['num_layers'], CONFIG['hidden_size']
    packed = pack_padded_sequence(m.encoder.embeddings(src), lengths, batch_first=True, enforce_sorted=False)
    out, (h, c) = m.encoder.rnn(packed)
    memory, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
    mask = torch.arange(S)[None, :] < lengths[:, None]
    bridge = lambda s: s.view(L, 2, B, H).permute(0, 2, 1, 3).reshape(L, B, 2 * H).contiguous()
    state = (bridge(h), bridge(c))
    z = m.decoder.embeddings(tgt_in)
    if not feeding:
        dec, _ = m.decoder.rnn(z, state)
        h_tilde = attend(m, dec, memory, mask)
    else:
        feed = torch.zeros(B, 1, 2 * H, dtype=z.dtype)
        steps = []
        for t in range(z.shape[1]):
            dec, state = m.decoder.rnn(torch.cat([z[:, t:t + 1], feed], dim=-1), state)
            feed = attend(m, dec, memory, mask)
            steps.append(feed)
        h_tilde = torch.cat(steps, dim=1)
    return m.decoder.generator(h_tilde)


def g9(t):
    """Nine significant digits: float32 weights exactly, float64 results well inside the test's tolerance."""
    return [float(f'{x:.9g}') for x in t.flatten().tolist()]


def main():
    torch.manual_seed(11)
    # source lengths 5, 3, 1 (0 pads past the end); targets <s> w... padded with </s> = 2, labels -100 there
    src = torch.tensor([[3, 4, 5, 6, 7], [8, 3, 4, 0, 0], [5, 0, 0, 0, 0]])
    lengths = torch.tensor([5, 3, 1])
    tgt_in = torch.tensor([[1, 3, 4, 5], [1, 6, 2, 2], [1, 7, 8, 2]])
    labels = torch.tensor([[3, 4, 5, 2], [6, 2, -100, -100], [7, 8, 2, -100]])
    cases = []
    for feeding in (True, False):
        m = build(feeding)
        logits = forward(m, feeding, src, lengths, tgt_in)
        loss = nn.functional.cross_entropy(logits.reshape(-1, CONFIG['target_vocab_size']), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        cases.append({
            'input_feeding': feeding,
            'weights': {k: {'shape': list(v.shape), 'data': g9(v)} for k, v in m.state_dict().items()},
            'logits': g9(logits.detach()),
            'loss': loss.item(),
            'grads': {k: g9(p.grad) for k, p in m.named_parameters() if p.requires_grad},
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        'torch': torch.__version__, 'config': CONFIG,
        'source_ids': src.tolist(), 'source_lengths': lengths.tolist(), 'target_ids': tgt_in.tolist(), 'labels': labels.tolist(),
        'cases': cases,
    }) + '\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
