"""The Python module against the C++ pipelines: every binding's output equals what the
`mmt` tool's worker (the same pipelines, in C++) answers for the same input, bit for
bit (its JSON numbers round-trip float32 exactly); AutoModel.forward equals `mmt forward`
bit for bit and HF's reference within the parity tolerance; each error kind raises its
class with the library's message.

Run by CTest with PYTHONPATH=<build>/python, MMT_TOOL=<build>/bin/mmt and
MMT_TEST_DATA_DIR=tests/data.
"""
import json
import os
import pathlib
import subprocess
import wave

import numpy as np
import pytest

import mmt

TOOL = os.environ["MMT_TOOL"]
DATA = pathlib.Path(os.environ["MMT_TEST_DATA_DIR"])
ROOT = DATA.parent.parent
CHELSEA = DATA / "clip-images" / "chelsea.png"
ROCKET = DATA / "clip-images" / "rocket.jpg"
SPEECH = DATA / "wav2vec2-audio" / "speech_22050.wav"
CTC = DATA / "wav2vec2-tiny-ctc"
DOCUMENT = {
    "width": 500,
    "height": 100,
    "words": [
        {"text": "Invoice", "box": [10, 10, 90, 30]},
        {"text": "number", "box": [100, 10, 180, 30]},
        {"text": "42", "box": [190, 10, 220, 30]},
        {"text": "total:", "box": [10, 50, 60, 70]},
        {"text": "$17.50", "box": [70, 50, 140, 70]},
    ],
}


def read_safetensors(path):
    """{name: array} of a safetensors file (numpy alone: an 8-byte header size, a JSON header, the data)."""
    raw = pathlib.Path(path).read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    dtypes = {"F32": np.float32, "I64": np.int64, "F64": np.float64, "I32": np.int32}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + size + begin : 8 + size + end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    names = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.float64): "F64", np.dtype(np.int32): "I32"}
    for name, t in tensors.items():
        data = np.ascontiguousarray(t).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    pathlib.Path(path).write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))


def worker(model, task, requests):
    """`mmt worker`'s answer to each request, in order."""
    lines = "".join(json.dumps(dict(r, id=i)) + "\n" for i, r in enumerate(requests))
    done = subprocess.run([TOOL, "worker", "--model", str(model), "--task", task], input=lines, capture_output=True, text=True, check=True)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == list(range(len(requests)))
    for a in answers:
        assert "error" not in a, a
    return answers


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory):
    """scripts/make-demo-model.sh's clip-demo and layoutlm-demo, and a LayoutLM document classifier."""
    out = tmp_path_factory.mktemp("models")
    subprocess.run([str(ROOT / "scripts" / "make-demo-model.sh"), TOOL, str(out)], check=True, capture_output=True)
    config = json.loads((DATA / "layoutlm-tiny-token-cls" / "config.json").read_text())
    config.update(architectures=["LayoutLMForSequenceClassification"], id2label={"0": "invoice", "1": "letter", "2": "form"},
                  label2id={"invoice": 0, "letter": 1, "form": 2})
    (out / "classifier.json").write_text(json.dumps(config))
    classifier = out / "layoutlm-classifier"
    subprocess.run([TOOL, "random-model", "--config", str(out / "classifier.json"), "--out", str(classifier), "--seed", "3"],
                   check=True, capture_output=True)
    for f in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        (classifier / f).write_bytes((out / "layoutlm-demo" / f).read_bytes())
    return {"clip": out / "clip-demo", "layoutlm": out / "layoutlm-demo", "classifier": classifier}


@pytest.fixture(scope="session")
def clip(demo_models):
    return mmt.Embedder(demo_models["clip"])


