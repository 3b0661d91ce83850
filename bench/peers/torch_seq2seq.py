#!/usr/bin/env python3
"""PyTorch CPU peer for `npm run bench -- seq2seq`: training steps of torch.nn.Transformer (post-LN encoder and
decoder layers, GELU, dropout 0.1, batch_first) of the same shape as ours (layers per side, width, heads,
feed-forward), between token plus learned position embeddings and an output layer tied to the target embeddings,
cross-entropy over the target tokens (padding ignored), AdamW with clipping. Batches are random ids with rows of
random lengths padded to the longest, as bucketed batches of parallel text are. Prints one JSON line: target
tokens/s of training steps, ms per step and peak RSS.

  python3 bench/peers/torch_seq2seq.py --layers 3 --dim 256 --heads 4 --ffn 1024 --vocab 8000 --src 20 --tgt 22 --batch 32
"""
import argparse, json, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=3); p.add_argument("--dim", type=int, default=256); p.add_argument("--heads", type=int, default=4)
p.add_argument("--ffn", type=int, default=1024); p.add_argument("--vocab", type=int, default=8000); p.add_argument("--positions", type=int, default=128)
p.add_argument("--src", type=int, default=20); p.add_argument("--tgt", type=int, default=22); p.add_argument("--batch", type=int, default=32)
p.add_argument("--threads", type=int, default=2); p.add_argument("--steps", type=int, default=10); p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class Seq2Seq(nn.Module):
    def __init__(s):
        super().__init__()
        s.src_emb, s.tgt_emb = nn.Embedding(a.vocab, a.dim), nn.Embedding(a.vocab, a.dim)
        s.src_pos, s.tgt_pos = nn.Embedding(a.positions, a.dim), nn.Embedding(a.positions, a.dim)
        s.drop = nn.Dropout(0.1)
        s.transformer = nn.Transformer(a.dim, a.heads, a.layers, a.layers, a.ffn, dropout=0.1, activation="gelu", batch_first=True)
        s.bias = nn.Parameter(torch.zeros(a.vocab))

    def forward(s, src, src_pad, tgt, tgt_pad):
        S, T = src.shape[1], tgt.shape[1]
        x = s.drop(s.src_emb(src) + s.src_pos(torch.arange(S))[None])
        y = s.drop(s.tgt_emb(tgt) + s.tgt_pos(torch.arange(T))[None])
        causal = s.transformer.generate_square_subsequent_mask(T)
        h = s.transformer(x, y, tgt_mask=causal, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return h @ s.tgt_emb.weight.t() + s.bias


model = Seq2Seq()
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), weight_decay=0.01)
g = torch.Generator().manual_seed(1)


def rows(n, length):
    lengths = torch.randint(length // 2, length + 1, (n,), generator=g)
    return torch.randint(0, a.vocab, (n, length), generator=g), torch.arange(length)[None, :] >= lengths[:, None]


times, tokens = [], []
for i in range(a.warmup + a.steps):
    src, src_pad = rows(a.batch, a.src)
    tgt, tgt_pad = rows(a.batch, a.tgt)
    labels = torch.where(tgt_pad, torch.full_like(tgt, -100), torch.randint(0, a.vocab, tgt.shape, generator=g))
    t0 = time.perf_counter()
    logits = model(src, src_pad, tgt, tgt_pad)
    loss = F.cross_entropy(logits.reshape(-1, a.vocab), labels.reshape(-1), ignore_index=-100)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    times.append(time.perf_counter() - t0)
    tokens.append(int((~tgt_pad).sum()))
sec = statistics.median(times[a.warmup:])
mean_tokens = statistics.mean(tokens[a.warmup:])
print(json.dumps({"tokens_per_s": mean_tokens / sec, "ms_per_step": sec * 1e3, "target_tokens_per_step": mean_tokens,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__}))
