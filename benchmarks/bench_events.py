"""Events engine: wall time at 10^6 quanta × 256 agents, horizon independence, speed-up
over the exact engine, and peak memory. Prints one JSON line.

Workloads (α = 0.5, τ = 5, threshold rule, 40 log-spaced checkpoints, batch size 1):
- ``wall_inf_s`` / ``wall_cap_s``: K = 10^6, 256 agents, up to 10^12 samples per agent,
  capacity unlimited / 10^5 under ``reject``;
- ``horizon_ratio_*``: the same at 10^12 samples ÷ at 10^6 samples;
- ``events_over_exact``: K = 10^5, 8 agents, 10^8 samples each, both engines;
- ``peak_rss_gb``: peak resident memory of this process (no per-quantum learn steps).
Each configuration runs once untimed first so compilation is excluded; the runs being
compared are interleaved and the best of --repeat kept, because this VM's speed drifts by
up to 2× between seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource

import simquanta as sq

from _timing import best_times

ALPHA = 0.5
TAU = 5


def run(n_quanta: int, agents: int, samples: int, capacity: float, engine: str,
        batch_size: int = 1):
    return sq.simulate(sq.Quanta(n_quanta, alpha=ALPHA, tau=TAU),
                       sq.Learner(capacity=capacity, policy="reject"),
                       sq.Online(steps=samples // batch_size, batch_size=batch_size),
                       agents=agents, seed=0, checkpoints=40, engine=engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "bench_events",
                              "threads": int(os.environ.get("NUMBA_NUM_THREADS",
                                                            os.cpu_count() or 1))}
    inf = float("inf")
    for label, cap in (("inf", inf), ("cap", 1e5)):
        long, short = best_times([lambda cap=cap: run(10**6, 256, 10**12, cap, "events"),
                                  lambda cap=cap: run(10**6, 256, 10**6, cap, "events")],
                                 args.repeat)
        out[f"wall_{label}_s"] = long
        out[f"wall_{label}_1e6_samples_s"] = short
        out[f"horizon_ratio_{label}"] = long / short
    events_s, exact_s = best_times([lambda: run(10**5, 8, 10**8, inf, "events", 100),
                                    lambda: run(10**5, 8, 10**8, inf, "exact", 100)],
                                   args.repeat)
    out.update({
        "events_small_s": events_s,
        "exact_small_s": exact_s,
        "events_over_exact": exact_s / events_s,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "targets": {"wall_s": 10, "horizon_ratio": 1.5, "events_over_exact": 100,
                    "peak_rss_gb": 2},
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
