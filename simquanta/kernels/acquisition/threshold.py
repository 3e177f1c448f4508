"""Threshold rule (Michaud et al. 2023): quantum k is ready at its ⌈τ_k f⌉-th counted
exposure, f the agent's speed factor (f = 1 unless a speed law is set).

Online, its exposures form a Poisson process of rate p_k per sample (events engine), so
the ready time is Gamma(⌈τ_k f⌉, 1)/p_k samples; P(ready after n samples) =
P(Binomial(n, p_k) ≥ ⌈τ_k f⌉) (exact engine).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def need(tau_k, speed):
    """⌈τ_k f⌉ exposures."""
    return np.int64(np.ceil(tau_k * speed))
