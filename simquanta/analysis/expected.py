"""Closed-form expectations for a Simulation, where the model has them.

Unlimited capacity and no prerequisites make quanta independent, so the expected loss
after n samples is E[L] = Σ_k p_k [a_k + (b_k − a_k) P_k(unlearned after n)] with P_k from
``theory`` for the run's data regime and acquisition rule; under the logistic family
E[L] = Σ_k p_k [b_k − (b_k − a_k) E[s(c_k)]] (``dynamics_theory``, online). The resource
family couples quanta through the shared budget and has no general closed form.
"""

from __future__ import annotations

import numpy as np

from ..kernels.codes import GEOMETRIC, LOGISTIC, THRESHOLD, code_of
from ..specs import Dataset, Simulation
from . import dynamics_theory, theory


def has_closed_form(sim: Simulation) -> bool:
    """True when quanta are independent — unlimited capacity, no prerequisites — and a closed
    form covers the family and data regime: the counting families in ``_UNLEARNED``, logistic
    online. Not resource (a shared budget couples the quanta), nor a family no closed form
    knows yet."""
    code = code_of("acquisition", sim.learner.acquisition)
    covered = (not isinstance(sim.data, Dataset)) if code == LOGISTIC else code in _UNLEARNED
    capacity = sim.learner.capacities(sim.agents)
    return (covered and bool(np.all(np.isinf(capacity)))
            and sim.learner.prerequisites is None)


def _logistic_rates(sim: Simulation) -> np.ndarray:
    """η_k = η (p_k/p_ref)^γ per quantum (as compile.py gives the kernels)."""
    eta = np.full(sim.quanta.n_quanta, sim.learner.eta)
    factor = sim.quanta.gamma_factor
    return eta if factor is None else eta / factor


def unlearned_prob(sim: Simulation, samples: np.ndarray, *, poisson: bool = False) -> np.ndarray:
    """P(quantum k unlearned after n samples), shape (len(samples), K).

    ``poisson=True`` gives the Poissonized online forms (exposures of k a Poisson process of
    rate p_k per sample), which the events engine samples exactly."""
    rule = sim.learner.acquisition
    if not has_closed_form(sim) or code_of("acquisition", rule) not in _UNLEARNED:
        raise ValueError(f"closed form of P(unlearned): needs unlimited capacity, no "
                         f"prerequisites and a counting family (threshold, geometric), not "
                         f"acquisition = {rule}")
    p, tau = sim.quanta.p, sim.quanta.thresholds
    n = np.asarray(samples, dtype=float)
    if isinstance(sim.data, Dataset):
        return theory.dataset_unlearned_prob(n, sim.data.size, p, tau, rule)
    return _UNLEARNED[code_of("acquisition", rule)][poisson](n, p, tau)


#: counting family code → {poisson: P(unlearned after n samples)}
_UNLEARNED = {
    THRESHOLD: {False: theory.threshold_unlearned_prob,
                True: theory.threshold_unlearned_prob_poisson},
    GEOMETRIC: {False: theory.geometric_unlearned_prob,
                True: theory.geometric_unlearned_prob_poisson},
}


def closed_form_loss(sim: Simulation, samples: np.ndarray, *,
                     poisson: bool = False) -> np.ndarray | None:
    """Expected loss (bits per sample) at each sample count, or None without a closed form."""
    if not has_closed_form(sim):
        return None
    q = sim.quanta
    if sim.learner.acquisition == "logistic":
        return dynamics_theory.logistic_expected_loss(
            np.asarray(samples, dtype=float), q.p, q.learned_loss, q.unlearned_loss,
            eta=_logistic_rates(sim), s0=sim.learner.s0,
            counts="poisson" if poisson else "binomial")
    return theory.expected_loss(unlearned_prob(sim, samples, poisson=poisson), q.p,
                                q.learned_loss, q.unlearned_loss)


def closed_form_learned(sim: Simulation, samples: np.ndarray, *,
                        poisson: bool = False) -> np.ndarray | None:
    """Expected number of quanta learned at each sample count, or None."""
    if not has_closed_form(sim):
        return None
    if sim.learner.acquisition == "logistic":
        return dynamics_theory.logistic_expected_learned(
            np.asarray(samples, dtype=float), sim.quanta.p, _logistic_rates(sim),
            sim.learner.s0, counts="poisson" if poisson else "binomial")
    return theory.expected_learned(unlearned_prob(sim, samples, poisson=poisson))
