"""The paper's scaling-exponent protocol (fit windows), as functions on loss arrays.

Michaud et al. 2023 fit their sparse-parity exponents this way (their repository,
ejmichaud/quantization-model: experiments/P-scaling-17, D-scaling-9 and
notebooks/scaling-exp-vs-zipf-exp.ipynb):

- **α_N**: widths w_j = int(2^x_j), x = linspace(log2 10, log2 300, 20); seeds 0, 1, 2;
  the held-out loss L (bits) at the *last* logged step of each run; ordinary least
  squares of log L on log N over all widths × seeds, L ∝ N^−α_N (N parameters).
- **α_S**: the same runs at the widest width; every logged step S with
  500 ≤ S < 15 000 (of 10⁵ steps) of the 3 runs pooled; OLS of log L on log S.
- **α_D**: width 500, training sets D = 10⁴ … 5·10⁶; each run's loss is its *minimum*
  logged held-out loss (early stopping); the fit uses every D from the first one whose
  loss is below 0.95 bits on; OLS of log L on log D.

:class:`Protocol` holds these windows; :meth:`Protocol.scaled` maps them onto a smaller
setting (other widths, step budget and dataset sizes) by keeping the same *relative*
windows: the step window is [500, 15 000)·S_total/10⁵, the widths are the same
geometric grid between the new end points. The fit functions take loss arrays from any
source — trained networks or simulated agents — so both sides of a comparison go through
the same code.

Uncertainty (:class:`ExponentFit`): percentile bootstrap 95 % intervals over *runs*
(independent networks or simulated agents): α_N resamples the runs within each width
(stratified: each width keeps its number of runs; runs of different widths are
independent networks), α_S and α_D resample whole runs (rows: the points of one run are
correlated). A replicate with fewer than two usable x values is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..analysis.stats import bootstrap, bootstrap_se, percentile_ci
from ..validation import check_int, check_real, invalid

__all__ = [
    "PAPER",
    "ExponentFit",
    "Protocol",
    "best_loss",
    "check_study",
    "fit_alpha_D",
    "fit_alpha_N",
    "fit_alpha_S",
    "fit_protocol",
    "paper_widths",
]


def paper_widths(low: float = 10.0, high: float = 300.0, count: int = 20) -> np.ndarray:
    """The paper's width grid int(2^linspace(log2 low, log2 high, count)) (int64[count];
    with the defaults 9, 11, 14, … , 300: 2^log2(10) evaluates to 9.999…, which int()
    truncates; duplicates are kept, as in the paper)."""
    check_real("low", low, low=1.0)
    check_real("high", high, low=low)
    count = check_int("count", count, 2)
    return (2.0 ** np.linspace(math.log2(low), math.log2(high), count)).astype(np.int64)


@dataclass(frozen=True)
class Protocol:
    """Fit windows of the three exponents (module docstring).

    ``widths`` int: the α_N widths; ``seeds``: runs per width; ``steps``: training length
    (the α_N loss is taken at its last logged step); ``s_window`` (lo, hi): α_S uses logged
    steps lo ≤ S < hi at width ``s_width``; ``dataset_sizes``: the α_D sizes, trained at
    ``d_width``; ``d_threshold_bits``: α_D starts at the first D whose loss is below it.
    """

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    s_window: tuple[float, float]
    s_width: int
    dataset_sizes: tuple[int, ...]
    d_width: int
    d_threshold_bits: float = 0.95

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(int(w) < 1 for w in self.widths):
            raise invalid("widths", self.widths, "must be >= 2 widths, each an integer >= 1")
        if len(self.seeds) < 1:
            raise invalid("seeds", self.seeds, "must hold at least one seed")
        check_int("steps", self.steps, 1)
        lo, hi = self.s_window
        if not 0 < lo < hi:
            raise invalid("s_window", self.s_window, "must be (lo, hi) with 0 < lo < hi")
        check_int("s_width", self.s_width, 1)
        if len(self.dataset_sizes) < 2 or any(int(d) < 1 for d in self.dataset_sizes):
            raise invalid("dataset_sizes", self.dataset_sizes,
                          "must be >= 2 sizes, each an integer >= 1")
        check_int("d_width", self.d_width, 1)
        check_real("d_threshold_bits", self.d_threshold_bits, low=0.0, low_open=True)

    def scaled(self, *, widths: tuple[float, float], n_widths: int, steps: int,
               dataset_sizes: Sequence[int], seeds: Sequence[int] | None = None,
               d_width: int | None = None) -> Protocol:
        """The same protocol in another setting: the geometric width grid between
        ``widths`` = (low, high) with ``n_widths`` points (:func:`paper_widths`, duplicates
        dropped), α_S at the widest width over the step window scaled by steps/self.steps,
        α_D at ``d_width`` (default the widest width) on ``dataset_sizes``."""
        steps = check_int("steps", steps, 1)
        grid = tuple(int(w) for w in np.unique(paper_widths(widths[0], widths[1], n_widths)))
        factor = steps / self.steps
        return replace(self, widths=grid,
                       seeds=self.seeds if seeds is None else tuple(int(s) for s in seeds),
                       steps=steps,
                       s_window=(self.s_window[0] * factor, self.s_window[1] * factor),
                       s_width=grid[-1], dataset_sizes=tuple(int(d) for d in dataset_sizes),
                       d_width=grid[-1] if d_width is None else int(d_width))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The paper's protocol (module docstring): 20 widths 10–300 × 3 seeds, 10⁵ steps,
#: α_S on 500 ≤ S < 15 000 at width 300, α_D at width 500 on 25 log-spaced D.
PAPER = Protocol(
    widths=tuple(int(w) for w in paper_widths()), seeds=(0, 1, 2), steps=100_000,
    s_window=(500.0, 15_000.0), s_width=300,
    dataset_sizes=tuple(int(d) for d in np.geomspace(1e4, 5e6, 25).astype(np.int64)),
    d_width=500)


@dataclass(frozen=True)
class ExponentFit:
    """L ∝ x^−exponent by least squares in log-log on the protocol's points.

    ``exponent`` (dimensionless), ``ci`` percentile bootstrap 95 % interval, ``se``
    bootstrap standard error, ``log_prefactor`` (natural log of L at x = 1, L in bits),
    ``x_window`` (min, max) of the x used, ``n_points`` points used (runs × x),
    ``n_boot`` replicates kept.
    """

    exponent: float
    ci: tuple[float, float]
    se: float
    log_prefactor: float
    x_window: tuple[float, float]
    n_points: int
    n_boot: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ols(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) of ly on lx, or None with fewer than two distinct lx."""
    if lx.size < 2 or np.ptp(lx) == 0:
        return None
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)


