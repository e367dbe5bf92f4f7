#!/usr/bin/env python3
"""Embeds an image folder across a dask.distributed cluster into one embedding index,
the very files `mmt embed-collection` writes in one process (shards of unit rows,
manifest.jsonl, embed-collection.json), so `mmt search --index OUT` reads it.

    dask_embed.py --model MODEL --images DIR --out OUT [--scheduler tcp://HOST:8786]
                  [--parts N] [--batch-size 16] [--inputs-per-shard 8192]

The collection is cut into N parts of whole shards (mmt's `--shard K/N`; N defaults to
the number of workers). Each worker loads the model once and embeds the parts it is
given into OUT/parts/K-of-N; the client then moves their shards into OUT and
concatenates their manifests in part order. Without --scheduler a local cluster of
--workers processes is started. On a real cluster the model, the images and OUT must
be on a file system every worker and the client see under the same paths.
"""
import argparse
import contextlib
import json
import os
import pathlib
import shutil
import sys

import dask.distributed

import mmt

_embedders = {}


def embedder(model):
    """The worker process's model, loaded at its first part."""
    if model not in _embedders:
        _embedders[model] = mmt.Embedder(model)
    return _embedders[model]


def embed_part(model, images, parts_dir, part, parts, batch_size, inputs_per_shard):
    """Part `part` of `parts` into its own folder; returns the folder and the progress."""
    out = pathlib.Path(parts_dir) / f"{part}-of-{parts}"
    progress = embedder(model).embed_collection(out, images=images, part=(part, parts), batch_size=batch_size,
                                                inputs_per_shard=inputs_per_shard, resume=True)
    return str(out), progress


def merge(part_dirs, out):
    """The parts' files as one run's: shards moved, manifests concatenated in part order,
    and the run's settings with the part set to the whole (1/1)."""
    out = pathlib.Path(out)
    with open(out / "manifest.jsonl", "wb") as manifest:
        for part_dir in map(pathlib.Path, part_dirs):
            for shard in sorted(part_dir.glob("embeddings-*.safetensors")):
                os.replace(shard, out / shard.name)
            manifest.write((part_dir / "manifest.jsonl").read_bytes())
    settings = json.loads((pathlib.Path(part_dirs[0]) / "embed-collection.json").read_text())
    settings["part"] = "1/1"
    (out / "embed-collection.json").write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(pathlib.Path(part_dirs[0]).parent)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="text-image model directory (CLIP, SigLIP, Chinese-CLIP)")
    parser.add_argument("--images", required=True, help="folder of images, walked recursively in sorted path order")
    parser.add_argument("--out", required=True, help="index folder to write (new or empty)")
    parser.add_argument("--scheduler", help="address of a running scheduler, e.g. tcp://HOST:8786; default: a local cluster")
    parser.add_argument("--workers", type=int, default=2, help="processes of the local cluster (default 2)")
    parser.add_argument("--parts", type=int, help="parts to cut the collection into (default: one per worker)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass (default 16)")
    parser.add_argument("--inputs-per-shard", type=int, default=8192, help="images per embeddings file (default 8192)")
    args = parser.parse_args(argv)

    out = pathlib.Path(args.out).resolve()
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out}: expected a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    model, images = str(pathlib.Path(args.model).resolve()), str(pathlib.Path(args.images).resolve())

    with contextlib.ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(dask.distributed.Client(args.scheduler))
        else:
            cluster = stack.enter_context(dask.distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                                        dashboard_address=None))
            client = stack.enter_context(dask.distributed.Client(cluster))
        parts = args.parts or max(1, len(client.scheduler_info()["workers"]))
        futures = [client.submit(embed_part, model, images, str(out / "parts"), k, parts, args.batch_size, args.inputs_per_shard,
                                 pure=False) for k in range(1, parts + 1)]
        results = client.gather(futures)
    merge([folder for folder, _ in results], out)
    done = sum(p["done"] for _, p in results)
    failed = sum(p["failed"] for _, p in results)
    print(f"dask_embed: {done - failed} of {done} images embedded into {out} in {parts} parts"
          + (f"; {failed} failed, their errors are in {out / 'manifest.jsonl'}" if failed else ""), file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
