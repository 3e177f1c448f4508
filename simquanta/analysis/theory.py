"""Closed-form predictions of the quantization model of neural scaling.

Michaud, Liu, Girit & Tegmark (2023), arXiv 2303.13506.  Convention (always): quantum k
(1-indexed) is used with frequency p_k ∝ k^-(α+1).

Units: ``n`` and ``D`` count training samples; losses ``a``/``b`` are in bits per sample, so
every expected loss returned here is in bits per sample.

Shapes: ``p`` is (K,); ``tau``, ``a``, ``b`` are scalars or (K,); ``n`` is a scalar or (C,).
Per-checkpoint-per-quantum probabilities come back with shape (C, K), or (K,) for scalar ``n``.

The threshold rule learns quantum k after ``ceil(tau_k)`` exposures; the geometric rule learns it
on each exposure independently with probability ``1/tau_k``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from ..kernels.codes import GEOMETRIC, THRESHOLD, code_of
from ..specs import zipf_mandelbrot
from ..validation import as_float_array, check_int, check_real, invalid

__all__ = [
    "zipf_frequencies",
    "threshold_unlearned_prob",
    "threshold_unlearned_prob_poisson",
    "geometric_unlearned_prob",
    "geometric_unlearned_prob_poisson",
    "dataset_unlearnable_prob",
    "dataset_unlearned_prob",
    "expected_loss",
    "expected_learned",
    "top_n_loss",
    "asymptotic_top_n_loss",
    "alpha_N",
    "alpha_D",
    "alpha_S",
    "compute_exponents",
    "hutter_error",
]

# Tolerance on sum(p) == 1.  Float summation of 1e7 Zipf terms is good to ~1e-13; anything
# off by more than this is a caller passing unnormalised weights.
_P_SUM_ATOL = 1e-6

# Above 2**53 float64 no longer represents every integer, so "integer-valued" checks and the
# epoch arithmetic n = e*D + m would silently be wrong.
_MAX_EXACT_INT = 2.0**53

FloatOrArray = float | NDArray[np.float64]


# --------------------------------------------------------------------------- validation helpers


def _check_p(p: ArrayLike) -> NDArray[np.float64]:
    arr = as_float_array("p", p)
    if arr.ndim != 1 or arr.size == 0:
        raise invalid("p", p, f"must be a non-empty 1-D array of frequencies (has shape "
                              f"{arr.shape})")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = arr[~(np.isfinite(arr) & (arr >= 0))][0]
        raise invalid("p", p, f"must contain finite values >= 0 (contains {float(bad)!r})")
    total = float(arr.sum())
    if abs(total - 1.0) > _P_SUM_ATOL:
        raise invalid("p", p, f"must sum to 1 (within {_P_SUM_ATOL:g}); sums to {total!r}")
    return arr


def _check_per_quantum(
    value: ArrayLike, name: str, n_quanta: int, *, minimum: float | None = None
) -> NDArray[np.float64]:
    """Broadcast a scalar or (K,) parameter to (K,), checking finiteness and a lower bound."""
    arr = as_float_array(name, value)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n_quanta):
        raise invalid(name, value, f"must be a scalar or have shape ({n_quanta},) to match p "
                                   f"(has shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise invalid(name, value, "must be finite")
    if minimum is not None and np.any(arr < minimum):
        bad = float(np.min(arr))
        raise invalid(name, value, f"must be >= {minimum:g} (its minimum is {bad!r})")
    return np.broadcast_to(arr, (n_quanta,))


def _check_counts(value: ArrayLike, name: str, *, integer: bool) -> NDArray[np.float64]:
    """Validate a scalar or 1-D array of sample counts (>= 0, finite, optionally integer)."""
    arr = as_float_array(name, value)
    if arr.ndim > 1:
        raise invalid(name, value, f"must be a scalar or 1-D array (has shape {arr.shape})")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise invalid(name, value, "must be finite and >= 0")
    if integer:
        if np.any(arr != np.floor(arr)):
            raise invalid(name, value, "must be integer-valued (a number of samples)")
        if np.any(arr > _MAX_EXACT_INT):
            raise invalid(name, value, "must be <= 2**53 to be exact in float64")
    return arr


def _check_alpha(alpha: ArrayLike, *, lower: float = 0.0) -> NDArray[np.float64]:
    arr = as_float_array("alpha", alpha)
    if not np.all(np.isfinite(arr)) or np.any(arr <= lower):
        raise invalid("alpha", alpha, f"must be finite and > {lower:g}")
    return arr


def _scalar_or_array(arr: NDArray[np.float64]) -> FloatOrArray:
    return float(arr) if arr.ndim == 0 else arr


def _thresholds(tau: ArrayLike, n_quanta: int) -> NDArray[np.float64]:
    """ceil(tau_k): the threshold rule needs this many exposures (tau is real >= 1)."""
    return np.ceil(_check_per_quantum(tau, "tau", n_quanta, minimum=1.0))


# ------------------------------------------------------------------------------- frequencies


def zipf_frequencies(n_quanta: int, alpha: float, offset: float = 0.0) -> NDArray[np.float64]:
    """Use frequencies p_k = (k + offset)^-(α+1) / Σ_j (j + offset)^-(α+1), k = 1..K.

    Dimensionless, shape (K,), sums to 1.  ``alpha`` follows the paper: p_k ∝ k^-(α+1).
    """
    n = check_int("n_quanta", n_quanta, 1)
    check_real("alpha", alpha, low=-1.0, low_open=True)  # finite and > -1
    check_real("offset", offset, low=-1.0, low_open=True)
    return zipf_mandelbrot(n, alpha, offset)  # the law the simulator uses, one definition


# ------------------------------------------------------------------------- online sampling


def threshold_unlearned_prob(n: ArrayLike, p: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
    """P_k(n) = P(Binomial(n, p_k) < ceil(tau_k)): quantum k still unlearned after n samples.

    Online sampling with replacement, threshold rule.  ``n`` (samples) must be integer-valued.
    Returns shape (C, K), or (K,) for scalar ``n``.
    """
    p = _check_p(p)
    c = _thresholds(tau, p.size)
    n_arr = _check_counts(n, "n", integer=True)
    # scipy.stats.binom.cdf goes through Boost's ibeta(k+1, n-k, p), which uses p itself rather
    # than 1-p, so it keeps full relative accuracy for p ~ 1e-15 and n ~ 1e12.
    # scipy.special.bdtr does NOT: it returns nan for n > 2**31 and loses ~1e-9 at n=1e9.
    return stats.binom.cdf(c - 1.0, n_arr[..., None], p)


def threshold_unlearned_prob_poisson(
    n: ArrayLike, p: ArrayLike, tau: ArrayLike
) -> NDArray[np.float64]:
    """P_k(n) = P(Poisson(n p_k) < ceil(tau_k)) = Q(ceil(tau_k), n p_k) (regularised upper Γ).

    The Poissonized threshold rule (samples arriving as a Poisson process of total rate 1 per
    sample); ``n`` may be real.  Returns shape (C, K), or (K,) for scalar ``n``.
    """
    p = _check_p(p)
    c = _thresholds(tau, p.size)
    n_arr = _check_counts(n, "n", integer=False)
    # P(Poisson(λ) <= c-1) = Q(c, λ); gammaincc(c, 0) = 1 covers n = 0 and p_k = 0.
    return special.gammaincc(c, n_arr[..., None] * p)


def geometric_unlearned_prob(n: ArrayLike, p: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
    """P_k(n) = (1 - p_k/tau_k)^n: each sample teaches quantum k with probability p_k/tau_k.

    Computed as exp(n·log1p(-p_k/tau_k)); forming 1 - p_k/tau_k first would round away p_k below
    ~1e-16 and lose all relative accuracy in n·p_k.  ``n`` (samples) may be real.
    Returns shape (C, K), or (K,) for scalar ``n``.
    """
    p = _check_p(p)
    t = _check_per_quantum(tau, "tau", p.size, minimum=1.0)
    n_arr = _check_counts(n, "n", integer=False)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # p_k/tau_k = 1 gives log1p(-1) = -inf; 0 * -inf must be 1 (no samples seen yet).
        out = np.exp(n_arr * np.log1p(-p / t))
    return np.where(n_arr == 0, 1.0, out)


def geometric_unlearned_prob_poisson(
    n: ArrayLike, p: ArrayLike, tau: ArrayLike
) -> NDArray[np.float64]:
    """P_k(n) = exp(-n p_k / tau_k): Poissonized geometric rule (n samples, may be real).

    Returns shape (C, K), or (K,) for scalar ``n``.
    """
    p = _check_p(p)
    t = _check_per_quantum(tau, "tau", p.size, minimum=1.0)
    n_arr = _check_counts(n, "n", integer=False)
    return np.exp(-n_arr[..., None] * (p / t))


# ------------------------------------------------------------------- fixed dataset, multi-epoch


def dataset_unlearnable_prob(D: ArrayLike, p: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
    """P(D_k < ceil(tau_k)) with D_k ~ Binomial(D, p_k): quantum k never learnable from D samples.

    ``D`` (training-set size in samples, integer) is a scalar or (C,); returns (C, K) or (K,).
    """
    return threshold_unlearned_prob(_check_counts(D, "D", integer=True), p, tau)


def dataset_unlearned_prob(
    n: ArrayLike, D: int, p: ArrayLike, tau: ArrayLike, acquisition: str = "threshold"
) -> NDArray[np.float64]:
    """Exact P(quantum k unlearned after n presented samples) when training repeats a fixed set.

    Model: a training set of D samples is drawn once (D_k ~ Binomial(D, p_k)); quantum k is
    learnable iff D_k >= c_k = ceil(tau_k).  Epochs present the set in fresh random order; after
    n = e·D + m samples (0 <= m < D) quantum k has had X = e·D_k + H exposures, H being its count
    among the first m positions of the current epoch.

    threshold: learned iff D_k >= c_k and X >= c_k, giving
        P_k = P(Binomial(min(n, D), p_k) < c_k).
    geometric: learned iff D_k >= c_k and one of the X exposures succeeds (prob. s = 1 - 1/tau_k
        of failing each), giving, with H ~ Bin(m, p_k) and R ~ Bin(D - m, p_k) independent,
        P_k = P(D_k < c_k) + E[s^X] - E[s^X · 1{D_k < c_k}]
        E[s^X] = (1 - p_k + p_k s^(e+1))^m · (1 - p_k + p_k s^e)^(D-m).

    ``n`` (samples, integer) is a scalar or (C,); returns (C, K), or (K,) for scalar ``n``.
    Cost: max_k ceil(tau_k) vectorized binomial passes over (C, K) for the geometric rule.
    """
    family = code_of("acquisition", acquisition)
    if family not in (THRESHOLD, GEOMETRIC):
        raise invalid("acquisition", acquisition, "the dataset closed form covers threshold "
                                                  "and geometric (logistic: dynamics_theory)")
    d_arr = _check_counts(D, "D", integer=True)
    if d_arr.ndim != 0 or d_arr < 1:
        raise invalid("D", D, "must be a single integer >= 1 (training-set size)")
    size = float(d_arr)
    p = _check_p(p)
    c = _thresholds(tau, p.size)
    n_arr = _check_counts(n, "n", integer=True)

    if family == THRESHOLD:
        # n >= D: after one full epoch every quantum has been seen D_k times, so it is learned
        # iff learnable; P = P(Bin(D, p) < c).  n < D: H <= D_k, so H >= c already implies
        # learnability, and the first n samples of a uniformly shuffled iid set are iid, so
        # H ~ Bin(n, p).  Both cases are P(Bin(min(n, D), p) < c).
        return threshold_unlearned_prob(np.minimum(n_arr, size), p, c)

    # Geometric rule.  The shuffled set is still iid (a uniform permutation independent of iid
    # draws is exchangeable), so the counts H in the first m positions and R in the other D - m
    # are independent binomials and D_k = H + R, X = (e+1)·H + e·R.  This turns the sum over D_k
    # of hypergeometric expectations into closed forms plus a finite sum over H < c.
    s = 1.0 - 1.0 / _check_per_quantum(tau, "tau", p.size, minimum=1.0)
    e = np.floor(n_arr / size)[..., None]
    m = n_arr[..., None] - e * size  # in [0, D); exact because n, D <= 2**53 are integers
    rest = size - m
    # np.power(0., 0.) == 1, which is what tau = 1 (s = 0) and e = 0 need.
    s_e = np.power(s, e)
    s_e1 = s_e * s
    g_rest = 1.0 - p * (1.0 - s_e)  # E[s^(e·R)] per trial of R, in (0, 1]
    # log1p keeps E[s^X] accurate when p(1 - s^e) is tiny and m ~ D is large.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_g_rest_pow = rest * np.log1p(-p * (1.0 - s_e))
        log_g_head_pow = m * np.log1p(-p * (1.0 - s_e1))
        g_rest_pow = np.where(rest == 0, 1.0, np.exp(log_g_rest_pow))
        mean_s_x = g_rest_pow * np.where(m == 0, 1.0, np.exp(log_g_head_pow))
        # Tilted law of R: P(R = r) s^(e r) = g_rest^(D-m) · Bin(r; D-m, p') with
        # p' = p s^e / g_rest, so Σ_{r < c-h} P(R = r) s^(e r) = g_rest^(D-m) · F'(c-h-1).
        p_tilt = np.where(g_rest > 0, p * s_e / g_rest, 0.0)
    p_tilt = np.clip(p_tilt, 0.0, 1.0)

    low = np.zeros(np.broadcast_shapes(mean_s_x.shape, c.shape))
    for h in range(int(c.max())):
        active = h < c  # only terms with h + r < c_k contribute
        head = stats.binom.pmf(h, m, p) * np.power(s_e1, h)
        tail = stats.binom.cdf(c - 1.0 - h, rest, p_tilt)
        low += np.where(active, head * tail, 0.0)
    low *= g_rest_pow
    unlearnable = stats.binom.cdf(c - 1.0, size, p)
    # Each term is a probability; the sum can overshoot [0, 1] only by rounding (~1e-16).
    return np.clip(unlearnable + mean_s_x - low, 0.0, 1.0)


# ------------------------------------------------------------------------------------- losses


def expected_loss(
    unlearned_prob: ArrayLike, p: ArrayLike, a: ArrayLike = 0.0, b: ArrayLike = 1.0
) -> FloatOrArray:
    """E[L] = Σ_k p_k [a_k + (b_k - a_k) P_k], summed over the last axis (bits per sample).

    ``unlearned_prob`` has shape (..., K); ``a``/``b`` are learned/unlearned losses in bits.
    """
    p = _check_p(p)
    prob = as_float_array("unlearned_prob", unlearned_prob)
    if prob.ndim == 0 or prob.shape[-1] != p.size:
        raise invalid("unlearned_prob", unlearned_prob, f"must have last axis of length {p.size} "
                                                        f"(= len(p)) (has shape {prob.shape})")
    if not np.all((prob >= 0) & (prob <= 1)):
        raise invalid("unlearned_prob", unlearned_prob,
                      "must lie in [0, 1] (has values outside it, or NaN)")
    a_k = _check_per_quantum(a, "a", p.size)
    b_k = _check_per_quantum(b, "b", p.size)
    return _scalar_or_array(np.sum(p * a_k) + prob @ (p * (b_k - a_k)))


def expected_learned(unlearned_prob: ArrayLike) -> FloatOrArray:
    """E[# learned quanta] = Σ_k (1 - P_k), summed over the last axis (a count of quanta)."""
    prob = as_float_array("unlearned_prob", unlearned_prob)
    if prob.ndim == 0:
        raise invalid("unlearned_prob", unlearned_prob,
                      "must have a quantum axis (ndim >= 1), not be a scalar")
    if not np.all((prob >= 0) & (prob <= 1)):
        raise invalid("unlearned_prob", unlearned_prob,
                      "must lie in [0, 1] (has values outside it, or NaN)")
    return _scalar_or_array(np.sum(1.0 - prob, axis=-1))


def top_n_loss(n: ArrayLike, p: ArrayLike, a: ArrayLike = 0.0, b: ArrayLike = 1.0) -> FloatOrArray:
    """L_n = Σ_k p_k a_k + Σ_{k > n} p_k (b_k - a_k): loss (bits) with the top n quanta learned.

    ``n`` is a number of quanta (scalar or array, >= 0); real n is floored, n > K means all.
    """
    p = _check_p(p)
    a_k = _check_per_quantum(a, "a", p.size)
    b_k = _check_per_quantum(b, "b", p.size)
    n_arr = _check_counts(n, "n", integer=False)
    # tails[j] = Σ_{k > j} p_k (b_k - a_k), j = 0..K, accumulated from the smallest terms up so
    # the far tail keeps its relative accuracy.
    gap = p * (b_k - a_k)
    tails = np.concatenate([np.cumsum(gap[::-1])[::-1], [0.0]])
    idx = np.minimum(np.floor(n_arr), p.size).astype(np.int64)
    return _scalar_or_array(np.sum(p * a_k) + tails[idx])


def asymptotic_top_n_loss(
    n: ArrayLike, alpha: float, a: float = 0.0, b: float = 1.0
) -> FloatOrArray:
    """L_n ≈ a + (b - a) n^-α / (α ζ(α+1)) for K = ∞ (bits); n > 0 quanta, α > 0.

    From Σ_{k>n} k^-(α+1) ≈ ∫_n^∞ x^-(α+1) dx = n^-α / α; relative error O(1/n).
    """
    alpha_arr = _check_alpha(alpha)
    if alpha_arr.ndim != 0:
        raise invalid("alpha", alpha, f"must be a scalar (has shape {alpha_arr.shape})")
    for name, value in (("a", a), ("b", b)):
        if not math.isfinite(value):
            raise invalid(name, value, "must be finite")
    n_arr = _check_counts(n, "n", integer=False)
    if np.any(n_arr <= 0):
        raise invalid("n", n, "must be > 0")
    al = float(alpha_arr)
    return _scalar_or_array(a + (b - a) * n_arr ** (-al) / (al * special.zeta(al + 1.0)))


# ---------------------------------------------------------------------------------- exponents


def alpha_N(alpha: ArrayLike) -> FloatOrArray:
    """Parameter-scaling exponent: L(N) - L∞ ∝ N^-α_N with α_N = α."""
    return _scalar_or_array(_check_alpha(alpha).astype(np.float64))


def alpha_D(alpha: ArrayLike) -> FloatOrArray:
    """Data-scaling exponent (multi-epoch): L(D) - L∞ ∝ D^-α_D with α_D = α/(α+1)."""
    al = _check_alpha(alpha)
    return _scalar_or_array(al / (al + 1.0))


def alpha_S(alpha: ArrayLike) -> FloatOrArray:
    """Step-scaling exponent (single epoch): L(S) - L∞ ∝ S^-α_S with α_S = α/(α+1)."""
    al = _check_alpha(alpha)
    return _scalar_or_array(al / (al + 1.0))


def compute_exponents(alpha: ArrayLike) -> dict[str, FloatOrArray]:
    """Compute-optimal exponents for C = N·D with learned quanta = min(N/C, (D/τ)^(1/(α+1))).

    Balancing N ∝ D^(1/(α+1)) under N·D = C gives N_opt ∝ C^(1/(α+2)), D_opt ∝ C^((α+1)/(α+2))
    and L_opt - L∞ ∝ C^-(α/(α+2)).  Returns {"N_opt", "D_opt", "L_opt"} (positive exponents).
    """
    al = _check_alpha(alpha)
    return {
        "N_opt": _scalar_or_array(1.0 / (al + 2.0)),
        "D_opt": _scalar_or_array((al + 1.0) / (al + 2.0)),
        "L_opt": _scalar_or_array(al / (al + 2.0)),
    }


def hutter_error(n: ArrayLike, p: ArrayLike) -> FloatOrArray:
    """E_n = Σ_k p_k (1 - p_k)^n (Hutter 2021; τ = 1): probability the next sample is unseen.

    Equals the expected loss in bits with a = 0, b = 1 under the threshold rule with τ = 1;
    ∝ n^-α/(α+1) for Zipf p.  ``n`` (samples, may be real) is a scalar or (C,).
    """
    p = _check_p(p)
    n_arr = _check_counts(n, "n", integer=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        # log1p: (1 - p)^n for p ~ 1e-15 and n ~ 1e12 needs n·p to full precision.
        pw = np.exp(n_arr[..., None] * np.log1p(-p))
    pw = np.where(n_arr[..., None] == 0, 1.0, pw)
    return _scalar_or_array(pw @ p)