def test_embed_texts_and_images_equal_the_worker(clip, demo_models):
    texts = ["a photo of a cat", "a rocket", ""]
    answers = worker(demo_models["clip"], "embed", [{"text": t} for t in texts] + [{"path": str(CHELSEA)}, {"path": str(ROCKET)}])
    expected = np.array([a["embedding"] for a in answers], dtype=np.float32)
    got = clip.embed_texts(texts)
    assert got.dtype == np.float32 and got.shape == (3, expected.shape[1])
    assert np.array_equal(got, expected[:3])
    # An image as a path, a pathlib.Path, encoded bytes or decoded pixels: the same embedding.
    pixels = mmt.read_image(ROCKET)
    assert pixels.dtype == np.uint8 and pixels.shape[2] == 3
    for images in ([str(CHELSEA), ROCKET], [CHELSEA.read_bytes(), pixels]):
        assert np.array_equal(clip.embed_images(images), expected[3:])
    # A strided view is read as its values.
    spread = np.zeros((pixels.shape[0], pixels.shape[1] * 2, 3), np.uint8)
    spread[:, ::2] = pixels
    assert np.array_equal(clip.embed_images([spread[:, ::2]]), expected[4:])


def test_classify_image_equals_the_worker(clip, demo_models):
    labels = ["cat", "dog", "rocket"]
    for template in [None, "a blurry photo of a {}"]:
        request = {"path": str(CHELSEA), "labels": labels}
        if template:
            request["template"] = template
        [answer] = worker(demo_models["clip"], "classify-image", [request])
        assert clip.classify_image(CHELSEA, labels, template) == answer["labels"]


def test_transcribe_equals_the_worker():
    asr = mmt.SpeechRecognizer(CTC)
    assert asr.sampling_rate == 16000
    answers = worker(CTC, "transcribe", [{"path": str(SPEECH), "timestamps": "word"}, {"path": str(SPEECH), "chunk_seconds": 1}])
    got = asr.transcribe(SPEECH, return_timestamps="word")
    assert got["text"] == answers[0]["text"]
    assert [(c["text"], list(c["timestamp"])) for c in got["chunks"]] == [(c["text"], c["timestamp"]) for c in answers[0]["chunks"]]
    assert asr.transcribe(str(SPEECH), chunk_length_s=1) == {"text": answers[1]["text"]}
    # The same audio as samples and their rate (Python's wave module reads the 16-bit PCM).
    with wave.open(str(SPEECH)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    assert asr.transcribe(samples, sampling_rate=rate, return_timestamps="word") == got
    with pytest.raises(ValueError, match="return_timestamps"):
        asr.transcribe(SPEECH, return_timestamps="sentence")


def test_documents_equal_the_worker(demo_models):
    tagger = mmt.DocumentModel(demo_models["layoutlm"])
    [answer] = worker(demo_models["layoutlm"], "tag-document", [{"document": DOCUMENT}])
    assert tagger.tag(DOCUMENT) == answer["words"]
    classifier = mmt.DocumentModel(demo_models["classifier"])
    [answer] = worker(demo_models["classifier"], "classify-document", [{"document": DOCUMENT}])
    got = classifier.classify(DOCUMENT)
    assert (got["label"], got["score"], got["labels"]) == (answer["label"], answer["score"], answer["labels"])
    assert {s["label"]: s["score"] for s in got["scores"]} == answer["probabilities"]
    assert got["multi_label"] == (answer["function"] == "sigmoid")
    with pytest.raises(mmt.InputError, match="LayoutLMForTokenClassification"):
        tagger.classify(DOCUMENT)


@pytest.mark.parametrize("fixture", ["wav2vec2-tiny-ctc", "clip-tiny", "layoutlm-tiny-token-cls"])
def test_forward_equals_the_tool_and_hf(fixture, tmp_path):
    reference = read_safetensors(DATA / fixture / "reference.safetensors")
    inputs = {name[len("input."):]: t for name, t in reference.items() if name.startswith("input.")}
    got = mmt.AutoModel(DATA / fixture).forward(inputs)
    subprocess.run([TOOL, "forward", "--model", str(DATA / fixture), "--inputs", str(DATA / fixture / "reference.safetensors"),
                    "--out", str(tmp_path / "out.safetensors")], check=True, capture_output=True)
    tool = read_safetensors(tmp_path / "out.safetensors")
    assert sorted(got) == sorted(name[len("output."):] for name in tool)
    for name, t in got.items():
        assert t.dtype == np.float32 and np.array_equal(t, tool["output." + name]), name
        if "output." + name in reference:
            assert np.abs(t - reference["output." + name]).max() <= 1e-5, name


def tool_message(*args):
    done = subprocess.run([TOOL, *args], capture_output=True, text=True)
    assert done.returncode != 0
    return done.stderr.strip()


def test_errors_raise_their_kind_with_the_library_message(clip, tmp_path):
    with pytest.raises(mmt.IoError) as e:
        mmt.Embedder(tmp_path / "missing")
    assert str(e.value) in tool_message("embed", "--model", str(tmp_path / "missing"), "--text", "x", "--out", str(tmp_path / "x"))
    with pytest.raises(mmt.FormatError, match="image"):
        clip.embed_images([b"not an image"])
    with pytest.raises(mmt.InputError, match="has no \"{}\""):
        clip.classify_image(CHELSEA, ["cat"], "no placeholder")
    with pytest.raises(mmt.ShapeError, match="rank"):
        mmt.AutoModel(CTC).forward({"input_values": np.zeros(16000, np.float32)})
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"model_type": "no-such-family"}')
    with pytest.raises(mmt.ConfigError, match="no-such-family"):
        mmt.AutoModel(tmp_path / "bad")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes((CTC / "config.json").read_bytes())
    weights = read_safetensors(CTC / "model.safetensors")
    missing = next(iter(weights))
    write_safetensors(broken / "model.safetensors", {name: t for name, t in weights.items() if name != missing})
    with pytest.raises(mmt.WeightError, match=missing):
        mmt.AutoModel(broken)
    # Every kind is an mmt.Error; Python's own argument errors stay Python's.
    assert all(issubclass(k, mmt.Error) for k in (mmt.IoError, mmt.FormatError, mmt.ConfigError, mmt.WeightError, mmt.ShapeError, mmt.InputError))
    with pytest.raises(TypeError):
        clip.embed_images([3.5])
    with pytest.raises(ValueError, match="precision"):
        mmt.Embedder(tmp_path, precision="f8")


