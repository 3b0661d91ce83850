#!/usr/bin/env python3
"""Tiny random-weight transformers checkpoints and their reference outputs, for the GPT/BERT compatibility tests.

Needs torch 2.x, transformers and safetensors (the GPU machine has them; a CPU is enough to run this).
  python3 scripts/gen_hf_fixtures.py --out test/fixtures/hf
Writes, per model, a Hugging Face directory (config.json + model.safetensors) and `reference.json` holding the fixed
input ids and the float32 outputs that transformers computes for them (logits and every hidden state).

  python3 scripts/gen_hf_fixtures.py --check DIR
loads a directory saved by pretrain (`savePretrained`) with transformers and prints its outputs on the same inputs
as JSON, so that a test can compare them with ours (checkpoints saved here must load in transformers unchanged).
"""
import argparse, json, os
import torch
from transformers import BertConfig, BertForPreTraining, BertModel, GPT2Config, GPT2LMHeadModel, AutoModel

p = argparse.ArgumentParser()
p.add_argument("--out", default="test/fixtures/hf")
p.add_argument("--check")
a = p.parse_args()

IDS = [[2, 17, 45, 8, 91, 3, 60, 3], [2, 5, 77, 31, 3, 12, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0]]
TYPES = [[0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1, 0, 0]]

def flat(t): return [round(float(x), 7) for x in t.detach().float().reshape(-1).tolist()]

def outputs(model):
    model.eval()
    ids, mask, types = torch.tensor(IDS), torch.tensor(MASK), torch.tensor(TYPES)
    with torch.no_grad():
        if model.config.model_type == "gpt2":
            o = model(input_ids=ids, output_hidden_states=True)
            res = {"logits": flat(o.logits), "logits_shape": list(o.logits.shape)}
        else:
            kw = dict(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
            o = model(**kw)
            res = {}
            if hasattr(o, "prediction_logits"):
                res.update(prediction_logits=flat(o.prediction_logits), seq_relationship_logits=flat(o.seq_relationship_logits))
            if hasattr(o, "pooler_output") and o.pooler_output is not None:
                res.update(pooler_output=flat(o.pooler_output), last_hidden_state=flat(o.last_hidden_state))
        res["hidden_states"] = [flat(h) for h in o.hidden_states]
        res["hidden_shape"] = list(o.hidden_states[0].shape)
    return res

if a.check:
    m = AutoModel.from_pretrained(a.check) if "GPT2LMHeadModel" not in open(os.path.join(a.check, "config.json")).read() else GPT2LMHeadModel.from_pretrained(a.check)
    if "BertForPreTraining" in open(os.path.join(a.check, "config.json")).read(): m = BertForPreTraining.from_pretrained(a.check)
    print(json.dumps({"inputs": {"input_ids": IDS, "attention_mask": MASK, "token_type_ids": TYPES}, **outputs(m)}))
    raise SystemExit

torch.manual_seed(0)
bert_cfg = BertConfig(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                      max_position_embeddings=64, type_vocab_size=2)
gpt_cfg = GPT2Config(vocab_size=99, n_positions=64, n_embd=64, n_layer=2, n_head=4)
models = {
    "bert-for-pretraining": BertForPreTraining(bert_cfg),
    "bert-model": BertModel(bert_cfg),
    "gpt2-lm-head": GPT2LMHeadModel(gpt_cfg),
}
for name, model in models.items():
    # Random init leaves LayerNorms at 1/0 and biases at 0; perturb everything so each tensor is checked.
    with torch.no_grad():
        for prm in model.parameters(): prm.add_(torch.randn_like(prm) * 0.02)
    d = os.path.join(a.out, name)
    try:
        model.save_pretrained(d, safe_serialization=True)
    except TypeError:  # transformers 5 writes safetensors only and dropped the argument
        model.save_pretrained(d)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"inputs": {"input_ids": IDS, "attention_mask": MASK, "token_type_ids": TYPES}, **outputs(model)}, f)
    print(name, sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d)), "bytes")
