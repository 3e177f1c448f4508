"""Generations: 5 generations × 10⁴ quanta × 256 agents to 10⁹ samples each (events engine,
unlimited capacity, ρ = 0.1, ε = 0.05), against 5 plain ``simulate`` calls of the same size
(what the issue asks a generation to cost). Prints one JSON line.

Each student has its own frequencies, so it runs as its own kernel call on one thread (a
parallel region per agent only costs thread wake-ups); ``per_student_ms`` is the marginal
cost. Best of ``--repeat`` interleaved runs after a warm-up (``benchmarks/_timing.py``);
``load_avg`` is recorded because other processes on the shared machine skew the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource

import simquanta as sq
from simquanta.populations import simulate_generations

from _timing import best_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--agents", type=int, default=256)
    parser.add_argument("--n-quanta", type=int, default=10_000)
    parser.add_argument("--generations", type=int, default=5)
    args = parser.parse_args()
    quanta = sq.Quanta(n_quanta=args.n_quanta, alpha=0.5, tau=5)
    learner = sq.Learner()
    data = sq.Online(steps=10**7, batch_size=100)  # 10⁹ samples per agent
    common = dict(agents=args.agents, seed=0, checkpoints=40, engine="events")

    def generations():
        simulate_generations(quanta, learner, data, generations=args.generations,
                             real_fraction=0.1, error=0.05, **common)

    def plain():
        for _ in range(args.generations):
            sq.simulate(quanta, learner, data, record_learn_steps=True, **common)

    t_gen, t_plain = best_times([generations, plain], args.repeat)
    print(json.dumps({
        "benchmark": "generations",
        "generations": args.generations,
        "n_quanta": args.n_quanta,
        "agents": args.agents,
        "samples_per_agent": 10**9,
        "generations_s": round(t_gen, 3),
        "plain_simulate_s": round(t_plain, 3),
        "per_student_ms": round(1e3 * t_gen / (args.generations * args.agents), 3),
        "target_s": 5.0,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "load_avg": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
