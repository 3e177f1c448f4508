"""Simulator predictions for a sparse-parity setting from the calibration's transfer laws.

:func:`transferred` reads the ``transfer`` section of the calibration JSON
(figures/sparse_parity_calibration.json, ``results.transfer``; fitted by
:mod:`simquanta.sparse_parity.transfer`) and predicts every simulator parameter at a new
setting (n_tasks T, n_bits n, batch B): the step law's log10 A, γ, σ at the calibration's
reference (widest) width w_ref, the capacity C in the chosen unit (hidden neurons or
parameters per quantum), the width speed law f(w) = (1 + n0/w)^κ (n0 in neurons) and the
data threshold log10 A_D, γ_D, σ_D. With a ``rng`` every parameter is drawn from its
law's normal instead (a parametric bootstrap over the calibration; laws drawn
independently of one another).

The simulated network of width w (:meth:`TransferredCalibration.learner`) is a
``simquanta`` agent with

    capacity  n(w) = w / C_neurons   or   N(w) / C_params   quanta (cost 1 each, reject),
    speed     f = (1 + n0_q/n)^κ,  n0_q = n0 · n(w)/w, i.e. f = (1 + n0/w)^κ,
    threshold τ_i = A_∞ p_i^−γ e^{σ z_i},  A_∞ = A / f(w_ref),  z_i ~ N(0, 1) per agent,

so at w_ref it needs A p^−γ exposures, as the calibration measured. (For the parameter
unit n(w)/w = (T + n + 3 + 2/w)/C_params varies by < 1 % over the widths used; n0_q uses
its value at w.) A learned subtask costs 0 bits, an unlearned one 1 bit (a coin flip).

Dataset regime (multi-epoch, early stopping): subtask i is learned iff its training set
holds at least τ^D_i = A_D p_i^−γ_D e^{σ_D z} examples (simulated: one epoch of the
dataset regime, which presents every example once) *and* the same network learns it
online within the step budget; the simulator's loss never rises, so early stopping's
best checkpoint is the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..simulate import simulate
from ..specs import Dataset, Learner, Online, Quanta
from ..validation import check_choice, check_int, invalid
from .mlp import n_params
from .transfer import TransferLaw

__all__ = ["TransferredCalibration", "simulate_dataset_loss", "simulate_online_loss",
           "transferred"]

_QUANTITIES = ("log10_A", "gamma", "sigma", "log10_n0_neurons", "kappa", "log10_A_D",
               "gamma_D", "sigma_D")


@dataclass(frozen=True)
class TransferredCalibration:
    """Simulator parameters at one setting (module docstring for the model and units)."""

    n_tasks: int
    n_bits: int
    batch_size: int
    log10_A: float
    gamma: float
    sigma: float
    capacity_unit: str
    log10_C: float
    n0_neurons: float
    kappa: float
    ref_width: int
    log10_A_D: float
    gamma_D: float
    sigma_D: float
    capacity_beta: float = 1.0

    def capacity(self, width: int) -> float:
        """n(w) quanta: (w / C_neurons)^β (β = ``capacity_beta``, 1 for the linear law) or
        N(w) / C_params."""
        if self.capacity_unit == "neurons":
            return (width / 10.0 ** self.log10_C) ** self.capacity_beta
        return n_params(self.n_tasks, self.n_bits, width) / 10.0 ** self.log10_C

    def speed(self, width: float) -> float:
        """f(w) = (1 + n0/w)^κ."""
        return (1.0 + self.n0_neurons / width) ** self.kappa

    def learner(self, width: int, capacity: float | None = None) -> Learner:
        """The simulated network of width w: capacity n(w) (or ``capacity`` quanta, e.g. a
        measured one), reject, speed (1 + n0/w)^κ."""
        cap = self.capacity(width) if capacity is None else float(capacity)
        if not cap > 0:
            raise invalid("capacity", capacity, "must be > 0 quanta")
        return Learner(capacity=cap, policy="reject", speed_n0=self.n0_neurons * cap / width,
                       speed_kappa=self.kappa)

    def tau(self, p: np.ndarray) -> np.ndarray:
        """Median exposures at infinite width, A_∞ p^−γ, A_∞ = A / f(w_ref) (≥ 1)."""
        a_inf = 10.0 ** self.log10_A / self.speed(self.ref_width)
        return np.maximum(a_inf * np.asarray(p, dtype=float) ** (-self.gamma), 1.0)

    def tau_data(self, p: np.ndarray) -> np.ndarray:
        """Median examples needed in a training set, A_D p^−γ_D (≥ 1)."""
        return np.maximum(10.0 ** self.log10_A_D * np.asarray(p, dtype=float)
                          ** (-self.gamma_D), 1.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transferred(section: Mapping[str, Any], setting: Mapping[str, float],
                rng: np.random.Generator | None = None, *,
                capacity: str = "linear") -> TransferredCalibration:
    """Parameters at ``setting`` ({"n_tasks", "n_bits", "batch_size"}) from the calibration
    JSON's ``transfer`` section: each law's prediction, or with ``rng`` one draw from
    N(prediction, SE²) per law (σ, σ_D and κ floored at 0).

    ``capacity``: ``"linear"`` — n = w/C in the chosen unit, C from its transfer law;
    ``"power"`` — n = (w/c)^β in neurons from the section's pooled ``capacity_power`` fit
    (not setting-dependent; draws: log c and β normal with SE = 95 % half-width / 1.96).
    """
    check_choice("capacity", capacity, ("linear", "power"))
    for f in ("n_tasks", "n_bits", "batch_size"):
        if f not in setting:
            raise invalid("setting", dict(setting), f"must give {f}")
        check_int(f, setting[f], 1)
    laws = {q: TransferLaw.from_dict(d) for q, d in section["laws"].items()}
    unit = section["capacity_unit"]

    def value(q: str) -> float:
        law = laws[q]
        if rng is None:
            return law.predict(setting)[0]
        return float(law.draw(setting, rng, 1)[0])

    v = {q: value(q) for q in (*_QUANTITIES, f"log10_C_{unit}")}
    beta = 1.0
    if capacity == "power":
        pw = section["capacity_power"]
        unit, log_c, beta = "neurons", math.log10(pw["c"]), pw["beta"]
        if rng is not None:
            s_c = (math.log10(pw["c_ci"][1]) - math.log10(pw["c_ci"][0])) / (2 * 1.959964)
            s_b = (pw["beta_ci"][1] - pw["beta_ci"][0]) / (2 * 1.959964)
            log_c += s_c * rng.standard_normal()
            beta = max(beta + s_b * rng.standard_normal(), 0.05)
        v[f"log10_C_{unit}"] = log_c
    return TransferredCalibration(
        n_tasks=int(setting["n_tasks"]), n_bits=int(setting["n_bits"]),
        batch_size=int(setting["batch_size"]), log10_A=v["log10_A"], gamma=v["gamma"],
        sigma=max(v["sigma"], 0.0), capacity_unit=unit, log10_C=v[f"log10_C_{unit}"],
        n0_neurons=10.0 ** v["log10_n0_neurons"], kappa=min(max(v["kappa"], 0.0), 10.0),
        ref_width=int(section["ref_width"]), log10_A_D=v["log10_A_D"],
        gamma_D=v["gamma_D"], sigma_D=max(v["sigma_D"], 0.0), capacity_beta=beta)


def _draw(base: np.ndarray, sigma: float, seed: int, key: tuple[int, ...]) -> np.ndarray:
    """Lognormal per-agent thresholds base·e^{σ z} from the stream (seed, key)."""
    if sigma <= 0:
        return base
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    return np.clip(base * np.exp(sigma * rng.standard_normal(base.size)), 1.0, 1e15)


def simulate_online_loss(cal: TransferredCalibration, p: np.ndarray, widths: Sequence[int],
                         steps: int, checkpoints: Sequence[int], *, agents: int,
                         seed: int = 0,
                         capacities: Sequence[float] | None = None) -> np.ndarray:
    """Mean held-out loss (bits) of simulated networks trained online: float[A, W, C] at
    ``checkpoints`` (steps ≥ 1) for each width; every (agent, width) draws its own
    thresholds (independent networks). ``capacities`` (quanta, one per width) replaces
    the calibrated n(w), e.g. for a counterfactual with measured capacities."""
    agents = check_int("agents", agents, 1)
    if capacities is not None and len(capacities) != len(widths):
        raise invalid("capacities", list(capacities), f"must give one per width "
                                                      f"({len(widths)})")
    p = np.asarray(p, dtype=float)
    ckpt = np.asarray(checkpoints, dtype=np.int64)
    base = cal.tau(p)
    out = np.empty((agents, len(widths), ckpt.size))
    for j, w in enumerate(widths):
        learner = cal.learner(int(w), None if capacities is None else capacities[j])
        for a in range(agents):
            tau = _draw(base, cal.sigma, seed, (0x7A1, j, a))
            res = simulate(Quanta(p.size, frequencies=p, tau=tau), learner,
                           Online(steps=steps, batch_size=cal.batch_size), agents=1,
                           seed=seed, first_agent=j * agents + a, checkpoints=ckpt,
                           engine="events")
            out[a, j] = res.loss[0]
    return out


def simulate_dataset_loss(cal: TransferredCalibration, p: np.ndarray,
                          dataset_sizes: Sequence[int], width: int, steps: int, *,
                          agents: int, seed: int = 0) -> np.ndarray:
    """Early-stopped held-out loss (bits) of simulated width-``width`` networks trained
    multi-epoch on each training set: float[A, len(dataset_sizes)] (module docstring)."""
    agents = check_int("agents", agents, 1)
    p = np.asarray(p, dtype=float)
    sizes = [check_int("dataset_size", d, 1) for d in dataset_sizes]
    learner = cal.learner(int(width))
    base, base_d = cal.tau(p), cal.tau_data(p)
    out = np.empty((agents, len(sizes)))
    for a in range(agents):
        timely = simulate(Quanta(p.size, frequencies=p, tau=_draw(base, cal.sigma, seed,
                                                                    (0xDA7, a))),
                          learner, Online(steps=steps, batch_size=cal.batch_size), agents=1,
                          seed=seed + 1, first_agent=a, checkpoints=[steps], engine="events",
                          record_learn_steps=True).learn_step[0] >= 0
        for j, d in enumerate(sizes):
            tau_d = _draw(base_d, cal.sigma_D, seed, (0xDA8, a, j))
            res = simulate(Quanta(p.size, frequencies=p, tau=tau_d), Learner(),
                           Dataset(size=d, epochs=1, batch_size=min(cal.batch_size, d)),
                           agents=1, seed=seed + 2 + j, first_agent=a, checkpoints=1,
                           engine="events", record_learn_steps=True)
            learned = (res.learn_step[0] >= 0) & timely
            out[a, j] = float(p @ ~learned)
    return out
