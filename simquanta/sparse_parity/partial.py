"""Per-subtask learning curves: the threshold rule against the logistic (partial) family.

Subtask i of frequency p_i is seen c_i(t) = B p_i t times by optimizer step t (batch B).
Its held-out loss ℓ_i(t) (bits; 1 = a coin flip, 0 = solved) is modelled two ways, each
with three parameters and the simulator's frequency scaling:

- ``threshold`` (the calibrated step law): learned at τ_i = A p_i^−γ e^{σ z} exposures,
  z ~ N(0, 1), so the expected loss is P(τ_i > c_i) = Φ((ln(A p_i^−γ) − ln c_i) / σ);
  parameters (log10 A, γ, ln σ).
- ``logistic`` (Nam et al. 2024; the simulator's ``acquisition="logistic"``): strength
  s(c) = 1/(1 + (1/s0 − 1) e^{−η_i c}), η_i = η p_i^γ (rate per exposure), loss 1 − s;
  parameters (log10 η, log10 s0, γ). The loss falls gradually well before s = ½.

:func:`fit_family` fits one family by least squares on the loss curves of some runs;
:func:`compare_families` fits both on all runs but one and scores each on the left-out
run (root-mean-square error in bits over its logged steps and subtasks), for every
choice of left-out run (leave-one-run-out), which is what "held-out" means here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from ..validation import check_choice, check_int, invalid

__all__ = ["FAMILIES", "FamilyComparison", "compare_families", "family_loss", "fit_family"]

FAMILIES = ("threshold", "logistic")


def family_loss(family: str, params: Sequence[float], exposures: np.ndarray,
                p: np.ndarray) -> np.ndarray:
    """Expected loss (bits) of each subtask after ``exposures`` (float[..., K], c = B p t)
    under ``family`` with ``params`` (module docstring), p float[K]."""
    check_choice("family", family, FAMILIES)
    c = np.maximum(np.asarray(exposures, dtype=float), 1e-300)
    lp = np.log(np.asarray(p, dtype=float))
    if family == "threshold":
        log10_a, gamma, log_sigma = params
        sigma = max(math.exp(log_sigma), 1e-3)
        return special.ndtr((log10_a * math.log(10) - gamma * lp - np.log(c)) / sigma)
    log10_eta, log10_s0, gamma = params
    s0 = min(10.0 ** log10_s0, 0.5)
    rate = 10.0 ** log10_eta * np.exp(gamma * lp)
    # 1 − s = (1/s0 − 1) e^{−ηc} / (1 + (1/s0 − 1) e^{−ηc}) = expit(ln(1/s0 − 1) − ηc)
    return special.expit(math.log(1.0 / s0 - 1.0) - rate * c)


def _start(family: str, exposures: np.ndarray, loss: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A start from the median exposures at which the loss crosses ½."""
    crossed = loss < 0.5  # (R, T, K)
    first = [exposures[r][crossed[r][:, k], k].min() for r in range(loss.shape[0])
             for k in range(loss.shape[2]) if crossed[r][:, k].any()]
    med = float(np.median(first)) if first else float(exposures.max())
    if family == "threshold":
        return np.array([math.log10(med), 0.0, math.log(0.3)])
    s0 = 1e-3
    return np.array([math.log10(math.log(1 / s0 - 1) / med), math.log10(s0), 0.0])


def fit_family(family: str, steps: np.ndarray, loss: np.ndarray, p: np.ndarray,
               batch_size: int) -> tuple[np.ndarray, float]:
    """Least-squares parameters of ``family`` on loss curves ``loss`` float[R, T, K] (bits)
    logged at ``steps`` int[T] (step 0 allowed), subtask frequencies p float[K], batch B.
    Returns (parameters, RMSE in bits on these curves)."""
    check_choice("family", family, FAMILIES)
    batch_size = check_int("batch_size", batch_size, 1)
    loss = np.asarray(loss, dtype=float)
    steps = np.asarray(steps, dtype=float)
    p = np.asarray(p, dtype=float)
    if loss.ndim != 3 or loss.shape[1:] != (steps.size, p.size):
        raise invalid("loss", loss.shape, f"must be (runs, {steps.size}, {p.size})")
    c = batch_size * steps[:, None] * p[None, :]  # (T, K)
    cc = np.broadcast_to(c, loss.shape)

    def resid(theta: np.ndarray) -> np.ndarray:
        return (family_loss(family, theta, cc, p) - loss).ravel()

    best = None
    base = _start(family, cc, loss, p)
    for shift in (-1.0, 0.0, 1.0):
        start = base + np.array([shift, 0.0, 0.0]) if family == "threshold" else \
            base + np.array([-shift, shift * 2, 0.0])
        res = optimize.least_squares(resid, start, method="trf", x_scale="jac", max_nfev=2000)
        if best is None or res.cost < best.cost:
            best = res
    return best.x, float(math.sqrt(2 * best.cost / loss.size))


@dataclass(frozen=True)
class FamilyComparison:
    """Leave-one-run-out RMSE (bits) of each family: ``heldout_rmse`` {family: [per left-out
    run]}, ``mean_heldout_rmse`` {family: mean}, ``params`` {family: fit on all runs},
    ``train_rmse`` {family: RMSE of that fit}; ``better`` the family with the lower mean
    held-out RMSE, ``n_subtasks`` subtasks used."""

    heldout_rmse: dict[str, list[float]]
    mean_heldout_rmse: dict[str, float]
    params: dict[str, list[float]]
    train_rmse: dict[str, float]
    better: str
    n_subtasks: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_families(steps: np.ndarray, loss: np.ndarray, p: np.ndarray,
                     batch_size: int) -> FamilyComparison:
    """Both families fitted on all runs but one and scored on the left-out run, for every
    left-out run (``loss`` float[R, T, K], R ≥ 2; see :func:`fit_family`)."""
    loss = np.asarray(loss, dtype=float)
    if loss.ndim != 3 or loss.shape[0] < 2:
        raise invalid("loss", loss.shape, "must be (runs >= 2, steps, subtasks)")
    c = batch_size * np.asarray(steps, dtype=float)[:, None] * np.asarray(p, float)[None, :]
    held: dict[str, list[float]] = {f: [] for f in FAMILIES}
    for r in range(loss.shape[0]):
        train = np.delete(loss, r, axis=0)
        for f in FAMILIES:
            theta, _ = fit_family(f, steps, train, p, batch_size)
            pred = family_loss(f, theta, c, p)
            held[f].append(float(np.sqrt(np.mean((pred - loss[r]) ** 2))))
    full = {f: fit_family(f, steps, loss, p, batch_size) for f in FAMILIES}
    mean = {f: float(np.mean(v)) for f, v in held.items()}
    return FamilyComparison(
        heldout_rmse=held, mean_heldout_rmse=mean,
        params={f: [float(x) for x in full[f][0]] for f in FAMILIES},
        train_rmse={f: full[f][1] for f in FAMILIES}, better=min(mean, key=mean.get),
        n_subtasks=int(loss.shape[2]))
