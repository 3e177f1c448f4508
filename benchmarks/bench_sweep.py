"""Sweep runner: per-cell overhead of each executor on tiny cells, and the speed-up from 1
to 2 workers on real (~1 s) cells. Prints one JSON line.

- ``tiny``: cells of 200 quanta × 4 agents × 200 steps (kernel ≈ 1 ms). Each executor runs
  a sweep of ``--small`` and of ``--large`` cells into fresh directories;
  ``per_cell_s`` = (T_large − T_small) / (large − small) is the marginal wall time per cell
  (with 2 workers: half the per-worker cost), ``startup_s`` = T_small − small · per_cell_s
  (spawning workers, imports, loading cached kernels, merging), and ``overhead_per_cell_s``
  = per_cell_s · workers − kernel_s is what storage and scheduling add per cell and worker.
- ``real``: ``--real-cells`` replicates of one config sized to ≈ 1 s on one thread, run
  with 1 and 2 workers (processes; dask unless --no-dask); speed-up = T1 / T2.

Everything runs once untimed first (numba compilation and imports are not sweep cost);
each measurement is the best of ``--repeat``.
``load_avg`` is recorded because other processes on a shared machine skew the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from simquanta.sweep import SweepSpec, dask_available, run_sweep

TINY = {"n_quanta": 200, "agents": 4, "steps": 200, "engine": "exact", "checkpoints": 5}


def real_config(agents: int) -> dict:
    return {"n_quanta": 20_000, "agents": agents, "steps": 200_000, "batch_size": 100,
            "engine": "exact", "checkpoints": 20}


def spec(base: dict, cells: int, name: str) -> SweepSpec:
    return SweepSpec.from_dict({"name": name, "replicates": cells, "root_seed": 1,
                                "base": base})


REPEAT = 2


def timed_sweep(sweep: SweepSpec, executor: str, workers: int | None) -> float:
    """Best of REPEAT wall times of a whole sweep (fresh output directory each time)."""
    best = float("inf")
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_sweep(sweep, executor=executor, workers=workers, out=Path(tmp) / "out",
                      progress=False, table=False)
            best = min(best, time.perf_counter() - start)
    return best


def kernel_seconds(config: dict, repeat: int = 20) -> float:
    """Best single-thread wall time of one cell's simulation (no storage)."""
    import numba

    from simquanta.config import simulation_from_config
    from simquanta.simulate import run

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        sim = simulation_from_config(dict(config, seed=1))
        run(sim)
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            run(sim)
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        numba.set_num_threads(before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=50)
    parser.add_argument("--real-cells", type=int, default=8)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="best of N per measurement")
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    executors = [("serial", None), ("processes", 2)]
    if dask_available() and not args.no_dask:
        executors.append(("dask", 2))

    out: dict[str, object] = {"benchmark": "bench_sweep", "cpu_count": os.cpu_count(),
                              "repeat": REPEAT,
                              "load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    timed_sweep(spec(TINY, 2, "warmup"), "serial", None)  # compile + imports, untimed
    kernel = kernel_seconds(TINY)
    tiny: dict[str, object] = {"kernel_s": kernel}
    for executor, workers in executors:
        t_small = timed_sweep(spec(TINY, args.small, "tiny"), executor, workers)
        t_large = timed_sweep(spec(TINY, args.large, "tiny"), executor, workers)
        per_cell = (t_large - t_small) / (args.large - args.small)
        tiny[f"{executor}_{workers or 1}"] = {
            "workers": workers or 1,
            f"wall_{args.small}_cells_s": t_small,
            f"wall_{args.large}_cells_s": t_large,
            "per_cell_s": per_cell,
            "startup_s": t_small - args.small * per_cell,
            "overhead_per_cell_s": per_cell * (workers or 1) - kernel,
        }
    out["tiny"] = tiny

    # Size real cells to about one second on one thread.
    probe = kernel_seconds(real_config(2), repeat=2)
    agents = max(1, round(2 * 1.0 / probe))
    real: dict[str, object] = {"cells": args.real_cells, "agents_per_cell": agents,
                               "cell_s_one_thread": kernel_seconds(real_config(agents), 2)}
    for executor, _ in executors[1:]:
        t1 = timed_sweep(spec(real_config(agents), args.real_cells, "real"), executor, 1)
        t2 = timed_sweep(spec(real_config(agents), args.real_cells, "real"), executor, 2)
        real[executor] = {"wall_1_worker_s": t1, "wall_2_workers_s": t2, "speedup": t1 / t2}
    out["real"] = real
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
