"""The paper's fit windows (simquanta.sparse_parity.protocol) on synthetic losses with
known exponents: noise-free curves are recovered exactly, noisy ones within 4 standard
errors of the least-squares slope (σ / √Σ(log x − mean)²), and points outside a window
do not move the fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simquanta.sparse_parity.protocol import (
    PAPER,
    Protocol,
    best_loss,
    check_study,
    fit_alpha_D,
    fit_alpha_N,
    fit_alpha_S,
    paper_widths,
)


def _ols_se(lx: np.ndarray, sigma: float) -> float:
    """Standard error of an OLS slope with i.i.d. N(0, σ²) errors in log y."""
    return sigma / math.sqrt(float(np.sum((lx - lx.mean()) ** 2)))


def test_paper_widths_are_the_papers_grid():
    w = paper_widths()
    # int(2 ** np.linspace(np.log2(10), np.log2(300), 20)) in P-scaling-17: 2^log2(10)
    # evaluates to 9.999…, so int() makes the first width 9
    assert w.tolist() == [9, 11, 14, 17, 20, 24, 29, 35, 41, 50, 59, 71, 85, 102, 122, 146,
                          175, 209, 250, 300]
    assert PAPER.s_window == (500.0, 15_000.0) and PAPER.s_width == 300
    assert PAPER.steps == 100_000 and PAPER.seeds == (0, 1, 2) and PAPER.d_width == 500
    assert len(PAPER.dataset_sizes) == 25 and PAPER.dataset_sizes[0] == 10_000


def test_scaled_protocol_keeps_relative_windows():
    proto = PAPER.scaled(widths=(8, 256), n_widths=8, steps=20_000,
                         dataset_sizes=[1000, 10_000, 100_000])
    assert proto.s_window == pytest.approx((100.0, 3000.0))  # [500, 15 000) × 0.2
    assert proto.widths[0] == 8 and proto.widths[-1] == 256 == proto.s_width == proto.d_width
    assert list(proto.widths) == sorted(set(proto.widths))
    assert proto.seeds == (0, 1, 2)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
def test_alpha_N_exact_and_noisy(alpha):
    n = 603.0 * paper_widths() + 2
    exact = 3.0 * n ** -alpha
    fit = fit_alpha_N(n, np.tile(exact, (3, 1)), n_boot=0)
    assert fit.exponent == pytest.approx(alpha, abs=1e-12)
    assert fit.n_points == 60
    rng = np.random.default_rng(4)
    sigma = 0.2
    noisy = exact * np.exp(sigma * rng.standard_normal((3, n.size)))
    fit = fit_alpha_N(n, noisy, n_boot=400, seed=1)
    se = _ols_se(np.log(np.tile(n, 3)), sigma)
    assert abs(fit.exponent - alpha) < 4 * se
    # the bootstrap SE estimates the sampling SE (within 35 % at 400 replicates, 60 points)
    assert fit.se == pytest.approx(se, rel=0.35)
    assert fit.ci[0] < fit.exponent < fit.ci[1]


def test_alpha_S_uses_only_the_window():
    steps = np.concatenate([[0], np.unique(np.geomspace(1, 100_000, 60).astype(int))])
    a = 0.3
    # plateau before 500, power law in [500, 15 000), a different slope from 15 000 on
    s = np.maximum(steps, 1.0)
    loss = np.where(s < 500, 1.0, (s / 500.0) ** -a)
    loss = np.where(s >= 15_000, (15_000 / 500.0) ** -a * (s / 15_000.0) ** -1.5, loss)
    fit = fit_alpha_S(steps, np.tile(loss, (3, 1)), PAPER.s_window, n_boot=0)
    assert fit.exponent == pytest.approx(a, abs=1e-10)
    assert fit.x_window[0] >= 500 and fit.x_window[1] < 15_000
    # a window reaching into the steeper part gives a steeper fit
    wide = fit_alpha_S(steps, np.tile(loss, (3, 1)), (500, 100_001), n_boot=0)
    assert wide.exponent > a + 0.1


def test_alpha_S_noisy_within_4_se():
    steps = np.unique(np.geomspace(100, 20_000, 50).astype(int)).astype(float)
    rng = np.random.default_rng(9)
    sigma, a = 0.1, 0.45
    loss = 2.0 * steps ** -a * np.exp(sigma * rng.standard_normal((3, steps.size)))
    window = (500.0, 15_000.0)
    fit = fit_alpha_S(steps, loss, window, n_boot=200, seed=2)
    inside = steps[(steps >= 500) & (steps < 15_000)]
    se = _ols_se(np.log(np.tile(inside, 3)), sigma)
    assert abs(fit.exponent - a) < 4 * se


def test_alpha_D_starts_at_first_loss_below_threshold():
    d = np.geomspace(1e3, 1e7, 25)
    a = 0.35
    tail = 0.9 * (d / 3e4) ** -a
    loss = np.where(d < 3e4, 1.0 + 0.01 * np.arange(d.size), tail)  # plateau near 1 bit
    fit = fit_alpha_D(d, np.tile(loss, (2, 1)), n_boot=0)
    assert fit.exponent == pytest.approx(a, abs=1e-10)
    assert fit.x_window[0] == pytest.approx(d[d >= 3e4][0])
    # with the start at the first point, the plateau flattens the fit
    early = fit_alpha_D(d, np.tile(loss, (2, 1)), threshold_bits=2.0, n_boot=0)
    assert early.exponent < a - 0.05


def test_alpha_D_noisy_within_4_se_and_early_stopping():
    d = np.geomspace(1e4, 5e6, 25)
    rng = np.random.default_rng(5)
    sigma, a = 0.15, 0.25
    # logged curves: the minimum over a run's log is its early-stopped loss
    floor = 0.8 * (d / 1e4) ** -a * np.exp(sigma * rng.standard_normal((3, d.size)))
    logged = floor[..., None] * np.array([3.0, 1.0, 1.4, 2.0])  # min at the 2nd log
    loss = best_loss(logged)
    np.testing.assert_array_equal(loss, floor)
    fit = fit_alpha_D(d, loss, n_boot=200, seed=3)
    se = _ols_se(np.log(np.tile(d, 3)), sigma)
    assert abs(fit.exponent - a) < 4 * se


@pytest.mark.parametrize("call, field", [
    (lambda: fit_alpha_N([1.0], [[1.0]]), "n_params"),
    (lambda: fit_alpha_N([1.0, 2.0], [[1.0, 0.5, 0.2]]), "loss"),
    (lambda: fit_alpha_S([1.0, 2.0, 3.0], [[1.0, 0.5, 0.3]], (3.0, 2.0)), "window"),
    (lambda: fit_alpha_D([2.0, 1.0], [[0.5, 0.4]]), "dataset_sizes"),
    (lambda: fit_alpha_D([1.0, 2.0], [[1.0, 1.0]]), "loss"),
    (lambda: Protocol((10,), (0,), 100, (1.0, 2.0), 10, (1, 2), 10), "widths"),
    (lambda: Protocol((10, 20), (0,), 100, (2.0, 1.0), 20, (1, 2), 10), "s_window"),
    (lambda: paper_widths(10, 300, 1), "count"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


GOOD = dict(n_tasks=96, n_bits=48, k=3, alphas=[0.2, 0.5, 0.8], widths=[10, 256],
            batch_size=1000, steps=20_000, dataset_sizes=[3000, 10_000])


def test_good_study_passes():
    check_study(**GOOD)


@pytest.mark.parametrize("change, field, allowed", [
    ({"k": 49}, "k", "must be <= n_bits = 48"),
    ({"n_bits": 4, "k": 3}, "n_tasks", "C(n_bits, k) = 4"),
    ({"widths": [10, 0]}, "width", "integer >= 1"),
    ({"widths": [-5]}, "width", "integer >= 1"),
    ({"batch_size": 0}, "batch_size", "integer >= 1"),
    ({"alphas": [0.5, 0.0]}, "alpha", "must lie in (0.0, 3.0]"),
    ({"alphas": [-0.2]}, "alpha", "must lie in (0.0, 3.0]"),
    ({"alphas": [5.0]}, "alpha", "must lie in (0.0, 3.0]"),
    ({"dataset_sizes": [100, 0]}, "dataset_size", "integer >= 1"),
    ({"steps": 0}, "steps", "integer >= 1"),
])
def test_bad_study_names_field_value_and_what_is_allowed(change, field, allowed):
    with pytest.raises(ValueError) as err:
        check_study(**{**GOOD, **change})
    msg = str(err.value)
    assert msg.startswith(f"{field} = ") and allowed in msg
