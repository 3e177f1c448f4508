"""Benchmark: evaluate a 10^4-node composition graph for 10^3 agents × 100 checkpoints.

Graph: layered random hierarchy over 1000 quanta, layers 6600/2400/800/200 (10 000 inner
nodes, 40 000 edges, fan-in 4; rules all / mean / k_of_n (k=2) / noisy_or by layer; the 200 top
nodes are the tasks). Input: random bool learned states, shape (1000, 100, 1000).
The kernel is compiled and warmed up on a small input first; the timed calls include input
checks and output allocation, i.e. what ``CompositionGraph.evaluate`` costs a user.

Prints one JSON line: wall seconds (best and median of ``--repeat``), node/edge counts, threads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numba
import numpy as np

from simquanta.generators import hierarchy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    n_quanta = 1000
    graph = hierarchy(
        n_quanta,
        [6600, 2400, 800, 200],
        4,
        rules=["all", "mean", "k_of_n", "noisy_or"],
        k=2,
        seed=0,
    )
    compiled = graph.compile()
    rng = np.random.default_rng(1)
    learned = rng.random((args.agents, args.checkpoints, n_quanta)) < 0.5
    graph.evaluate(learned[:1, :2])  # compile / load the numba kernel, not timed

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        values, names = graph.evaluate(learned)
        times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "benchmark": "compose",
                "seconds": round(min(times), 4),
                "seconds_median": round(statistics.median(times), 4),
                "nodes": len(compiled.topo_names),
                "edges": int(compiled.child.size),
                "quanta": n_quanta,
                "tasks": len(names),
                "agents": args.agents,
                "checkpoints": args.checkpoints,
                "output_shape": list(values.shape),
                "threads": numba.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
