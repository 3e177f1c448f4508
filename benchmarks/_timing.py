"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def best_times(fns: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Best wall time of each function, runs interleaved, after one warm-up call each.

    Interleaving matters on this 2-vCPU VM, whose speed drifts by up to 2× between
    seconds: compared runs see the same conditions. The warm-up excludes compilation.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best
