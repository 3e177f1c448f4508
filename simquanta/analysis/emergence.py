"""How sharp is a transition? Measures of a curve y(x) over a scale variable x on a log axis.

Positions are interpolated linearly in u = log10 x. For a curve that moves from a start level
to an end level (``floor``/``ceiling``: its minimum and maximum unless given; the start is the
floor when y rises, y[-1] >= y[0], and the ceiling when it falls, e.g. a loss), the point
"a fraction f of the way" is the first x at which y reaches start + f·(end − start):

* onset f = 0.1, midpoint f = 0.5, end f = 0.9;
* width = log10(end) − log10(onset), in decades of x;
* max slope = largest finite-difference Δy/Δu between neighbouring samples, in the direction of
  the transition (y units per decade).

A crossing that does not happen inside the sampled range (the curve starts past the level, or
never reaches it) is NaN: the transition is censored, not located.

Classification (:data:`EMERGENT_WIDTH_DECADES` = 1): a transition is *emergent* when its 10–90
width is below one decade of x, *gradual* otherwise, *undetermined* when onset or end is NaN.
Why one decade: the smoothest saturating laws a scaling curve is compared with are wider.
A Hill curve x^h/(x^h + x0^h) has width 2·log10(9)/h = 1.91/h decades, so 1.91 for h = 1; and a
single quantum acquired memorylessly (geometric learning, P = 1 − e^(−x/x0), the quantization
model's per-quantum curve for τ = 1) has width log10(ln 10 / −ln 0.9) = 1.34 decades. Widths
under one decade need a Hill exponent h > 1.91, i.e. something sharper than any single power
law of order ≤ ~2 — e.g. a threshold rule with τ ≫ 1, or exact match over many tokens of an
already sigmoidal per-token accuracy. The measures describe a transition between two plateaus:
a curve still moving at an edge of the sampled range (a pure power law has no plateau) gets a
width set by that range, so pass ``floor``/``ceiling`` (e.g. 0 and 1) when they are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .stats import percentile_ci, sem

__all__ = [
    "EMERGENT_WIDTH_DECADES",
    "Band",
    "MidpointSpread",
    "Transition",
    "crossing",
    "mean_band",
    "midpoint_spread",
    "transition",
]

EMERGENT_WIDTH_DECADES = 1.0


@dataclass(frozen=True)
class Transition:
    """Measures of one curve (x positions in x units, widths in decades; see module docs)."""

    floor: float
    ceiling: float
    onset: float
    midpoint: float
    end: float
    width_decades: float
    max_slope_per_decade: float
    label: str  # "emergent", "gradual" or "undetermined"

    @property
    def emergent(self) -> bool:
        return self.label == "emergent"


@dataclass(frozen=True)
class MidpointSpread:
    """Per-agent midpoints and their spread in decades (NaN midpoints are left out)."""

    midpoints: np.ndarray
    std_decades: float
    iqr_decades: float
    n_undetermined: int


@dataclass(frozen=True)
class Band:
    """Mean over agents with a normal band mean ± z·SEM; bootstrap percentiles if requested."""

    mean: np.ndarray
    sem: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    boot_lower: np.ndarray | None = None
    boot_upper: np.ndarray | None = None


def _log_x(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError("x must be a 1-D array of at least 2 scales")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError("x must be finite and > 0 (it is used on a log scale)")
    u = np.log10(x)
    if np.any(np.diff(u) <= 0):
        raise ValueError("x must be strictly increasing")
    return u


def _curve(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) like x, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    return y


def _first_crossing(u: np.ndarray, y: np.ndarray, level: float, rising: bool) -> float:
    """log10 x where y first reaches ``level`` (linear in u), NaN if censored."""
    reached = y >= level if rising else y <= level
    if not reached.any():
        return math.nan
    i = int(np.argmax(reached))
    if i == 0:
        return math.nan
    t = (level - y[i - 1]) / (y[i] - y[i - 1])
    return float(u[i - 1] + t * (u[i] - u[i - 1]))


def crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """First x at which y reaches ``level`` from its starting side, interpolated linearly in
    log10 x: x* = 10^(u_{i−1} + (level − y_{i−1}) / (y_i − y_{i−1}) · (u_i − u_{i−1})).
    NaN if y starts at or past the level or never reaches it."""
    u = _log_x(x)
    y = _curve(y, u.size)
    return 10.0 ** _first_crossing(u, y, float(level), bool(y[0] < level))


def transition(
    x: np.ndarray,
    y: np.ndarray,
    *,
    floor: float | None = None,
    ceiling: float | None = None,
    emergent_below: float = EMERGENT_WIDTH_DECADES,
) -> Transition:
    """Floor, ceiling, onset/midpoint/end, 10–90 width, max slope and label of y(x).

    Level f sits at start + f·(end − start) with (start, end) = (floor, ceiling) for a rising
    curve and (ceiling, floor) for a falling one; see the module docs for every definition.
    """
    u = _log_x(x)
    y = _curve(y, u.size)
    lo = float(y.min()) if floor is None else float(floor)
    hi = float(y.max()) if ceiling is None else float(ceiling)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"need finite floor <= ceiling, got floor={lo}, ceiling={hi}")
    rising = bool(y[-1] >= y[0])
    start, stop = (lo, hi) if rising else (hi, lo)
    pos = [_first_crossing(u, y, start + f * (stop - start), rising) for f in (0.1, 0.5, 0.9)]
    if hi == lo:
        pos = [math.nan] * 3
    slope = np.diff(y) / np.diff(u)
    max_slope = float(slope.max() if rising else -slope.min())
    width = pos[2] - pos[0]
    if math.isnan(width):
        label = "undetermined"
    else:
        label = "emergent" if width < emergent_below else "gradual"
    onset, mid, end = (10.0**p for p in pos)
    return Transition(lo, hi, onset, mid, end, width, max_slope, label)


def midpoint_spread(
    x: np.ndarray,
    curves: np.ndarray,
    *,
    floor: float | None = None,
    ceiling: float | None = None,
) -> MidpointSpread:
    """Midpoint of each agent's curve (``curves`` shape (agents, n_x)) and its spread.

    ``std_decades`` = sample std (ddof=1) of log10 midpoints; ``iqr_decades`` = 75th − 25th
    percentile of log10 midpoints. Agents whose midpoint is censored are counted in
    ``n_undetermined`` and left out; the spreads are NaN if fewer than 2 remain.
    Each agent's floor/ceiling default to its own min/max.
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2:
        raise ValueError("curves must have shape (agents, n_x)")
    mids = np.array(
        [transition(x, c, floor=floor, ceiling=ceiling).midpoint for c in curves], dtype=float
    )
    logs = np.log10(mids[np.isfinite(mids)])
    if logs.size >= 2:
        std = float(np.std(logs, ddof=1))
        q25, q75 = np.percentile(logs, [25, 75])
        iqr = float(q75 - q25)
    else:
        std = iqr = math.nan
    return MidpointSpread(mids, std, iqr, int(mids.size - logs.size))


