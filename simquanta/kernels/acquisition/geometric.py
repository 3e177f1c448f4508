"""Geometric rule: each counted exposure makes quantum k ready with probability 1/(τ_k f),
so the exposures needed are Geometric(1/(τ_k f)) (mean τ_k f), drawn once per agent.

P(unlearned after n samples) = (1 − p_k/(τ_k f))^n (exact engine); the events engine draws
the ready time as τ_k f · Exp(1) / p_k, the Poissonized law.
"""

from __future__ import annotations

from numba import njit

from ..random import geometric_trials, standard_exponential


@njit(inline="always")
def need(s, tau_k, speed):
    """Exposures up to the first success, Geometric(1/(τ_k f)) on {1, 2, ...}."""
    return geometric_trials(s, 1.0 / (tau_k * speed))


@njit(inline="always")
def ready_gamma(s, tau_k, speed):
    """Unit-rate time of readiness: the need-th arrival of a unit-rate process with
    need ~ Geometric(1/(τ f)) is τ f · Exp(1) in law."""
    return tau_k * speed * standard_exponential(s)
