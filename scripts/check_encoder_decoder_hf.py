#!/usr/bin/env python3
"""Loads an encoder-decoder directory with transformers' EncoderDecoderModel.from_pretrained and prints, as one JSON
line, its outputs on the inputs of test/fixtures/encoder-decoder/bert2bert/reference.json (two padded source/target
pairs; labels = the decoder inputs): logits, loss, the decoder's and the encoder's hidden states, flattened, in that
file's layout. scripts/check-encoder-decoder-roundtrip.ts runs it on directories pretrain saved and compares.

  python3 scripts/check_encoder_decoder_hf.py DIR
Needs torch and transformers (the GPU machine has them; a CPU runs this).
"""
import json, sys
import torch
from transformers import EncoderDecoderModel

INPUTS = {"input_ids": [[2, 17, 45, 8, 91, 3, 60, 3], [2, 5, 77, 31, 3, 12, 0, 0]], "attention_mask": [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0]],
          "decoder_input_ids": [[2, 40, 41, 42, 3], [2, 50, 51, 3, 0]], "decoder_attention_mask": [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]}


def flat(t): return [round(float(x), 7) for x in t.detach().float().reshape(-1).tolist()]


model = EncoderDecoderModel.from_pretrained(sys.argv[1]).eval()
kw = {k: torch.tensor(v) for k, v in INPUTS.items()}
with torch.no_grad():
    o = model(**kw, labels=kw["decoder_input_ids"], output_hidden_states=True)
print(json.dumps({"inputs": INPUTS, "logits": flat(o.logits), "loss": float(o.loss), "hidden_states": [flat(h) for h in o.decoder_hidden_states],
                  "encoder_hidden_states": [flat(h) for h in o.encoder_hidden_states]}))
