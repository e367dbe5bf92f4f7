"""Load test of mmt serve's /v1/embeddings: N requests from C client threads, every
answer checked, the server's resident memory (VmRSS) sampled after the warm-up and
at the end, latency percentiles and throughput printed. Exits 1 when a request
failed or memory grew past --max-growth.

    MMT_TOOL=build/bin/mmt /usr/bin/python3 tests/server/load_test.py [--model DIR] [--requests 3000] [--clients 16]

Without --model it serves the tool tests' tiny random CLIP (examples/models/clip-demo).
One request in 20 embeds an image (a data: URL), the rest a text."""

import argparse
import http.client
import json
import pathlib
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mmt_server import DATA, Server, clip_demo_model, data_url  # noqa: E402


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: a tiny random CLIP)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    # The server keeps freed activations in its request threads' arenas (tools/mmt/serve.cpp),
    # which settle at their working set within ~1,000 requests of 16 clients: the tiny CLIP's
    # at 71 MiB, +8 MiB between the 200th request and the 2,200th, +0.1 between the 3,000th and the 5,000th.
    parser.add_argument("--warmup", type=int, default=1000, help="requests before the first memory sample")
    parser.add_argument("--max-growth", type=float, default=0.10, help="allowed RSS growth after the warm-up, as a fraction")
    parser.add_argument("--max-growth-mib", type=float, default=4.0, help="...or in MiB, whichever is larger")
    parser.add_argument("server_args", nargs="*", help="more mmt serve options, after --")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or clip_demo_model(pathlib.Path(scratch) / "clip-demo")
        server = Server(model, *args.server_args)
        model_id = server.json("GET", "/v1/models")[1]["data"][0]["id"]  # what an OpenAI client would send
        image = data_url(DATA / "clip-images" / "rocket.jpg", "jpeg")
        lock = threading.Lock()
        next_request, latencies, errors, samples = 0, [], [], {}
        dims = set()

        def client():
            nonlocal next_request
            connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
            while True:
                with lock:
                    i = next_request
                    next_request += 1
                    if i == args.warmup:
                        samples["warm"] = rss_kib(server.pid)
                if i >= args.requests:
                    break
                entry = image if i % 20 == 0 else f"request {i}: a photo of a {['cat', 'dog', 'rocket', 'cup'][i % 4]} number {i}"
                body = json.dumps({"input": [entry], "model": model_id}).encode()
                start = time.perf_counter()
                try:
                    connection.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    data = response.read()
                    elapsed = time.perf_counter() - start
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
                    embedding = json.loads(data)["data"][0]["embedding"]
                    with lock:
                        latencies.append(elapsed)
                        dims.add(len(embedding))
                except Exception as e:  # noqa: BLE001: every failure is counted and shown
                    connection.close()
                    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
                    with lock:
                        errors.append(f"request {i}: {e}")
            connection.close()

        try:
            start_rss = rss_kib(server.pid)
            started = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            end_rss = rss_kib(server.pid)
        finally:
            code = server.stop()

    warm_rss = samples.get("warm", start_rss)
    latencies.sort()
    growth = end_rss - warm_rss
    allowed = max(args.max_growth * warm_rss, args.max_growth_mib * 1024)
    print(f"mmt serve load test: {args.requests} requests to /v1/embeddings from {args.clients} clients, model {model}")
    if latencies:
        print(f"  latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms; {len(latencies) / wall:.0f} requests/s over {wall:.1f} s")
    print(f"  server RSS: {start_rss / 1024:.1f} MiB loaded, {warm_rss / 1024:.1f} MiB after {args.warmup} requests, "
          f"{end_rss / 1024:.1f} MiB at the end ({growth / 1024:+.1f} MiB; allowed {allowed / 1024:.1f})")
    print(f"  errors: {len(errors)}; embedding sizes {sorted(dims)}; server exit code {code}")
    for e in errors[:10]:
        print("   ", e)
    ok = not errors and len(latencies) == args.requests and growth <= allowed and code == 0 and len(dims) == 1
    print("  OK" if ok else "  FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
