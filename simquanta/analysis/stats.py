"""Standard errors and bootstrap confidence intervals: the one implementation of each.

Rules, used everywhere in simquanta and its experiments:

- :func:`sem`: standard error of the mean, ``std(ddof=1) / √n`` along an axis (agents).
  **A single value (n = 1) gives NaN**, without a warning: one agent carries no estimate of
  the spread, and 0 would claim a certainty the data do not give. n = 0 is an error.
- Bootstrap intervals are **percentile** intervals: the (1 − level)/2 and (1 + level)/2
  quantiles of the replicates (:func:`percentile_ci`), NaN replicates left out. The
  bootstrap standard error is the replicates' std(ddof=1) (:func:`bootstrap_se`).
- Resampling draws come from a ``numpy.random.Generator`` the caller seeds; the helpers
  below make exactly the draws the former per-module copies made, so seeded results are
  unchanged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "bootstrap",
    "bootstrap_se",
    "percentile_ci",
    "resample_counts",
    "sem",
]


def sem(x: ArrayLike, axis: int = 0) -> NDArray[np.float64]:
    """Standard error of the mean along ``axis``: std(ddof=1) / √n; NaN where n = 1."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"sem needs at least one value along axis {axis}; got shape {x.shape}")
    if n == 1:
        return np.full(np.delete(np.array(x.shape), axis), np.nan)
    return x.std(axis=axis, ddof=1) / math.sqrt(n)


def percentile_ci(replicates: ArrayLike, level: float = 0.95,
                  axis: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile bootstrap interval: the (1 − level)/2 and (1 + level)/2 quantiles of the
    replicates along ``axis``, NaN replicates left out (none or all NaN: NaN)."""
    reps = np.asarray(replicates, dtype=np.float64)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level!r} is invalid: must lie in (0, 1)")
    if reps.shape[axis] == 0:
        empty = np.full(np.delete(np.array(reps.shape), axis), np.nan)
        return empty, empty.copy()
    tail = (1.0 - level) / 2.0
    quantile = np.nanquantile if np.isnan(reps).any() else np.quantile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice gives NaN
        low, high = quantile(reps, [tail, 1.0 - tail], axis=axis)
    return low, high


def bootstrap_se(replicates: ArrayLike, axis: int = 0) -> NDArray[np.float64]:
    """Bootstrap standard error: std(ddof=1) of the replicates along ``axis`` (NaN left
    out); NaN with fewer than two replicates."""
    reps = np.asarray(replicates, dtype=np.float64)
    if reps.shape[axis] < 2:
        return np.full(np.delete(np.array(reps.shape), axis), np.nan)
    return np.nanstd(reps, axis=axis, ddof=1)


def resample_counts(rng: np.random.Generator, n_boot: int, size: int) -> NDArray[np.float64]:
    """(n_boot, size) multiplicities of ``n_boot`` with-replacement resamples of ``size``
    items (one ``rng.integers`` draw of shape (n_boot, size))."""
    idx = rng.integers(0, size, size=(n_boot, size))
    counts = np.zeros((n_boot, size))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    return counts


def bootstrap(statistic: Callable[[NDArray[np.int64]], Any], n: int, n_boot: int,
              rng: np.random.Generator, *,
              strata: Sequence[NDArray[np.int64]] | None = None) -> list[Any]:
    """The statistic on ``n_boot`` resamples of ``n`` items (indices with replacement).

    Each replicate draws ``rng.integers(0, n, size=n)``, or with ``strata`` (index groups)
    ``rng.choice(group, size=len(group))`` per group, concatenated: a stratified bootstrap.
    ``statistic(indices)`` returns the replicate's value, or None to drop a resample that
    cannot define it (its draws are still consumed). Returns the kept values in order.
    """
    kept = []
    for _ in range(n_boot):
        if strata is None:
            idx = rng.integers(0, n, size=n)
        else:
            idx = np.concatenate([rng.choice(g, size=len(g)) for g in strata])
        value = statistic(idx)
        if value is not None:
            kept.append(value)
    return kept
