"""Calibrate the quanta simulator against networks trained on multitask sparse parity.

Mapping (one simulator step = one optimizer step with batch B; a sample exposes subtask
i with probability p_i). Three measurements, three fits:

1. **Step law** (online training, networks wide enough not to be capacity-limited).
   Subtask i *converges* at the first logged step whose held-out loss is < 0.1 bits;
   logging is discrete, so each observation is an interval (previous log, this log],
   or (last log, ∞) if it never converged (right-censored). The simulator learns i
   after τ_i exposures, i.e. at step t_i ≈ τ_i / (B p_i), with

       τ_i = A · p_i^−γ · ε_i    ⇒    log t_i = log(A/B) − (1+γ) log p_i + log ε_i,

   so steps ∝ p_i^−(1+γ). ``A`` (exposures, at p = 1) and γ are free; the noise ε is
   either ``lognormal`` (log ε ~ N(0, σ²), σ free: simulated with per-agent threshold
   draws τ_i = A p_i^−γ e^{σ z_i} under the threshold rule) or ``geometric`` (ε ~ Exp(1):
   the simulator's geometric acquisition with τ_i = A p_i^−γ). Fitted by maximum
   likelihood on the interval-censored log steps; the likelihoods and AIC of both noise
   models are reported and ``noise="auto"`` keeps the better one. Note that the
   simulator's ``Quanta(tau, gamma)`` writes τ_i = τ (p_i / p_ref)^−γ with p_ref the
   smallest (γ < 0) or largest (γ ≥ 0) p of *its* K quanta, so τ = A p_ref^−γ there
   (:meth:`StepLawFit.quanta_tau`); ``A`` itself does not depend on K or B.

2. **Capacity** (online, all widths). n(w) = the largest number of subtasks below
   0.1 bits at any logged step. The simulator with capacity N(w)/C (cost 1 per quantum,
   ``reject``) learns n̂(w) = min(⌊N(w)/C⌋, n_time), n_time being the number learned by
   the end of training without a capacity limit (measured: the mean n of the widest
   networks, or given). C (parameters per quantum) minimises Σ_runs (n − n̂)².

3. **Data threshold** (multi-epoch training on D samples, early stopping). Subtask i
   counts as learned when its held-out loss at the best checkpoint is < 0.1 bits. The
   simulator's dataset regime learns i iff its training set holds D_i ≥ τ^D_i examples,
   D_i ≈ D p_i, with τ^D_i = A_D p_i^−γ_D e^{σ_D z_i}, giving the probit

       P(learned) = Φ((log D + (1+γ_D) log p_i − log A_D) / σ_D),

   fitted by maximum likelihood on the (run, subtask) cells that are not time-limited
   (the caller passes that mask: subtasks the online networks learned within the same
   step budget). Networks need far more *presentations* (online τ) than distinct
   *examples* (τ^D), so the two regimes get separate thresholds; the simulator holds
   one τ per Quanta, so dataset runs use their own Quanta built from (A_D, γ_D, σ_D).

Uncertainties: nonparametric bootstrap (percentile 95 % intervals, plus bootstrap SEs).
The step and data fits resample *subtasks* (columns, jointly across runs, since a
subtask's observations in different runs share its frequency); the capacity fit
resamples runs within each width (stratified, keeping the design) and, since integer
counts only bracket C, reports the bootstrap envelope of the best-fitting C intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, special

from ..analysis.stats import bootstrap, bootstrap_se, percentile_ci
from ..specs import Quanta
from ..validation import check_int, check_real, invalid

__all__ = [
    "CapacityFit",
    "CapacityPowerFit",
    "DataThresholdFit",
    "StepLawFit",
    "convergence_intervals",
    "fit_capacity",
    "fit_capacity_power",
    "fit_data_threshold",
    "fit_step_law",
    "learned_count",
    "simulate_dataset_learned",
    "simulate_online_learned",
    "step_slowdown",
]

NOISES = ("lognormal", "geometric")
#: Loss (bits) below which a subtask counts as learned (the paper's convergence criterion).
CONVERGED_BITS = 0.1
_SIGMA_MIN = 0.02  # a hair above 0 keeps the likelihoods finite in separable resamples


# ------------------------------------------------------------------ observations


def convergence_intervals(steps: np.ndarray, subtask_loss: np.ndarray,
                          threshold: float = CONVERGED_BITS) -> tuple[np.ndarray, np.ndarray]:
    """Interval (lo, hi] of each subtask's convergence step from a logged loss curve.

    ``steps`` int[T] logged steps (increasing), ``subtask_loss`` float[T, K] in bits or
    float[R, T, K] for R runs on the same log grid. Convergence = first logged step with
    loss < ``threshold``: hi = that step, lo = the previous logged step (0 if none);
    never converged: lo = last logged step, hi = inf. Returns float arrays shaped like
    the loss without its T axis.
    """
    steps = np.asarray(steps, dtype=float)
    loss = np.asarray(subtask_loss, dtype=float)
    if steps.ndim != 1 or loss.shape[-2] != steps.size:
        raise invalid("subtask_loss", loss.shape, f"must have a step axis of {steps.size}")
    below = np.moveaxis(loss < threshold, -2, -1)  # (..., K, T)
    ever = below.any(axis=-1)
    first = np.argmax(below, axis=-1)
    hi = np.where(ever, steps[first], math.inf)
    prev = np.concatenate([[0.0], steps[:-1]])
    lo = np.where(ever, prev[first], steps[-1])
    return lo, hi


def learned_count(subtask_loss: np.ndarray, threshold: float = CONVERGED_BITS) -> np.ndarray:
    """Largest number of subtasks below ``threshold`` bits at any logged step, per run:
    float[..., T, K] → int[...]."""
    below = np.asarray(subtask_loss) < threshold
    return below.sum(axis=-1).max(axis=-1)


# -------------------------------------------------------------------- step law


@dataclass(frozen=True)
class StepLawFit:
    """Fitted step law: exposures to learn a subtask of frequency p are τ(p) = A p^−γ·ε,
    median steps t(p) = A p^−γ / (B p) ∝ p^−(1+γ).

    ``log10_A`` (A in exposures of that subtask), ``gamma`` (dimensionless), ``sigma``
    (lognormal spread of ε in natural-log units; for ``geometric`` noise the fixed
    spread of log Exp(1), π/√6). ``*_ci``: percentile bootstrap 95 % intervals, ``*_se``
    bootstrap standard errors. ``alternatives``: log-likelihood and AIC of every noise
    model fitted (the chosen one is ``noise``).
    """

    log10_A: float
    gamma: float
    sigma: float
    noise: str
    batch_size: int
    log10_A_ci: tuple[float, float]
    gamma_ci: tuple[float, float]
    sigma_ci: tuple[float, float]
    log10_A_se: float
    gamma_se: float
    sigma_se: float
    log_likelihood: float
    aic: float
    n_obs: int
    n_censored: int
    n_boot: int
    alternatives: dict[str, dict[str, float]] = field(default_factory=dict)
    uncertainty: str = "bootstrap over subtasks (percentile 95 %)"

    @property
    def A(self) -> float:
        return 10.0 ** self.log10_A

    def thresholds(self, p: np.ndarray) -> np.ndarray:
        """Median exposures to learn each subtask, τ(p) = A p^−γ (clipped to ≥ 1)."""
        return np.maximum(self.A * np.asarray(p, dtype=float) ** (-self.gamma), 1.0)

    def median_steps(self, p: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Median convergence step A p^−γ / (B p) (B defaults to the calibration's)."""
        b = self.batch_size if batch_size is None else batch_size
        return self.thresholds(p) / (b * np.asarray(p, dtype=float))

    def quanta_tau(self, p: np.ndarray) -> float:
        """The ``tau`` for ``Quanta(..., tau=τ, gamma=γ)`` over frequencies p: A p_ref^−γ."""
        p = np.asarray(p, dtype=float)
        positive = p[p > 0]
        p_ref = positive.min() if self.gamma < 0 else positive.max()
        return max(float(self.A * p_ref ** (-self.gamma)), 1.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _interval_prob(mu: np.ndarray, llo: np.ndarray, lhi: np.ndarray, noise: str,
                   sigma: float) -> np.ndarray:
    """P(log t ∈ (llo, lhi]) for log t = μ + noise (elementwise, broadcasting μ)."""
    if noise == "lognormal":
        with np.errstate(invalid="ignore"):
            zhi = (lhi - mu) / sigma
            zlo = (llo - mu) / sigma
        # P = Φ(zhi) − Φ(zlo), computed on the side with less cancellation.
        upper = special.ndtr(-zlo) - special.ndtr(-zhi)
        lower = special.ndtr(zhi) - special.ndtr(zlo)
        return np.where(zlo > 0, upper, lower)

    # log E with E ~ Exp(1): P(log t ≤ y) = 1 − exp(−e^{y − μ}).
    def cdf(y: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return -np.expm1(-np.exp(np.minimum(y - mu, 700.0)))

    return cdf(lhi) - cdf(llo)


def step_negloglik(params: np.ndarray, x: np.ndarray, llo: np.ndarray, lhi: np.ndarray,
                    noise: str) -> float:
    """−log L for log t ∈ (llo, lhi], log t = c + s·x + noise, x = −log p."""
    c, s = params[0], params[1]
    sigma = max(math.exp(params[2]), _SIGMA_MIN) if noise == "lognormal" else 0.0
    prob = _interval_prob(c + s * x, llo, lhi, noise, sigma)
    return float(-np.sum(np.log(np.maximum(prob, 1e-300))))


def _fit_step_once(x, llo, lhi, noise, start):
    n_par = 3 if noise == "lognormal" else 2
    res = optimize.minimize(step_negloglik, start[:n_par], args=(x, llo, lhi, noise),
                            method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000})
    return res.x, res.fun


def _step_start(x, llo, lhi):
    """OLS on converged cells (interval midpoints in log) as the optimizer's start."""
    ok = np.isfinite(lhi)
    mid = np.where(np.isfinite(llo), 0.5 * (llo + lhi), lhi)
    if ok.sum() >= 2 and np.ptp(x[ok]) > 0:
        s, c = np.polyfit(x[ok], mid[ok], 1)
        resid = mid[ok] - (c + s * x[ok])
        sd = max(float(np.std(resid)), 0.1)
    else:
        s, c, sd = 1.0, float(np.nanmax(llo)), 1.0
    return np.array([c, s, math.log(sd)])


def fit_step_law(p: np.ndarray, lo: np.ndarray, hi: np.ndarray, batch_size: int, *,
                 noise: Literal["auto", "lognormal", "geometric"] = "auto",
                 n_boot: int = 200, seed: int = 0, ci: float = 0.95) -> StepLawFit:
    """Maximum-likelihood step law from interval-censored convergence steps.

    ``p`` float[K] subtask frequencies; ``lo``/``hi`` float[R, K] (or [K]) convergence
    intervals in optimizer steps from :func:`convergence_intervals` (hi = inf: censored);
    ``batch_size`` B. See the module docstring for the model.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    if noise not in ("auto", *NOISES):
        raise invalid("noise", noise, "must be one of auto, lognormal, geometric")
    p = np.asarray(p, dtype=float)
    lo2 = np.atleast_2d(np.asarray(lo, dtype=float))
    hi2 = np.atleast_2d(np.asarray(hi, dtype=float))
    if lo2.shape != hi2.shape or lo2.shape[-1] != p.size:
        raise invalid("lo", lo2.shape, f"lo and hi must have shape (runs, {p.size})")
    if np.any(p <= 0):
        raise invalid("p", p, "every frequency must be > 0")
    if not np.any(np.isfinite(hi2)):
        raise invalid("hi", "all inf", "at least one subtask must have converged")
    x_all = np.broadcast_to(-np.log(p), lo2.shape)
    with np.errstate(divide="ignore"):
        llo_all = np.log(lo2)  # lo = 0 → −inf: no lower bound
        lhi_all = np.log(hi2)  # hi = inf → +inf: censored

    def fit(cols: np.ndarray, which: str, start: np.ndarray | None = None):
        x, llo, lhi = (a[:, cols].ravel() for a in (x_all, llo_all, lhi_all))
        s0 = _step_start(x, llo, lhi) if start is None else start
        return _fit_step_once(x, llo, lhi, which, s0)

    all_cols = np.arange(p.size)
    fits = {which: fit(all_cols, which) for which in NOISES}
    alternatives = {}
    for which, (_, nll) in fits.items():
        k_par = 3 if which == "lognormal" else 2
        alternatives[which] = {"log_likelihood": float(-nll), "aic": float(2 * k_par + 2 * nll)}
    chosen = (min(NOISES, key=lambda w: alternatives[w]["aic"]) if noise == "auto"
              else noise)
    theta, nll = fits[chosen]

    def summary(th: np.ndarray) -> np.ndarray:
        c, s = th[0], th[1]
        sigma = (max(math.exp(th[2]), _SIGMA_MIN) if chosen == "lognormal"
                 else math.pi / math.sqrt(6.0))
        # c = log(A/B): A = B e^c exposures at p = 1; γ = s − 1.
        return np.array([(c + math.log(batch_size)) / math.log(10.0), s - 1.0, sigma])

    point = summary(theta)
    start = np.concatenate([theta, [0.0]])[:3]

    def replicate(cols: np.ndarray) -> np.ndarray | None:
        if not np.any(np.isfinite(hi2[:, cols])) or np.ptp(p[cols]) == 0:
            return None  # nothing converged or one frequency only: no slope to fit
        return summary(fit(cols, chosen, start)[0])

    boots = bootstrap(replicate, p.size, n_boot, np.random.default_rng(seed))
    boots_arr = np.array(boots) if boots else np.full((0, 3), np.nan)
    lo_q, hi_q = percentile_ci(boots_arr, ci)
    se = bootstrap_se(boots_arr)
    return StepLawFit(
        log10_A=float(point[0]), gamma=float(point[1]), sigma=float(point[2]),
        noise=chosen, batch_size=batch_size,
        log10_A_ci=(float(lo_q[0]), float(hi_q[0])), gamma_ci=(float(lo_q[1]), float(hi_q[1])),
        sigma_ci=(float(lo_q[2]), float(hi_q[2])),
        log10_A_se=float(se[0]), gamma_se=float(se[1]), sigma_se=float(se[2]),
        log_likelihood=-float(nll), aic=alternatives[chosen]["aic"],
        n_obs=int(lo2.size), n_censored=int(np.sum(~np.isfinite(hi2))), n_boot=len(boots),
        alternatives=alternatives,
    )


def step_slowdown(law: StepLawFit, p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Slowdown of these runs against ``law``: exp(c' − c), c' the maximum-likelihood
    intercept of log steps with the law's slope 1+γ and noise held fixed.

    ``p`` float[K] subtask frequencies, ``lo``/``hi`` float[R, K] (or [K]) convergence
    intervals in optimizer steps (hi = inf: not converged by the end) — e.g. narrow networks,
    which the simulator treats like wide ones until capacity. A grid over c ± 8 in steps of
    0.01 (with a small σ the likelihood is a narrow peak a bracketing search misses), its
    likelihoods in one array operation (~30× faster than one call per point, which the
    speed-law bootstrap needs), then a bounded refinement.
    """
    p = np.asarray(p, dtype=float)
    lo2 = np.atleast_2d(np.asarray(lo, dtype=float))
    hi2 = np.atleast_2d(np.asarray(hi, dtype=float))
    x = np.broadcast_to(-np.log(p), lo2.shape).ravel()
    with np.errstate(divide="ignore"):
        llo, lhi = np.log(lo2).ravel(), np.log(hi2).ravel()
    c0 = law.log10_A * math.log(10) - math.log(law.batch_size)
    slope = 1.0 + law.gamma
    extra = [math.log(law.sigma)] if law.noise == "lognormal" else []
    grid = c0 + np.linspace(-8.0, 8.0, 1601)
    sigma = max(law.sigma, _SIGMA_MIN) if law.noise == "lognormal" else 0.0
    prob = _interval_prob(grid[:, None] + slope * x[None, :], llo, lhi, law.noise, sigma)
    nll_grid = -np.sum(np.log(np.maximum(prob, 1e-300)), axis=1)

    def nll(c: float) -> float:
        return step_negloglik(np.array([c, slope, *extra]), x, llo, lhi, law.noise)

    best = grid[int(np.argmin(nll_grid))]
    step = grid[1] - grid[0]
    res = optimize.minimize_scalar(nll, bounds=(best - step, best + step), method="bounded")
    c = res.x if res.fun <= nll(best) else best
    return float(math.exp(c - c0))


# -------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class CapacityFit:
    """C parameters per quantum: a width-w network holds n̂ = min(⌊N(w)/C⌋, n_time) quanta.

    The counts pin C down only to an interval (every C with the same ⌊N/C⌋ fits equally
    well), so the point estimate is the geometric middle of the best-fitting interval and
    ``C_ci`` spans the 2.5 % quantile of the bootstrap intervals' lower ends to the
    97.5 % quantile of their upper ends. ``log10_C_se``: bootstrap SE of the middles;
    ``rmse``: root-mean-square error of n̂ against the measured counts (quanta).
    """

    C: float
    C_ci: tuple[float, float]
    log10_C_se: float
    n_time: float
    rmse: float
    n_runs: int
    n_boot: int
    uncertainty: str = ("bootstrap over runs, stratified by width; interval from the "
                        "best-fitting C sets (95 %)")

    def capacity(self, n_params: np.ndarray) -> np.ndarray:
        """Capacity in quanta N / C."""
        return np.asarray(n_params, dtype=float) / self.C

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _capacity_prediction(n_params: np.ndarray, log_c: np.ndarray, n_time: float) -> np.ndarray:
    """min(⌊N/C⌋, n_time) for each log C (rows) and run (columns): the simulator with
    cost-1 quanta and the ``reject`` policy fits exactly ⌊capacity⌋ of them."""
    cap = n_params[None, :] / np.exp(log_c)[:, None]
    return np.minimum(np.floor(cap + 1e-9), n_time)


def _best_log_c(n_params: np.ndarray, counts: np.ndarray,
                n_time: float) -> tuple[float, float, float]:
    """(low, middle, high) of the set of log C minimising Σ (n − n̂)², on a fine grid
    (the objective is piecewise constant in C)."""
    grid = np.linspace(0.0, math.log(n_params.max() * 10), 4001)
    sse = ((_capacity_prediction(n_params, grid, n_time) - counts[None, :]) ** 2).sum(axis=1)
    best = grid[sse <= sse.min() + 1e-9]
    # The minimisers can form several runs; keep the one holding the first minimiser.
    step = grid[1] - grid[0]
    breaks = np.nonzero(np.diff(best) > 1.5 * step)[0]
    run = best[: breaks[0] + 1] if breaks.size else best
    return float(run[0]), float(0.5 * (run[0] + run[-1])), float(run[-1])


def fit_capacity(n_params: Sequence[float], counts: Sequence[float], *,
                 n_time: float | None = None, n_boot: int = 500, seed: int = 0,
                 ci: float = 0.95) -> CapacityFit:
    """Parameters per quantum C from learned counts across widths (see module docstring).

    ``n_params`` float[R] (N of each run), ``counts`` float[R] (largest number of
    subtasks learned). ``n_time`` defaults to the mean count of the largest networks.
    """
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    n_arr = np.asarray(n_params, dtype=float)
    c_arr = np.asarray(counts, dtype=float)
    if n_arr.shape != c_arr.shape or n_arr.ndim != 1 or n_arr.size < 2:
        raise invalid("counts", c_arr.shape, "must be 1-D, >= 2 runs, one per n_params")
    if np.any(n_arr <= 0):
        raise invalid("n_params", n_arr, "must all be > 0")
    if n_time is None:
        n_time = float(c_arr[n_arr == n_arr.max()].mean())
    n_time = check_real("n_time", n_time, low=0.0, low_open=True)
    _, log_c, _ = _best_log_c(n_arr, c_arr, n_time)
    groups = [np.nonzero(n_arr == v)[0] for v in np.unique(n_arr)]
    boots = bootstrap(lambda idx: _best_log_c(n_arr[idx], c_arr[idx], n_time), n_arr.size,
                      n_boot, np.random.default_rng(seed), strata=groups)
    boots_arr = np.array(boots) if boots else np.full((0, 3), np.nan)
    q_lo = percentile_ci(boots_arr[:, 0], ci)[0]  # the lowest lower end ...
    q_hi = percentile_ci(boots_arr[:, 2], ci)[1]  # ... to the highest upper end
    pred = _capacity_prediction(n_arr, np.array([log_c]), n_time)[0]
    return CapacityFit(
        C=math.exp(log_c), C_ci=(float(math.exp(q_lo)), float(math.exp(q_hi))),
        log10_C_se=float(bootstrap_se(boots_arr[:, 1]) / math.log(10)),
        n_time=n_time, rmse=float(np.sqrt(np.mean((pred - c_arr) ** 2))),
        n_runs=int(n_arr.size), n_boot=n_boot,
    )


@dataclass(frozen=True)
class CapacityPowerFit:
    """Capacity sublinear in width: a width-w network holds n̂ = min(⌊(w/c)^β⌋, n_time)
    quanta; c (in the unit of w: the width that holds one quantum) and β (dimensionless;
    β = 1 is the linear n = w/c of :class:`CapacityFit`).

    Least squares over a grid of (log c, β) (the objective is piecewise constant); the
    point is the mean of the minimising grid points. ``c_ci``/``beta_ci``: percentile
    bootstrap 95 % intervals over runs, stratified by width; ``rmse`` of n̂ in quanta.
    """

    c: float
    beta: float
    c_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    rmse: float
    n_runs: int
    n_boot: int
    uncertainty: str = "bootstrap over runs, stratified by width (percentile 95 %)"

    def capacity(self, width: np.ndarray | float) -> np.ndarray:
        """(w/c)^β quanta."""
        return (np.asarray(width, dtype=float) / self.c) ** self.beta

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_BETA_GRID = np.linspace(0.3, 1.5, 121)


def _best_power(widths: np.ndarray, counts: np.ndarray, n_time: np.ndarray,
                log_c_grid: np.ndarray) -> tuple[float, float]:
    """Mean (log c, β) over the grid points minimising Σ (n − min(⌊(w/c)^β⌋, n_time))²."""
    lw = np.log(widths)
    # (B, C, R): capacity of every run for every grid point
    cap = np.exp(_BETA_GRID[:, None, None] * (lw[None, None, :] - log_c_grid[None, :, None]))
    pred = np.minimum(np.floor(cap + 1e-9), n_time[None, None, :])
    sse = ((pred - counts[None, None, :]) ** 2).sum(axis=-1)
    b_idx, c_idx = np.nonzero(sse <= sse.min() + 1e-9)
    return float(log_c_grid[c_idx].mean()), float(_BETA_GRID[b_idx].mean())


def fit_capacity_power(widths: Sequence[float], counts: Sequence[float],
                       n_time: float | Sequence[float], *, n_boot: int = 200, seed: int = 0,
                       ci: float = 0.95) -> CapacityPowerFit:
    """(c, β) of n̂ = min(⌊(w/c)^β⌋, n_time) from learned counts (see the class).

    ``widths`` float[R] (one per run), ``counts`` float[R] (largest number of subtasks
    learned), ``n_time`` the time-limited count (one number, or one per run when runs
    come from settings with different step budgets or frequencies).
    """
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    w_arr = np.asarray(widths, dtype=float)
    c_arr = np.asarray(counts, dtype=float)
    if w_arr.shape != c_arr.shape or w_arr.ndim != 1 or np.unique(w_arr).size < 2:
        raise invalid("counts", c_arr.shape, "must be 1-D, one per run, >= 2 distinct widths")
    if np.any(w_arr <= 0):
        raise invalid("widths", w_arr, "must all be > 0")
    t_arr = np.broadcast_to(np.asarray(n_time, dtype=float), w_arr.shape)
    if np.any(t_arr <= 0):
        raise invalid("n_time", n_time, "must be > 0")
    log_c_grid = np.linspace(math.log(0.25), math.log(w_arr.max()), 301)
    log_c, beta = _best_power(w_arr, c_arr, t_arr, log_c_grid)
    groups = [np.nonzero(w_arr == v)[0] for v in np.unique(w_arr)]
    boots = bootstrap(lambda idx: _best_power(w_arr[idx], c_arr[idx], t_arr[idx], log_c_grid),
                      w_arr.size, n_boot, np.random.default_rng(seed), strata=groups)
    reps = np.array(boots) if boots else np.full((0, 2), np.nan)
    q_lo, q_hi = percentile_ci(reps, ci)
    pred = np.minimum(np.floor((w_arr / math.exp(log_c)) ** beta + 1e-9), t_arr)
    return CapacityPowerFit(
        c=math.exp(log_c), beta=beta,
        c_ci=(float(math.exp(q_lo[0])), float(math.exp(q_hi[0]))),
        beta_ci=(float(q_lo[1]), float(q_hi[1])),
        rmse=float(np.sqrt(np.mean((pred - c_arr) ** 2))), n_runs=int(w_arr.size),
        n_boot=len(boots))


# --------------------------------------------------------------- data threshold


@dataclass(frozen=True)
class DataThresholdFit:
    """Examples needed in the training set: τ^D(p) = A_D p^−γ_D e^{σ_D z}, z ~ N(0, 1).

    ``log10_A_D`` (A_D in examples of that subtask, at p = 1), ``gamma_D``, ``sigma_D``
    (natural-log spread); CIs, SEs as in :class:`StepLawFit`. ``accuracy``: fraction of
    fitted cells whose learned/unlearned state the fit predicts (P > 0.5).
    """

    log10_A_D: float
    gamma_D: float
    sigma_D: float
    log10_A_D_ci: tuple[float, float]
    gamma_D_ci: tuple[float, float]
    sigma_D_ci: tuple[float, float]
    log10_A_D_se: float
    gamma_D_se: float
    sigma_D_se: float
    log_likelihood: float
    accuracy: float
    n_obs: int
    n_boot: int
    uncertainty: str = "bootstrap over subtasks (percentile 95 %)"

    @property
    def A_D(self) -> float:
        return 10.0 ** self.log10_A_D

    def thresholds(self, p: np.ndarray) -> np.ndarray:
        """Median examples needed, A_D p^−γ_D (clipped to ≥ 1)."""
        return np.maximum(self.A_D * np.asarray(p, dtype=float) ** (-self.gamma_D), 1.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _data_negloglik(params, logd, logp, y):
    la, g, ls = params
    sigma = max(math.exp(ls), _SIGMA_MIN)
    eta = (logd + (1 + g) * logp - la) / sigma
    # log Φ(±η) via log_ndtr: stable far into the tails.
    return float(-np.sum(np.where(y, special.log_ndtr(eta), special.log_ndtr(-eta))))


def fit_data_threshold(dataset_size: Sequence[int], p: np.ndarray, learned: np.ndarray,
                       include: np.ndarray | None = None, *, n_boot: int = 200,
                       seed: int = 0, ci: float = 0.95) -> DataThresholdFit:
    """Probit maximum likelihood for the examples needed to learn a subtask.

    ``dataset_size`` int[R] (D of each run), ``p`` float[K], ``learned`` bool[R, K] at
    the best checkpoint, ``include`` bool[R, K] cells to use (default all: pass the
    cells that are not time-limited). See the module docstring for the model.
    """
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    d_arr = np.asarray(dataset_size, dtype=float)
    if d_arr.ndim != 1 or np.any(d_arr < 1):
        raise invalid("dataset_size", dataset_size, "must be a 1-D list of sizes >= 1")
    p = np.asarray(p, dtype=float)
    y_all = np.asarray(learned, dtype=bool)
    if y_all.shape != (d_arr.size, p.size):
        raise invalid("learned", y_all.shape, f"must have shape ({d_arr.size}, {p.size})")
    inc = np.ones_like(y_all) if include is None else np.asarray(include, dtype=bool)
    if inc.shape != y_all.shape:
        raise invalid("include", inc.shape, f"must have shape {y_all.shape}")
    if inc.sum() < 3 or y_all[inc].all() or not y_all[inc].any():
        raise invalid("learned", "all equal", "need >= 3 cells, some learned and some not")
    logd_all = np.broadcast_to(np.log(d_arr)[:, None], y_all.shape)
    logp_all = np.broadcast_to(np.log(p)[None, :], y_all.shape)

    def fit(cols: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float]:
        m = inc[:, cols]
        args = (logd_all[:, cols][m], logp_all[:, cols][m], y_all[:, cols][m])
        res = optimize.minimize(_data_negloglik, start, args=args, method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000})
        return res.x, res.fun

    # Start: threshold where learned flips, at γ_D = 0.
    logdp = (logd_all + logp_all)[inc]
    start = np.array([float(np.median(logdp)), 0.0, 0.0])
    theta, nll = fit(np.arange(p.size), start)

    def replicate(cols: np.ndarray) -> np.ndarray | None:
        y = y_all[:, cols][inc[:, cols]]
        if y.size < 3 or y.all() or not y.any() or np.ptp(p[cols]) == 0:
            return None
        return fit(cols, theta)[0]

    boots = bootstrap(replicate, p.size, n_boot, np.random.default_rng(seed))
    ln10 = math.log(10)

    def summary(th: np.ndarray) -> np.ndarray:
        return np.array([th[0] / ln10, th[1], max(math.exp(th[2]), _SIGMA_MIN)])

    point = summary(theta)
    boots_arr = np.array([summary(b) for b in boots]) if boots else np.full((0, 3), np.nan)
    q_lo, q_hi = percentile_ci(boots_arr, ci)
    se = bootstrap_se(boots_arr)
    eta = (logd_all + (1 + theta[1]) * logp_all - theta[0])[inc]
    acc = float(np.mean((eta > 0) == y_all[inc]))
    return DataThresholdFit(
        log10_A_D=float(point[0]), gamma_D=float(point[1]), sigma_D=float(point[2]),
        log10_A_D_ci=(float(q_lo[0]), float(q_hi[0])),
        gamma_D_ci=(float(q_lo[1]), float(q_hi[1])),
        sigma_D_ci=(float(q_lo[2]), float(q_hi[2])),
        log10_A_D_se=float(se[0]), gamma_D_se=float(se[1]), sigma_D_se=float(se[2]),
        log_likelihood=-float(nll), accuracy=acc, n_obs=int(inc.sum()), n_boot=len(boots),
    )


# ------------------------------------------------------ calibrated simulations


def agent_thresholds(base: np.ndarray, sigma: float, noise: str, seed: int,
                      agent: int) -> np.ndarray:
    """Per-agent thresholds: lognormal draws τ_i e^{σ z_i} (own stream per agent)."""
    if noise != "lognormal" or sigma <= 0:
        return base
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xCA1, agent)))
    return np.clip(base * np.exp(sigma * rng.standard_normal(base.size)), 1.0, 1e15)


