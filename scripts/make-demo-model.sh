#!/usr/bin/env bash
# Writes the tiny random-weight CLIP of examples/models/clip-demo into OUT,
# with OpenAI CLIP's tokenizer files: a complete model directory for the demo.
# Usage: scripts/make-demo-model.sh MMT_BINARY OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mmt=$1
out=$2
"$mmt" random-model --config "$root/examples/models/clip-demo/config.json" --out "$out" --seed 0 >/dev/null
cp "$root/examples/models/clip-demo/preprocessor_config.json" "$out/"
cp "$root"/tests/data/clip-tokenizer/{vocab.json,merges.txt,tokenizer_config.json,special_tokens_map.json} "$out/"
