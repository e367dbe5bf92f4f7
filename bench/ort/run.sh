#!/usr/bin/env bash
# ONNX Runtime beside mmt on this machine (not in CI: it downloads ORT).
#   1. installs python3-onnx (apt) and onnxruntime-node (npm, its CPU build; the
#      install script, which fetches GPU libraries, is skipped) into BUILD/ort;
#   2. checks export_onnx.py's graphs of the tiny fixtures against HF's outputs;
#   3. writes the real-size random models (`mmt random-model --seed 0` of the
#      configs in tests/data/configs, LayoutLM with the token classifier
#      bench_accuracy.cpp puts on it: the weights mmt_bench makes) and their
#      float32 and int8 graphs;
#   4. prints ORT int8's accuracy against ORT float32 on bench_accuracy.cpp's rows;
#   5. times every model row in mmt and ORT, interleaved (compare.py).
# Usage: bench/ort/run.sh BUILD [compare.py options]
#   BUILD: a build with bin/mmt and bin/mmt_bench (cmake -DMMT_BUILD_BENCHMARKS=ON);
#   about 5 GB of models and graphs go to BUILD/ort.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
shift
work="$build/ort"
python=/usr/bin/python3  # Debian's, where apt puts onnx and numpy
mkdir -p "$work/onnx"

if ! "$python" -c 'import onnx, numpy' 2>/dev/null; then
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get install -y -qq --no-install-recommends python3-onnx python3-numpy >/dev/null
fi
if [ ! -d "$work/node_modules/onnxruntime-node" ]; then
    npm install --prefix "$work" --ignore-scripts --no-audit --no-fund onnxruntime-node@1.31.1 >/dev/null
fi
export NODE_PATH="$work/node_modules"

# graph:fixture:config[:architecture]
graphs=(clip-image:clip-tiny:clip-vit-base-patch32 clip-text:clip-tiny:clip-vit-base-patch32
        layoutlm:layoutlm-tiny-base:layoutlm-base-uncased:LayoutLMForTokenClassification
        wav2vec2:wav2vec2-tiny-ctc:wav2vec2-base-960h)
for entry in "${graphs[@]}"; do
    IFS=: read -r graph fixture config architecture <<<"$entry"
    "$python" "$here/export_onnx.py" "$root/tests/data/$fixture" "$graph" "$work/onnx/$graph-tiny.onnx"
done
node "$here/check_parity.js" "$root/tests/data" "$work/onnx"

for entry in "${graphs[@]}"; do
    IFS=: read -r graph fixture config architecture <<<"$entry"
    model="$work/$config${architecture:+-$architecture}"
    if [ ! -f "$model/model.safetensors" ]; then
        config_file="$root/tests/data/configs/$config.json"
        if [ -n "$architecture" ]; then
            "$python" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["architectures"] = [sys.argv[2]]; json.dump(c, open(sys.argv[3], "w"))' \
                "$config_file" "$architecture" "$work/$config-$architecture.json"
            config_file="$work/$config-$architecture.json"
        fi
        "$build/bin/mmt" random-model --config "$config_file" --out "$model" --seed 0 >/dev/null
    fi
    [ -f "$work/onnx/$graph.onnx" ] || "$python" "$here/export_onnx.py" "$model" "$graph" "$work/onnx/$graph.onnx"
    [ -f "$work/onnx/$graph-int8.onnx" ] || "$python" "$here/export_onnx.py" "$model" "$graph" "$work/onnx/$graph-int8.onnx" --int8
done

for row in clip-image:clip_b32_image/batch:8 clip-text:clip_b32_text/batch:8 layoutlm:layoutlm_base/1x512 wav2vec2:wav2vec2_base/seconds:10; do
    graph=${row%%:*}
    node "$here/accuracy_ort.js" "$work/onnx/$graph.onnx" "$work/onnx/$graph-int8.onnx" "${row#*:}"
done
"$python" "$here/compare.py" "$build/bin/mmt_bench" "$work/onnx" "$@"
