"""Closed forms for the ``logistic`` and ``resource`` dynamics families.

Units: ``n``/``t`` count training samples (for the Poissonized events engine, t is the expected
number of samples, so quantum k has Poisson(p_k t) exposures); losses ``a``/``b`` are bits per
sample, so every expected loss returned here is in bits per sample; learned counts are numbers
of quanta; learn times are in samples.  Shapes: ``p`` is (K,); per-quantum parameters are scalars
or (K,); ``n`` is a scalar or (C,); per-quantum results are (C, K), or (K,) for a scalar ``n``.

logistic (Nam, Fonseca, Lee, Mingard & Louis 2024, arXiv 2404.17563)
    After c exposures quantum k has strength
        s(c) = 1 / (1 + (1/s0 − 1)·e^(−η c)),
    the exact solution of ds/dc = η s (1 − s), s(0) = s0.  A sample using k costs
    b_k − (b_k − a_k)·s_k bits, so with unlimited capacity
        E[L(n)] = Σ_k p_k (b_k − (b_k − a_k)·E[s(c_k)]),
    c_k ~ Binomial(n, p_k) (exact engine) or Poisson(n p_k) (events engine).  Quantum k counts
    as learned once s_k ≥ ½, i.e. c_k ≥ c½ = max(1, ⌈ln(1/s0 − 1)/η⌉).  As s0 → 0 the strength
    is a step at c = ln(1/s0 − 1)/η: the family contains the threshold rule with
    τ = ln(1/s0 − 1)/η as its sharp limit.

resource (Liu, Liu, Michaud, Gore & Tegmark 2025, "Physics of skill learning", arXiv 2501.12391)
    Normalized optimizers share one update budget among the skills still being learned.  Each
    quantum has progress π_k (starting at 0) and is learned once π_k ≥ τ_k.  Each exposure of a
    quantum in progress (not learned, not blocked by a prerequisite) adds
        w = 1/U,   U = Σ_{j in progress} g_j / Σ_{all j} g_j,   g_j = p_j (b_j − a_j),
    U being evaluated before the exposure; U changes only when a quantum is learned or
    unblocked.  At the start U = 1, so an isolated quantum (K = 1, p = 1) follows the counting
    (threshold) rule: learned at its ⌈τ⌉-th exposure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, special, stats

from ..validation import invalid

__all__ = [
    "logistic_strength",
    "logistic_half_count",
    "logistic_mean_strength",
    "logistic_expected_loss",
    "logistic_expected_learned",
    "logistic_mean_field",
    "logistic_emergence_time",
    "logistic_dataset_mean_strength",
    "logistic_dataset_expected_loss",
    "logistic_exponents",
    "logistic_step_loss_asymptote",
    "resource_mean_field_times",
    "resource_mean_field_loss",
    "resource_domino",
    "TwoQuantaPrediction",
    "resource_two_quanta_exact",
    "resource_two_quanta_poisson",
]

FloatOrArray = float | NDArray[np.float64]
COUNT_LAWS = ("binomial", "poisson")

# Tolerance on sum(p) == 1 (same as analysis.theory).
_P_SUM_ATOL = 1e-6
# Beyond the count where 1 − s(c) < e^-_DEFICIT_LOG, s(c) is 1 to double precision
# (e^-41.5 ≈ 1e-18 < 2^-53 / 100).
_DEFICIT_LOG = 41.5
# Counts further than 12 standard deviations plus 30 from the mean carry probability mass below
# 1e-20 (Gaussian tail e^-72 for large means, < 30^-30·e^λ-type Poisson tails for small ones)
# and are skipped.
_SD_WINDOW = 12.0
_MARGIN = 30.0
_MAX_EXACT_INT = 2.0**53


# --------------------------------------------------------------------------- validation helpers


def _check_p(p: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise invalid("p", p, "must be a non-empty 1-D array of use frequencies")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise invalid("p", p, "must contain finite values >= 0")
    if abs(float(arr.sum()) - 1.0) > _P_SUM_ATOL:
        raise invalid("p", p, f"must sum to 1 (within {_P_SUM_ATOL:g}); sums to {arr.sum()!r}")
    return arr


def _per_quantum(
    value: ArrayLike, name: str, n_quanta: int, *, low: float = -math.inf,
    low_open: bool = False, high: float = math.inf, high_open: bool = False,
) -> NDArray[np.float64]:
    """Broadcast a scalar or (K,) parameter to (K,), checking it is finite and in range."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n_quanta):
        raise invalid(name, value, f"must be a scalar or have shape ({n_quanta},) like p")
    lo_bad = (arr <= low) if low_open else (arr < low)
    hi_bad = (arr >= high) if high_open else (arr > high)
    if not np.all(np.isfinite(arr)) or np.any(lo_bad) or np.any(hi_bad):
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        raise invalid(name, value, f"must be finite and lie in {lb}{low:g}, {high:g}{hb}")
    return np.broadcast_to(arr, (n_quanta,)).astype(np.float64)


