#!/usr/bin/env python3
"""PyTorch CPU peer for `npm run bench -- finetune`: BERT fine-tuning steps with the architecture of transformers'
modeling_bert.py (post-LN layers with separate query/key/value projections, GELU, a tanh pooler on [CLS]) under its
BertForSequenceClassification or BertForTokenClassification head, AdamW, written in plain torch because transformers
is not installable here. Prints one JSON line per workload: tokens/s of training steps and peak RSS.

  python3 bench/peers/torch_finetune.py --task classification|tokens --seq 64 --batch 32 [--layers 4 --dim 256]
"""
import argparse, json, math, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--task", choices=["classification", "tokens"], required=True)
p.add_argument("--layers", type=int, default=4); p.add_argument("--dim", type=int, default=256); p.add_argument("--heads", type=int, default=4)
p.add_argument("--ffn", type=int, default=1024); p.add_argument("--vocab", type=int, default=8000); p.add_argument("--labels", type=int, default=2)
p.add_argument("--seq", type=int, default=64); p.add_argument("--batch", type=int, default=32)
p.add_argument("--threads", type=int, default=2); p.add_argument("--steps", type=int, default=10); p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class Layer(nn.Module):
    def __init__(s, D, H, FF):
        super().__init__()
        s.H = H
        s.q, s.k, s.v, s.o = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        s.ln1, s.ln2 = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
        s.up, s.down = nn.Linear(D, FF), nn.Linear(FF, D)
        s.drop = nn.Dropout(0.1)

    def forward(s, x, mask):
        B, T, D = x.shape
        heads = lambda t: t.view(B, T, s.H, D // s.H).transpose(1, 2)
        scores = heads(s.q(x)) @ heads(s.k(x)).transpose(-1, -2) / math.sqrt(D // s.H)
        scores = scores + (1.0 - mask[:, None, None, :]) * torch.finfo(scores.dtype).min
        ctx = (s.drop(scores.softmax(-1)) @ heads(s.v(x))).transpose(1, 2).reshape(B, T, D)
        x = s.ln1(x + s.drop(s.o(ctx)))
        return s.ln2(x + s.drop(s.down(F.gelu(s.up(x)))))


class Bert(nn.Module):
    def __init__(s, V, T, L, D, H, FF, labels, tokens):
        super().__init__()
        s.word, s.pos, s.token_type = nn.Embedding(V, D), nn.Embedding(T, D), nn.Embedding(2, D)
        s.ln, s.drop = nn.LayerNorm(D, eps=1e-12), nn.Dropout(0.1)
        s.layers = nn.ModuleList([Layer(D, H, FF) for _ in range(L)])
        s.tokens = tokens
        s.pool = nn.Linear(D, D)
        s.classifier = nn.Linear(D, labels)

    def forward(s, ids, types, mask):
        T = ids.shape[1]
        x = s.drop(s.ln(s.word(ids) + s.pos(torch.arange(T))[None] + s.token_type(types)))
        for layer in s.layers: x = layer(x, mask)
        if s.tokens: return s.classifier(s.drop(x))
        return s.classifier(s.drop(torch.tanh(s.pool(x[:, 0]))))


B, T = a.batch, a.seq
model = Bert(a.vocab, T, a.layers, a.dim, a.heads, a.ffn, a.labels, a.task == "tokens")
opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
g = torch.Generator().manual_seed(1)
times = []
for i in range(a.warmup + a.steps):
    ids = torch.randint(0, a.vocab, (B, T), generator=g)
    types = torch.zeros(B, T, dtype=torch.long)
    # rows of different lengths, padded to the longest (as dynamic padding leaves a bucketed batch)
    lengths = torch.randint(T // 2, T + 1, (B,), generator=g)
    mask = (torch.arange(T)[None, :] < lengths[:, None]).float()
    t0 = time.perf_counter()
    logits = model(ids, types, mask)
    if a.task == "tokens":
        labels = torch.where(mask > 0, torch.randint(0, a.labels, (B, T), generator=g), torch.full((B, T), -100))
        loss = F.cross_entropy(logits.reshape(-1, a.labels), labels.reshape(-1), ignore_index=-100)
    else:
        loss = F.cross_entropy(logits, torch.randint(0, a.labels, (B,), generator=g))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    times.append(time.perf_counter() - t0)
sec = statistics.median(times[a.warmup:])
print(json.dumps({"task": a.task, "seq": T, "batch": B, "tokens_per_s": B * T / sec, "ms_per_step": sec * 1e3,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__}))
