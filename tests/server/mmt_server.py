"""What the server tests and the load test share: where the tool and the test data
are, model directories made from the fixtures, and an `mmt serve` process on a free
port (the server picks it: --port 0, and prints its URL first)."""

import base64
import http.client
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("MMT_TEST_DATA_DIR", REPO / "tests" / "data"))
EXAMPLES = pathlib.Path(os.environ.get("MMT_EXAMPLES_SRC_DIR", REPO / "examples"))


def tool():
    """The mmt binary under test: $MMT_TOOL, else build/bin/mmt."""
    path = pathlib.Path(os.environ.get("MMT_TOOL", REPO / "build" / "bin" / "mmt"))
    if not path.is_file():
        raise RuntimeError(f"no mmt tool at {path}; set MMT_TOOL to the binary")
    return str(path)


def run_tool(*args):
    """Runs `mmt ARGS`, returning its stdout as bytes; fails with its stderr."""
    r = subprocess.run([tool(), *map(str, args)], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"mmt {' '.join(map(str, args))} exited {r.returncode}: {r.stderr.decode()}")
    return r.stdout


def clip_demo_model(out):
    """examples/models/clip-demo with random weights, clip-tokenizer's files and its
    image processor: the tool tests' clip_demo_model (tests/support/demo_model.hpp)."""
    out = pathlib.Path(out)
    source = EXAMPLES / "models" / "clip-demo"
    run_tool("random-model", "--config", source / "config.json", "--out", out)
    shutil.copy(source / "preprocessor_config.json", out)
    for f in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(DATA / "clip-tokenizer" / f, out)
    return out


def layoutlm_model(out, config_edit=None):
    """layoutlm-tiny-token-cls with the first vocab_size lines of layoutlm-tokenizer's
    vocab.txt (tests/support/layoutlm_model.hpp says why); with `config_edit`, random
    weights for the edited config (another head) instead of the fixture's."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fixture, tokenizer = DATA / "layoutlm-tiny-token-cls", DATA / "layoutlm-tokenizer"
    config = json.loads((fixture / "config.json").read_text())
    if config_edit:
        config_edit(config)
        edited = out.parent / (out.name + "-config.json")
        edited.write_text(json.dumps(config))
        run_tool("random-model", "--config", edited, "--out", out)
    else:
        for f in ("config.json", "model.safetensors"):
            shutil.copy(fixture / f, out)
    for f in ("tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(tokenizer / f, out)
    lines = (tokenizer / "vocab.txt").read_text().splitlines(keepends=True)
    (out / "vocab.txt").write_text("".join(lines[: config["vocab_size"]]))
    return out


def assembled_model(out, model, *folders):
    """`model`'s config.json and model.safetensors with every file of `folders` but
    their reference.safetensors and cases.json (tests/support/demo_model.hpp)."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(DATA / model / f, out)
    for folder in folders:
        for f in (DATA / folder).iterdir():
            if f.name not in ("reference.safetensors", "cases.json"):
                shutil.copy(f, out)
    return out


def data_url(path, kind="png"):
    return f"data:image/{kind};base64," + base64.b64encode(pathlib.Path(path).read_bytes()).decode()


class Server:
    """`mmt serve --model MODEL ARGS` on a port of its choosing, up once /health answers."""

    def __init__(self, model, *args, env=None):
        self.log = tempfile.TemporaryFile()  # its stderr: a file, which never fills up as a pipe would
        self.process = subprocess.Popen(
            [tool(), "serve", "--model", str(model), "--port", "0", *map(str, args)],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        line = self.process.stdout.readline().decode()  # "mmt serve: http://127.0.0.1:PORT, model ..."
        if not line.startswith("mmt serve: http://"):
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"mmt serve did not start: {line}{self.stderr()}")
        self.announcement = line
        self.host, port = line.split("http://")[1].split(",")[0].rsplit(":", 1)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        deadline = time.monotonic() + 30
        while self.request("GET", "/health")[0] != 200:
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"mmt serve: /health never answered: {self.stderr()}")
            time.sleep(0.05)

    @property
    def pid(self):
        return self.process.pid

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers, body bytes) of one request on a fresh connection; a dict body is sent as JSON."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers,
                               encode_chunked=headers.get("Transfer-Encoding") == "chunked")
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except ConnectionError:
            return 0, {}, b""
        finally:
            connection.close()

    def json(self, method, path, body=None, headers=None):
        """(status, parsed JSON body)."""
        status, _, data = self.request(method, path, body, headers)
        return status, json.loads(data)

    def stop(self):
        """SIGTERM, which ends the server cleanly: returns its exit code."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        return self.process.returncode

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")
