"""Writes test/fixtures/elmo/bilm-tf/: a micro ELMo in the layout of bilm-tf's dumps and AllenNLP's published files
(options.json, weights.hdf5 with char_embed, CNN/W_cnn_i, CNN_high_k, CNN_proj, RNN_d/RNN/MultiRNNCell/Celll/LSTMCell
and a softmax), random weights, and expected.json: the three representation layers of two sentences computed here in
NumPy with TensorFlow's semantics, as bilm-tf's graph runs (x.W products; the highway's gate on the transform; the
LSTMCell's packed [x; h] kernel, gates i, j, f, o, forget_bias 1.0, cell and projection clipping; the backward LM on
the reversed sentence; the residual on layer 2), so the test checks our AllenNLP-style conversion against the
original computation rather than against itself.

Usage: /usr/bin/python3 scripts/gen_elmo_hdf5_fixture.py   (python3-h5py, numpy)
"""
import json
import pathlib

import h5py
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'elmo' / 'bilm-tf'
OPTIONS = {
    'lstm': {'use_skip_connections': True, 'projection_dim': 4, 'cell_clip': 0.5, 'proj_clip': 0.4, 'dim': 6, 'n_layers': 2},
    'char_cnn': {'activation': 'relu', 'filters': [[1, 3], [2, 4]], 'n_highway': 1, 'embedding': {'dim': 3},
                 'n_characters': 262, 'max_characters_per_token': 8},
    'n_tokens_vocab': 6,
}
VOCAB = ['<S>', '</S>', '<UNK>', 'the', 'bank', 'river']
SENTENCES = [['the', 'bank'], ['river', 'bank', 'the', 'longwordhere']]


def char_ids(word, max_chars):
    """bilm-tf's ids (no AllenNLP +1 here: the file's char_embed has bilm-tf's 261 rows)."""
    ids = [260] * max_chars
    ids[0] = 258
    if word in ('<S>', '</S>'):
        ids[1], ids[2] = (256 if word == '<S>' else 257), 259
        return ids
    b = word.encode('utf-8')[:max_chars - 2]
    for i, c in enumerate(b):
        ids[i + 1] = c
    ids[len(b) + 1] = 259
    return ids


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def main():
    rng = np.random.default_rng(0)
    c, l = OPTIONS['char_cnn'], OPTIONS['lstm']
    D, P, C = c['embedding']['dim'], l['projection_dim'], l['dim']
    F = sum(n for _, n in c['filters'])
    w = lambda *shape: rng.uniform(-0.8, 0.8, shape).astype(np.float32)
    weights = {'char_embed': w(261, D)}
    for i, (width, n) in enumerate(c['filters']):
        weights[f'CNN/W_cnn_{i}'] = w(1, width, D, n)
        weights[f'CNN/b_cnn_{i}'] = w(n)
    for k in range(c['n_highway']):
        for name, shape in [('W_carry', (F, F)), ('b_carry', (F,)), ('W_transform', (F, F)), ('b_transform', (F,))]:
            weights[f'CNN_high_{k}/{name}'] = w(*shape)
    weights['CNN_proj/W_proj'] = w(F, P)
    weights['CNN_proj/b_proj'] = w(P)
    for d in range(2):
        for layer in range(l['n_layers']):
            cell = f'RNN_{d}/RNN/MultiRNNCell/Cell{layer}/LSTMCell'
            weights[f'{cell}/W_0'] = w(P + P, 4 * C)
            weights[f'{cell}/B'] = w(4 * C)
            weights[f'{cell}/W_P_0'] = w(C, P)
    weights['softmax/W'] = w(len(VOCAB), P)
    weights['softmax/b'] = w(len(VOCAB))

    def token(word):
        x = weights['char_embed'].astype(np.float64)[char_ids(word, c['max_characters_per_token'])]  # (chars, D)
        pooled = []
        for i, (width, n) in enumerate(c['filters']):
            k = weights[f'CNN/W_cnn_{i}'][0].astype(np.float64)  # (width, D, n)
            conv = np.stack([np.einsum('wd,wdn->n', x[t:t + width], k) for t in range(len(x) - width + 1)]) + weights[f'CNN/b_cnn_{i}']
            pooled.append(np.maximum(conv.max(0), 0))
        h = np.concatenate(pooled)
        for k in range(c['n_highway']):
            g = f'CNN_high_{k}/'
            transform_gate = sigmoid(h @ weights[g + 'W_carry'] + weights[g + 'b_carry'])
            transform = np.maximum(h @ weights[g + 'W_transform'] + weights[g + 'b_transform'], 0)
            h = transform_gate * transform + (1 - transform_gate) * h
        return h @ weights['CNN_proj/W_proj'] + weights['CNN_proj/b_proj']

    def lstm_stack(xs, d):
        outs, inp = [], xs
        for layer in range(l['n_layers']):
            cell = f'RNN_{d}/RNN/MultiRNNCell/Cell{layer}/LSTMCell/'
            W, B, WP = weights[cell + 'W_0'], weights[cell + 'B'], weights[cell + 'W_P_0']
            h, m, seq = np.zeros(P), np.zeros(C), []
            for x in inp:
                z = np.concatenate([x, h]) @ W + B
                i, j, f, o = np.split(z, 4)
                m = sigmoid(f + 1.0) * m + sigmoid(i) * np.tanh(j)
                m = np.clip(m, -l['cell_clip'], l['cell_clip'])
                h = np.clip((sigmoid(o) * np.tanh(m)) @ WP, -l['proj_clip'], l['proj_clip'])
                seq.append(h)
            out = np.stack(seq)
            if layer > 0 and l['use_skip_connections']:
                out = out + inp
            outs.append(out)
            inp = out
        return outs

    expected = []
    for s in SENTENCES:
        toks = np.stack([token(t) for t in ['<S>', *s, '</S>']])
        f = lstm_stack(toks, 0)
        b = [x[::-1] for x in lstm_stack(toks[::-1], 1)]
        layers = [np.concatenate([toks, toks], -1)] + [np.concatenate([fi, bi], -1) for fi, bi in zip(f, b)]
        expected.append([x.flatten().tolist() for x in layers])

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / 'options.json').write_text(json.dumps(OPTIONS, indent=1) + '\n')
    (OUT / 'vocab.txt').write_text('\n'.join(VOCAB) + '\n')
    with h5py.File(OUT / 'weights.hdf5', 'w') as h5:
        for name, value in weights.items():
            h5.create_dataset(name, data=value)
    (OUT / 'expected.json').write_text(json.dumps({'source': 'scripts/gen_elmo_hdf5_fixture.py', 'sentences': SENTENCES, 'layers': expected}))
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