def _check_counts(value: ArrayLike, name: str, *, integer: bool) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1:
        raise invalid(name, value, "must be a scalar or a 1-D array")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise invalid(name, value, "must be finite and >= 0")
    if integer and (np.any(arr != np.floor(arr)) or np.any(arr > _MAX_EXACT_INT)):
        raise invalid(name, value, "must be integer-valued (a number of samples) and <= 2**53")
    return arr


def _check_count_law(counts: str) -> str:
    if counts not in COUNT_LAWS:
        raise invalid("counts", counts, f"must be one of {COUNT_LAWS}")
    return counts


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise invalid("alpha", alpha, "must be a real number > 0")
    if not (math.isfinite(alpha) and alpha > 0):
        raise invalid("alpha", alpha, "must be a real number > 0")
    return float(alpha)


def _out(arr: NDArray[np.float64]) -> FloatOrArray:
    return float(arr) if arr.ndim == 0 else arr


# ---------------------------------------------------------------------------------- logistic


def _logit(s0: NDArray[np.float64]) -> NDArray[np.float64]:
    """logit(s0) = −ln(1/s0 − 1)."""
    return special.logit(s0)


def logistic_strength(c: ArrayLike, eta: ArrayLike, s0: ArrayLike) -> FloatOrArray:
    """s(c) = 1 / (1 + (1/s0 − 1)·e^(−η c)): strength (dimensionless, in (0, 1)) after c exposures.

    Exact solution of ds/dc = η s (1 − s) with s(0) = s0; ``c`` (exposures, real >= 0), ``eta``
    (> 0, per exposure) and ``s0`` (in (0, 1)) broadcast together.  Evaluated as
    expit(η c + logit s0), accurate to a few ulp in both s and 1 − s.
    """
    c_arr = np.asarray(c, dtype=np.float64)
    eta_arr = np.asarray(eta, dtype=np.float64)
    s0_arr = np.asarray(s0, dtype=np.float64)
    if not np.all(np.isfinite(c_arr)) or np.any(c_arr < 0):
        raise invalid("c", c, "must be finite and >= 0 (a number of exposures)")
    if not np.all(np.isfinite(eta_arr)) or np.any(eta_arr <= 0):
        raise invalid("eta", eta, "must be finite and > 0")
    if not np.all((s0_arr > 0) & (s0_arr < 1)):
        raise invalid("s0", s0, "must lie in (0, 1)")
    return _out(special.expit(eta_arr * c_arr + _logit(s0_arr)))


def logistic_half_count(eta: ArrayLike, s0: ArrayLike) -> NDArray[np.int64]:
    """c½ = max(1, ⌈ln(1/s0 − 1)/η⌉): exposures after which s ≥ ½ ("learned"), per quantum.

    Integer array broadcast from ``eta`` and ``s0``.  (A kernel comparing s(c) >= 0.5 in floating
    point can disagree with this when ln(1/s0 − 1)/η is within ~1e-15 of an integer.)
    """
    eta_arr = np.asarray(eta, dtype=np.float64)
    s0_arr = np.asarray(s0, dtype=np.float64)
    if not np.all(np.isfinite(eta_arr)) or np.any(eta_arr <= 0):
        raise invalid("eta", eta, "must be finite and > 0")
    if not np.all((s0_arr > 0) & (s0_arr < 1)):
        raise invalid("s0", s0, "must lie in (0, 1)")
    return np.maximum(1, np.ceil(-_logit(s0_arr) / eta_arr)).astype(np.int64)


def _count_logpmf_start(c0: int, n: NDArray, p: NDArray, counts: str) -> NDArray[np.float64]:
    if counts == "binomial":
        return stats.binom.logpmf(c0, n, p)
    return stats.poisson.logpmf(c0, n * p)


def _count_sf(c: float, n: NDArray, p: NDArray, counts: str) -> NDArray[np.float64]:
    if counts == "binomial":
        return stats.binom.sf(c, n, p)
    return stats.poisson.sf(c, n * p)


