#!/usr/bin/env python3
"""Tiny random-weight transformers checkpoints and their reference outputs, for the Hugging Face compatibility tests.

Needs torch, transformers and safetensors (the GPU machine has them; a CPU is enough to run this).
  python3 scripts/gen_hf_fixtures.py --out test/fixtures/hf
Writes, per model, a Hugging Face directory (config.json + model.safetensors) and `reference.json` holding the fixed
inputs, the labels passed where the head takes them, and the float32 outputs transformers computes: logits, loss,
the pooled output and every hidden state. The layout is that of ../shared/fixtures/hf (made with transformers 4.40).

  python3 scripts/gen_hf_fixtures.py --check DIR
loads a directory saved by pretrain (`savePretrained`) as the class its config.json names, runs it on the same inputs
and labels, and prints the outputs as JSON, so that a test can compare them with ours.
"""
import argparse, json, os
import torch
import transformers
from transformers import (BertConfig, BertForMaskedLM, BertForMultipleChoice, BertForPreTraining, BertForSequenceClassification,
                          BertForTokenClassification, BertModel, GPT2Config, GPT2ForSequenceClassification, GPT2ForTokenClassification,
                          GPT2LMHeadModel, GPT2Model)

p = argparse.ArgumentParser()
p.add_argument("--out", default="test/fixtures/hf")
p.add_argument("--check")
a = p.parse_args()

IDS = [[2, 17, 45, 8, 91, 3, 60, 3], [2, 5, 77, 31, 3, 12, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0]]
TYPES = [[0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1, 0, 0]]
TOKEN_LABELS = [[-100, 1, 2, 0, 3, -100, 0, -100], [-100, 0, 3, 4, -100, 1, -100, -100]]
NER = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

# The labels each class takes (None: the class takes none, or is run without).
LABELS = {
    "BertModel": None, "BertForPreTraining": None, "GPT2Model": None,
    "BertForMaskedLM": [[-100, 17, -100, -100, 91, -100, -100, -100], [-100, -100, 77, -100, -100, -100, -100, -100]],
    "BertForTokenClassification": TOKEN_LABELS, "GPT2ForTokenClassification": TOKEN_LABELS,
    "BertForMultipleChoice": [1],
    "GPT2LMHeadModel": IDS,
    "GPT2ForSequenceClassification": [1, 0],
}
CLASSES = {c.__name__: c for c in [BertModel, BertForPreTraining, BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification,
                                    BertForMultipleChoice, GPT2Model, GPT2LMHeadModel, GPT2ForSequenceClassification, GPT2ForTokenClassification]}


def flat(t): return [round(float(x), 7) for x in t.detach().float().reshape(-1).tolist()]


def labels_for(model):
    name = type(model).__name__
    if name == "BertForSequenceClassification":
        return [3.5, 1.25] if model.config.problem_type == "regression" else [2, 0]
    return LABELS[name]


def outputs(model):
    model.eval()
    name = type(model).__name__
    ids, mask, types = torch.tensor(IDS), torch.tensor(MASK), torch.tensor(TYPES)
    if name == "BertForMultipleChoice":  # the two rows are the two choices of one example
        ids, mask, types = ids[None], mask[None], types[None]
    inputs = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist()}
    labels = labels_for(model)
    kw = dict(input_ids=ids, output_hidden_states=True)
    if model.config.model_type != "gpt2":  # the fixtures run GPT-2 on input ids alone
        kw.update(attention_mask=mask, token_type_ids=types)
    if labels is not None:
        kw["labels"] = torch.tensor(labels)
    with torch.no_grad():
        o = model(**kw)
    res = {"inputs": inputs, "labels": labels, "transformers": transformers.__version__, "torch": torch.__version__}
    for key in ["logits", "prediction_logits", "seq_relationship_logits", "pooler_output", "last_hidden_state"]:
        v = getattr(o, key, None)
        if v is not None:
            res[key], res[f"{key}_shape"] = flat(v), list(v.shape)
    if getattr(o, "loss", None) is not None:
        res["loss"] = float(o.loss)
    res["hidden_states"] = [flat(h) for h in o.hidden_states]
    res["hidden_shape"] = list(o.hidden_states[0].shape)
    return res


if a.check:
    arch = json.load(open(os.path.join(a.check, "config.json")))["architectures"][0]
    print(json.dumps(outputs(CLASSES[arch].from_pretrained(a.check))))
    raise SystemExit

torch.manual_seed(0)
bert = dict(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
            type_vocab_size=2)
gpt = dict(vocab_size=99, n_positions=64, n_embd=64, n_layer=2, n_head=4)
models = {
    "bert-for-pretraining": BertForPreTraining(BertConfig(**bert)),
    "bert-model": BertModel(BertConfig(**bert)),
    "gpt2-lm-head": GPT2LMHeadModel(GPT2Config(**gpt)),
    "bert-for-sequence-classification": BertForSequenceClassification(BertConfig(
        **bert, num_labels=3, id2label={0: "neg", 1: "neu", 2: "pos"}, label2id={"neg": 0, "neu": 1, "pos": 2},
        problem_type="single_label_classification")),
    "bert-for-sequence-regression": BertForSequenceClassification(BertConfig(**bert, num_labels=1, problem_type="regression")),
    "bert-for-token-classification": BertForTokenClassification(BertConfig(
        **bert, num_labels=5, id2label=dict(enumerate(NER)), label2id={n: i for i, n in enumerate(NER)})),
    "bert-for-multiple-choice": BertForMultipleChoice(BertConfig(**bert)),
    "gpt2-for-sequence-classification": GPT2ForSequenceClassification(GPT2Config(
        **gpt, num_labels=2, pad_token_id=0, problem_type="single_label_classification")),
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
        json.dump(outputs(model), f)
    print(name, sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d)), "bytes")
