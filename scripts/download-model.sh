#!/usr/bin/env bash
# Downloads a HuggingFace hub model's files into models/REPO with curl,
# resuming partial files: config.json, the weights (model.safetensors, or the
# index and every shard it lists), and whichever tokenizer and preprocessor
# files the repository has.
# Usage: scripts/download-model.sh REPO [REVISION]   e.g. openai/clip-vit-base-patch32
# Set HF_ENDPOINT for a mirror and HF_TOKEN for gated models.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 REPO [REVISION]   e.g. $0 openai/clip-vit-base-patch32" >&2; exit 2; }
repo=$1
revision=${2:-main}
endpoint=${HF_ENDPOINT:-https://huggingface.co}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/models/$repo"
mkdir -p "$out"
auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")

# fetch FILE required|optional: 0 when downloaded, 1 when an optional file is absent.
fetch() {
  local file=$1 need=$2 url="$endpoint/$repo/resolve/$revision/$1" code
  code=$(curl -sS -L "${auth[@]}" -C - -o "$out/$file.part" -w '%{http_code}' "$url") || {
    echo "error: download of $url failed (network?); run again to resume" >&2; exit 1; }
  case $code in
    200|206|416) mv "$out/$file.part" "$out/$file"; echo "  $file"; return 0 ;;
    404) rm -f "$out/$file.part"
         [ "$need" = optional ] && return 1
         echo "error: $url not found (HTTP 404): is '$repo' the right repository?" >&2; exit 1 ;;
    401|403) rm -f "$out/$file.part"
         echo "error: $url refused (HTTP $code): gated or private; set HF_TOKEN" >&2; exit 1 ;;
    *) echo "error: $url answered HTTP $code; run again to resume" >&2; exit 1 ;;
  esac
}

echo "downloading $repo ($revision) into $out"
fetch config.json required
if ! fetch model.safetensors optional; then
  fetch model.safetensors.index.json optional || {
    echo "error: $repo has neither model.safetensors nor model.safetensors.index.json (only PyTorch .bin weights?)" >&2; exit 1; }
  for shard in $(grep -o '"[^"]*\.safetensors"' "$out/model.safetensors.index.json" | tr -d '"' | sort -u); do
    fetch "$shard" required
  done
fi
for file in tokenizer_config.json special_tokens_map.json vocab.json merges.txt vocab.txt tokenizer.json \
            preprocessor_config.json added_tokens.json; do
  fetch "$file" optional || true
done
echo "done: build/bin/mmt inspect $out/model.safetensors"
