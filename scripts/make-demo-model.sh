#!/usr/bin/env bash
# Writes the demo's model directories into OUT:
#   OUT/clip-demo      the tiny random-weight CLIP of examples/models/clip-demo with
#                      OpenAI CLIP's tokenizer files
#   OUT/layoutlm-demo  tests/data/layoutlm-tiny-token-cls with a WordPiece tokenizer:
#                      the first vocab_size (99) lines of the layoutlm-tokenizer fixture's
#                      vocab.txt, so every id has an embedding row
# Usage: scripts/make-demo-model.sh MMT_BINARY OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mmt=$1
out=$2
data="$root/tests/data"

clip="$out/clip-demo"
"$mmt" random-model --config "$root/examples/models/clip-demo/config.json" --out "$clip" --seed 0 >/dev/null
cp "$root/examples/models/clip-demo/preprocessor_config.json" "$clip/"
cp "$data"/clip-tokenizer/{vocab.json,merges.txt,tokenizer_config.json,special_tokens_map.json} "$clip/"

layoutlm="$out/layoutlm-demo"
mkdir -p "$layoutlm"
cp "$data"/layoutlm-tiny-token-cls/{config.json,model.safetensors} "$layoutlm/"
cp "$data"/layoutlm-tokenizer/{tokenizer_config.json,special_tokens_map.json} "$layoutlm/"
head -n 99 "$data/layoutlm-tokenizer/vocab.txt" > "$layoutlm/vocab.txt"
