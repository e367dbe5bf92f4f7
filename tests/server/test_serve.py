"""mmt serve through real HTTP clients (http.client, curl for the multipart uploads):
every endpoint's answer equals what the tool's own command prints for the same input,
and every bad request gets its 4xx with OpenAI's {"error": {"message", "type"}}.

Run: MMT_TOOL=build/bin/mmt /usr/bin/python3 -m pytest tests/server"""

import base64
import http.client
import json
import os
import pathlib
import socket
import struct
import subprocess
import threading
import time

import pytest

from mmt_server import DATA, EXAMPLES, Server, assembled_model, clip_demo_model, data_url, layoutlm_model, run_tool, tool

CHELSEA, ROCKET = DATA / "clip-images" / "chelsea.png", DATA / "clip-images" / "rocket.jpg"
WAV = DATA / "wav2vec2-audio" / "speech_22050.wav"
INVOICE = EXAMPLES / "layoutlm_tag_document" / "invoice_ocr.json"


def read_safetensors(path):
    """{name: (shape, [floats])} of a float32 safetensors file."""
    data = pathlib.Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        begin, end = info["data_offsets"]
        raw = data[8 + size + begin:8 + size + end]
        out[name] = (info["shape"], list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    return out


def rows(shape_values):
    shape, values = shape_values
    return [values[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]


def check_error(status_body, status, *words):
    """An error answer: the status, OpenAI's shape, and a message naming `words`."""
    got_status, body = status_body
    assert got_status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type"}, body
    for w in words:
        assert w in body["error"]["message"], body


def curl_form(server, *fields, path="/v1/audio/transcriptions", headers=()):
    """(status, body bytes) of a multipart POST made by curl with -F FIELD each."""
    command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", server.url + path]
    for f in fields:
        command += ["-F", f]
    for h in headers:
        command += ["-H", h]
    out = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout
    body, _, status = out.rpartition(b"\n")
    return int(status), body


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")

    def sequence_classifier(config):
        config["architectures"] = ["LayoutLMForSequenceClassification"]
        config["id2label"] = {"0": "invoice", "1": "letter", "2": "form"}
        config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}

    return {
        "clip": clip_demo_model(root / "clip-demo"),
        "layoutlm": layoutlm_model(root / "layoutlm-token-cls"),
        "layoutlm_classifier": layoutlm_model(root / "layoutlm-seq-cls", sequence_classifier),
        "layoutlmv3": assembled_model(root / "layoutlmv3-token-cls", "layoutlmv3-tiny-token-cls", "layoutlmv3-tokenizer", "layoutlmv3-images"),
    }


@pytest.fixture(scope="module")
def clip(models):
    server = Server(models["clip"], "--max-body-size", "2MiB")
    yield server
    assert server.stop() == 0, server.stderr()


@pytest.fixture(scope="module")
def speech():
    server = Server(DATA / "wav2vec2-tiny-ctc")
    yield server
    assert server.stop() == 0, server.stderr()


# ---- embeddings ----

def test_embeddings_equal_mmt_embed_texts_and_images_mixed(clip, models, tmp_path):
    texts = ["a photo of a cat", "a rocket", ""]
    out = tmp_path / "embeds.safetensors"
    run_tool("embed", "--model", models["clip"], "--text", *texts, "--image", CHELSEA, ROCKET, "--out", out)
    expected = read_safetensors(out)
    inputs = [texts[0], data_url(CHELSEA), texts[1], data_url(ROCKET, "jpeg"), texts[2]]
    status, body = clip.json("POST", "/v1/embeddings", {"input": inputs, "model": "clip-demo"})
    assert status == 200, body
    assert body["object"] == "list" and body["model"] == "clip-demo"
    assert body["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    assert [d["index"] for d in body["data"]] == list(range(5))
    assert all(d["object"] == "embedding" for d in body["data"])
    text_rows, image_rows = rows(expected["text_embeds"]), rows(expected["image_embeds"])
    # The same forward passes (texts together, images together): the same floats, to the bit.
    assert [body["data"][i]["embedding"] for i in (0, 2, 4)] == text_rows
    assert [body["data"][i]["embedding"] for i in (1, 3)] == image_rows


def test_embeddings_of_one_string_and_as_base64(clip):
    status, floats = clip.json("POST", "/v1/embeddings", {"input": "a dog"})
    assert status == 200 and len(floats["data"]) == 1
    assert clip.json("POST", "/v1/embeddings", {"input": "a dog", "dimensions": 32}) == (status, floats)
    check_error(clip.json("POST", "/v1/embeddings", {"input": "a dog", "dimensions": 16}), 400, "dimensions", "32")
    status, encoded = clip.json("POST", "/v1/embeddings", {"input": "a dog", "encoding_format": "base64"})
    assert status == 200
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == floats["data"][0]["embedding"]


def test_embeddings_refuse_bad_requests(clip):
    check_error(clip.json("POST", "/v1/embeddings", {"input": "x", "model": "gpt-4"}), 404, "gpt-4", "clip-demo")
    check_error(clip.json("POST", "/v1/embeddings", {"model": "clip-demo"}), 400, '"input"')
    check_error(clip.json("POST", "/v1/embeddings", {"input": []}), 400, '"input"')
    check_error(clip.json("POST", "/v1/embeddings", {"input": [[1, 2, 3]]}), 400, '"input"')
    check_error(clip.json("POST", "/v1/embeddings", {"input": "x", "encoding_format": "int8"}), 400, "encoding_format")
    check_error(clip.json("POST", "/v1/embeddings", ["not", "an", "object"]), 400, "JSON object")
    check_error(clip.json("POST", "/v1/embeddings", b"{not json", {"Content-Type": "application/json"}), 400, "/v1/embeddings")
    check_error(clip.json("POST", "/v1/embeddings", b'{"input": "x"}', {"Content-Type": "text/plain"}), 415, "application/json")
    check_error(clip.json("POST", "/v1/embeddings", {"input": ["data:image/png;base64,!!!!"]}), 400, "input[0]", "base64")
    not_image = "data:image/png;base64," + base64.b64encode(b"not an image at all").decode()
    check_error(clip.json("POST", "/v1/embeddings", {"input": ["a cat", not_image]}), 400, "input[1]")
    check_error(clip.json("POST", "/v1/embeddings", {"input": ["data:image/png,plain"]}), 400, "data URL")


# ---- image classification ----

def test_images_classify_equals_mmt_classify_image(clip, models):
    printed = run_tool("classify-image", "--model", models["clip"], CHELSEA, "--labels", "cat,rocket,coffee").decode().splitlines()
    want = [(line.split()[1], float(line.split()[0])) for line in printed]
    status, body = clip.json("POST", "/v1/images/classify", {"image": data_url(CHELSEA), "labels": ["cat", "rocket", "coffee"]})
    assert status == 200, body
    assert [(r["label"], round(r["score"], 4)) for r in body["labels"]] == want
    bare = base64.b64encode(CHELSEA.read_bytes()).decode()  # base64 without the data: prefix
    assert clip.json("POST", "/v1/images/classify", {"image": bare, "labels": ["cat", "rocket", "coffee"]}) == (status, body)
    status, templated = clip.json("POST", "/v1/images/classify", {"image": bare, "labels": ["cat", "dog"], "template": "a {}"})
    assert status == 200 and len(templated["labels"]) == 2


def test_images_classify_refuses_bad_requests(clip):
    image = data_url(CHELSEA)
    check_error(clip.json("POST", "/v1/images/classify", {"image": image}), 400, '"labels"')
    check_error(clip.json("POST", "/v1/images/classify", {"image": image, "labels": []}), 400, '"labels"')
    check_error(clip.json("POST", "/v1/images/classify", {"labels": ["cat"]}), 400, '"image"')
    check_error(clip.json("POST", "/v1/images/classify", {"image": image, "labels": ["cat"], "template": "no slot"}), 400, "template")
    check_error(clip.json("POST", "/v1/images/classify", {"image": "bm90IGFuIGltYWdl", "labels": ["cat"]}), 400, '"image"')


# ---- what every server answers ----

def test_health_and_models(clip):
    assert clip.json("GET", "/health") == (200, {"status": "ok"})
    status, body = clip.json("GET", "/v1/models")
    assert status == 200 and body["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [("clip-demo", "model", "mmt")]
    assert isinstance(body["data"][0]["created"], int)
    assert "clip-demo" in clip.announcement and "POST /v1/embeddings" in clip.announcement


def test_unknown_paths_wrong_methods_and_endpoints_the_model_cannot_serve(clip):
    check_error(clip.json("GET", "/v1/nothing"), 404, "/v1/nothing", "POST /v1/embeddings")
    check_error(clip.json("POST", "/v1/chat/completions", {"messages": []}), 404, "/v1/chat/completions")
    for method, path, allowed in [("GET", "/v1/embeddings", "POST"), ("POST", "/health", "GET"), ("DELETE", "/v1/models", "GET"),
                                  ("PUT", "/v1/images/classify", "POST")]:
        status, headers, body = clip.request(method, path)
        check_error((status, json.loads(body)), 405, path, allowed)
        assert headers["Allow"] == allowed
    check_error(clip.json("POST", "/v1/documents/tag", {"width": 1, "height": 1, "words": []}), 400, "cannot serve", "POST /v1/embeddings")
    status, body = curl_form(clip, f"file=@{WAV}")
    check_error((status, json.loads(body)), 400, "cannot serve", "/v1/audio/transcriptions")
    check_error(clip.json("POST", "/v1/documents/classify", {}), 400, "cannot serve")


def test_oversize_and_chunked_bodies(clip):
    big = {"input": "x" * (2 << 20)}  # over the server's --max-body-size 2MiB
    check_error(clip.json("POST", "/v1/embeddings", big), 413, "2097152 bytes", "--max-body-size")
    status, body = curl_form(clip, f"file=@{DATA / 'clip-images' / 'reference.safetensors'}")  # 5 MB
    check_error((status, json.loads(body)), 413, "--max-body-size")
    status, body = curl_form(clip, f"file=@{DATA / 'clip-images' / 'reference.safetensors'}", headers=["Transfer-Encoding: chunked"])
    check_error((status, json.loads(body)), 413, "--max-body-size")
    # A chunked body is read as it arrives, within the same limit.
    chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, body = clip.json("POST", "/v1/embeddings", iter([b'{"input": ', b'"a photo of a cat"}']), chunked)
    assert status == 200 and (status, body) == clip.json("POST", "/v1/embeddings", {"input": "a photo of a cat"})
    over = iter([b'{"input": "', b"x" * (1 << 20), b"x" * (1 << 20), b'"}'])  # 2 MiB + 13 bytes in four chunks
    check_error(clip.json("POST", "/v1/embeddings", over, chunked), 413, "2097152 bytes", "--max-body-size")
    check_error(clip.json("POST", "/v1/embeddings", iter([b'{"input": "x"}']), {**chunked, "Content-Type": "text/plain"}), 415,
                "application/json")
    # A chunked body that goes on past twice the limit is answered then, without waiting for its end.
    endless = socket.create_connection((clip.host, clip.port))
    endless.settimeout(10)
    endless.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"%x\r\n" % (64 << 20) + b"x" * ((4 << 20) + 1))  # a 64 MiB chunk, of which 4 MiB + 1 byte come
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        piece = endless.recv(65536)
        assert piece, answer
        answer += piece
    endless.close()
    check_error((int(answer.split()[1]), json.loads(answer.split(b"\r\n\r\n", 1)[1])), 413, "2097152 bytes")
    # Where no route takes a body, the server answers before reading it and closes: a body
    # still arriving then resets the connection, which may reach the client before the
    # answer does (status 0).
    for method, path, status_words in [("POST", "/v1/nothing", (404, "no endpoint POST /v1/nothing")),
                                       ("POST", "/health", (405, "/health takes GET")),
                                       ("GET", "/health", (400, "takes no body"))]:
        status, _, body = clip.request(method, path, iter([b'{"input": "x"}']), chunked)
        if status:
            check_error((status, json.loads(body)), *status_words)
    assert clip.json("GET", "/health")[0] == 200


def test_concurrent_requests_get_their_own_answers(clip):
    texts = [f"request {i}: a photo of thing {i}" for i in range(12)]
    expected = {t: clip.json("POST", "/v1/embeddings", {"input": t})[1]["data"][0]["embedding"] for t in texts}
    got, errors = {}, []

    def ask(t):
        status, body = clip.json("POST", "/v1/embeddings", {"input": t})
        if status != 200:
            errors.append(body)
        else:
            got[t] = body["data"][0]["embedding"]

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == expected


# ---- API key ----

def test_api_key(models):
    for args, env in [(("--api-key", "s3cret"), None), ((), {**os.environ, "MMT_API_KEY": "s3cret"})]:
        server = Server(models["clip"], *args, env=env)
        try:
            status, headers, body = server.request("POST", "/v1/embeddings", {"input": "x"})
            check_error((status, json.loads(body)), 401, "Authorization: Bearer")
            assert headers["WWW-Authenticate"] == "Bearer"
            check_error(server.json("POST", "/v1/embeddings", {"input": "x"}, {"Authorization": "Bearer wrong"}), 401, "invalid API key")
            check_error(server.json("GET", "/v1/models", None, {"Authorization": "Bearer s3cre"}), 401, "invalid API key")
            check_error(server.json("GET", "/v1/models", None, {"Authorization": "s3cret"}), 401, "invalid API key")
            assert server.json("POST", "/v1/embeddings", {"input": "x"}, {"Authorization": "Bearer s3cret"})[0] == 200
            assert server.json("GET", "/v1/models", None, {"Authorization": "Bearer s3cret"})[0] == 200
            assert server.json("GET", "/health") == (200, {"status": "ok"})  # load balancers ask without a key
        finally:
            assert server.stop() == 0


# ---- transcription ----

@pytest.mark.parametrize("response_format", ["json", "text", "srt", "vtt"])
def test_transcriptions_equal_mmt_transcribe(speech, response_format):
    expected = run_tool("transcribe", "--model", DATA / "wav2vec2-tiny-ctc", WAV, "--format", response_format)
    status, body = curl_form(speech, f"file=@{WAV}", "model=wav2vec2-tiny-ctc", f"response_format={response_format}")
    assert status == 200, body
    if response_format == "json":
        assert json.loads(body) == json.loads(expected)
    else:
        assert body == expected


def test_transcriptions_take_a_chunked_upload(speech):
    status, body = curl_form(speech, f"file=@{WAV}", headers=["Transfer-Encoding: chunked"])
    assert status == 200, body
    assert json.loads(body) == json.loads(run_tool("transcribe", "--model", DATA / "wav2vec2-tiny-ctc", WAV, "--format", "json"))


def test_transcriptions_default_to_json(speech):
    status, body = curl_form(speech, f"file=@{WAV}")
    assert status == 200 and json.loads(body) == json.loads(run_tool("transcribe", "--model", DATA / "wav2vec2-tiny-ctc", WAV, "--json"))


def test_transcriptions_verbose_json_has_the_words_of_mmt_transcribe(speech):
    expected = json.loads(run_tool("transcribe", "--model", DATA / "wav2vec2-tiny-ctc", WAV, "--json", "--timestamps", "word"))
    status, body = curl_form(speech, f"file=@{WAV}", "response_format=verbose_json", "timestamp_granularities[]=word",
                             "timestamp_granularities[]=segment")
    assert status == 200, body
    body = json.loads(body)
    assert body["task"] == "transcribe" and body["text"] == expected["text"]
    frames, rate = struct.unpack("<I", WAV.read_bytes()[40:44])[0] // 2, 22050  # 16-bit mono PCM
    assert body["duration"] == pytest.approx(frames / rate, abs=1e-3)
    assert [(w["word"], w["start"], w["end"]) for w in body["words"]] == [(c["text"], *c["timestamp"]) for c in expected["chunks"]]
    assert body["segments"] and body["segments"][0]["id"] == 0
    assert " ".join(s["text"] for s in body["segments"]) == " ".join(w["word"] for w in body["words"])
    status, plain = curl_form(speech, f"file=@{WAV}", "response_format=verbose_json")  # OpenAI's default: segments only
    plain = json.loads(plain)
    assert status == 200 and "words" not in plain and plain["segments"] == body["segments"]


def test_transcriptions_refuse_bad_requests(speech, tmp_path):
    def form(*fields):
        status, body = curl_form(speech, *fields)
        return status, json.loads(body)

    check_error(form("response_format=json"), 400, '"file"')
    check_error(form(f"file=@{WAV}", "response_format=mp3"), 400, "response_format", "verbose_json")
    check_error(form(f"file=@{WAV}", "timestamp_granularities[]=word"), 400, "verbose_json")
    check_error(form(f"file=@{WAV}", "response_format=verbose_json", "timestamp_granularities[]=char"), 400, "word or segment")
    check_error(form(f"file=@{WAV}", "beam_size=5"), 400, "beam_size")
    check_error(form(f"file=@{WAV}", "model=whisper-1"), 404, "whisper-1", "wav2vec2-tiny-ctc")
    check_error(form(f"file=@{CHELSEA}"), 400, '"file"')  # not a WAV
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(WAV.read_bytes()[:30])
    check_error(form(f"file=@{truncated}"), 400, '"file"')
    check_error(speech.json("POST", "/v1/audio/transcriptions", {"file": "x"}), 415, "multipart/form-data")
    check_error(speech.json("POST", "/v1/embeddings", {"input": "x"}), 400, "cannot serve", "/v1/audio/transcriptions")
    status, body = curl_form(speech, f"file=@{WAV}", "language=en", "prompt=hello", "temperature=0")  # accepted, no effect
    assert status == 200 and json.loads(body)["text"]


# ---- documents ----

def test_documents_tag_equals_mmt_tag_document(models):
    server = Server(models["layoutlm"])
    try:
        expected = json.loads(run_tool("tag-document", "--model", models["layoutlm"], INVOICE, "--json"))
        document = json.loads(INVOICE.read_text())
        assert server.json("POST", "/v1/documents/tag", document) == (200, expected)
        clamped = {**document, "words": document["words"] + [{"text": "edge", "box": [0, 0, document["width"] + 5, 10]}]}
        check_error(server.json("POST", "/v1/documents/tag", clamped), 400, "edge")
        assert server.json("POST", "/v1/documents/tag", {**clamped, "clamp_boxes": True})[0] == 200
        check_error(server.json("POST", "/v1/documents/tag", {**document, "clamp_boxes": "yes"}), 400, "clamp_boxes")
        check_error(server.json("POST", "/v1/documents/tag", {"width": 100}), 400, "height")
        check_error(server.json("POST", "/v1/documents/tag", {**document, "words": [{"text": "x"}]}), 400, "word 0", "box")
        check_error(server.json("POST", "/v1/documents/tag", {**document, "image": data_url(CHELSEA)}), 400, "reads none")
        check_error(server.json("POST", "/v1/documents/classify", document), 400, "cannot serve", "POST /v1/documents/tag")
        check_error(server.json("POST", "/v1/documents/tag", json.dumps(document).encode(), {"Content-Type": "text/json"}), 415, "application/json")
    finally:
        assert server.stop() == 0


def test_documents_tag_with_a_page_image_equals_mmt_tag_document(models):
    server = Server(models["layoutlmv3"])
    try:
        expected = json.loads(run_tool("tag-document", "--model", models["layoutlmv3"], INVOICE, "--image", CHELSEA, "--json"))
        document = json.loads(INVOICE.read_text())
        assert server.json("POST", "/v1/documents/tag", {**document, "image": data_url(CHELSEA)}) == (200, expected)
        check_error(server.json("POST", "/v1/documents/tag", {**document, "image": "QUJD"}), 400, '"image"')
    finally:
        assert server.stop() == 0


def test_documents_classify_equals_mmt_classify_document(models):
    server = Server(models["layoutlm_classifier"])
    try:
        expected = json.loads(run_tool("classify-document", "--model", models["layoutlm_classifier"], INVOICE, "--json"))
        assert server.json("POST", "/v1/documents/classify", json.loads(INVOICE.read_text())) == (200, expected)
        check_error(server.json("POST", "/v1/documents/tag", json.loads(INVOICE.read_text())), 400, "cannot serve")
    finally:
        assert server.stop() == 0


# ---- limits ----

def test_a_stalled_client_holds_a_request_thread_until_the_timeout(models):
    """--concurrency 1: while a client that sent half a request holds the one request
    thread, the next request waits, and is served once --timeout drops the staller."""
    server = Server(models["clip"], "--concurrency", "1", "--timeout", "1")
    try:
        staller = socket.create_connection((server.host, server.port))
        staller.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"in")
        time.sleep(0.2)  # the server has taken it
        start = time.monotonic()
        assert server.json("GET", "/health") == (200, {"status": "ok"})
        assert 0.5 < time.monotonic() - start < 10
        staller.settimeout(10)
        while staller.recv(65536):  # whatever it is told, the staller is then dropped
            pass
        staller.close()
    finally:
        assert server.stop() == 0


def test_idle_connections_hold_no_request_thread(models):
    """Clients that keep their connections open after an answer (connection pools) do not
    keep the next request waiting: every answer closes its connection."""
    server = Server(models["clip"], "--concurrency", "2")
    try:
        idle = []
        for _ in range(4):
            connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
            connection.request("GET", "/health")
            response = connection.getresponse()
            assert response.read() and response.headers["Connection"] == "close"
            idle.append(connection)
        start = time.monotonic()
        assert server.json("GET", "/health") == (200, {"status": "ok"})
        assert time.monotonic() - start < 1
        for connection in idle:
            connection.close()
    finally:
        assert server.stop() == 0


def test_the_server_refuses_to_start_on_a_bad_model_or_port(models, tmp_path):
    for args, words in [((tmp_path,), b"config.json"), ((DATA / "wav2vec2-tiny-seq-cls",), b"wav2vec2-tiny-seq-cls"),
                        ((models["clip"], "--language", "fra"), b"--language"), ((models["clip"], "--max-body-size", "1XB"), b"--max-body-size")]:
        r = subprocess.run([tool(), "serve", "--model", *map(str, args)], capture_output=True, timeout=60)
        assert r.returncode != 0 and words in r.stderr, r.stderr
    server = Server(models["clip"])
    try:
        r = subprocess.run([tool(), "serve", "--model", str(models["clip"]), "--port", str(server.port)],
                           capture_output=True, timeout=60)
        assert r.returncode != 0 and b"cannot listen" in r.stderr
    finally:
        assert server.stop() == 0
