#!/usr/bin/python3
"""The mmt tool against hostile inputs, one case per class of docs/robustness.md.

Each case makes its files in a scratch folder, runs the tool once and checks what a
user would see: for a refused input a non-zero exit (not a signal) and exactly one
line on stderr, "mmt: error: ...", free of control bytes, that names the file or the
argument; for an input that must work (a streamed WAV, an empty OCR word) exit 0,
with what the row's `output` lists on stdout (the worker answers a bad request on
stdout and goes on).
Every case must end within 20 s and peak under 300 MB resident (wait4's ru_maxrss):
a hang or a blow-up is a failure, as in the fuzzers.

Run by CTest when the tool is built (tests/CMakeLists.txt), or by hand:
    /usr/bin/python3 tests/hostile/hostile_inputs.py --tool build/bin/mmt --data tests/data [--case NAME...] [--list]
The tool and the data folder also come from MMT_TOOL and MMT_TEST_DATA_DIR.

To add a case, write a function that makes its files and returns the tool's
arguments (or the arguments and the bytes for its stdin), and add a row to CASES
below.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

MAX_SECONDS = 20
MAX_RSS_BYTES = 300 << 20


# ---------------------------------------------------------------- files the cases use

def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def safetensors_bytes(tensors, header_text: Optional[str] = None, tail: bytes = b"") -> bytes:
    """A safetensors file of F32 tensors {name: list of floats}; header_text replaces the header."""
    header, data = {}, b""
    for name, values in tensors.items():
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [len(data), len(data) + 4 * len(values)]}
        data += struct.pack(f"<{len(values)}f", *values)
    text = (header_text if header_text is not None else json.dumps(header)).encode()
    return struct.pack("<Q", len(text)) + text + data + tail


def png_bytes(width: int, height: int) -> bytes:
    """An 8-bit RGB PNG of one colour, compressed row by row (a 9000 x 9000 one is 1 MB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    compressor = zlib.compressobj(1)
    row = b"\x00" + b"\x80\x40\x20" * width
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def wav_bytes(samples: int, rate: int = 16000, riff_size: Optional[int] = None, data_size: Optional[int] = None) -> bytes:
    """16-bit mono PCM; riff_size / data_size override the header's sizes."""
    data = b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(samples))
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


