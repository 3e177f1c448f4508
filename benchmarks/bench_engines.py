"""Exact engine throughput vs the practical limit and vs plain numpy.

Prints one JSON line. Workload: K = 10^5 quanta, α = 0.5, τ = 5, threshold rule, unlimited
capacity, 8 agents × 10^7 samples (batches of 100). Every timed function is run once
before timing so compilation is excluded; the best of ``--repeat`` runs is reported.

- exact_samples_per_s: ``simquanta.simulate(..., engine="exact")``.
- bare_alias_samples_per_s: a numba loop, parallel over the same 8 agents, that only draws
  alias samples from the same table and RNG and counts them — the practical limit.
- numpy_samples_per_s: what a researcher would write: ``Generator.choice(K, p=p)`` per
  training batch (B = 100, so learn steps have the same resolution as the engine's),
  ``bincount``, learn-step tracking (single process, as written).
- numpy_chunked_samples_per_s: the fastest numpy variant, 10^5-sample chunks (learn steps
  only to the chunk), for reference.

Timings interleave the engines (exact, bare, exact, bare, ...) and keep the best of each,
because this 2-core VM's speed drifts by up to 2× between minutes; the exact engine is
timed through ``simquanta.simulate`` (Python set-up included).
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from numba import njit, prange

import simquanta as sq
from simquanta.kernels.random import agent_states
from simquanta.kernels.sampling import alias_draw, build_alias_table

from _timing import best_times

K = 100_000
ALPHA = 0.5
TAU = 5
AGENTS = 8
SAMPLES = 10_000_000
BATCH = 100


@njit(cache=True, parallel=True)
def bare_alias_loop(states, table, n_samples):
    n_agents = states.shape[0]
    k_total = table.shape[0]
    totals = np.zeros(n_agents, dtype=np.int64)
    for agent in prange(n_agents):
        s = states[agent].copy()
        counts = np.zeros(k_total, dtype=np.int64)
        for _ in range(n_samples):
            counts[alias_draw(table, k_total, s)] += 1
        totals[agent] = counts[0]
    return totals


def numpy_learner(p: np.ndarray, tau: int, n_samples: int, seed: int, chunk: int):
    rng = np.random.default_rng(seed)
    counts = np.zeros(p.size, dtype=np.int64)
    learn_sample = np.full(p.size, -1, dtype=np.int64)
    for start in range(0, n_samples, chunk):
        draws = rng.choice(p.size, size=min(chunk, n_samples - start), p=p)
        counts += np.bincount(draws, minlength=p.size)
        newly = (counts >= tau) & (learn_sample < 0)
        learn_sample[newly] = start + chunk
    return learn_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--numpy-samples", type=int, default=2_000_000,
                        help="samples timed for the per-batch numpy baseline (it is slow)")
    args = parser.parse_args()

    quanta = sq.Quanta(K, alpha=ALPHA, tau=TAU)
    learner = sq.Learner()
    data = sq.Online(steps=SAMPLES // BATCH, batch_size=BATCH)
    # Both sides start from scratch (alias table and agent streams built per call, as
    # simulate does), so neither profits from arrays left warm in cache by the last call.
    exact_s, bare_s = best_times([
        lambda: sq.simulate(quanta, learner, data, agents=AGENTS, seed=0, checkpoints=40,
                            engine="exact"),
        lambda: bare_alias_loop(agent_states(0, 0, AGENTS), build_alias_table(quanta.p),
                                SAMPLES),
    ], args.repeat)
    numpy_s, chunked_s = best_times([
        lambda: numpy_learner(quanta.p, TAU, args.numpy_samples, 0, chunk=BATCH),
        lambda: numpy_learner(quanta.p, TAU, SAMPLES, 0, chunk=100_000),
    ], 1)

    exact_rate = AGENTS * SAMPLES / exact_s
    bare_rate = AGENTS * SAMPLES / bare_s
    numpy_rate = args.numpy_samples / numpy_s
    chunked_rate = SAMPLES / chunked_s
    print(json.dumps({
        "benchmark": "bench_engines",
        "workload": {"n_quanta": K, "alpha": ALPHA, "tau": TAU, "agents": AGENTS,
                     "samples_per_agent": SAMPLES, "batch_size": BATCH},
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "exact_samples_per_s": exact_rate,
        "bare_alias_samples_per_s": bare_rate,
        "numpy_samples_per_s": numpy_rate,
        "numpy_chunked_samples_per_s": chunked_rate,
        "exact_over_bare": exact_rate / bare_rate,
        "exact_over_numpy": exact_rate / numpy_rate,
        "exact_over_numpy_chunked": exact_rate / chunked_rate,
        "targets": {"exact_over_bare": 0.6, "exact_over_numpy": 20},
    }))


if __name__ == "__main__":
    main()
