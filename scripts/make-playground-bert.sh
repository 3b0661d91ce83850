#!/usr/bin/env bash
# Trains the tiny BERT that the playground bundles for its fill-mask page (playground/public/models/tiny-bert:
# config.json, model.safetensors, tokenizer.json), with the toolkit's own command line on the bundled Shakespeare
# sample: a 1,000-word WordPiece vocabulary, 2 layers of width 64, 1,500 steps (about 5 minutes on 2 cores).
# The model is small enough to ship (under 1 MB) and good enough to fill a mask with a plausible word.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=playground/public/models/tiny-bert
cli=(node --import tsx src/cli/main.ts)
"${cli[@]}" tokenizer train --type wordpiece --input assets/tiny-shakespeare-200k.txt --vocab-size 1000 --out "$work/tokenizer.json" --quiet >/dev/null
"${cli[@]}" data bert --tokenizer "$work/tokenizer.json" --input assets/tiny-shakespeare-200k.txt --layout prose --prose-documents paragraph --max-seq-length 64 \
  --dupe-factor 3 --out "$work/shards" --quiet >/dev/null
"${cli[@]}" bert train --data "$work/shards" --tokenizer "$work/tokenizer.json" --layers 2 --hidden 64 --heads 2 --intermediate 256 \
  --batch 32 --steps 1500 --lr 1e-3 --warmup 100 --dropout 0.1 --eval-every 0 --checkpoint-every 0 --out "$work/run" --json >/dev/null
mkdir -p "$out"
cp "$work/run/checkpoint/config.json" "$work/run/checkpoint/model.safetensors" "$work/run/checkpoint/tokenizer.json" "$out/"
ls -l "$out"
