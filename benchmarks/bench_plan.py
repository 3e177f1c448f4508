"""Benchmark: ``simquanta plan experiments/graphs/demo.toml --target 0.9`` (Python API, same
defaults: K = 10⁴, α = 0.5, τ = 5, threshold, reject, batch 100, 200 agents per point, frontier
on). Kernels are compiled and the plan warmed up on a small run first; the timed call is what
the command costs after compilation (without the interpreter and import start-up).

Prints one JSON line: wall seconds (best and median of ``--repeat``), simulations run (one per
evaluated (capacity, data) point of ``agents`` learners), simulate() calls, tasks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numba

import simquanta as sq
from simquanta.config import DEFAULTS

GRAPH = Path(__file__).resolve().parents[1] / "experiments" / "graphs" / "demo.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    quanta = sq.Quanta(DEFAULTS["n_quanta"], alpha=DEFAULTS["alpha"], tau=DEFAULTS["tau"])
    learner = sq.Learner()
    data = sq.Online(steps=DEFAULTS["steps"], batch_size=DEFAULTS["batch_size"])
    sq.plan(GRAPH, quanta, learner, data, agents=20, frontier=True)  # compile, load caches
    times, result = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = sq.plan(GRAPH, quanta, learner, data, target=0.9)
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "benchmark": "plan",
        "seconds": round(min(times), 2),
        "seconds_median": round(statistics.median(times), 2),
        "simulations": result.n_simulations,
        "simulate_calls": result.simulate_calls,
        "tasks": len(result.tasks),
        "agents": result.settings["agents"],
        "threads": numba.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