def _check_loss(name: str, x: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    loss = np.atleast_2d(np.asarray(loss, dtype=float))
    if x.ndim != 1 or x.size < 2 or np.any(~np.isfinite(x)) or np.any(x <= 0):
        raise invalid(name, x, "must be a 1-D array of >= 2 finite values > 0")
    if loss.ndim != 2 or loss.shape[1] != x.size:
        raise invalid("loss", loss.shape, f"must have shape (runs, {x.size}) to match {name}")
    if np.any(np.isnan(loss)):
        raise invalid("loss", "NaN", "must not contain NaN")
    return x, loss


def _fit(x: np.ndarray, loss: np.ndarray, use: np.ndarray, strata: list[np.ndarray] | None,
         n_boot: int, seed: int, ci: float,
         refit: Any = None) -> ExponentFit:
    """OLS of log L on log x over the cells ``use`` (bool[R, P]) of ``loss`` (R runs), with
    a bootstrap over runs (``strata``: resample the runs within each column instead).
    ``refit(rows) -> use`` recomputes the window for a row resample (α_D)."""
    n_boot = check_int("n_boot", n_boot, 0)
    check_real("ci", ci, low=0.0, high=1.0, low_open=True)
    xs = np.broadcast_to(x, loss.shape)

    def line(lo: np.ndarray, ly: np.ndarray) -> tuple[float, float] | None:
        return _ols(np.log(lo), np.log(ly))

    ok = use & (loss > 0)
    point = line(xs[ok], loss[ok])
    if point is None:
        raise invalid("loss", f"{int(ok.sum())} usable point(s)",
                      "the window must hold >= 2 distinct x with loss > 0")
    rng = np.random.default_rng(seed)
    runs = loss.shape[0]
    if strata is None:
        def replicate(rows: np.ndarray) -> float | None:
            sub, u = loss[rows], (use[rows] if refit is None else refit(loss[rows]))
            good = u & (sub > 0)
            fit = line(xs[rows][good], sub[good])
            return None if fit is None else -fit[0]

        boots = bootstrap(replicate, runs, n_boot, rng)
    else:
        # Each column's runs resampled on their own: flatten cells column by column.
        flat_x, flat_y, flat_u = xs.T.ravel(), loss.T.ravel(), ok.T.ravel()

        def replicate(idx: np.ndarray) -> float | None:
            fit = line(flat_x[idx][flat_u[idx]], flat_y[idx][flat_u[idx]])
            return None if fit is None else -fit[0]

        boots = bootstrap(replicate, flat_x.size, n_boot, rng, strata=strata)
    reps = np.array(boots, dtype=float) if boots else np.full(0, np.nan)
    q_lo, q_hi = percentile_ci(reps, ci) if reps.size else (math.nan, math.nan)
    return ExponentFit(
        exponent=-point[0], ci=(float(q_lo), float(q_hi)),
        se=float(bootstrap_se(reps)) if reps.size >= 2 else math.nan,
        log_prefactor=point[1],
        x_window=(float(xs[ok].min()), float(xs[ok].max())), n_points=int(ok.sum()),
        n_boot=int(reps.size))


def fit_alpha_N(n_params: Sequence[float], loss: np.ndarray, *, n_boot: int = 1000,
                seed: int = 0, ci: float = 0.95) -> ExponentFit:
    """α_N: OLS of log L on log N over every width × run, L ∝ N^−α_N.

    ``n_params`` float[W] parameters of each width; ``loss`` float[R, W] held-out loss
    (bits) of R runs per width at the last logged step (or [W] for one run). Points with
    L ≤ 0 cannot enter a log fit and are left out. Bootstrap: runs within each width.
    """
    x, y = _check_loss("n_params", n_params, loss)
    runs = y.shape[0]
    strata = [np.arange(j * runs, (j + 1) * runs) for j in range(x.size)]
    return _fit(x, y, np.ones(y.shape, dtype=bool), strata, n_boot, seed, ci)


def fit_alpha_S(steps: Sequence[float], loss: np.ndarray, window: tuple[float, float], *,
                n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> ExponentFit:
    """α_S: OLS of log L on log S over the logged steps lo ≤ S < hi of every run pooled.

    ``steps`` float[T] logged steps (step 0 may be present: it lies outside any window with
    lo > 0); ``loss`` float[R, T] held-out loss (bits) of R runs at the widest width;
    ``window`` (lo, hi), hi excluded as in the paper (S < 15 000). Bootstrap: whole runs.
    """
    lo, hi = float(window[0]), float(window[1])
    if not 0 < lo < hi:
        raise invalid("window", window, "must be (lo, hi) with 0 < lo < hi")
    s = np.asarray(steps, dtype=float)
    keep = s > 0
    x, y = _check_loss("steps", s[keep], np.atleast_2d(np.asarray(loss, dtype=float))[:, keep])
    use = np.broadcast_to((x >= lo) & (x < hi), y.shape)
    return _fit(x, y, use, None, n_boot, seed, ci)


def best_loss(test_loss: np.ndarray) -> np.ndarray:
    """Early stopping: the minimum logged held-out loss of each run (float[..., T] → [...])."""
    return np.min(np.asarray(test_loss, dtype=float), axis=-1)


def _d_window(loss: np.ndarray, threshold: float) -> np.ndarray:
    """bool[R, P]: every D from the first one whose run-mean loss is below ``threshold``."""
    below = loss.mean(axis=0) < threshold
    start = int(np.argmax(below)) if below.any() else loss.shape[1]
    use = np.zeros(loss.shape, dtype=bool)
    use[:, start:] = True
    return use


def fit_alpha_D(dataset_sizes: Sequence[float], loss: np.ndarray, *,
                threshold_bits: float = 0.95, n_boot: int = 1000, seed: int = 0,
                ci: float = 0.95) -> ExponentFit:
    """α_D: OLS of log L on log D from the first D whose loss is below ``threshold_bits``.

    ``dataset_sizes`` float[P] increasing; ``loss`` float[R, P] early-stopped held-out
    loss (bits; :func:`best_loss`) of R runs per size. The start is the first D whose
    mean loss over runs is below the threshold (one run: its loss, as in the paper), and
    every larger D is used. Bootstrap: whole runs, the start recomputed per replicate.
    """
    threshold_bits = check_real("threshold_bits", threshold_bits, low=0.0, low_open=True)
    x, y = _check_loss("dataset_sizes", dataset_sizes, loss)
    if np.any(np.diff(x) <= 0):
        raise invalid("dataset_sizes", x, "must be strictly increasing")
    use = _d_window(y, threshold_bits)
    return _fit(x, y, use, None, n_boot, seed, ci,
                refit=lambda sub: _d_window(sub, threshold_bits))


def fit_protocol(protocol: Protocol, n_params: Sequence[float], steps: Sequence[float],
                 loss: dict[str, np.ndarray], *, n_boot: int = 1000
                 ) -> dict[str, ExponentFit | None]:
    """The exponents of one study with ``protocol``'s windows, for the losses it has:
    ``loss["N"]`` float[R, W] (last-step loss per run and width, at ``n_params``) → α_N,
    ``loss["S"]`` float[R, S] (the widest width's runs at ``steps``) → α_S, ``loss["D"]``
    float[R, P] (early-stopped loss at ``protocol.dataset_sizes``) → α_D; all in bits. None
    for an exponent whose window holds too few usable points. Bootstrap seeds 1, 2, 3 (α_N,
    α_S, α_D), so a network study and a simulated one are fitted alike."""
    fits = {
        "N": ("alpha_N", lambda: fit_alpha_N(n_params, loss["N"], n_boot=n_boot, seed=1)),
        "S": ("alpha_S", lambda: fit_alpha_S(steps, loss["S"], protocol.s_window,
                                             n_boot=n_boot, seed=2)),
        "D": ("alpha_D", lambda: fit_alpha_D(protocol.dataset_sizes, loss["D"],
                                             threshold_bits=protocol.d_threshold_bits,
                                             n_boot=n_boot, seed=3)),
    }
    out: dict[str, ExponentFit | None] = {}
    for source, (key, call) in fits.items():
        if source not in loss:
            continue
        try:
            out[key] = call()
        except ValueError:  # too few usable points in the window
            out[key] = None
    return out


def check_study(*, n_tasks: int, n_bits: int, k: int, alphas: Sequence[float],
                widths: Sequence[int], batch_size: int, steps: int,
                dataset_sizes: Sequence[int], alpha_range: tuple[float, float] = (0.0, 3.0)
                ) -> None:
    """Reject a bad scaling study before any training, with a ValueError naming the field,
    its value and what is allowed: n_tasks, n_bits, k, batch_size, steps integers >= 1;
    k <= n_bits and n_tasks <= C(n_bits, k) (distinct subsets); every width and dataset
    size an integer >= 1; every α in ``alpha_range`` (default (0, 3]: a power law
    p ∝ k^−(α+1) with a loss that decreases as a power law needs α > 0)."""
    check_int("n_tasks", n_tasks, 1)
    check_int("n_bits", n_bits, 1)
    check_int("k", k, 1)
    if k > n_bits:
        raise invalid("k", k, f"must be <= n_bits = {n_bits} (a subtask's k bits are "
                              "drawn from the n_bits task bits)")
    if math.comb(n_bits, k) < n_tasks:
        raise invalid("n_tasks", n_tasks, f"must be <= C(n_bits, k) = {math.comb(n_bits, k)}")
    check_int("batch_size", batch_size, 1)
    check_int("steps", steps, 1)
    if len(alphas) == 0:
        raise invalid("alphas", list(alphas), "must hold at least one alpha")
    lo, hi = alpha_range
    for a in alphas:
        check_real("alpha", a, low=lo, high=hi, low_open=True)
    if len(widths) == 0:
        raise invalid("widths", list(widths), "must hold at least one width")
    for w in widths:
        check_int("width", w, 1)
    for d in dataset_sizes:
        check_int("dataset_size", d, 1)
