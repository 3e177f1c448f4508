"""Transfer laws: how a calibrated quantity changes with the task setting.

A study changes one setting field v at a time (input bits n, subtasks T, batch size B)
away from a base setting and calibrates each setting separately
(:mod:`simquanta.sparse_parity.calibrate`), giving estimates q_s ± se_s of a quantity q
(log10 A, γ, σ of the step law, log10 C of the capacity, log10 A_D of the data
threshold, ...). The transfer law is log-linear in every field:

    q(setting) = q_0 + Σ_v b_v · log10(x_v / x_v,0),

x_v,0 the base setting's value, so b_v is the exponent of a power law when q is a log10
(C ∝ n^{b_n}) and the change per decade otherwise (γ). Fitted by weighted least squares
with weights 1/se_s²; with χ²/dof > 1 (the per-setting SEs understate the scatter
between settings) every covariance is multiplied by χ²/dof (the Birge ratio), never by
less than 1. 95 % intervals: ±1.96 SE (normal). Fields that no setting changes are
not part of the law (:attr:`TransferLaw.fields`).

**Capacity unit.** Capacity may be a fixed number of *parameters* per quantum
(C_params) or of *hidden neurons* per quantum (C_neurons = C_params·w/N(w)); the two
differ by the parameters per neuron, T + n + 3, which the study changes. The unit to
transfer is the one whose transfer law is closest to a constant:
:func:`choose_constant` picks the quantity with the smallest Wald statistic
W = bᵀ Cov(b)⁻¹ b of "all slopes are 0" (reported with its χ² p-value).

Predictions (:meth:`TransferLaw.predict`) carry the law's standard error at the new
setting, √(gᵀ Cov g), g = (1, log10(x_v / x_v,0)...), and :meth:`TransferLaw.draw` draws
from the fitted normal for a parametric bootstrap over the calibration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from ..validation import invalid

__all__ = ["TransferLaw", "choose_constant", "fit_transfer_law"]

_Z975 = float(special.ndtri(0.975))


@dataclass(frozen=True)
class TransferLaw:
    """q = q_0 + Σ_v b_v log10(x_v/x_v,0) (module docstring).

    ``quantity`` name of q; ``base`` {field: x_v,0}; ``fields`` the fields fitted (in the
    order of ``cov``'s rows after the intercept); ``intercept`` q_0 with ``intercept_se``;
    ``slopes``/``slopes_se``/``slopes_ci`` b_v per field; ``cov`` the covariance of
    (q_0, b...) (inflated by ``birge`` = max(1, χ²/dof)); ``chi2`` and ``dof`` of the
    weighted fit; ``n_settings`` settings used.
    """

    quantity: str
    base: dict[str, float]
    fields: tuple[str, ...]
    intercept: float
    intercept_se: float
    slopes: dict[str, float]
    slopes_se: dict[str, float]
    slopes_ci: dict[str, tuple[float, float]]
    cov: tuple[tuple[float, ...], ...]
    chi2: float
    dof: int
    birge: float
    n_settings: int

    def _design(self, setting: Mapping[str, float]) -> np.ndarray:
        row = [1.0]
        for f in self.fields:
            x = float(setting.get(f, self.base[f]))
            if not x > 0:
                raise invalid(f, x, "must be > 0 (the transfer law is in log10 of it)")
            row.append(math.log10(x / self.base[f]))
        return np.array(row)

    def predict(self, setting: Mapping[str, float]) -> tuple[float, float]:
        """(q, standard error) at ``setting`` ({field: value}; missing fields: base)."""
        g = self._design(setting)
        beta = np.array([self.intercept, *(self.slopes[f] for f in self.fields)])
        cov = np.array(self.cov)
        return float(g @ beta), float(math.sqrt(max(g @ cov @ g, 0.0)))

    def draw(self, setting: Mapping[str, float], rng: np.random.Generator,
             size: int) -> np.ndarray:
        """``size`` draws of q at ``setting`` from the law's normal (mean, SE)."""
        mean, se = self.predict(setting)
        return mean + se * rng.standard_normal(size)

    def wald(self) -> tuple[float, float]:
        """(W, p): W = bᵀ Cov(b)⁻¹ b for "every slope is 0", p its χ²(len b) tail."""
        if not self.fields:
            return 0.0, 1.0
        b = np.array([self.slopes[f] for f in self.fields])
        cov = np.array(self.cov)[1:, 1:]
        w = float(b @ np.linalg.solve(cov, b))
        return w, float(stats.chi2.sf(w, len(b)))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["wald"], out["wald_p"] = self.wald()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TransferLaw:
        """The law back from :meth:`to_dict` (or its JSON); derived keys are ignored."""
        return cls(quantity=d["quantity"], base=dict(d["base"]), fields=tuple(d["fields"]),
                   intercept=float(d["intercept"]), intercept_se=float(d["intercept_se"]),
                   slopes=dict(d["slopes"]), slopes_se=dict(d["slopes_se"]),
                   slopes_ci={f: (float(v[0]), float(v[1]))
                              for f, v in d["slopes_ci"].items()},
                   cov=tuple(tuple(float(x) for x in r) for r in d["cov"]),
                   chi2=float(d["chi2"]), dof=int(d["dof"]), birge=float(d["birge"]),
                   n_settings=int(d["n_settings"]))


def fit_transfer_law(quantity: str, settings: Sequence[Mapping[str, float]],
                     values: Sequence[float], ses: Sequence[float],
                     base: Mapping[str, float]) -> TransferLaw:
    """Weighted least-squares transfer law of ``quantity`` (module docstring).

    ``settings`` one {field: value} per calibrated setting (fields missing from a setting
    take the base value); ``values``/``ses`` the quantity and its standard error there
    (se > 0); ``base`` {field: base value} for every field the law may depend on.
    """
    vals = np.asarray(values, dtype=float)
    se = np.asarray(ses, dtype=float)
    if vals.ndim != 1 or vals.shape != se.shape or len(settings) != vals.size:
        raise invalid("values", vals.shape, "values, ses and settings must have one entry "
                                            "per setting")
    if not np.all(np.isfinite(vals)):
        raise invalid("values", vals, "must be finite")
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise invalid("ses", se, "must be finite and > 0")
    for f, x in base.items():
        if not float(x) > 0:
            raise invalid(f"base[{f}]", x, "must be > 0")
    cols = {f: np.array([math.log10(float(s.get(f, base[f])) / float(base[f]))
                         if float(s.get(f, base[f])) > 0 else math.nan for s in settings])
            for f in base}
    for f, c in cols.items():
        if np.any(np.isnan(c)):
            raise invalid(f, [s.get(f) for s in settings], "every setting value must be > 0")
    fields = tuple(f for f in base if np.ptp(cols[f]) > 0)
    x = np.column_stack([np.ones(vals.size), *(cols[f] for f in fields)])
    if vals.size < x.shape[1]:
        raise invalid("settings", len(settings),
                      f"need >= {x.shape[1]} settings for {len(fields)} varied field(s)")
    w = 1.0 / se ** 2
    xtwx = x.T @ (w[:, None] * x)
    beta = np.linalg.solve(xtwx, x.T @ (w * vals))
    resid = vals - x @ beta
    chi2 = float(np.sum(w * resid ** 2))
    dof = vals.size - x.shape[1]
    birge = max(1.0, chi2 / dof) if dof > 0 else 1.0
    cov = np.linalg.inv(xtwx) * birge
    sd = np.sqrt(np.diag(cov))
    return TransferLaw(
        quantity=quantity, base={f: float(v) for f, v in base.items()}, fields=fields,
        intercept=float(beta[0]), intercept_se=float(sd[0]),
        slopes={f: float(beta[i + 1]) for i, f in enumerate(fields)},
        slopes_se={f: float(sd[i + 1]) for i, f in enumerate(fields)},
        slopes_ci={f: (float(beta[i + 1] - _Z975 * sd[i + 1]),
                       float(beta[i + 1] + _Z975 * sd[i + 1])) for i, f in enumerate(fields)},
        cov=tuple(tuple(float(v) for v in row) for row in cov), chi2=chi2, dof=dof,
        birge=birge, n_settings=int(vals.size))


def choose_constant(laws: Mapping[str, TransferLaw]) -> tuple[str, dict[str, float]]:
    """The law closest to a constant: the smallest Wald statistic of "all slopes are 0"
    (:meth:`TransferLaw.wald`). Returns (its name, {name: W})."""
    if not laws:
        raise invalid("laws", laws, "need at least one transfer law")
    walds = {name: law.wald()[0] for name, law in laws.items()}
    return min(walds, key=walds.get), walds
