#!/usr/bin/env python3
"""ELMo biLM training step in PyTorch, the peer of `npm run bench -- elmo`.

Needs Debian's PyTorch:  apt-get install -y python3-torch   (run with /usr/bin/python3)
Usage:
  /usr/bin/python3 torch_elmo.py [--config tiny|small] [--vocab 8000 --seq 20 --batch 64] [--threads 2 --steps 8 --warmup 2]
Prints one JSON line: {"peer": "torch-cpu", "bench": "elmo-step", "value": tokens/s, ...}.

The same model as src/models/elmo.ts (bilm-tf's architecture): 16-dim character embeddings, nn.Conv1d per filter
width max-pooled over the characters, ReLU, highway, projection; forward and backward stacks of nn.LSTM(proj_size)
with the residual between layers; a shared softmax; the mean of the two directions' cross-entropy; AdamW. Like ours,
the char CNN runs once per distinct token of the batch. One difference: nn.LSTM has no cell or projection clipping,
so this peer runs without them (ours clips, as bilm-tf does, and pays for it). Tokens are drawn from TensorFlow's
log-uniform distribution, as bench/steps.ts draws them, so a batch has as many distinct words as ours.
"""
import argparse, json, math, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F

FULL = [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]]
CONFIGS = {"tiny": (512, 64, 1, [[w, n // 4] for w, n in FULL]), "small": (1024, 128, 1, FULL)}
p = argparse.ArgumentParser()
p.add_argument("--config", choices=list(CONFIGS), default="tiny")
p.add_argument("--vocab", type=int, default=8000); p.add_argument("--seq", type=int, default=20); p.add_argument("--batch", type=int, default=64)
p.add_argument("--threads", type=int, default=2); p.add_argument("--steps", type=int, default=8); p.add_argument("--warmup", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)
CELL, P, HIGHWAY, FILTERS = CONFIGS[a.config]
MAX_CHARS = 50

def char_ids(word):
    ids = [261] * MAX_CHARS  # bilm-tf's ids plus one: pad 261, bow 259, eow 260, bytes 1-256
    b = word.encode("utf-8")[:MAX_CHARS - 2]
    ids[0] = 259
    for i, c in enumerate(b): ids[i + 1] = c + 1
    ids[len(b) + 1] = 260
    return ids

class BiLM(nn.Module):
    def __init__(s, V):
        super().__init__()
        s.char_embedding = nn.Embedding(262, 16)
        s.convs = nn.ModuleList([nn.Conv1d(16, n, w) for w, n in FILTERS])
        F_ = sum(n for _, n in FILTERS)
        s.highway = nn.ModuleList([nn.Linear(F_, 2 * F_) for _ in range(HIGHWAY)])
        s.proj = nn.Linear(F_, P)
        s.fwd = nn.ModuleList([nn.LSTM(P, CELL, proj_size=P, batch_first=True) for _ in range(2)])
        s.bwd = nn.ModuleList([nn.LSTM(P, CELL, proj_size=P, batch_first=True) for _ in range(2)])
        s.softmax = nn.Linear(P, V)
    def tokens(s, chars):
        x = s.char_embedding(chars).transpose(1, 2)
        h = torch.cat([F.relu(conv(x).max(-1).values) for conv in s.convs], -1)
        for layer in s.highway:
            t, g = layer(h).chunk(2, -1)
            g = torch.sigmoid(g)
            h = g * h + (1 - g) * F.relu(t)
        return s.proj(h)
    def stack(s, layers, x):
        for l, lstm in enumerate(layers):
            out = lstm(x)[0]
            x = out + x if l > 0 else out
        return x
    def forward(s, chars, rows, fwd_targets, bwd_targets):
        x = F.embedding(rows, s.tokens(chars))
        f = s.stack(s.fwd, x)
        b = s.stack(s.bwd, x.flip(1)).flip(1)  # every row is full length here
        lf = F.cross_entropy(s.softmax(f[:, :-1].reshape(-1, P)), fwd_targets)
        lb = F.cross_entropy(s.softmax(b[:, 1:].reshape(-1, P)), bwd_targets)
        return 0.5 * (lf + lb)

def batch(g):
    u = torch.rand(a.batch * a.seq, generator=g, dtype=torch.float64)
    words = (torch.exp(u * math.log(a.vocab + 1)).floor().long() - 1).clamp(0, a.vocab - 1).view(a.batch, a.seq)
    distinct, rows = torch.unique(words, return_inverse=True)
    chars = torch.tensor([char_ids(f"w{int(w)}") for w in distinct])
    return chars, rows, words[:, 1:].reshape(-1), words[:, :-1].reshape(-1)

model = BiLM(a.vocab)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
g = torch.Generator().manual_seed(0)
times = []
for i in range(a.warmup + a.steps):
    data = batch(g)
    t = time.perf_counter()
    loss = model(*data)
    opt.zero_grad(); loss.backward(); opt.step(); loss.item()
    if i >= a.warmup: times.append(time.perf_counter() - t)
sec = statistics.median(times)
print(json.dumps({"peer": "torch-cpu", "torch": torch.__version__, "threads": a.threads, "bench": "elmo-step",
                  "config": {"config": a.config, "vocab": a.vocab, "seq": a.seq, "batch": a.batch},
                  "value": round(a.batch * a.seq / sec, 3), "unit": "tokens/s", "ms_per_step": round(sec * 1e3, 1),
                  "params": sum(q.numel() for q in model.parameters())}), flush=True)
