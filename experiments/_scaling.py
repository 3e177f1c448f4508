"""Helpers shared by the scaling-law experiments (parameter, data, step and compute scaling,
finite-K bias, seed variance).

Finite K, and how these experiments remove it
---------------------------------------------
A simulation has K quanta with p_k = k^-(α+1) / H_K, H_K = Σ_{k≤K} k^-(α+1). The scaling
laws are statements about K = ∞ (p_k = k^-(α+1) / ζ(α+1)). Truncation changes the loss
curve in the fit windows much more than one would guess: top-n loss is
(H_∞ − H_n)/H_K − (ζ − H_K)/H_K ∝ n^-α − K^-α, so the local slope is α / (1 − (n/K)^α):
at α = 0.3, n = 10^4 and K = 10^6 the fit reads 0.40 instead of 0.30 (``finite_k_bias``
measures this). The missing piece is known exactly, though: as long as no quantum beyond K
would have been learned (checked by ``tail_leak``), the learned set of a K = ∞ learner is
the simulated one, and its loss is

    L_∞ = (H_K · L_K + ζ − H_K) / ζ        (a = 0, b = 1 bits)

i.e. the simulated loss plus the never-learned tail k > K, in the K = ∞ normalisation
(``infinite_k_loss``). The K = ∞ learner with x samples corresponds to the K-quanta learner
with x · H_K/ζ samples (its quanta k ≤ K are used less often by that factor), a constant
rescaling of x that leaves every exponent unchanged; the dashed closed forms are mapped the
same way, so simulation and theory are always compared like for like.

Continuum asymptotes (threshold rule, Poisson exposures)
--------------------------------------------------------
Quantum k is learned by x samples iff G_k ≤ x p_k with G_k ~ Gamma(τ) (the τ-th arrival of
a unit-rate Poisson process; for a fixed data set of D samples the same with x = D, since
D_k ≥ τ ⟺ G_k ≤ D p_k). With p(k) = k^-(α+1)/ζ the learned set is k ≤ k_G =
(x / (ζ G))^{1/(α+1)}, so with β = α/(α+1)

    E[learned] ≈ (x/ζ)^{1/(α+1)} · Γ(τ − 1/(α+1)) / Γ(τ)
    E[L]       ≈ (x/ζ)^{-β} · Γ(τ + β) / Γ(τ) / (α ζ)

(geometric rule: G = τ·Exp(1), E[G^s] = τ^s Γ(1 + s)). A capacity-n ``reject`` learner keeps
the first n arrivals, i.e. the quanta arrived by the time t_n at which E[learned] = n, so
its loss is a constant factor R = m^α Γ(τ+β)/Γ(τ), m = Γ(τ − 1/(α+1))/Γ(τ), above the top-n
loss n^-α/(αζ): same exponent α_N (``reject_topn_ratio``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate, special

from simquanta.analysis.fit import PowerLawFit
from simquanta.analysis.stats import sem

from _common import log_ints as log_ints  # re-exported: scripts call S.log_ints

# ------------------------------------------------------------------------------ Zipf sums


def zeta(alpha: float) -> float:
    """ζ(α+1): the K = ∞ normalisation of p_k ∝ k^-(α+1)."""
    return float(special.zeta(alpha + 1.0))


def partial_sum(n_quanta: int | np.ndarray, alpha: float) -> np.ndarray | float:
    """H_K = Σ_{k≤K} k^-(α+1) = ζ(α+1) − ζ(α+1, K+1) (Hurwitz)."""
    k = np.asarray(n_quanta, dtype=float)
    out = special.zeta(alpha + 1.0) - special.zeta(alpha + 1.0, k + 1.0)
    return float(out) if out.ndim == 0 else out


def infinite_k_loss(loss: np.ndarray, n_quanta: int, alpha: float) -> np.ndarray:
    """Loss of the K = ∞ learner with the same learned set: (H_K L + ζ − H_K) / ζ.

    ``loss`` in bits per sample from a K-quanta simulation with a = 0, b = 1."""
    z = zeta(alpha)
    h = partial_sum(n_quanta, alpha)
    return (h * np.asarray(loss, dtype=float) + z - h) / z


def x_scale(n_quanta: int, alpha: float) -> float:
    """K = ∞ samples per simulated sample: ζ / H_K (≥ 1)."""
    return zeta(alpha) / partial_sum(n_quanta, alpha)


def top_n_loss_infinite(n: np.ndarray, alpha: float) -> np.ndarray:
    """Exact K = ∞ top-n loss Σ_{k>n} k^-(α+1) / ζ(α+1) = ζ(α+1, n+1) / ζ(α+1) (bits)."""
    return special.zeta(alpha + 1.0, np.asarray(n, dtype=float) + 1.0) / zeta(alpha)


def asymptotic_top_n(n: np.ndarray, alpha: float) -> np.ndarray:
    """The paper's L_n ≈ n^-α / (α ζ(α+1)) (bits)."""
    return np.asarray(n, dtype=float) ** -alpha / (alpha * zeta(alpha))


# ------------------------------------------------------------------ continuum asymptotes


def gamma_moment(tau: float, s: float, rule: str = "threshold") -> float:
    """E[G^s] with G the 'exposure clock' of a quantum: Gamma(τ) (threshold) or τ·Exp(1)."""
    if rule == "threshold":
        return math.exp(math.lgamma(tau + s) - math.lgamma(tau))
    return tau**s * math.gamma(1.0 + s)