def test_quantize_stores_what_loads_as_the_original_in_int8(tmp_path):
    assert mmt.quantize(CTC, tmp_path / "int8") > 0
    audio = {"input_values": np.sin(np.arange(16000, dtype=np.float32) / 10)[None]}
    expected = mmt.AutoModel(CTC, precision="int8").forward(audio)
    got = mmt.AutoModel(tmp_path / "int8").forward(audio)
    assert sorted(got) == sorted(expected)
    for name, t in expected.items():
        assert np.array_equal(got[name], t), name
    with pytest.raises(mmt.InputError, match="already quantized"):
        mmt.quantize(tmp_path / "int8", tmp_path / "again")
    with pytest.raises(mmt.InputError, match="f32"):
        mmt.quantize(CTC, tmp_path / "again", precision="f32")
    with pytest.raises(ValueError, match="precision"):
        mmt.quantize(CTC, tmp_path / "again", precision="f16")


def test_module_precision_picks_a_precision_per_module_at_load_and_in_quantize(tmp_path):
    audio = {"input_values": np.sin(np.arange(16000, dtype=np.float32) / 10)[None]}
    modules = {"feature_extractor": "bf16", "encoder.layers.0": "f32"}
    assert mmt.quantize(CTC, tmp_path / "mixed", module_precision=modules) > 0
    expected = mmt.AutoModel(CTC, precision="int8", module_precision=modules).forward(audio)
    got = mmt.AutoModel(tmp_path / "mixed").forward(audio)
    for name, t in expected.items():
        assert np.array_equal(got[name], t), name
    int8 = mmt.AutoModel(CTC, precision="int8").forward(audio)
    assert not all(np.array_equal(int8[name], t) for name, t in expected.items())
    # The whole body in float32 is the float32 model.
    exact = mmt.AutoModel(CTC, precision="int8", module_precision={"wav2vec2": "f32"}).forward(audio)
    f32 = mmt.AutoModel(CTC).forward(audio)
    for name, t in f32.items():
        assert np.array_equal(exact[name], t), name
    with pytest.raises(mmt.ConfigError, match="'feature_extracter=bf16': no module"):
        mmt.SpeechRecognizer(CTC, precision="int8", module_precision={"feature_extracter": "bf16"})
    with pytest.raises(mmt.InputError, match="is not MODULE=PRECISION"):
        mmt.AutoModel(CTC, module_precision={"feature_extractor": "fp16"})
    with pytest.raises(TypeError, match="expected a dict"):
        mmt.AutoModel(CTC, module_precision=["feature_extractor"])
