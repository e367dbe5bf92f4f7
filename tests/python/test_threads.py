"""8 Python threads on one loaded model: every call releases the GIL, so the calls run at
once. Run alone (CTest RUN_SERIAL) with OMP_NUM_THREADS=1, so that each call is one
thread's work and any parallelism comes from the Python threads: with the GIL held the
process could never use more CPU time than wall time. The results equal a serial run's
bit for bit."""
import os
import pathlib
import threading
import time

import numpy as np

import mmt

DATA = pathlib.Path(os.environ["MMT_TEST_DATA_DIR"])


def test_threads_share_one_model_and_run_at_once():
    assert os.environ.get("OMP_NUM_THREADS") == "1"
    model = mmt.AutoModel(DATA / "wav2vec2-tiny-ctc")
    audio = {"input_values": np.random.default_rng(0).standard_normal((1, 16000 * 20)).astype(np.float32)}
    expected = model.forward(audio)
    results = [None] * 8

    def run(i):
        results[i] = [model.forward(audio) for _ in range(3)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    wall, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"8 threads x 3 calls: {wall:.2f} s wall, {cpu:.2f} s CPU ({cpu / wall:.2f} cores busy)")
    assert cpu > 1.3 * wall, f"the threads did not overlap: {cpu:.2f} s CPU in {wall:.2f} s"
    for per_thread in results:
        for outputs in per_thread:
            assert outputs.keys() == expected.keys()
            assert all(np.array_equal(outputs[k], expected[k]) for k in expected)
