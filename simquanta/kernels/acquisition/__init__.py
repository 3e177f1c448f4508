"""Dynamics families: one module per acquisition rule, each used by both engines.

- ``threshold``: ready at the ⌈τ_k⌉-th counted exposure.
- ``geometric``: each counted exposure makes k ready with probability 1/τ_k.
- ``logistic``: a continuous strength s_k(c) (Nam et al. 2024); k holds a capacity slot from
  the exposure at which s_k reaches ½.
- ``resource``: a shared update budget (Liu et al. 2025): exposures of the quanta still in
  progress are weighted by 1/U(t), U the share of the gradient signal still in play.

Every family turns τ_k (or η_k) and the agent's speed factor f into the number of counted
exposures ``need`` at which k asks for capacity; ``draw_need`` dispatches on the family code
and raises on a code it does not know.
"""

from __future__ import annotations

from numba import njit

from ..codes import GEOMETRIC, LOGISTIC, RESOURCE, THRESHOLD
from . import geometric, logistic, resource, threshold  # noqa: F401


@njit
def draw_need(s, acquisition, tau_k, eta_k, s0, speed):
    """Counted exposures after which quantum k is ready (asks for capacity), drawn once per
    agent and quantum; only the geometric rule draws from the stream ``s``."""
    if acquisition == THRESHOLD or acquisition == RESOURCE:
        return threshold.need(tau_k, speed)
    if acquisition == GEOMETRIC:
        return geometric.need(s, tau_k, speed)
    if acquisition == LOGISTIC:
        return logistic.half_count(eta_k, s0, speed)
    raise ValueError("unknown acquisition code")