def asymptotic_learned(x: np.ndarray, alpha: float, tau: float,
                       rule: str = "threshold") -> np.ndarray:
    """E[learned] ≈ (x/ζ)^{1/(α+1)} E[G^{-1/(α+1)}] for K = ∞ (x samples or data-set size)."""
    s = 1.0 / (alpha + 1.0)
    return (np.asarray(x, dtype=float) / zeta(alpha)) ** s * gamma_moment(tau, -s, rule)


def asymptotic_loss(x: np.ndarray, alpha: float, tau: float,
                    rule: str = "threshold") -> np.ndarray:
    """E[L] ≈ (x/ζ)^{-β} E[G^β] / (α ζ), β = α/(α+1), for K = ∞ (bits per sample)."""
    beta = alpha / (alpha + 1.0)
    z = zeta(alpha)
    return (np.asarray(x, dtype=float) / z) ** -beta * gamma_moment(tau, beta, rule) / (alpha * z)


def samples_for_learned(learned: float, alpha: float, tau: float,
                        rule: str = "threshold") -> float:
    """Inverse of ``asymptotic_learned``: x at which E[learned] = ``learned`` (K = ∞)."""
    s = 1.0 / (alpha + 1.0)
    return zeta(alpha) * (learned / gamma_moment(tau, -s, rule)) ** (alpha + 1.0)


def reject_topn_ratio(alpha: float, tau: float, rule: str = "threshold") -> float:
    """Large-n limit of L_reject(n) / L_top-n(n) (first n arrivals vs the top n)."""
    beta = alpha / (alpha + 1.0)
    m = gamma_moment(tau, -1.0 / (alpha + 1.0), rule)
    return m**alpha * gamma_moment(tau, beta, rule)


def tail_leak(x: float, n_quanta: int, alpha: float, tau: float,
              rule: str = "threshold") -> float:
    """Loss mass (bits) of quanta k > K that a K = ∞ learner would have learned after x
    samples (or from a data set of x samples): ∫_K^∞ p(k) P(G ≤ x p(k)) dk, relative to
    the asymptotic loss at x. ``infinite_k_loss`` is exact up to this relative error."""
    z = zeta(alpha)

    def integrand(log_k: float) -> float:
        k = math.exp(log_k)
        pk = k ** -(alpha + 1.0) / z
        if rule == "threshold":
            prob = special.gammainc(math.ceil(tau), x * pk)
        else:
            prob = -math.expm1(-x * pk / tau)
        return pk * prob * k

    val, _ = integrate.quad(integrand, math.log(n_quanta + 0.5), math.log(n_quanta) + 60.0,
                            limit=200)
    return float(val / asymptotic_loss(x, alpha, tau, rule))


# --------------------------------------------------------------------------- grids, fits


def fit_record(fit: PowerLawFit, theory: float, *, sign: float = 1.0) -> dict[str, Any]:
    """JSON record of a power-law fit: exponent, 95 % CI, theory, window.

    ``sign = -1`` reports a growth exponent (y ∝ x^{+e}) from a decay fit."""
    lo, hi = sorted((sign * fit.ci_low, sign * fit.ci_high))
    value = sign * fit.exponent
    return {
        "fitted": value,
        "ci95": [lo, hi],
        "theory": float(theory),
        "error": value - float(theory),
        "ci_contains_theory": bool(lo <= theory <= hi),
        "fit_x_range": list(fit.x_range),
        "n_points": fit.n_points,
    }


def fit_text(symbol: str, record: dict[str, Any], *, digits: int = 3) -> str:
    """'α̂ = 0.301 [0.296, 0.306] (theory 0.300)' for figure labels."""
    lo, hi = record["ci95"]
    f = f"{{:.{digits}f}}"
    return (f"{symbol} = {f.format(record['fitted'])} [{f.format(lo)}, {f.format(hi)}]"
            f" (theory {f.format(record['theory'])})")


def within(record: dict[str, Any], tol: float) -> bool:
    """Done-when check: |fitted − theory| ≤ tol or the 95 % CI contains theory."""
    return bool(abs(record["error"]) <= tol or record["ci_contains_theory"])


def replicate_grid(values: Sequence[float], replicates: int) -> list[float]:
    """Per-agent capacity list: each value repeated ``replicates`` times, value-major
    (agent a has values[a // replicates]); reshape outputs with ``by_value``."""
    return [float(v) for v in values for _ in range(replicates)]


def by_value(per_agent: np.ndarray, n_values: int, replicates: int) -> np.ndarray:
    """(agents, ...) in ``replicate_grid`` order → (replicates, n_values, ...)."""
    arr = np.asarray(per_agent)
    arr = arr.reshape((n_values, replicates) + arr.shape[1:])
    return np.swapaxes(arr, 0, 1)


def max_abs_z(sim: np.ndarray, expected: np.ndarray) -> float:
    """max |mean − expected| / SEM over the points where agents differ (SEM > 0); points
    where every agent has the same value (e.g. nothing learned yet) carry no test."""
    sim = np.asarray(sim, dtype=float)
    err = sem(sim)
    ok = err > 1e-12 * np.abs(sim.mean(0)).clip(1e-300)
    return float(np.max(np.abs(sim.mean(0)[ok] - np.asarray(expected)[ok]) / err[ok]))
