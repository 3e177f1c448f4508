"""Closed-form expectations for a Simulation, where the model has them.

Unlimited capacity and no prerequisites make quanta independent, so the expected loss
after n samples is E[L] = Σ_k p_k [a_k + (b_k − a_k) P_k(unlearned after n)] with P_k from
``theory`` for the run's data regime and acquisition rule.
"""

from __future__ import annotations

import numpy as np

from ..specs import Dataset, Simulation
from . import theory


def has_closed_form(sim: Simulation) -> bool:
    """True when quanta are independent: unlimited capacity and no prerequisites."""
    capacity = sim.learner.capacities(sim.agents)
    return bool(np.all(np.isinf(capacity))) and sim.learner.prerequisites is None


def unlearned_prob(sim: Simulation, samples: np.ndarray, *, poisson: bool = False) -> np.ndarray:
    """P(quantum k unlearned after n samples), shape (len(samples), K).

    ``poisson=True`` gives the Poissonized online forms (exposures of k a Poisson process of
    rate p_k per sample), which the events engine samples exactly."""
    if not has_closed_form(sim):
        raise ValueError("closed form: needs unlimited capacity and no prerequisites")
    p, tau = sim.quanta.p, sim.quanta.thresholds
    n = np.asarray(samples, dtype=float)
    rule = sim.learner.acquisition
    if isinstance(sim.data, Dataset):
        return theory.dataset_unlearned_prob(n, sim.data.size, p, tau, rule)
    if rule == "threshold":
        f = theory.threshold_unlearned_prob_poisson if poisson else theory.threshold_unlearned_prob
    else:
        f = theory.geometric_unlearned_prob_poisson if poisson else theory.geometric_unlearned_prob
    return f(n, p, tau)


def closed_form_loss(sim: Simulation, samples: np.ndarray, *,
                     poisson: bool = False) -> np.ndarray | None:
    """Expected loss (bits per sample) at each sample count, or None without a closed form."""
    if not has_closed_form(sim):
        return None
    q = sim.quanta
    return theory.expected_loss(unlearned_prob(sim, samples, poisson=poisson), q.p,
                                q.learned_loss, q.unlearned_loss)


def closed_form_learned(sim: Simulation, samples: np.ndarray, *,
                        poisson: bool = False) -> np.ndarray | None:
    """Expected number of quanta learned at each sample count, or None."""
    if not has_closed_form(sim):
        return None
    return theory.expected_learned(unlearned_prob(sim, samples, poisson=poisson))