def simulate_online_learned(step_law: StepLawFit, p: np.ndarray, capacity: Sequence[float],
                            steps: int, batch_size: int, checkpoints: Sequence[int], *,
                            agents: int, seed: int = 0) -> np.ndarray:
    """Calibrated online simulation: bool[agents, len(capacity), C, K], quantum k learned
    by checkpoint c, for each capacity (quanta; ``inf`` for none).

    One ``simquanta.simulate`` call per agent draw (lognormal noise needs its own
    thresholds per agent); the capacities of a draw share its thresholds (common random
    numbers across widths, like one task seen by networks of several widths).
    """
    from ..simulate import simulate
    from ..specs import Learner, Online

    check_int("agents", agents, 1)
    p = np.asarray(p, dtype=float)
    caps = [float(c) for c in capacity]
    ckpt = np.asarray(checkpoints, dtype=np.int64)
    base = step_law.thresholds(p)
    acquisition = "geometric" if step_law.noise == "geometric" else "threshold"
    out = np.zeros((agents, len(caps), ckpt.size, p.size), dtype=bool)
    for a in range(agents):
        tau = agent_thresholds(base, step_law.sigma, step_law.noise, seed, a)
        res = simulate(Quanta(p.size, frequencies=p, tau=tau),
                       Learner(capacity=caps, acquisition=acquisition, policy="reject"),
                       Online(steps=steps, batch_size=batch_size), agents=len(caps),
                       seed=seed, first_agent=a * len(caps), checkpoints=ckpt,
                       engine="events", record_learn_steps=True)
        out[a] = res.learned_mask()
    return out


