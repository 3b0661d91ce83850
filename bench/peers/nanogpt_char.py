#!/usr/bin/env python3
"""The PyTorch side of `npm run bench -- shakespeare`: nanoGPT's character-level Shakespeare recipe.

A GPT-2-style model (pre-LN blocks, learned positions, tied embeddings, tanh GELU) trained exactly as nanoGPT's
train.py with config/train_shakespeare_char.py and its CPU overrides: no biases in the linear layers and LayerNorms
(nanoGPT's bias=False; --bias 1 puts GPT-2's back), first 90% of the characters for training, last 10% for
validation, random blocks, AdamW (betas 0.9/0.99, weight decay 0.1 on matrices only), warmup lr*(it+1)/(warmup+1)
over 100 steps then cosine decay to lr/10, gradient clipping at 1.0, validation loss as the mean of --eval-iters
random batches.

Run with Debian's PyTorch:  /usr/bin/python3 bench/peers/nanogpt_char.py --data ../shared/data/tiny-shakespeare/input.txt
The GPU config: --layers 6 --heads 6 --dim 384 --block 256 --batch 64 --iters 5000 --dropout 0.2 --device cuda.
Prints one JSON line: {"peer": "torch-cpu", "val_loss": ..., "train_loss": ..., "wall_seconds": ..., "config": {...}}.
"""
import argparse, json, math, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--layers", type=int, default=4); p.add_argument("--heads", type=int, default=4); p.add_argument("--dim", type=int, default=128)
p.add_argument("--block", type=int, default=64); p.add_argument("--batch", type=int, default=12); p.add_argument("--iters", type=int, default=2000)
p.add_argument("--lr", type=float, default=1e-3); p.add_argument("--min-lr", type=float, default=1e-4); p.add_argument("--warmup", type=int, default=100)
p.add_argument("--dropout", type=float, default=0.0); p.add_argument("--eval-iters", type=int, default=200)
p.add_argument("--bias", type=int, default=0)
p.add_argument("--threads", type=int, default=2); p.add_argument("--seed", type=int, default=1337)
p.add_argument("--device", default="cpu", help="cpu or cuda (strict fp32 there: TF32 off)")
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
dev = torch.device(a.device)
if dev.type == "cuda": torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False

text = open(a.data, encoding="utf-8").read()
chars = sorted(set(text)); stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long, device=dev)
n = int(0.9 * len(data)); splits = {"train": data[:n], "val": data[n:]}

def get_batch(split):
    d = splits[split]; ix = torch.randint(len(d) - a.block, (a.batch,)).tolist()
    return torch.stack([d[i:i + a.block] for i in ix]), torch.stack([d[i + 1:i + 1 + a.block] for i in ix])

class LayerNorm(nn.Module):
    """nanoGPT's LayerNorm with an optional bias (torch before 2.1 has no nn.LayerNorm(bias=False))."""
    def __init__(s, D):
        super().__init__(); s.weight = nn.Parameter(torch.ones(D)); s.bias = nn.Parameter(torch.zeros(D)) if a.bias else None
    def forward(s, x): return F.layer_norm(x, s.weight.shape, s.weight, s.bias, 1e-5)

class Block(nn.Module):
    def __init__(s, D, H, p):
        super().__init__(); s.H = H; b = bool(a.bias)
        s.ln_1, s.c_attn, s.c_proj = LayerNorm(D), nn.Linear(D, 3 * D, bias=b), nn.Linear(D, D, bias=b)
        s.ln_2, s.c_fc, s.mlp_proj = LayerNorm(D), nn.Linear(D, 4 * D, bias=b), nn.Linear(4 * D, D, bias=b)
        s.drop = nn.Dropout(p)
    def forward(s, x):
        B, T, D = x.shape
        q, k, v = s.c_attn(s.ln_1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, s.H, D // s.H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // s.H)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf")).softmax(-1)
        x = x + s.drop(s.c_proj((s.drop(att) @ v).transpose(1, 2).reshape(B, T, D)))
        return x + s.drop(s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate="tanh")))

class GPT(nn.Module):
    def __init__(s, V):
        super().__init__()
        s.wte, s.wpe, s.drop = nn.Embedding(V, a.dim), nn.Embedding(a.block, a.dim), nn.Dropout(a.dropout)
        s.h = nn.ModuleList([Block(a.dim, a.heads, a.dropout) for _ in range(a.layers)]); s.ln_f = LayerNorm(a.dim)
        for name, w in s.named_parameters():
            if w.dim() >= 2: nn.init.normal_(w, 0.0, 0.02 / math.sqrt(2 * a.layers) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02)
            elif name.endswith("bias") and "ln_" not in name: nn.init.zeros_(w)
    def forward(s, idx, targets):
        x = s.drop(s.wte(idx) + s.wpe(torch.arange(idx.shape[1], device=idx.device)))
        for b in s.h: x = b(x)
        logits = s.ln_f(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

model = GPT(len(chars)).to(dev)
decay = [w for w in model.parameters() if w.dim() >= 2]; no_decay = [w for w in model.parameters() if w.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.99))

def lr_at(it):
    if it < a.warmup: return a.lr * (it + 1) / (a.warmup + 1)
    ratio = (it - a.warmup) / max(1, a.iters - a.warmup)
    return a.min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, ratio))) * (a.lr - a.min_lr)

@torch.no_grad()
def estimate(split):
    model.eval(); losses = [model(*get_batch(split)).item() for _ in range(a.eval_iters)]; model.train()
    return sum(losses) / len(losses)

start = time.perf_counter()
for it in range(a.iters):
    for g in opt.param_groups: g["lr"] = lr_at(it)
    loss = model(*get_batch("train"))
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
if dev.type == "cuda": torch.cuda.synchronize()
wall = time.perf_counter() - start
print(json.dumps({"peer": f"torch-{dev.type}", "torch": torch.__version__, "threads": a.threads, "val_loss": round(estimate("val"), 4),
                  "train_loss": round(estimate("train"), 4), "wall_seconds": round(wall, 2),
                  "config": {k: v for k, v in vars(a).items() if k != "data"}}), flush=True)