def _expect_over_counts(
    n: NDArray[np.float64], p: NDArray[np.float64], slope: NDArray[np.float64],
    offset: NDArray[np.float64], counts: str, *, floor_count: NDArray[np.float64] | None = None,
    below_value: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """E[s] and E[1 − s] of s(X) = expit(slope·X + offset), X ~ Binomial(n, p) or Poisson(n p).

    ``n`` is (C, 1), the others (K,).  If ``floor_count`` is given, X < floor_count has strength
    expit(below_value) instead (the dataset rule).  Sums the pmf over the counts where s is not
    yet 1 to double precision and adds the upper tail mass; the pmf is propagated by its ratio
    in log space (exact to rounding, no underflow), so the result is accurate to ~1e-13.
    """
    lam = n * p  # (C, K) mean counts
    # Largest count at which 1 − s can still exceed e^-41.5 (for every quantum).
    c_flat = float(np.max(np.ceil((_DEFICIT_LOG - offset) / slope)))
    if floor_count is not None:
        c_flat = max(c_flat, float(np.max(floor_count)))
    sd = np.sqrt(lam * (1.0 - p) if counts == "binomial" else lam)
    c_hi = float(np.max(lam + _SD_WINDOW * sd)) + _MARGIN
    c_lo = float(np.min(lam - _SD_WINDOW * sd)) - _MARGIN
    c_end = math.floor(min(c_flat, c_hi, float(np.max(n)) if counts == "binomial" else c_hi))
    c_start = max(0, min(math.floor(c_lo), c_end)) if c_lo > 0 else 0
    # p = 1 (binomial): X = n exactly; the ratio recursion would need log(p/(1-p)) = inf.
    p_rec = np.where(p < 1.0, p, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        logpmf = _count_logpmf_start(c_start, n, p_rec, counts)
        if counts == "binomial":
            log_odds = np.log(p_rec) - np.log1p(-p_rec)
        else:
            log_lam = np.log(lam)
    mean_s = np.zeros(lam.shape)
    mean_deficit = np.zeros(lam.shape)
    pmf = np.empty(lam.shape)
    for c in range(c_start, c_end + 1):
        np.exp(logpmf, out=pmf)
        x = slope * c + offset  # (K,): the strength does not depend on n
        if floor_count is not None:
            x = np.where(c >= floor_count, x, below_value)
        mean_s += pmf * special.expit(x)
        mean_deficit += pmf * special.expit(-x)
        # log P(X = c+1) − log P(X = c); −inf stays −inf (no +inf term can occur: p < 1).
        with np.errstate(divide="ignore"):
            if counts == "binomial":
                logpmf = logpmf + (np.log(np.maximum(n - c, 0.0)) - math.log(c + 1)) + log_odds
            else:
                logpmf += log_lam - math.log(c + 1)
    mean_s += _count_sf(c_end, n, p_rec, counts)
    if counts == "binomial" and np.any(p >= 1.0):
        x_full = slope * n + offset
        if floor_count is not None:
            x_full = np.where(n >= floor_count, x_full, below_value)
        full = np.broadcast_to(p >= 1.0, lam.shape)
        mean_s = np.where(full, special.expit(x_full), mean_s)
        mean_deficit = np.where(full, special.expit(-x_full), mean_deficit)
    return np.clip(mean_s, 0.0, 1.0), np.clip(mean_deficit, 0.0, 1.0)


def _logistic_prepare(
    n: ArrayLike, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, counts: str
) -> tuple[NDArray, NDArray, NDArray, NDArray, bool]:
    _check_count_law(counts)
    p_arr = _check_p(p)
    eta_k = _per_quantum(eta, "eta", p_arr.size, low=0.0, low_open=True)
    s0_k = _per_quantum(s0, "s0", p_arr.size, low=0.0, low_open=True, high=1.0, high_open=True)
    n_arr = _check_counts(n, "n", integer=counts == "binomial")
    return n_arr, p_arr, eta_k, s0_k, n_arr.ndim == 0


def _logistic_moments(
    n: ArrayLike, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, counts: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]:
    n_arr, p_arr, eta_k, s0_k, scalar = _logistic_prepare(n, p, eta, s0, counts)
    mean_s, deficit = _expect_over_counts(
        np.atleast_1d(n_arr)[:, None], p_arr, eta_k, _logit(s0_k), counts)
    return mean_s, deficit, p_arr, scalar


def logistic_mean_strength(
    n: ArrayLike, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, counts: str = "binomial"
) -> NDArray[np.float64]:
    """E[s(c_k)] per quantum after n samples (dimensionless), c_k ~ Binomial(n, p_k) or Poisson.

        E[s(c_k)] = Σ_c P(c_k = c) / (1 + (1/s0 − 1) e^(−η_k c)).

    ``counts="binomial"`` (exact engine, integer n) or ``"poisson"`` (events engine, real n,
    c_k ~ Poisson(n p_k)).  ``eta``/``s0`` are scalars or (K,).  Returns (C, K) or (K,); accurate
    to ~1e-13 absolute.  Cost: O(C·K·W) with W ≤ min(c where s = 1 to double precision,
    ~24 standard deviations of the counts + 60).
    """
    mean_s, _, _, scalar = _logistic_moments(n, p, eta, s0, counts)
    return mean_s[0] if scalar else mean_s


def logistic_expected_loss(
    n: ArrayLike, p: ArrayLike, a: ArrayLike = 0.0, b: ArrayLike = 1.0, *, eta: ArrayLike,
    s0: ArrayLike, counts: str = "binomial",
) -> FloatOrArray:
    """E[L(n)] = Σ_k p_k (a_k + (b_k − a_k)·E[1 − s(c_k)]) in bits per sample.

    Unlimited capacity; counts as in :func:`logistic_mean_strength`.  E[1 − s] is summed
    directly (not as 1 − E[s]), so the far tail of a converged loss keeps its relative accuracy.
    Returns a float for scalar ``n``, else (C,).
    """
    _, deficit, p_arr, scalar = _logistic_moments(n, p, eta, s0, counts)
    a_k = _per_quantum(a, "a", p_arr.size)
    b_k = _per_quantum(b, "b", p_arr.size)
    loss = np.sum(p_arr * a_k) + deficit @ (p_arr * (b_k - a_k))
    return float(loss[0]) if scalar else loss


def logistic_expected_learned(
    n: ArrayLike, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, counts: str = "binomial"
) -> FloatOrArray:
    """E[# quanta with s_k ≥ ½] = Σ_k P(c_k ≥ c½_k), c½_k = max(1, ⌈ln(1/s0 − 1)/η_k⌉).

    A count of quanta; float for scalar ``n``, else (C,).
    """
    n_arr, p_arr, eta_k, s0_k, scalar = _logistic_prepare(n, p, eta, s0, counts)
    half = logistic_half_count(eta_k, s0_k).astype(np.float64)
    n2 = np.atleast_1d(n_arr)[:, None]
    prob = _count_sf(half - 1.0, n2, p_arr, counts)
    total = prob.sum(axis=-1)
    return float(total[0]) if scalar else total


def logistic_mean_field(t: ArrayLike, p: ArrayLike, eta: ArrayLike, s0: ArrayLike) -> NDArray:
    """Mean-field strength s_k(t) = 1 / (1 + (1/s0 − 1)·e^(−η_k p_k t)), t in samples (real ≥ 0).

    The count c_k replaced by its mean p_k t.  Returns (C, K), or (K,) for scalar ``t``.
    """
    p_arr = _check_p(p)
    eta_k = _per_quantum(eta, "eta", p_arr.size, low=0.0, low_open=True)
    s0_k = _per_quantum(s0, "s0", p_arr.size, low=0.0, low_open=True, high=1.0, high_open=True)
    t_arr = _check_counts(t, "t", integer=False)
    return special.expit(eta_k * p_arr * t_arr[..., None] + _logit(s0_k))


def logistic_emergence_time(p: ArrayLike, eta: ArrayLike, s0: ArrayLike) -> NDArray[np.float64]:
    """Mean-field emergence time t½_k = ln(1/s0 − 1)/(η_k p_k) in samples (s_k(t½) = ½).

    ∝ 1/p_k, as for the counting model with τ = ln(1/s0 − 1)/η; inf where p_k = 0.
    (10–90 % width of the mean-field sigmoid: 2 ln 9/(η_k p_k).)
    """
    p_arr = _check_p(p)
    eta_k = _per_quantum(eta, "eta", p_arr.size, low=0.0, low_open=True)
    s0_k = _per_quantum(s0, "s0", p_arr.size, low=0.0, low_open=True, high=1.0, high_open=True)
    with np.errstate(divide="ignore"):
        return -_logit(s0_k) / (eta_k * p_arr)


# ------------------------------------------------------------------- logistic, fixed dataset


def _dataset_moments(
    epochs: ArrayLike, D: int, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, tau: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]:
    p_arr = _check_p(p)
    eta_k = _per_quantum(eta, "eta", p_arr.size, low=0.0, low_open=True)
    s0_k = _per_quantum(s0, "s0", p_arr.size, low=0.0, low_open=True, high=1.0, high_open=True)
    tau_k = _per_quantum(tau, "tau", p_arr.size, low=1.0)
    if isinstance(D, bool) or not isinstance(D, (int, np.integer)) or D < 1:
        raise invalid("D", D, "must be an integer >= 1 (training-set size in samples)")
    e_arr = _check_counts(epochs, "epochs", integer=True)
    scalar = e_arr.ndim == 0
    e_vec = np.atleast_1d(e_arr)
    mean_s = np.empty((e_vec.size, p_arr.size))
    deficit = np.empty_like(mean_s)
    for i, e in enumerate(e_vec):
        # c_k = D_k·E: a binomial count in D trials whose strength slope is η E per example;
        # E = 0 leaves every quantum at s0 (slope 0 is handled as "floor never reached").
        if e == 0:
            mean_s[i] = s0_k
            deficit[i] = 1.0 - s0_k
            continue
        ms, df = _expect_over_counts(
            np.array([[float(D)]]), p_arr, eta_k * e, _logit(s0_k), "binomial",
            floor_count=np.ceil(tau_k), below_value=_logit(s0_k))
        mean_s[i], deficit[i] = ms[0], df[0]
    return mean_s, deficit, p_arr, scalar


def logistic_dataset_mean_strength(
    epochs: ArrayLike, D: int, p: ArrayLike, eta: ArrayLike, s0: ArrayLike, tau: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """E[s_k] after ``epochs`` whole epochs over a fixed set of D samples (dimensionless).

    The set is drawn once, D_k ~ Binomial(D, p_k).  A quantum with D_k < ⌈τ_k⌉ examples never
    counts and keeps s0; otherwise after E epochs it has had c_k = D_k·E exposures:
        E[s_k] = s0·P(D_k < ⌈τ_k⌉) + Σ_{d ≥ ⌈τ_k⌉} P(D_k = d)·s(d E).
    ``epochs`` (integer ≥ 0) is a scalar or (C,); returns (C, K) or (K,).
    """
    mean_s, _, _, scalar = _dataset_moments(epochs, D, p, eta, s0, tau)
    return mean_s[0] if scalar else mean_s


def logistic_dataset_expected_loss(
    epochs: ArrayLike, D: int, p: ArrayLike, a: ArrayLike = 0.0, b: ArrayLike = 1.0, *,
    eta: ArrayLike, s0: ArrayLike, tau: ArrayLike = 1.0,
) -> FloatOrArray:
    """E[L] (bits per sample) after whole epochs over a fixed set of D samples.

        E[L] = Σ_k p_k (a_k + (b_k − a_k)·E[1 − s_k]),
    with E[1 − s_k] = (1 − s0) P(D_k < ⌈τ_k⌉) + Σ_{d ≥ ⌈τ_k⌉} P(D_k = d)(1 − s(d E)).
    As E → ∞ this tends to Σ p_k (a_k + (b_k − a_k)(1 − s0) P(D_k < ⌈τ_k⌉)), the threshold
    model's dataset limit scaled by (1 − s0).  Float for scalar ``epochs``, else (C,).
    """
    _, deficit, p_arr, scalar = _dataset_moments(epochs, D, p, eta, s0, tau)
    a_k = _per_quantum(a, "a", p_arr.size)
    b_k = _per_quantum(b, "b", p_arr.size)
    loss = np.sum(p_arr * a_k) + deficit @ (p_arr * (b_k - a_k))
    return float(loss[0]) if scalar else loss


# ------------------------------------------------------------------- logistic, scaling laws


def logistic_exponents(alpha: float) -> dict[str, float]:
    """Asymptotic loss exponents of the logistic family for p_k ∝ k^-(α+1): L − L∞ ∝ X^-exponent.

    steps (online, unlimited capacity): α/(α+1).  E[L] − L∞ = (b−a) Σ_k p_k F(n p_k) where
        F(λ) = E[1 − s(Poisson(λ))] (Binomial counts give the same limit, since the quanta that
        matter have p_k ~ 1/n → 0).  F depends on k only through n p_k, falls from 1 − s0 to 0
        around λ ≈ ln(1/s0 − 1)/η and decays like e^(−ηλ) beyond: emergence time ∝ 1/p_k, as
        in the counting model.  Replacing the sum by an integral (q = p_k):
            Σ_k p_k F(n p_k) ≈ β ζ(α+1)^(−β) n^(β−1) ∫_0^∞ y^(−β) F(y) dy,   β = 1/(α+1),
        so the exponent is 1 − β = α/(α+1) (prefactor: :func:`logistic_step_loss_asymptote`).
    data (multi-epoch, E → ∞, ⌈τ⌉ examples needed): α/(α+1).  Quanta with D_k ≥ ⌈τ⌉ reach s = 1,
        the rest stay at s0: E[L] − L∞ = (1 − s0)(b−a) Σ_k p_k P(Binomial(D, p_k) < ⌈τ⌉), the
        threshold model's data law times (1 − s0): k* ∝ D^(1/(α+1)), tail ∝ D^(−α/(α+1)).
    parameters (trained to convergence, capacity holds the top n ∝ N quanta): α,
        from (1 − s0)(b−a) Σ_{k>n} p_k ∝ n^(−α).  (Depends on how capacity binds continuous
        strengths; with any rule that keeps the top n quanta at s → 1 it is α.)
    compute C = N·S: L ≈ A N^(−α) + B S^(−α/(α+1)); minimising at fixed N·S gives
        N_opt ∝ C^(1/(α+2)) and L_opt − L∞ ∝ C^(−α/(α+2)).
    Nam et al. 2024 (same α convention, skill frequencies ∝ k^-(α+1)) report, for their
    multilinear model, time and data exponents α/(α+1), parameter exponent α and optimal-compute
    exponent α/(α+2) (design notes §1 quote the latter) — the same as here and as Michaud et al.
    The shape of one skill's curve (logistic instead of a step) changes prefactors, not exponents.
    """
    al = _check_alpha(alpha)
    return {
        "steps": al / (al + 1.0),
        "data": al / (al + 1.0),
        "parameters": al,
        "compute": al / (al + 2.0),
        "N_opt": 1.0 / (al + 2.0),
    }


def _logistic_prefactor_integral(beta: float, eta: float, s0: float) -> float:
    """J = ∫_0^∞ y^(−β) E[1 − s(Poisson(y))] dy = Σ_c (1 − s(c)) Γ(c + 1 − β)/Γ(c + 1)."""
    offset = float(_logit(np.float64(s0)))
    c_end = max(0, math.ceil((_DEFICIT_LOG - offset) / eta))
    c = np.arange(c_end + 1, dtype=np.float64)
    weights = np.exp(special.gammaln(c + 1.0 - beta) - special.gammaln(c + 1.0))
    return float(np.sum(special.expit(-(eta * c + offset)) * weights))


def logistic_step_loss_asymptote(
    n: ArrayLike, alpha: float, *, eta: float, s0: float, a: float = 0.0, b: float = 1.0
) -> FloatOrArray:
    """Large-n loss (bits) of the logistic family online, for p_k = k^-(α+1)/ζ(α+1), K = ∞:

        E[L(n)] ≈ a + (b − a)·β ζ(α+1)^(−β)·J·n^(−α/(α+1)),   β = 1/(α+1),
        J = Σ_{c≥0} (1 − s(c))·Γ(c + 1 − β)/Γ(c + 1)

    (from ∫_0^∞ y^(−β) P(Poisson(y) = c) dy = Γ(c+1−β)/c!).  For Poisson counts, or Binomial
    counts at large n.  As s0 → 0, J → (ln(1/s0 − 1)/η)^(1−β)/(1 − β), the threshold-model
    value with τ = ln(1/s0 − 1)/η.  ``n`` > 0 samples, scalar or (C,).
    """
    al = _check_alpha(alpha)
    eta_f = float(_per_quantum(eta, "eta", 1, low=0.0, low_open=True)[0])
    s0_f = float(_per_quantum(s0, "s0", 1, low=0.0, low_open=True, high=1.0, high_open=True)[0])
    n_arr = _check_counts(n, "n", integer=False)
    if np.any(n_arr <= 0):
        raise invalid("n", n, "must be > 0 samples")
    beta = 1.0 / (al + 1.0)
    J = _logistic_prefactor_integral(beta, eta_f, s0_f)
    pref = beta * special.zeta(al + 1.0) ** (-beta) * J
    return _out(a + (b - a) * pref * n_arr ** (beta - 1.0))


# ---------------------------------------------------------------------------------- resource


def _check_edges(edges: Sequence[Sequence[int]] | None, n_quanta: int) -> list[list[int]]:
    """(prerequisite, dependent) pairs of 0-based indices -> list of prerequisites per quantum."""
    parents: list[list[int]] = [[] for _ in range(n_quanta)]
    if edges is None:
        return parents
    for edge in edges:
        if (len(edge) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, np.integer))
                                  or not 0 <= x < n_quanta for x in edge)):
            raise invalid("edges", edge, f"each edge must be a pair of indices in [0, {n_quanta})")
        if edge[0] == edge[1]:
            raise invalid("edges", edge, "a quantum cannot require itself")
        parents[int(edge[1])].append(int(edge[0]))
    return parents


