"""Size-dependent learning speed fitted to sparse-parity networks of several widths.

The simulator's speed law (:class:`simquanta.specs.Learner`, ``speed_n0``/``speed_kappa``):
an agent of capacity n needs f(n) times the exposures to learn a quantum (η divided by f
for the logistic family),

    f(n) = (1 + n0/n)^κ,        n0 ≥ 0 in the unit of n,  κ ≥ 0 dimensionless.

**What is measured.** For each width w the calibration networks give the *slowdown* s_w:
the factor by which the convergence steps of the ``n_top`` most frequent subtasks exceed
the step law fitted on the reference (widest) networks — the maximum-likelihood
intercept shift with the law's slope and noise held fixed, on interval-censored
convergence steps (:func:`simquanta.sparse_parity.calibrate.step_slowdown`). The step
law's prefactor A already contains the reference networks' own factor, so the measured
quantity is the *ratio*

    log s_w = log f(n_w) − log f(n_ref) + ε_w
            = κ [log(1 + n0/n_w) − log(1 + n0/n_ref)] + ε_w,

n_ref the reference width's capacity (several reference widths: the mean of their log f).
(n0, κ) minimise Σ_w ε_w² (unweighted least squares in log slowdown, one point per width:
every width has the same design of runs × subtasks; the per-width bootstrap variances are
not usable as weights because interval-censoring on a log grid makes some of them 0).
To simulate with the law, divide the calibrated thresholds by f(n_ref)
(:meth:`SpeedLawFit.reference_factor`): A_∞ = A / f(n_ref) is the infinitely wide
network's prefactor, and then agents of capacity n_ref reproduce the calibrated law.

**Units of n.** ``"quanta"``: n = N(w)/C, N the parameter count and C the calibrated
parameters per quantum — the unit :class:`~simquanta.specs.Learner` reads (its capacity),
so ``Learner(capacity=n, speed_n0=n0, speed_kappa=κ)`` uses the fit as is. ``"neurons"``:
n = w, hidden neurons. ``"params"``: n = N(w). κ is the same curve's exponent in every
unit; n0 changes scale (n0_quanta = n0_params / C exactly; n0_neurons ≈ n0_params / (N/w)).

**Uncertainty.** Percentile bootstrap 95 % intervals (:mod:`simquanta.analysis.stats`):
each replicate resamples the *runs* (independent networks) within each width
(stratified, keeping the design), refits the step law on the resampled reference runs,
recomputes every width's slowdown and refits (n0, κ). For ``unit="quanta"`` each replicate
also draws C: log C ~ Normal(log C, s_C), s_C = (log C_hi − log C_lo) / (2·1.96) from the
calibration's 95 % interval for C (independent of the run resample), so C's uncertainty
propagates into n0. The same seed gives the same run resamples in every unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from ..analysis.stats import bootstrap, bootstrap_se, percentile_ci
from ..validation import check_choice, check_int, check_real, invalid
from .calibrate import StepLawFit, fit_step_law, step_slowdown

__all__ = [
    "KAPPA_MAX",
    "UNITS",
    "SpeedLawFit",
    "calibration_inputs",
    "fit_speed_curve",
    "fit_speed_law",
    "speed_factor",
    "speed_law_from_calibration",
]

UNITS = ("quanta", "neurons", "params")
_Z975 = float(special.ndtri(0.975))
#: Upper bound on κ in the fit (what Learner accepts); a CI ending here is not pinned down.
KAPPA_MAX = 10.0
_LOG_N0_RANGE = (-12.0, 12.0)  # relative to log of the median capacity


def speed_factor(n: np.ndarray | float, n0: float, kappa: float) -> np.ndarray:
    """f(n) = (1 + n0/n)^κ (float array; n in the unit n0 was fitted in)."""
    return (1.0 + n0 / np.asarray(n, dtype=float)) ** kappa


# ----------------------------------------------------------------------- the curve


def _log_ratio(n: np.ndarray, log_n0: float, kappa: float, n_ref: np.ndarray) -> np.ndarray:
    n0 = math.exp(log_n0)
    return kappa * (np.log1p(n0 / n) - np.mean(np.log1p(n0 / n_ref)))


def fit_speed_curve(n: Sequence[float], slowdowns: Sequence[float],
                    n_ref: float | Sequence[float]) -> tuple[float, float, float]:
    """Least-squares (n0, κ) for log s = κ [log(1 + n0/n) − log(1 + n0/n_ref)].

    ``n`` float[W] capacities (any unit; n0 comes back in it), ``slowdowns`` float[W] > 0,
    ``n_ref`` the reference capacity (or capacities). κ is bounded to [0, 10] (what
    :class:`~simquanta.specs.Learner` accepts) and log n0 to ±12 around log median(n):
    a fit at a bound means the data do not pin that parameter. Several starts in n0 guard
    against local minima. Returns (n0, κ, residual sum of squares in log slowdown).
    """
    n_arr = np.asarray(n, dtype=float)
    y = np.log(np.asarray(slowdowns, dtype=float))
    ref = np.atleast_1d(np.asarray(n_ref, dtype=float))
    if n_arr.shape != y.shape or n_arr.ndim != 1 or n_arr.size < 2:
        raise invalid("slowdowns", y.shape, "must be 1-D, one per capacity, >= 2 widths")
    if np.any(n_arr <= 0) or np.any(ref <= 0) or not np.all(np.isfinite(y)):
        raise invalid("n", n_arr, "capacities must be > 0 and slowdowns finite and > 0")
    mid = math.log(float(np.median(n_arr)))
    bounds = ([mid + _LOG_N0_RANGE[0], 0.0], [mid + _LOG_N0_RANGE[1], KAPPA_MAX])

    def resid(theta: np.ndarray) -> np.ndarray:
        return _log_ratio(n_arr, theta[0], theta[1], ref) - y

    def jac(theta: np.ndarray) -> np.ndarray:
        r, r_ref = math.exp(theta[0]) / n_arr, math.exp(theta[0]) / ref
        d_log_n0 = theta[1] * (r / (1 + r) - np.mean(r_ref / (1 + r_ref)))
        d_kappa = np.log1p(r) - np.mean(np.log1p(r_ref))
        return np.stack([d_log_n0, d_kappa], axis=1)

    best = None
    for offset in (-4.0, -2.0, 0.0, 2.0, 4.0):
        start = np.array([mid + offset, 1.0])
        res = optimize.least_squares(resid, start, jac=jac, bounds=bounds, method="trf",
                                     xtol=1e-12, ftol=1e-12, gtol=1e-12)
        if best is None or res.cost < best.cost - 1e-15:
            best = res
    return float(math.exp(best.x[0])), float(best.x[1]), float(2.0 * best.cost)


# -------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class SpeedLawFit:
    """Fitted f(n) = (1 + n0/n)^κ (module docstring: model, units, uncertainty).

    ``n0`` in ``unit`` (quanta, neurons or params), ``kappa`` dimensionless; ``*_ci``
    percentile bootstrap 95 % intervals, ``*_se`` bootstrap SEs (log10 n0). Per width (in
    ``widths`` order): ``n`` capacity in ``unit``, ``slowdown`` measured (point) with
    ``slowdown_ci``, ``fitted`` f(n)/f(n_ref), ``residual_log`` = log measured − log
    fitted. ``n_ref``: reference capacities; ``rss_log``: Σ residual_log².
    """

    n0: float
    kappa: float
    unit: str
    n0_ci: tuple[float, float]
    kappa_ci: tuple[float, float]
    log10_n0_se: float
    kappa_se: float
    widths: tuple[int, ...]
    n: tuple[float, ...]
    n_ref: tuple[float, ...]
    slowdown: tuple[float, ...]
    slowdown_ci: tuple[tuple[float, float], ...]
    fitted: tuple[float, ...]
    residual_log: tuple[float, ...]
    rss_log: float
    n_top: int
    n_boot: int
    n_boot_all_censored: int
    C: float | None = None
    C_ci: tuple[float, float] | None = None
    uncertainty: str = ("percentile bootstrap 95 %: runs resampled within each width, step "
                        "law refitted per replicate")

    def factor(self, n: np.ndarray | float) -> np.ndarray:
        """f(n) = (1 + n0/n)^κ, n in ``unit``."""
        return speed_factor(n, self.n0, self.kappa)

    def reference_factor(self) -> float:
        """f at the reference width(s) (geometric mean): divide the calibrated step law's
        thresholds by this to simulate with the speed law (A_∞ = A / f(n_ref))."""
        return float(np.exp(np.mean(np.log(self.factor(np.array(self.n_ref))))))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _capacities(unit: str, widths: np.ndarray, n_params: np.ndarray, C: float | None):
    if unit == "quanta":
        return n_params / C
    if unit == "neurons":
        return widths.astype(float)
    return n_params.astype(float)


def fit_speed_law(p: np.ndarray, widths: Sequence[int], n_params: Sequence[float],
                  lo: Mapping[int, np.ndarray], hi: Mapping[int, np.ndarray],
                  batch_size: int, *, reference_widths: Sequence[int],
                  unit: str = "quanta", C: float | None = None,
                  C_ci: tuple[float, float] | None = None, n_top: int = 3,
                  noise: str = "lognormal", n_boot: int = 500, seed: int = 0,
                  ci: float = 0.95, law: StepLawFit | None = None) -> SpeedLawFit:
    """Fit the speed law f(n) = (1 + n0/n)^κ to per-width slowdowns of trained networks.

    ``p`` float[K] subtask frequencies (descending); ``widths`` int[W]; ``n_params``
    float[W] parameters N(w); ``lo``/``hi`` {width: float[R, K]} convergence intervals
    (optimizer steps, from :func:`~simquanta.sparse_parity.calibrate.convergence_intervals`)
    of R runs per width; ``batch_size`` B; ``reference_widths`` the widths the step law is
    fitted on; ``unit`` one of ``UNITS`` (``"quanta"`` needs ``C`` and ``C_ci``,
    parameters per quantum); ``n_top`` subtasks (most frequent) whose slowdown is measured;
    ``noise`` the step law's noise model; ``law`` the step law for the point estimate
    (default: refitted on the reference runs, which gives the calibration's law when its
    settings are used). Bootstrap: ``n_boot`` replicates from ``seed`` (module docstring).
    """
    check_choice("unit", unit, UNITS)
    n_top = check_int("n_top", n_top, 1)
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    w_arr = np.asarray(widths, dtype=int)
    n_par = np.asarray(n_params, dtype=float)
    if w_arr.ndim != 1 or n_par.shape != w_arr.shape or w_arr.size < 2:
        raise invalid("n_params", n_par.shape, "must give one parameter count per width")
    ref_w = [int(w) for w in reference_widths]
    if not ref_w or any(w not in w_arr for w in ref_w):
        raise invalid("reference_widths", reference_widths, "must be among the widths")
    if unit == "quanta":
        if C is None or C_ci is None:
            raise invalid("C", C, "unit = quanta needs C and C_ci (parameters per quantum)")
        C = check_real("C", C, low=0.0, low_open=True)
        if not 0 < C_ci[0] <= C <= C_ci[1]:
            raise invalid("C_ci", C_ci, "must bracket C and be > 0")
    p = np.asarray(p, dtype=float)
    runs = {int(w): (np.atleast_2d(np.asarray(lo[w], dtype=float)),
                     np.atleast_2d(np.asarray(hi[w], dtype=float))) for w in w_arr}
    n_runs = [runs[int(w)][0].shape[0] for w in w_arr]
    for w, (lo_w, hi_w) in runs.items():
        if lo_w.shape != hi_w.shape or lo_w.shape[1] != p.size:
            raise invalid("lo", lo_w.shape, f"width {w}: lo and hi must be (runs, {p.size})")
    top = slice(0, min(n_top, p.size))
    ref_idx = [int(np.nonzero(w_arr == w)[0][0]) for w in ref_w]

    # A resample enters only through the multiset of runs drawn per width, so the step law
    # (per reference multiset) and each width's slowdown (per law and multiset) are cached:
    # with 3 runs per width there are 10 multisets, and replicates reuse them.
    laws: dict[tuple, StepLawFit] = {}
    slows: dict[tuple, float] = {}

    def law_of(sel: list[np.ndarray]) -> tuple[tuple, StepLawFit]:
        key = tuple(tuple(sorted(sel[i].tolist())) for i in ref_idx)
        if key not in laws:
            pairs = [(int(w_arr[i]), np.array(k, dtype=int))
                     for i, k in zip(ref_idx, key, strict=True)]
            lo_r = np.concatenate([runs[w][0][j] for w, j in pairs])
            hi_r = np.concatenate([runs[w][1][j] for w, j in pairs])
            laws[key] = fit_step_law(p, lo_r, hi_r, batch_size, noise=noise, n_boot=0)
        return key, laws[key]

    def slowdowns_of(sel: list[np.ndarray], law_key: tuple, lw: StepLawFit) -> np.ndarray:
        out = np.empty(w_arr.size)
        for i, w in enumerate(w_arr):
            runs_i = tuple(sorted(sel[i].tolist()))
            key = (law_key, i, runs_i)
            if key not in slows:
                j = np.array(runs_i, dtype=int)
                slows[key] = step_slowdown(lw, p[top], runs[int(w)][0][j][:, top],
                                      runs[int(w)][1][j][:, top])
            out[i] = slows[key]
        return out

    def all_censored(sel: list[np.ndarray]) -> bool:
        return any(not np.isfinite(runs[int(w)][1][sel[i]][:, top]).any()
                   for i, w in enumerate(w_arr))

    whole = [np.arange(r) for r in n_runs]
    point_law = law if law is not None else law_of(whole)[1]
    s_point = slowdowns_of(whole, ("point",), point_law)
    n_point = _capacities(unit, w_arr, n_par, C)
    n0, kappa, rss = fit_speed_curve(n_point, s_point, n_point[ref_idx])

    # Stratified bootstrap over runs: flat run index → (width, run) through offsets.
    offsets = np.concatenate([[0], np.cumsum(n_runs)])
    strata = [np.arange(offsets[i], offsets[i + 1]) for i in range(w_arr.size)]
    c_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5BD,)))
    s_c = (math.log(C_ci[1]) - math.log(C_ci[0])) / (2 * _Z975) if unit == "quanta" else 0.0
    censored = 0

    def replicate(idx: np.ndarray):
        nonlocal censored
        sel = [idx[offsets[i]:offsets[i + 1]] - offsets[i] for i in range(w_arr.size)]
        censored += all_censored(sel)
        s = slowdowns_of(sel, *law_of(sel))
        c_b = C * math.exp(s_c * c_rng.standard_normal()) if unit == "quanta" else None
        n_b = _capacities(unit, w_arr, n_par, c_b)
        n0_b, kappa_b, _ = fit_speed_curve(n_b, s, n_b[ref_idx])
        return np.concatenate([[math.log10(n0_b), kappa_b], s])

    boots = bootstrap(replicate, int(offsets[-1]), n_boot, np.random.default_rng(seed),
                      strata=strata)
    reps = np.array(boots) if boots else np.full((0, 2 + w_arr.size), np.nan)
    q_lo, q_hi = percentile_ci(reps, ci)
    se = bootstrap_se(reps)
    fitted = np.exp(_log_ratio(n_point, math.log(n0), kappa, n_point[ref_idx]))
    return SpeedLawFit(
        n0=n0, kappa=kappa, unit=unit,
        n0_ci=(float(10 ** q_lo[0]), float(10 ** q_hi[0])),
        kappa_ci=(float(q_lo[1]), float(q_hi[1])),
        log10_n0_se=float(se[0]), kappa_se=float(se[1]),
        widths=tuple(int(w) for w in w_arr), n=tuple(float(v) for v in n_point),
        n_ref=tuple(float(n_point[i]) for i in ref_idx),
        slowdown=tuple(float(v) for v in s_point),
        slowdown_ci=tuple((float(a), float(b)) for a, b in zip(q_lo[2:], q_hi[2:], strict=True)),
        fitted=tuple(float(v) for v in fitted),
        residual_log=tuple(float(v) for v in np.log(s_point) - np.log(fitted)),
        rss_log=rss, n_top=top.stop, n_boot=len(boots), n_boot_all_censored=int(censored),
        C=C if unit == "quanta" else None,
        C_ci=(float(C_ci[0]), float(C_ci[1])) if unit == "quanta" else None,
        uncertainty=SpeedLawFit.uncertainty + ("; log C ~ Normal from the calibration's "
                                               "C_ci, drawn per replicate"
                                               if unit == "quanta" else ""),
    )


# ------------------------------------------------------------- from the JSON


def calibration_inputs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of :func:`fit_speed_law` from a sparse_parity_calibration JSON payload
    (``json.load`` of figures/sparse_parity_calibration.json), plus ``law`` (its step law as
    a :class:`StepLawFit`) and ``config``. The subtask frequencies are recomputed from the
    task settings (Zipf, our α convention) exactly as the task does."""
    from .task import SparseParityTask

    res, cfg = payload["results"], payload["config"]
    nets = res["networks"]
    widths = [int(w) for w in nets["widths"]]

    def arr(rows: Any) -> np.ndarray:
        return np.array([[float(v) for v in row] for row in rows])  # "inf" strings → inf

    step = dict(res["step_law"])
    for key in [k for k in step if k.endswith("_ci")]:
        step[key] = tuple(step[key])
    law = StepLawFit(**step)
    task = SparseParityTask(cfg["n_tasks"], cfg["n_bits"], cfg["k"], cfg["alpha"],
                            cfg["offset"], cfg["task_seed"])
    cal = res["calibration"]
    return {
        "p": task.p, "widths": widths, "n_params": [float(v) for v in nets["n_params"]],
        "lo": {w: arr(nets["convergence_lo"][str(w)]) for w in widths},
        "hi": {w: arr(nets["convergence_hi"][str(w)]) for w in widths},
        "batch_size": int(cal["batch_size"]),
        "reference_widths": [int(w) for w in cfg["step_law_widths"]],
        "C": float(cal["C"]), "C_ci": (float(cal["C_ci"][0]), float(cal["C_ci"][1])),
        "noise": law.noise, "law": law, "config": cfg,
    }


def speed_law_from_calibration(payload: Mapping[str, Any], *, unit: str = "quanta",
                               n_top: int = 3, n_boot: int = 500,
                               seed: int = 0) -> SpeedLawFit:
    """:func:`fit_speed_law` on a sparse_parity_calibration JSON payload, with its step
    law as the point estimate's reference (so the point slowdowns are the JSON's
    ``findings.step_slowdown_by_width``)."""
    inputs = calibration_inputs(payload)
    inputs.pop("config")
    if unit != "quanta":
        inputs.pop("C")
        inputs.pop("C_ci")
    return fit_speed_law(**inputs, unit=unit, n_top=n_top, n_boot=n_boot, seed=seed)
