"""Start-up: the first run with an empty numba cache (cold) and the next one (warm), for
`simquanta simulate` (events and exact engines) and `simquanta figures --quick`. Prints one
JSON line.

Each command runs in a fresh interpreter with ``NUMBA_CACHE_DIR`` set to a new temporary
folder (cold), then again with the same folder (warm); wall and CPU (user + system of the
child processes) seconds. Targets (issue 15): cold `simulate` ≤ 15 s; `figures --quick`
cold ≤ 180 s and warm ≤ 90 s. `--skip-figures` leaves the figures out (≈ 2.5 min).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds of one command (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def cold_and_warm(cmd: list[str]) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        return {"cold": timed(cmd, env), "warm": timed(cmd, env)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-figures", action="store_true")
    args = parser.parse_args()
    sq = [sys.executable, "-m", "simquanta"]
    out: dict[str, object] = {"benchmark": "bench_startup", "cores": os.cpu_count()}
    out["simulate_events"] = cold_and_warm(sq + ["simulate", "--json"])
    out["simulate_exact"] = cold_and_warm(sq + ["simulate", "--engine", "exact", "--steps",
                                                "1000", "--json"])
    if not args.skip_figures:
        with tempfile.TemporaryDirectory() as figures:
            out["figures_quick"] = cold_and_warm(sq + ["figures", "--quick", "--out", figures])
    out["targets"] = {"simulate_cold_s": 15, "figures_quick_cold_s": 180,
                      "figures_quick_warm_s": 90}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