def mean_band(
    curves: np.ndarray,
    *,
    level: float = 0.95,
    n_boot: int = 0,
    seed: int | np.random.Generator | None = None,
) -> Band:
    """Mean over the first axis (agents) with a ``level`` confidence band.

    Normal band: mean ± z·SEM with z = Φ⁻¹((1 + level)/2) (1.96 for 95 %) and
    SEM = std(ddof=1)/√n. With ``n_boot`` > 0 also a percentile bootstrap band: resample agents
    with replacement ``n_boot`` times (seeded ``default_rng(seed)``) and take the
    (1 − level)/2 and (1 + level)/2 quantiles of the resampled means.
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim < 1 or curves.shape[0] < 2:
        raise ValueError("need at least 2 agents along the first axis")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if not isinstance(n_boot, int) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative int, got {n_boot!r}")
    n = curves.shape[0]
    mean = curves.mean(axis=0)
    err = sem(curves)
    z = float(ndtri(0.5 + level / 2.0))
    boot_lower = boot_upper = None
    if n_boot:
        rng = np.random.default_rng(seed)
        # Multinomial counts give every resample's mean as one matrix product, without
        # materialising n_boot copies of the data.
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
        means = (counts @ curves.reshape(n, -1) / n).reshape((n_boot,) + mean.shape)
        boot_lower, boot_upper = percentile_ci(means, level)
    return Band(mean, err, mean - z * err, mean + z * err, boot_lower, boot_upper)
