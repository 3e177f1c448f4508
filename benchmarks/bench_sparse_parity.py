"""Sparse-parity trainer speed: optimizer steps per second (batch generation, forward,
backward and AdamW included; no evaluation). Prints one JSON line.

Workloads:
- ``calibration_w{w}``: the calibration study (n_tasks = 32, n = 32, k = 3, B = 1000),
  widths 16, 64, 256;
- ``paper_w{w}``: the paper's task (n_tasks = 500, n = 100, k = 3, B = 20 000),
  widths 10 and 100.
Each workload runs untimed first (numba compilation and BLAS warm-up), then the best of
--repeat timed runs of --steps steps. BLAS threads follow OPENBLAS_NUM_THREADS (default
here: 1, as the experiment's workers use).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from simquanta.sparse_parity import AdamW, SparseParityMLP, SparseParityTask  # noqa: E402


def steps_per_second(task: SparseParityTask, width: int, batch_size: int, steps: int,
                     repeat: int) -> float:
    net = SparseParityMLP(task.n_tasks, task.n_bits, width, seed=0)
    opt = AdamW()
    stream = task.online(batch_size, np.random.default_rng(0))

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            net.loss_and_grad(next(stream))
            opt.step(net.theta, net.grad)
        return time.perf_counter() - start

    run(max(3, steps // 10))
    return steps / min(run(steps) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "bench_sparse_parity",
                              "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                              "unit": "optimizer steps per second"}
    small = SparseParityTask(n_tasks=32, n_bits=32, k=3, alpha=0.4)
    for w in (16, 64, 256):
        out[f"calibration_w{w}"] = round(steps_per_second(small, w, 1000, args.steps,
                                                          args.repeat), 1)
    paper = SparseParityTask(n_tasks=500, n_bits=100, k=3, alpha=0.4)
    for w in (10, 100):
        out[f"paper_w{w}"] = round(steps_per_second(paper, w, 20_000,
                                                    max(10, args.steps // 20), args.repeat), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