class Context:
    """The tool, the test data and one scratch folder per case; models made once."""

    def __init__(self, tool: Path, data: Path, examples: Path, scratch: Path):
        self.tool, self.data, self.examples, self.scratch = tool, data, examples, scratch
        self._models = {}

    def folder(self, name: str) -> Path:
        path = self.scratch / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def clip_model(self) -> Path:
        """The demo CLIP (random weights) with the CLIP tokenizer and image processor."""
        if "clip" not in self._models:
            out = self.scratch / "models" / "clip"
            if not (out / "model.safetensors").exists():
                shutil.rmtree(out, ignore_errors=True)
                subprocess.run([str(self.tool), "random-model", "--config", str(self.examples / "models/clip-demo/config.json"),
                                "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
                shutil.copy(self.examples / "models/clip-demo/preprocessor_config.json", out)
                for f in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
                    shutil.copy(self.data / "clip-tokenizer" / f, out)
            self._models["clip"] = out
        return self._models["clip"]

    def layoutlm_model(self) -> Path:
        """layoutlm-tiny-token-cls with the LayoutLM tokenizer cut to its 99 ids."""
        if "layoutlm" not in self._models:
            out = self.scratch / "models" / "layoutlm"
            out.mkdir(parents=True, exist_ok=True)
            for f in ("config.json", "model.safetensors"):
                shutil.copy(self.data / "layoutlm-tiny-token-cls" / f, out)
            for f in ("tokenizer_config.json", "special_tokens_map.json"):
                shutil.copy(self.data / "layoutlm-tokenizer" / f, out)
            vocab_size = json.loads((out / "config.json").read_text())["vocab_size"]
            lines = (self.data / "layoutlm-tokenizer" / "vocab.txt").read_text().splitlines()[:vocab_size]
            (out / "vocab.txt").write_text("\n".join(lines) + "\n")
            self._models["layoutlm"] = out
        return self._models["layoutlm"]

    def copy_model(self, model: Path, name: str) -> Path:
        out = self.folder(name)
        for f in model.iterdir():
            shutil.copy(f, out)
        return out

    def cat(self) -> str:
        return str(self.data / "clip-images/chelsea.png")


def invoice(words) -> dict:
    """An OCR page of the given words in a row."""
    return {"width": 1000, "height": 1000,
            "words": [{"text": w, "box": [10 + 40 * (i % 20), 10 + 30 * (i // 20 % 30), 40 + 40 * (i % 20), 30 + 30 * (i // 20 % 30)]}
                      for i, w in enumerate(words)]}


# ---------------------------------------------------------------- the cases
# Each makes its files in ctx.folder(name) and returns the tool's arguments.

def big_config(ctx, d):  # 300 MB config.json, sparse: refused from its size
    model = ctx.copy_model(ctx.clip_model(), d.name)
    with open(model / "config.json", "r+b") as f:
        f.truncate(300 << 20)
    return ["embed", "--model", str(model), "--text", "a", "--out", str(model / "e.safetensors")]


def ocr_over_max_words(ctx, d):  # 100 001 words: refused while parsing
    return ["tag-document", "--model", str(ctx.layoutlm_model()), str(write_json(d / "ocr.json", invoice(["word"] * 100001)))]


def many_added_tokens(ctx, d):  # 50 000 added tokens, a 100 KB text: linear time
    model = ctx.copy_model(ctx.clip_model(), d.name)
    config = json.loads((model / "tokenizer_config.json").read_text())
    for i in range(50000):
        config["added_tokens_decoder"][str(49408 + i)] = {"content": f"<tok{i}>", "lstrip": False, "normalized": False,
                                                           "rstrip": False, "single_word": False, "special": False}
    write_json(model / "tokenizer_config.json", config)
    return ["tokenize", "--model", str(model), "<tok7> abc " * 9000]


def safetensors_duplicate(ctx, d):
    (d / "dup.safetensors").write_bytes(safetensors_bytes({}, '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                                              '"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 4))
    return ["inspect", str(d / "dup.safetensors")]


def safetensors_trailing_bytes(ctx, d):
    (d / "tail.safetensors").write_bytes(safetensors_bytes({"a": [1.0]}, tail=b"\0" * 4))
    return ["inspect", str(d / "tail.safetensors")]


def safetensors_lfs_pointer(ctx, d):
    (d / "model.safetensors").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 605000000\n")
    return ["inspect", str(d / "model.safetensors")]


def safetensors_html_page(ctx, d):
    (d / "model.safetensors").write_text("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>\n")
    return ["inspect", str(d / "model.safetensors")]


def broken_symlink(ctx, d):  # an HF cache whose blob was deleted
    model = ctx.copy_model(ctx.clip_model(), d.name)
    (model / "model.safetensors").unlink()
    (model / "model.safetensors").symlink_to("../../blobs/4d7a1f2c")
    return ["embed", "--model", str(model), "--text", "a", "--out", str(model / "e.safetensors")]


def ffmpeg_streamed_wav(ctx, d):  # RIFF and data sizes 0xFFFFFFFF: read to the end, as FFmpeg does
    (d / "streamed.wav").write_bytes(wav_bytes(16000, riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF))
    return ["transcribe", "--model", str(ctx.data / "wav2vec2-tiny-ctc"), str(d / "streamed.wav")]


def wrong_riff_size(ctx, d):
    (d / "short-riff.wav").write_bytes(wav_bytes(16000, riff_size=4))
    return ["transcribe", "--model", str(ctx.data / "wav2vec2-tiny-ctc"), str(d / "short-riff.wav")]


def control_bytes_in_message(ctx, d):  # an OCR word with a terminal escape, in a box error
    page = invoice(["\x1b]0;pwned\x07\x1b[2J", "total"])
    page["words"][0]["box"] = [500, 10, 400, 30]  # x1 < x0
    return ["tag-document", "--model", str(ctx.layoutlm_model()), str(write_json(d / "ocr.json", page))]


def full_disk(ctx, d):  # through a link: a tool that renamed a temporary onto it replaces the link, not the device
    (d / "full.safetensors").symlink_to("/dev/full")
    return ["embed", "--model", str(ctx.clip_model()), "--text", "a", "--out", str(d / "full.safetensors")]


def huge_max_length(ctx, d):
    words = {"words": ["total"], "boxes": [[1, 2, 3, 4]], "max_length": 1e30}
    return ["tokenize", "--model", str(ctx.layoutlm_model()), "--words-json", str(write_json(d / "words.json", words))]


def model_max_length_1e30(ctx, d):  # HF's "no limit" value, padded to (no config.json to bound it by the model's positions)
    model = ctx.copy_model(ctx.layoutlm_model(), d.name)
    (model / "config.json").unlink()
    config = json.loads((model / "tokenizer_config.json").read_text())
    config["model_max_length"] = 1e30
    write_json(model / "tokenizer_config.json", config)
    return ["tokenize", "--model", str(model), "total"]


def box_1e300(ctx, d):
    words = {"words": ["total"], "boxes": [[1, 2, 1e300, 4]]}
    return ["tokenize", "--model", str(ctx.layoutlm_model()), "--words-json", str(write_json(d / "words.json", words))]


# Round two (issue 17).

def threads_zero(ctx, d):  # CLI11 printed DBL_MAX in 309 digits
    return ["--threads", "0", "inspect", "x.safetensors"]


def out_of_memory(ctx, d):  # an 81-megapixel image in 200 MB of address space: std::bad_alloc
    (d / "huge.png").write_bytes(png_bytes(9000, 9000))
    return ["--threads", "1", "preprocess-image", "--model", str(ctx.clip_model()), str(d / "huge.png"), "--out", str(d / "p.safetensors")]


def negative_layer_norm_eps(ctx, d):  # printed -nan probabilities with exit 0
    model = ctx.copy_model(ctx.clip_model(), d.name)
    config = json.loads((model / "config.json").read_text())
    config.setdefault("text_config", {})["layer_norm_eps"] = -1e-5
    write_json(model / "config.json", config)
    return ["classify-image", "--model", str(model), ctx.cat(), "--labels", "cat,dog"]


def nan_clip_model(ctx, name: str) -> Path:
    """The demo CLIP with visual_projection.weight all NaN."""
    model = ctx.copy_model(ctx.clip_model(), name)
    blob = bytearray((model / "model.safetensors").read_bytes())
    header_len = struct.unpack("<Q", blob[:8])[0]
    entry = json.loads(blob[8:8 + header_len])["visual_projection.weight"]
    begin, end = (8 + header_len + o for o in entry["data_offsets"])
    blob[begin:end] = struct.pack("<f", float("nan")) * ((end - begin) // 4)
    (model / "model.safetensors").write_bytes(bytes(blob))
    return model


def nan_weights(ctx, d):  # NaN embeddings written with exit 0
    return ["embed", "--model", str(nan_clip_model(ctx, d.name + "-model")), "--image", ctx.cat(), "--out", str(d / "e.safetensors")]


def worker_nan_weights(ctx, d):  # answered with an error line, and the worker goes on
    request = json.dumps({"id": 1, "path": ctx.cat()}) + "\n"
    return ["worker", "--model", str(nan_clip_model(ctx, d.name + "-model")), "--task", "embed"], request.encode()


def worker_out_of_memory(ctx, d):  # one request too large in 200 MB of address space; the next one is answered
    (d / "huge.png").write_bytes(png_bytes(9000, 9000))
    requests = json.dumps({"id": 1, "path": str(d / "huge.png")}) + "\n" + json.dumps({"id": 2, "text": "a"}) + "\n"
    return ["--threads", "1", "worker", "--model", str(ctx.clip_model()), "--task", "embed"], requests.encode()


def empty_ocr_word(ctx, d):  # failed the document; HF drops it
    return ["tag-document", "--model", str(ctx.layoutlm_model()), str(write_json(d / "ocr.json", invoice(["Invoice", "", " ", "total"])))]


def many_large_images(ctx, d):  # 40 images of 2000 x 2000 were all decoded first (518 MB)
    (d / "large.png").write_bytes(png_bytes(2000, 2000))
    return ["--threads", "1", "embed", "--model", str(ctx.clip_model()), "--image"] + [str(d / "large.png")] * 40 + ["--out", str(d / "e.safetensors")]


def many_labels(ctx, d):  # 1000 labels through the text tower in one pass
    return ["classify-image", "--model", str(ctx.clip_model()), ctx.cat(), "--labels", ",".join(f"thing {i}" for i in range(1000))]


@dataclass
class Case:
    name: str
    make: Callable  # (ctx, folder) -> the tool's arguments, or (arguments, stdin bytes)
    names: List[str] = field(default_factory=list)  # what the error line must name (file, argument, key); empty: success
    output: List[str] = field(default_factory=list)  # what stdout must hold, for a case that succeeds
    limit_address_space: Optional[int] = None  # bytes of RLIMIT_AS for the tool

    @property
    def expects_error(self) -> bool:
        return bool(self.names)


# Work sized by a header, checked before it is done (images, audio).

def png_header_10k(ctx, d):  # 57 bytes declaring 10000 x 10000: refused before a buffer is sized
    (d / "tiny.png").write_bytes(png_bytes(10000, 10000)[:57])
    return ["embed", "--model", str(ctx.clip_model()), "--image", str(d / "tiny.png"), "--out", str(d / "e.safetensors")]


def thin_image(ctx, d):  # 1 x 60000: its shortest-edge resize to 224 would be 224 x 13.4 million
    (d / "thin.png").write_bytes(png_bytes(60000, 1))
    return ["embed", "--model", str(ctx.clip_model()), "--image", str(d / "thin.png"), "--out", str(d / "e.safetensors")]


def wav_1hz_three_hours(ctx, d):  # 10 800 samples at 1 Hz: 172.8 million at 16 kHz
    (d / "slow.wav").write_bytes(wav_bytes(10800, rate=1))
    return ["transcribe", "--model", str(ctx.data / "wav2vec2-tiny-ctc"), str(d / "slow.wav")]


def prime_rate_wav(ctx, d):  # 2^31 - 1 Hz: the resampler's kernel would hold ~26 billion taps
    (d / "prime.wav").write_bytes(wav_bytes(16000, rate=2**31 - 1))
    return ["transcribe", "--model", str(ctx.data / "wav2vec2-tiny-ctc"), str(d / "prime.wav")]


CASES = [
    Case("config.json of 300 MB", big_config, ["config.json", "too large"]),
    Case("OCR file of 100 001 words", ocr_over_max_words, ["ocr.json", "max_words"]),
    Case("50 000 added tokens and a 100 KB text", many_added_tokens),
    Case("safetensors: a tensor name twice", safetensors_duplicate, ["dup.safetensors", "appears twice"]),
    Case("safetensors: bytes after the last tensor", safetensors_trailing_bytes, ["tail.safetensors", "after the last tensor"]),
    Case("safetensors: a Git LFS pointer", safetensors_lfs_pointer, ["model.safetensors", "Git LFS pointer"]),
    Case("safetensors: an HTML page", safetensors_html_page, ["model.safetensors", "HTML page"]),
    Case("a broken symlink for model.safetensors", broken_symlink, ["model.safetensors", "4d7a1f2c"]),
    Case("WAV streamed by FFmpeg (sizes 0xFFFFFFFF)", ffmpeg_streamed_wav),
    Case("WAV with a wrong RIFF size", wrong_riff_size, ["short-riff.wav", "RIFF size"]),
    Case("control bytes in an OCR word", control_bytes_in_message, ["\\x1b]0;pwned\\x07\\x1b[2J"]),
    Case("--out /dev/full (a full disk)", full_disk, ["full.safetensors", "No space left on device"]),
    Case("--words-json max_length 1e30", huge_max_length, ["words.json", "max_length"]),
    Case("tokenizer model_max_length 1e30", model_max_length_1e30, ["model_max_length"]),
    Case("--words-json box of 1e300", box_1e300, ["words.json", "boxes[0][2]"]),
    Case("--threads 0", threads_zero, ["--threads", ">= 1"]),
    Case("out of memory (81 megapixels in 200 MB)", out_of_memory, ["preprocess-image", "input too large"],
         limit_address_space=200 << 20),
    Case("layer_norm_eps below 0", negative_layer_norm_eps, ["config.json", "layer_norm_eps"]),
    Case("NaN weights", nan_weights, ["image_embeds", "NaN"]),
    Case("worker: NaN weights", worker_nan_weights, output=['"id":1,"error":"worker: embeddings: value 0 of 32 is NaN']),
    Case("worker: out of memory (81 megapixels in 200 MB)", worker_out_of_memory,
         output=['"id":1,"error":"worker: input too large', '"id":2,"embedding"'], limit_address_space=200 << 20),
    Case("empty OCR words", empty_ocr_word),
    Case("40 images of 2000 x 2000", many_large_images),
    Case("1000 labels", many_labels),
    Case("PNG header of 10000 x 10000 in 57 bytes", png_header_10k, ["tiny.png", "10000x10000"]),
    Case("a 60000 x 1 image for a 224 shortest edge", thin_image, ["thin.png", "resize"]),
    Case("WAV at 1 Hz, three hours", wav_1hz_three_hours, ["slow.wav", "7200 s"]),
    Case("WAV at 2^31-1 Hz", prime_rate_wav, ["prime.wav", "768000"]),
]


# ---------------------------------------------------------------- running and checking

def control_bytes(text: bytes) -> List[str]:
    """Bytes a terminal acts on: C0 (but the final newline), DEL, C1 as UTF-8."""
    found = [f"\\x{b:02x}" for b in text.rstrip(b"\n") if b < 0x20 or b == 0x7f]
    found += [f"\\u00{text[i + 1]:02x}" for i in range(len(text) - 1) if text[i] == 0xc2 and 0x80 <= text[i + 1] <= 0x9f]
    return found


def run_case(ctx: Context, case: Case):
    """Problems found (empty: passed), and a one-line summary."""
    folder = ctx.folder(case.name.translate(str.maketrans(" /:", "___")))
    made = case.make(ctx, folder)
    args, stdin = made if isinstance(made, tuple) else (made, b"")
    (folder / "stdin").write_bytes(stdin)
    out_path, err_path = folder / "stdout", folder / "stderr"

    def limits():
        if case.limit_address_space:
            resource.setrlimit(resource.RLIMIT_AS, (case.limit_address_space, case.limit_address_space))

    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err, open(folder / "stdin", "rb") as given:
        child = subprocess.Popen([str(ctx.tool)] + args, stdout=out, stderr=err, stdin=given, preexec_fn=limits)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > MAX_SECONDS:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        child.returncode = 0  # reaped here, not by Popen
    seconds = time.monotonic() - start
    rss = usage.ru_maxrss * 1024
    stderr = err_path.read_bytes()

    problems = []
    if timed_out:
        problems.append(f"still running after {MAX_SECONDS} s (killed)")
    elif os.WIFSIGNALED(status):
        problems.append(f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}")
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if rss > MAX_RSS_BYTES:
        problems.append(f"peak RSS {rss >> 20} MB, over {MAX_RSS_BYTES >> 20} MB")
    if case.expects_error and not timed_out:
        if code in (None, 0):
            problems.append(f"exit status {code}, expected a non-zero exit")
        lines = stderr.count(b"\n")
        if lines != 1 or not stderr.endswith(b"\n"):
            problems.append(f"stderr is {lines} lines, expected one")
        if not stderr.startswith(b"mmt: error: "):
            problems.append("stderr does not start with 'mmt: error: '")
        if control_bytes(stderr):
            problems.append("control bytes in the message: " + " ".join(control_bytes(stderr)))
        message = stderr.decode("utf-8", "replace")
        problems += [f"the message does not name {n!r}" for n in case.names if n not in message]
        if len(message) > 2000:
            problems.append(f"a message of {len(message)} characters")
    elif not case.expects_error and not timed_out:
        if code != 0:
            problems.append(f"exit status {code}, expected 0")
        stdout = out_path.read_bytes().decode("utf-8", "replace")
        problems += [f"stdout lacks {o!r}" for o in case.output if o not in stdout]
    first_line = stderr.decode("utf-8", "replace").splitlines()[0] if stderr else "(no stderr)"
    summary = f"{seconds:5.1f} s {rss >> 20:4d} MB  exit {code}  {first_line[:160]}"
    return problems, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tool", default=os.environ.get("MMT_TOOL"), help="the mmt binary (or MMT_TOOL)")
    parser.add_argument("--data", default=os.environ.get("MMT_TEST_DATA_DIR"), help="tests/data (or MMT_TEST_DATA_DIR)")
    parser.add_argument("--examples", help="the examples folder (default: beside tests/)")
    parser.add_argument("--scratch", help="folder for the cases' files (default: a temporary one, removed)")
    parser.add_argument("--case", action="append", help="run only the cases whose name contains this (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases")
    a = parser.parse_args()
    if a.list:
        print("\n".join(c.name for c in CASES))
        return 0
    if not a.tool or not a.data:
        parser.error("give --tool and --data (or MMT_TOOL and MMT_TEST_DATA_DIR)")
    data = Path(a.data).resolve()
    examples = Path(a.examples).resolve() if a.examples else data.parent.parent / "examples"
    scratch = Path(a.scratch) if a.scratch else Path(tempfile.mkdtemp(prefix="mmt-hostile-"))
    ctx = Context(Path(a.tool).resolve(), data, examples, scratch.resolve())
    cases = [c for c in CASES if not a.case or any(s in c.name for s in a.case)]
    failed = 0
    try:
        for case in cases:
            problems, summary = run_case(ctx, case)
            print(f"{'FAIL' if problems else 'ok  '} {case.name}: {summary}")
            for p in problems:
                print(f"       {p}")
            failed += bool(problems)
    finally:
        if not a.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(cases) - failed} of {len(cases)} hostile-input cases passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
