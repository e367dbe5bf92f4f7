#!/usr/bin/python3
"""mmt and ONNX Runtime side by side in one interleaved run: each round times every
row in mmt float32 and int8 (mmt_bench), then in ORT float32 and int8
(time_ort.js), so a change in the host's speed reaches both alike. Prints the
README's markdown table: each time the median over the rounds, each ratio the
median of the rounds' own ratios (a round's pair ran within seconds of each
other, on the same host weather). The speech rows also time
mmt's int8 with the feature encoder's convolutions in float32, as ORT's int8 keeps
them (its accuracy is then above ORT's: README, Accuracy).

Usage: compare.py MMT_BENCH ONNX_DIR [--rounds 3] [--min-time 3] [--rows ROW ...]
  ONNX_DIR: the graphs run.sh exports (clip-image.onnx, clip-image-int8.onnx, ...);
  NODE_PATH must reach onnxruntime-node.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess

ROWS = {  # row: the graph that runs it
    "clip_b32_image/batch:1": "clip-image", "clip_b32_image/batch:8": "clip-image", "clip_b32_text/batch:8": "clip-text",
    "layoutlm_base/1x512": "layoutlm", "layoutlm_base/8x128": "layoutlm",
    "wav2vec2_base/seconds:10": "wav2vec2", "wav2vec2_base/seconds:30": "wav2vec2",
}
HERE = os.path.dirname(os.path.abspath(__file__))


CASES = {"real_time": "f32", "int8/real_time": "int8", "int8/feature_extractor:f32/real_time": "int8 conv f32"}


def time_mmt(bench, row, min_time):
    """{case: ms} of the row's float32 and int8 cases (and int8 with float32 convolutions for speech)."""
    pattern = f"^{row}/(int8/)?(feature_extractor:f32/)?real_time$"
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    times = {}
    for case in json.loads(out)["benchmarks"]:
        assert case["time_unit"] == "ms", case
        times[CASES[case["name"][len(row) + 1:]]] = case["real_time"]
    expected = {"f32", "int8"} | ({"int8 conv f32"} if ROWS[row] == "wav2vec2" else set())
    if set(times) != expected:
        raise RuntimeError(f"mmt_bench ran {sorted(times)} for {row}, expected {sorted(expected)}")
    return times


def time_ort(onnx_dir, graph, row, min_time):
    times = {}
    for precision, suffix in (("f32", ""), ("int8", "-int8")):
        out = subprocess.run(["node", os.path.join(HERE, "time_ort.js"), os.path.join(onnx_dir, f"{graph}{suffix}.onnx"), row,
                              str(min_time)], check=True, capture_output=True, text=True).stdout
        times[precision] = json.loads(out)["median_ms"]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mmt_bench")
    parser.add_argument("onnx_dir")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-time", type=float, default=3)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args()
    samples = {row: collections.defaultdict(list) for row in args.rows}
    for r in range(args.rounds):
        for row in args.rows:
            mmt = time_mmt(args.mmt_bench, row, args.min_time)
            ort = time_ort(args.onnx_dir, ROWS[row], row, args.min_time)
            for case, ms in mmt.items():
                samples[row][f"mmt {case}"].append(ms)
            for case, ms in ort.items():
                samples[row][f"ort {case}"].append(ms)
            print(f"round {r + 1}: {row} mmt {mmt} ort {ort}", flush=True)
    print("\n| case | ORT float32 | ORT int8 | mmt float32 | / ORT float32 | mmt int8 | / ORT int8 | mmt int8, convolutions float32 | / ORT int8 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in args.rows:
        s = samples[row]

        def cells(mmt, ort):
            if not s[mmt]:
                return "— | —"
            ratio = statistics.median(a / b for a, b in zip(s[mmt], s[ort]))
            return f"{statistics.median(s[mmt]):.1f} | {ratio:.2f}"

        print(f"| {row} | {statistics.median(s['ort f32']):.1f} | {statistics.median(s['ort int8']):.1f} | "
              f"{cells('mmt f32', 'ort f32')} | {cells('mmt int8', 'ort int8')} | {cells('mmt int8 conv f32', 'ort int8')} |")


if __name__ == "__main__":
    main()
