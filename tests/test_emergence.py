"""Emergence measures on curves with known transitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simquanta.analysis.emergence import (
    EMERGENT_WIDTH_DECADES,
    crossing,
    mean_band,
    midpoint_spread,
    transition,
)

X = np.logspace(-2, 6, 80_001)  # 8 decades, step 1e-4 decade: interpolation error ~1e-8
U = np.log10(X)


def logistic(s: float, u0: float) -> np.ndarray:
    """y = 1 / (1 + exp(-s (log10 x - u0))), rate s per decade.

    y = f  ⇔  s (u - u0) = ln(f / (1 - f)), so u(0.9) - u(0.1) = (ln 9 - ln(1/9)) / s
    = 2 ln 9 / s decades exactly; the midpoint is u0 and the largest slope dy/du = s/4 at u0.
    """
    return 1.0 / (1.0 + np.exp(-s * (U - u0)))


@pytest.mark.parametrize("s", [1.0, 2.0, 5.0, 20.0])
def test_logistic_width_midpoint_and_slope(s):
    t = transition(X, logistic(s, 2.0), floor=0.0, ceiling=1.0)
    assert t.width_decades == pytest.approx(2 * math.log(9) / s, rel=1e-6)
    assert math.log10(t.midpoint) == pytest.approx(2.0, abs=1e-6)
    assert math.log10(t.onset) == pytest.approx(2.0 - math.log(9) / s, abs=1e-6)
    assert math.log10(t.end) == pytest.approx(2.0 + math.log(9) / s, abs=1e-6)
    assert t.max_slope_per_decade == pytest.approx(s / 4, rel=1e-4)
    assert t.emergent == (2 * math.log(9) / s < EMERGENT_WIDTH_DECADES)


def test_default_floor_and_ceiling_come_from_the_curve():
    y = 0.2 + 0.7 * logistic(4.0, 2.0)  # from chance 0.2 up to 0.9, within 1e-7 at the ends
    t = transition(X, y)
    assert t.floor == pytest.approx(0.2, abs=1e-6) and t.ceiling == pytest.approx(0.9, abs=1e-6)
    assert t.width_decades == pytest.approx(2 * math.log(9) / 4.0, rel=1e-5)


def test_falling_curve_like_a_loss():
    y = 1.0 - logistic(3.0, 0.5)
    t = transition(X, y, floor=0.0, ceiling=1.0)
    assert t.width_decades == pytest.approx(2 * math.log(9) / 3.0, rel=1e-6)
    assert math.log10(t.midpoint) == pytest.approx(0.5, abs=1e-6)
    assert t.max_slope_per_decade == pytest.approx(0.75, rel=1e-4)


def test_reference_widths_behind_the_threshold():
    # Hill curve x^h / (x^h + 1): width 2 log10(9) / h decades.
    for h in (1.0, 2.5):
        t = transition(X, X**h / (X**h + 1.0), floor=0.0, ceiling=1.0)
        assert t.width_decades == pytest.approx(2 * math.log10(9) / h, rel=1e-6)
    # Memoryless acquisition 1 - exp(-x): width log10(ln 10 / -ln 0.9) = 1.3396 decades.
    t = transition(X, -np.expm1(-X), floor=0.0, ceiling=1.0)
    assert t.width_decades == pytest.approx(math.log10(math.log(10) / -math.log(0.9)), rel=1e-6)
    assert t.label == "gradual"


def test_censored_transition_is_undetermined():
    y = logistic(2.0, -2.0)  # already at 0.5 at the first sample
    t = transition(X, y, floor=0.0, ceiling=1.0)
    assert math.isnan(t.onset) and math.isnan(t.midpoint) and not math.isnan(t.end)
    assert t.label == "undetermined" and not t.emergent
    flat = transition(X[:5], np.full(5, 0.3))
    assert flat.label == "undetermined"


def test_step_curve_interpolates_in_log_x():
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    t = transition(x, y)
    assert t.midpoint == pytest.approx(10**1.5)
    assert t.onset == pytest.approx(10**1.1) and t.end == pytest.approx(10**1.9)
    assert t.width_decades == pytest.approx(0.8)
    assert crossing(x, y, 0.25) == pytest.approx(10**1.25)
    assert math.isnan(crossing(x, y, 2.0))


def test_midpoint_spread_across_agents():
    rng = np.random.default_rng(12)
    u0 = rng.normal(2.0, 0.3, size=200)
    x = np.logspace(-1, 5, 6001)
    u = np.log10(x)
    curves = 1.0 / (1.0 + np.exp(-6.0 * (u[None, :] - u0[:, None])))
    spread = midpoint_spread(x, curves, floor=0.0, ceiling=1.0)
    np.testing.assert_allclose(np.log10(spread.midpoints), u0, atol=1e-5)
    assert spread.std_decades == pytest.approx(np.std(u0, ddof=1), abs=1e-5)
    q25, q75 = np.percentile(u0, [25, 75])
    assert spread.iqr_decades == pytest.approx(q75 - q25, abs=1e-5)
    assert spread.n_undetermined == 0


def test_midpoint_spread_counts_agents_without_transition():
    x = np.array([1.0, 10.0, 100.0])
    curves = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0], [1, 1, 1]], dtype=float)
    spread = midpoint_spread(x, curves)
    assert spread.n_undetermined == 2
    assert spread.std_decades == pytest.approx(np.std([0.5, 1.5], ddof=1))


def test_mean_band_normal_and_bootstrap():
    rng = np.random.default_rng(5)
    curves = rng.normal(loc=np.linspace(0, 1, 7), scale=0.2, size=(400, 7))
    band = mean_band(curves, n_boot=2000, seed=1)
    sem = curves.std(axis=0, ddof=1) / math.sqrt(400)
    np.testing.assert_allclose(band.sem, sem)
    np.testing.assert_allclose(band.upper - band.mean, 1.959963984540054 * sem)
    # the percentile bootstrap of a mean of 400 normals agrees with the normal band to ~10%
    np.testing.assert_allclose(band.boot_upper - band.boot_lower, band.upper - band.lower, rtol=0.1)
    again = mean_band(curves, n_boot=2000, seed=1)
    np.testing.assert_array_equal(again.boot_lower, band.boot_lower)
    assert mean_band(curves).boot_lower is None


def test_mean_band_covers_the_true_mean():
    # 95 % bands should contain the true mean about 95 % of the time: 1000 replicates,
    # binomial sd sqrt(.95 * .05 / 1000) = 0.007, so [0.92, 0.98] is a > 4-sd window.
    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(1000):
        band = mean_band(rng.random((50, 1)))
        hits += int(band.lower[0] <= 0.5 <= band.upper[0])
    assert 0.92 <= hits / 1000 <= 0.98


@pytest.mark.parametrize(
    "call",
    [
        lambda: transition(np.array([1.0, 1.0, 2.0]), np.zeros(3)),
        lambda: transition(np.array([0.0, 1.0]), np.zeros(2)),
        lambda: transition(np.array([1.0, 2.0]), np.zeros(3)),
        lambda: transition(np.array([1.0, 2.0]), np.array([0.0, np.nan])),
        lambda: transition(np.array([1.0, 2.0]), np.zeros(2), floor=1.0, ceiling=0.0),
        lambda: mean_band(np.zeros((1, 3))),
        lambda: midpoint_spread(np.array([1.0, 2.0]), np.zeros(2)),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()