def simulate_dataset_learned(data_fit: DataThresholdFit, step_law: StepLawFit, p: np.ndarray,
                             dataset_sizes: Sequence[int], capacity: float, steps: int,
                             batch_size: int, *, agents: int, seed: int = 0) -> np.ndarray:
    """Calibrated multi-epoch simulation with early stopping: bool[agents, len(D), K],
    quantum k learned at the best checkpoint.

    Learned = *learnable* from the training set (simulated dataset regime with the data
    thresholds τ^D, drawn afresh for every agent and D: D_k ≥ τ^D_k) AND learned in
    time (simulated online run of ``steps`` steps of ``batch_size`` with the step law
    and the capacity). In the simulator the loss of a learned quantum never rises
    again, so the loss over epochs is non-increasing and early stopping's best
    checkpoint is the last one.
    """
    from ..simulate import simulate
    from ..specs import Dataset, Learner

    check_int("agents", agents, 1)
    p = np.asarray(p, dtype=float)
    sizes = [int(d) for d in dataset_sizes]
    timely = simulate_online_learned(step_law, p, [capacity], steps, batch_size, [steps],
                                     agents=agents, seed=seed)[:, 0, -1, :]
    base = data_fit.thresholds(p)
    out = np.zeros((agents, len(sizes), p.size), dtype=bool)
    for a in range(agents):
        for j, d in enumerate(sizes):
            # A fresh threshold draw per (agent, D): like a network trained on each
            # training set from scratch, and the probit's independent cells.
            tau = agent_thresholds(base, data_fit.sigma_D, "lognormal", seed + 1,
                                    a * len(sizes) + j)
            # One epoch presents every example once, enough for every learnable quantum
            # under the threshold rule (its ⌈τ^D⌉-th presentation comes within epoch 1).
            res = simulate(Quanta(p.size, frequencies=p, tau=tau), Learner(),
                           Dataset(size=d, epochs=1, batch_size=min(batch_size, d)),
                           agents=1, seed=seed + 1 + j, first_agent=a, checkpoints=1,
                           engine="events", record_learn_steps=True)
            out[a, j] = res.learn_step[0] >= 0
    return out & timely[:, None, :]