def resource_mean_field_times(
    p: ArrayLike, g: ArrayLike, tau: ArrayLike,
    edges: Sequence[Sequence[int]] | None = None,
) -> NDArray[np.float64]:
    """Mean-field (fluid) learn time of each quantum under the shared update budget, in samples.

        dπ_k/dt = p_k / U(t)  for k in progress,   U(t) = Σ_{j in progress} g_j / Σ_j g_j,
    learned when π_k reaches τ_k.  U is constant between learn events, so π is piecewise linear
    and the times are exact: repeatedly advance to the next quantum to reach τ, mark it learned,
    unblock its dependents and recompute U.  ``edges`` are (prerequisite, dependent) pairs
    (0-based) with block semantics: a dependent accrues no progress, and does not count in U,
    until all its prerequisites are learned.  ``g`` is the gradient signal, usually
    p·(b − a), > 0 where p > 0; ``tau`` ≥ 0 in progress units.  Quanta with p = 0, or behind
    a cycle, get inf.  Returns (K,).

    Isolated quantum (K = 1, p = 1): U = 1, t = τ.  Two independent quanta with p ∝ (1, 0.1)
    and equal τ: t_1 = 1.1 τ; quantum 2 has then π = 0.1 τ and runs at p_2/U = 1, so t_2 = 2 τ
    (counting model: 11 τ).
    """
    p_arr = _check_p(p)
    n_q = p_arr.size
    g_k = _per_quantum(g, "g", n_q, low=0.0)
    if np.any((p_arr > 0) & (g_k <= 0)):
        raise invalid("g", g, "must be > 0 wherever p > 0 (U would reach 0 with work left)")
    tau_k = _per_quantum(tau, "tau", n_q, low=0.0)
    parents = _check_edges(edges, n_q)
    g_total = float(g_k.sum())
    progress = np.zeros(n_q)
    learned = np.zeros(n_q, dtype=bool)
    times = np.full(n_q, np.inf)
    now = 0.0
    while True:
        active = np.array([not learned[k] and all(learned[j] for j in parents[k])
                           for k in range(n_q)])
        live = active & (p_arr > 0)
        if not live.any():
            return times
        u = float(g_k[active].sum()) / g_total
        rate = np.where(live, p_arr / u, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = np.where(live, np.maximum(tau_k - progress, 0.0) / rate, np.inf)
        dt = float(wait.min())
        now += dt
        progress += rate * dt
        # Every quantum reaching τ at this instant (within rounding) is learned together.
        done = live & (wait <= dt * (1.0 + 1e-12) + 1e-300)
        learned |= done
        times[done] = now
        progress[done] = tau_k[done]


def resource_mean_field_loss(
    t: ArrayLike, p: ArrayLike, a: ArrayLike, b: ArrayLike, times: ArrayLike
) -> FloatOrArray:
    """Mean-field loss L(t) = Σ_k p_k (b_k − (b_k − a_k)·1{t ≥ T_k}) in bits, T_k = learn times."""
    p_arr = _check_p(p)
    a_k = _per_quantum(a, "a", p_arr.size)
    b_k = _per_quantum(b, "b", p_arr.size)
    t_k = np.asarray(times, dtype=np.float64)
    if t_k.shape != p_arr.shape or np.any(np.isnan(t_k)):
        raise invalid("times", times, f"must be a ({p_arr.size},) array of learn times")
    t_arr = _check_counts(t, "t", integer=False)
    learned = t_arr[..., None] >= t_k
    return _out(np.sum(p_arr * b_k) - learned @ (p_arr * (b_k - a_k)))


def resource_domino(p: Sequence[float] = (1.0, 0.1), tau: float = 1.0) -> dict[str, float]:
    """Mean-field domino numbers for two quanta with weights ``p`` (normalised), g = p, equal τ.

    Returns learn times (samples) of quantum 2 under the resource law, independent and chain
    (quantum 2 blocked until quantum 1 is learned), quantum 2 learned alone (K = 1, p = 1:
    τ samples), the counting (threshold) model's times τ/p_2 and τ/p_1 + τ/p_2, and the
    ratios t_2/t_alone and t_2/t_1.  For p ∝ (1, 0.1): 2.0 τ in both resource cases
    (ratio 2.0 to alone, 1.82 to t_1), 11 τ and 12.1 τ in the counting model.
    """
    w = np.asarray(p, dtype=np.float64)
    if w.shape != (2,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise invalid("p", p, "must be two positive finite weights")
    q = w / w.sum()
    t_ind = resource_mean_field_times(q, q, tau)
    t_chain = resource_mean_field_times(q, q, tau, edges=[(0, 1)])
    t_alone = float(resource_mean_field_times([1.0], [1.0], tau)[0])
    return {
        "t1_independent": float(t_ind[0]),
        "t2_independent": float(t_ind[1]),
        "t1_chain": float(t_chain[0]),
        "t2_chain": float(t_chain[1]),
        "t2_alone": t_alone,
        "independent_ratio": float(t_ind[1]) / t_alone,
        "chain_ratio": float(t_chain[1]) / t_alone,
        "independent_t2_over_t1": float(t_ind[1] / t_ind[0]),
        "chain_t2_over_t1": float(t_chain[1] / t_chain[0]),
        "counting_t2_independent": float(tau / q[1]),
        "counting_t2_chain": float(tau / q[0] + tau / q[1]),
        "counting_independent_ratio": float(tau / q[1]) / t_alone,
        "counting_chain_ratio": float(tau / q[0] + tau / q[1]) / t_alone,
    }


# ------------------------------------------------- resource, exact two-quantum test case


class TwoQuantaPrediction(NamedTuple):
    """Exact predictions of :func:`resource_two_quanta_exact` / ``_poisson`` at C checkpoints."""

    loss: NDArray[np.float64]  #: (C,) E[L] in bits per sample
    learned: NDArray[np.float64]  #: (C,) E[# learned quanta]
    learned_prob: NDArray[np.float64]  #: (C, 2) P(quantum k learned)


def _two_quanta_chain(r: int, m: int) -> tuple[NDArray[np.float64], float, float]:
    """Per-sample transition matrix of the two-quantum resource chain (row-stochastic).

    States: u_j = (q1 unlearned, q2 unlearned, π2 = j), j < m;  v_j = (q1 learned, q2 unlearned,
    π2 = j);  w0 = (q1 unlearned, q2 learned);  w1 = both learned.  A sample uses quantum 1
    with probability p1 = 1 − 1/r: its first exposure learns it (τ1 = 1 ≤ 1/U for any U ≤ 1).
    Otherwise it uses quantum 2 (p2 = 1/r): +1 progress while q1 is unlearned (U = 1), +r once
    q1 is learned (U = g2/(g1 + g2) = p2).
    """
    p2 = 1.0 / r
    p1 = 1.0 - p2
    size = 2 * m + 2
    w0, w1 = 2 * m, 2 * m + 1
    P = np.zeros((size, size))
    for j in range(m):
        P[j, m + j] += p1
        P[j, j + 1 if j + 1 < m else w0] += p2
        P[m + j, m + j] += p1
        P[m + j, m + j + r if j + r < m else w1] += p2
    P[w0, w1] += p1
    P[w0, w0] += p2
    P[w1, w1] = 1.0
    return P, p1, p2


def _two_quanta_check(r: int, m: int, a: float, b: float) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 2:
        raise invalid("r", r, "must be an integer >= 2 (p2 = 1/r, p1 = 1 - 1/r)")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise invalid("m", m, "must be an integer >= 1 (threshold tau_2 of quantum 2)")
    if not (math.isfinite(a) and math.isfinite(b)):
        raise invalid("a, b", (a, b), "must be finite")


def _two_quanta_readout(
    dist: NDArray[np.float64], m: int, p1: float, p2: float, a: float, b: float
) -> TwoQuantaPrediction:
    q1 = dist[:, m:2 * m].sum(axis=1) + dist[:, 2 * m + 1]
    q2 = dist[:, 2 * m] + dist[:, 2 * m + 1]
    learned_prob = np.stack([q1, q2], axis=1)
    loss = a + (b - a) * (p1 * (1.0 - q1) + p2 * (1.0 - q2))
    return TwoQuantaPrediction(loss, learned_prob.sum(axis=1), learned_prob)


def resource_two_quanta_exact(
    n: ArrayLike, r: int, m: int, a: float = 0.0, b: float = 1.0
) -> TwoQuantaPrediction:
    """Exact E[L(n)], E[learned] for two quanta under the resource law, i.i.d. samples.

    Case: p = (1 − 1/r, 1/r), g = p (b − a uniform), τ_1 = 1, τ_2 = m.  Quantum 1 is learned
    at its first exposure; each exposure of quantum 2 adds 1 while quantum 1 is unlearned and
    exactly r = 1/p2 afterwards (choose r a power of 2 so that 1/U is exact in floating point).
    The distribution after n samples is e_0·P^n for the (2m+2)-state chain of
    ``_two_quanta_chain``; equivalently, with T the index of the first quantum-1 sample,
        P(q2 unlearned at n) = p2^n·1{n < m} + Σ_{t=1}^{min(n, m)} p2^(t−1) p1 ·
                               P(Binomial(n − t, p2) < ⌈(m − t + 1)/r⌉).
    E[L] = a + (b − a)(p1 (1 − p1)^n + p2 P(q2 unlearned)).  ``n`` integer samples, scalar or (C,).
    """
    _two_quanta_check(r, m, a, b)
    n_arr = np.atleast_1d(_check_counts(n, "n", integer=True)).astype(np.int64)
    P, p1, p2 = _two_quanta_chain(int(r), int(m))
    start = np.zeros(P.shape[0])
    start[0] = 1.0
    order = np.argsort(n_arr)
    dist = np.empty((n_arr.size, P.shape[0]))
    state, at = start, 0
    for i in order:
        state = state @ np.linalg.matrix_power(P, int(n_arr[i]) - at)
        at = int(n_arr[i])
        dist[i] = state
    return _two_quanta_readout(dist, int(m), p1, p2, a, b)


def resource_two_quanta_poisson(
    t: ArrayLike, r: int, m: int, a: float = 0.0, b: float = 1.0
) -> TwoQuantaPrediction:
    """As :func:`resource_two_quanta_exact` with Poisson exposures (events engine), t in samples.

    Quantum k is exposed at the times of a Poisson process of rate p_k per sample; since
    p1 + p2 = 1 the chain jumps at rate 1 with the per-sample transition matrix P, so the
    distribution at time t is e_0·expm(t (P − I)) (a continuous-time Markov chain; equivalently
    the i.i.d. chain after N ~ Poisson(t) samples).  ``t`` real ≥ 0, scalar or (C,).
    """
    _two_quanta_check(r, m, a, b)
    t_arr = np.atleast_1d(_check_counts(t, "t", integer=False))
    P, p1, p2 = _two_quanta_chain(int(r), int(m))
    Q = P - np.eye(P.shape[0])
    dist = np.stack([linalg.expm(Q * float(ti))[0] for ti in t_arr])
    return _two_quanta_readout(dist, int(m), p1, p2, a, b)
