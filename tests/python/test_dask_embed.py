"""examples/dask_embed on a local cluster of 2 workers: 200 images (and one that is not
an image) give the very files of a single-process `mmt embed-collection` run, byte for
byte, and `mmt search` reads the result."""
import os
import pathlib
import struct
import subprocess
import sys
import zlib

import numpy as np

TOOL = os.environ["MMT_TOOL"]
DATA = pathlib.Path(os.environ["MMT_TEST_DATA_DIR"])
ROOT = DATA.parent.parent


def write_png(path, pixels):
    """An 8-bit RGB PNG of pixels [height, width, 3]."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    height, width, _ = pixels.shape
    rows = b"".join(b"\0" + pixels[y].tobytes() for y in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_two_dask_workers_write_what_one_process_writes(tmp_path):
    images = tmp_path / "images"
    rng = np.random.default_rng(7)
    for i in range(200):
        folder = images / f"batch{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        write_png(folder / f"img{i:03d}.png", rng.integers(0, 256, (24 + i % 5, 32, 3), dtype=np.uint8))
    (images / "batch1" / "broken.png").write_bytes(b"not a png")
    models = tmp_path / "models"
    subprocess.run([str(ROOT / "scripts" / "make-demo-model.sh"), TOOL, str(models)], check=True, capture_output=True)
    model = models / "clip-demo"

    single = subprocess.run([TOOL, "embed-collection", "--model", str(model), "--images", str(images), "--out", str(tmp_path / "one"),
                             "--inputs-per-shard", "16", "--quiet"], capture_output=True, text=True)
    assert single.returncode == 2, single.stderr  # the broken image
    dask = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_embed" / "dask_embed.py"), "--model", str(model), "--images",
                           str(images), "--out", str(tmp_path / "dask"), "--workers", "2", "--parts", "3", "--inputs-per-shard", "16"],
                          capture_output=True, text=True, timeout=300)
    assert dask.returncode == 2, dask.stderr
    assert "200 of 201 images embedded" in dask.stderr and "in 3 parts" in dask.stderr

    one = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert one == sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert len([n for n in one if n.startswith("embeddings-")]) == 13
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    manifest = (tmp_path / "dask" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 201 and sum('"error"' in line for line in manifest) == 1

    found = subprocess.run([TOOL, "search", "--model", str(model), "--index", str(tmp_path / "dask"), "--image",
                            str(images / "batch2" / "img005.png"), "--top-k", "1"], capture_output=True, text=True, check=True)
    assert "batch2/img005.png" in found.stdout
