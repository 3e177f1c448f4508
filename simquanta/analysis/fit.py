"""Power-law fits with bootstrap confidence intervals.

Model: y - offset = prefactor · x^(-exponent), fitted by ordinary least squares of
log(y - offset) on log(x).  ``exponent > 0`` means y decreases with x (a scaling law such as
L(n) - L∞ ∝ n^-α, loss in bits, n in samples).

Confidence intervals are percentile bootstraps of the exponent:

* 1-D ``y`` (one curve): pairs bootstrap, resampling (x, y) points with replacement.
* 2-D ``y`` of shape (n_agents, n_points) (replicate simulated curves): the fit is to the mean
  curve and the bootstrap resamples agents (rows) and refits the resampled mean curve.  Points
  of one simulated agent are correlated (the same learned quanta persist along the curve), so
  resampling points would treat them as independent and understate the uncertainty; agents are
  independent, so resampling them is the right unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import as_float_array, check_int, invalid
from .stats import percentile_ci, resample_counts

__all__ = ["PowerLawFit", "fit_power_law"]


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`: y - offset = prefactor · x^(-exponent).

    ``ci_low``/``ci_high`` bound the exponent (percentile bootstrap; NaN if ``n_boot == 0``).
    ``n_points`` is the number of points used and ``x_range`` the (min, max) of their x.
    """

    exponent: float
    prefactor: float
    ci_low: float
    ci_high: float
    offset: float
    n_points: int
    x_range: tuple[float, float]

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """y(x) = offset + prefactor · x^(-exponent)."""
        return self.offset + self.prefactor * np.asarray(x, dtype=np.float64) ** -self.exponent


def _weighted_line(
    lx: NDArray[np.float64], ly: NDArray[np.float64], w: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted least-squares slope and intercept of ly on lx along the last axis (vectorized).

    Weights are resampling counts or 0/1 masks; rows are bootstrap replicates.
    """
    sw = w.sum(-1)
    mx = (w * lx).sum(-1) / sw
    my = (w * ly).sum(-1) / sw
    dx = lx - mx[..., None]
    sxx = (w * dx * dx).sum(-1)
    sxy = (w * dx * (ly - my[..., None])).sum(-1)
    slope = sxy / sxx
    return slope, my - slope * mx


def _n_distinct_x(x_ids: NDArray[np.int64], n_ids: int, w: NDArray[np.float64]) -> NDArray:
    """Per row, how many distinct x values carry positive weight (a line needs >= 2)."""
    occupied = np.zeros((w.shape[0], n_ids), dtype=bool)
    rows = np.broadcast_to(np.arange(w.shape[0])[:, None], w.shape)
    occupied[rows[w > 0], np.broadcast_to(x_ids, w.shape)[w > 0]] = True
    return occupied.sum(1)


def fit_power_law(
    x: ArrayLike,
    y: ArrayLike,
    *,
    offset: float = 0.0,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    x_range: tuple[float, float] | None = None,
) -> PowerLawFit:
    """Fit y - offset = prefactor · x^(-exponent) by least squares in log-log space.

    Uses the points with x inside ``x_range`` (inclusive) and y - offset > 0 (for 2-D ``y``, the
    mean curve's y).  ``x`` is (P,) and positive; ``y`` is (P,) or (n_agents, P).  The CI on the
    exponent is a percentile bootstrap with ``n_boot`` replicates from
    ``numpy.random.default_rng(seed)`` (pairs bootstrap for 1-D ``y``, agent bootstrap for 2-D;
    see module docstring).  Replicates in which fewer than two distinct x remain usable cannot
    define a slope and are dropped.
    """
    xa = as_float_array("x", x)
    ya = as_float_array("y", y)
    if xa.ndim != 1:
        raise invalid("x", x, f"must be 1-D (has shape {xa.shape})")
    if not np.all(np.isfinite(xa)) or np.any(xa <= 0):
        raise invalid("x", x, f"must be finite and > 0 (log-log fit); min(x) = {float(xa.min())!r}")
    if ya.ndim not in (1, 2) or ya.shape[-1] != xa.size:
        raise invalid("y", y, f"must have shape ({xa.size},) or (n_agents, {xa.size}) to match x "
                              f"(has shape {ya.shape})")
    if ya.size == 0 or not np.all(np.isfinite(ya)):
        raise invalid("y", y, "must be non-empty and finite (has NaN/inf or is empty)")
    if not math.isfinite(offset):
        raise invalid("offset", offset, "must be finite")
    n_boot = check_int("n_boot", n_boot, 0)
    if not (0.0 < ci < 1.0):
        raise invalid("ci", ci, "must lie in (0, 1)")
    if x_range is None:
        lo, hi = -math.inf, math.inf
    else:
        if len(x_range) != 2 or not x_range[0] <= x_range[1]:
            raise invalid("x_range", x_range, "must be a pair (low, high) with low <= high")
        lo, hi = float(x_range[0]), float(x_range[1])

    curve = ya if ya.ndim == 1 else ya.mean(axis=0)
    use = (xa >= lo) & (xa <= hi) & (curve - offset > 0)
    x_ids = np.unique(xa[use], return_inverse=True)[1]
    n_ids = int(x_ids.max()) + 1 if x_ids.size else 0
    if n_ids < 2:
        raise invalid("x", x, f"must give at least 2 usable points (distinct x in x_range = "
                              f"{x_range!r} with y - offset > 0); has {int(use.sum())} point(s) "
                              f"at {n_ids} distinct x")
    lx = np.log(xa[use])
    slope, intercept = _weighted_line(lx, np.log(curve[use] - offset), np.ones(lx.size))

    rng = np.random.default_rng(seed)
    boot = np.full(n_boot, np.nan)
    if n_boot > 0:
        if ya.ndim == 1:
            w = resample_counts(rng, n_boot, lx.size)
            ly = np.log(curve[use] - offset)
        else:
            # Mean of resampled agents = counts @ y / n_agents; a point whose resampled mean
            # drops to <= offset is left out of that replicate only.
            counts = resample_counts(rng, n_boot, ya.shape[0])
            means = counts @ ya[:, use] / ya.shape[0] - offset
            w = (means > 0).astype(np.float64)
            ly = np.log(np.where(means > 0, means, 1.0))
        ok = _n_distinct_x(x_ids, n_ids, w) >= 2
        with np.errstate(divide="ignore", invalid="ignore"):
            boot[ok] = -_weighted_line(lx, ly, w)[0][ok]
    ci_low, ci_high = percentile_ci(boot, ci)  # NaN when no replicate defines a slope

    return PowerLawFit(
        exponent=float(-slope),
        prefactor=float(np.exp(intercept)),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        offset=float(offset),
        n_points=int(use.sum()),
        x_range=(float(xa[use].min()), float(xa[use].max())),
    )
