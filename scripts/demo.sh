#!/usr/bin/env bash
# The demo from a fresh Debian 12 machine: installs what is missing, builds
# the mmt tool and runs it on the bundled tiny models and sample images.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" --target mmt_tool -j "$(nproc)"
mmt="$root/build/bin/mmt"
images="$root/tests/data/clip-images"
models="$root/build/models"
"$root/scripts/make-demo-model.sh" "$mmt" "$models"
demo="$models/clip-demo"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
cat <<MSG

== mmt demo ==
The models here are tiny test models with random weights, so the labels,
rankings, word tags and transcript below are ARBITRARY: they show the tool works
end to end, not what a trained model sees. For real answers download a real
checkpoint and point --model at it:
  scripts/download-model.sh openai/clip-vit-base-patch32
  build/bin/mmt classify-image --model models/openai/clip-vit-base-patch32 IMAGE --labels "cat,dog"
  scripts/download-model.sh facebook/wav2vec2-base-960h
  build/bin/mmt transcribe --model models/facebook/wav2vec2-base-960h speech.wav --timestamps word
MSG
step "$mmt" classify-image --model "$demo" "$images/chelsea.png" --labels "cat,dog,rocket,cup of coffee"
step "$mmt" search --model "$demo" --query "a rocket on the launch pad" "$images/astronaut.png" "$images/chelsea.png" "$images/coffee.png" "$images/rocket.jpg"
step "$mmt" tokenize --model "$demo" --max-length 12 "a photo of a cat"
step "$mmt" tag-document --model "$models/layoutlm-demo" "$root/examples/layoutlm_tag_document/invoice_ocr.json"
step "$mmt" transcribe --model "$root/tests/data/wav2vec2-tiny-ctc" "$root/tests/data/wav2vec2-audio/speech_22050.wav" --timestamps word
printf '\nHuggingFace parity: clip-tiny run by mmt, its outputs written beside HF'"'"'s reference\n'
step "$mmt" forward --model "$root/tests/data/clip-tiny" --inputs "$root/tests/data/clip-tiny/reference.safetensors" --out "$root/build/clip-tiny-outputs.safetensors"
step "$mmt" inspect "$root/build/clip-tiny-outputs.safetensors"
